//! The admin API's handlers: parse, check the caller's scope, call [`AdminService`], answer
//! JSON. The `#[utoipa::path]` annotations generate the OpenAPI document (`openapi`).

use super::auth::AdminCaller;
use super::error::{AdminError, ErrorBody};
use super::service::{AccountChanges, TenantChanges, TenantSpec};
use super::settings::{Branding, Policies};
use super::AdminState;
use crate::accounts::AccountSpec;
use crate::keys::{KeyInfo, DEFAULT_ACTIVATION_DELAY_SECS};
use crate::tenant::issuer_host;
use atauth_store::{Account, AdminToken, Session, SessionFilter, Tenant};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::request::Parts;
use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

type Answer<T> = Result<T, AdminError>;

// --- request bodies and views

/// A JSON request body; anything malformed is a 400 `invalid_request` in the API's format.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON request body that may be left out: an empty body is `T::default()`.
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if bytes.is_empty() {
            return Ok(Self(T::default()));
        }
        parse_json(&bytes).map(OptionalJsonBody)
    }
}

/// Path parameters; an undecodable segment (e.g. bad percent-encoding) is a 400
/// `invalid_request` in the API's format instead of the framework's plain-text rejection.
pub struct AdminPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AdminPath<T> {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|_| AdminError::Invalid("the path could not be read".into()))
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Answer<Bytes> {
    Bytes::from_request(req, state)
        .await
        .map_err(|_| AdminError::Invalid("the request body could not be read".into()))
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Answer<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| AdminError::Invalid(format!("invalid JSON body: {e}")))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: i64,
    /// The issuer's host: the `{tenant}` of the API's paths.
    #[schema(example = "coop-a.example")]
    pub host: String,
    #[schema(example = "https://coop-a.example")]
    pub issuer: String,
    /// Display name shown to members.
    pub name: String,
    pub resource_server: String,
    pub created_at: i64,
    pub disabled: bool,
    pub branding: Branding,
    pub policies: Policies,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id,
            host: issuer_host(&t.issuer).to_string(),
            branding: Branding::from_stored(&t.branding),
            policies: Policies::from_stored(&t.policies),
            issuer: t.issuer,
            name: t.name,
            resource_server: t.resource_server,
            created_at: t.created_at,
            disabled: t.disabled,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Bare https origin.
    #[schema(example = "https://coop-a.example")]
    pub issuer: String,
    pub name: String,
    /// The cooperative's resource server origin; defaults to the issuer (all-in-one).
    pub resource_server: Option<String>,
}

/// Absent fields are left as they are; `branding` and `policies` replace the whole object.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    pub name: Option<String>,
    pub branding: Option<Branding>,
    pub policies: Option<Policies>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub did: String,
    pub handle: String,
    pub email: Option<String>,
    pub created_at: i64,
    pub disabled: bool,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        Self {
            id: a.id,
            did: a.did,
            handle: a.handle,
            email: a.email,
            created_at: a.created_at,
            disabled: a.disabled,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    #[schema(example = "alice.coop-a.example")]
    pub handle: String,
    pub email: Option<String>,
    /// An external DID (`did:plc`, or a `did:web` not hosted here); without it the account
    /// gets a hosted `did:web:<handle>`.
    pub did: Option<String>,
    /// 8 to 1024 characters, not trivially guessable (`zxcvbn` score 3 or more, the handle,
    /// e-mail and cooperative name counting as guessable).
    pub password: String,
}

/// Absent fields are left as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccount {
    /// Disabling ends the account's sessions; a disabled account cannot sign in.
    pub disabled: Option<bool>,
    /// Attach an external DID (`did:plc`, or a `did:web` not hosted here); ends the
    /// account's sessions.
    pub did: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// 8 to 1024 characters, not trivially guessable (`zxcvbn` score 3 or more, the handle,
    /// e-mail and cooperative name counting as guessable).
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub account_id: String,
    pub did: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    /// Hard end of the session (public clients), if any.
    pub expires_at: Option<i64>,
    pub refresh_expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        Self {
            id: s.id,
            account_id: s.account_id,
            did: s.did,
            client_id: s.client_id,
            scope: s.scope,
            created_at: s.created_at,
            expires_at: s.expires_at,
            refresh_expires_at: s.refresh_expires_at,
            revoked_at: s.revoked_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// Only the sessions of this account id.
    pub account: Option<String>,
    /// Only the sessions of this client id.
    pub client: Option<String>,
}

/// Names whose sessions to revoke: an account, a client, or both (that account at that client).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeSessions {
    pub account: Option<String>,
    pub client: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Revoked {
    /// How many live sessions were revoked.
    pub revoked: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for (shown in listings).
    #[serde(default)]
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub label: String,
    pub created_at: i64,
}

impl From<AdminToken> for TokenView {
    fn from(t: AdminToken) -> Self {
        Self {
            id: t.id,
            label: t.label,
            created_at: t.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub id: String,
    pub label: String,
    pub created_at: i64,
    /// The bearer token, shown this once (only its hash is stored).
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    #[schema(example = "ES256")]
    pub alg: String,
    /// `published`, `active`, `retiring` or `retired`.
    pub state: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub retires_at: Option<i64>,
}

impl From<KeyInfo> for KeyView {
    fn from(k: KeyInfo) -> Self {
        Self {
            kid: k.kid,
            alg: k.alg.to_string(),
            state: k.state.as_str().to_string(),
            created_at: k.created_at,
            activates_at: k.activates_at,
            retires_at: k.retires_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKeys {
    /// Seconds between publishing the new key and its first signature (default 3600; 0 is
    /// an emergency rotation).
    pub activation_delay_secs: Option<i64>,
}

// --- scope

/// The cooperative named by `{tenant}` (its issuer host), if the caller may manage it. A
/// cooperative's admin asking for any other one gets 403 whether it exists or not.
async fn scoped_tenant(state: &AdminState, caller: AdminCaller, host: &str) -> Answer<Tenant> {
    let found = state.service.tenant(host).await;
    match (caller, found) {
        (AdminCaller::Operator, found) => found,
        (AdminCaller::Tenant(_), Ok(tenant)) if caller.may_manage(&tenant) => Ok(tenant),
        (AdminCaller::Tenant(_), Err(unavailable @ AdminError::Unavailable(_))) => Err(unavailable),
        (AdminCaller::Tenant(_), _) => Err(AdminError::Forbidden),
    }
}

fn created<T: Serialize>(value: T) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

// --- cooperatives

/// List cooperatives (a cooperative's admin sees its own only).
#[utoipa::path(get, path = "/admin/v1/tenants", tag = "tenants",
    responses((status = 200, body = [TenantView]), (status = 401, body = ErrorBody)))]
pub async fn list_tenants(
    State(state): State<AdminState>,
    caller: AdminCaller,
) -> Answer<Json<Vec<TenantView>>> {
    let tenants = state.service.list_tenants().await?;
    Ok(Json(
        tenants
            .into_iter()
            .filter(|t| caller.may_manage(t))
            .map(Into::into)
            .collect(),
    ))
}

/// Create a cooperative with a fresh signing key (operator only).
#[utoipa::path(post, path = "/admin/v1/tenants", tag = "tenants", request_body = CreateTenant,
    responses((status = 201, body = TenantView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn create_tenant(
    State(state): State<AdminState>,
    caller: AdminCaller,
    JsonBody(body): JsonBody<CreateTenant>,
) -> Answer<Response> {
    caller.require_operator()?;
    let tenant = state
        .service
        .create_tenant(TenantSpec {
            issuer: &body.issuer,
            name: &body.name,
            resource_server: body.resource_server.as_deref(),
        })
        .await?;
    Ok(created(TenantView::from(tenant)))
}

/// A cooperative.
#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "The cooperative's issuer host")),
    responses((status = 200, body = TenantView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_tenant(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath(tenant): AdminPath<String>,
) -> Answer<Json<TenantView>> {
    Ok(Json(scoped_tenant(&state, caller, &tenant).await?.into()))
}

/// Change a cooperative's name, branding or policies.
#[utoipa::path(patch, path = "/admin/v1/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "The cooperative's issuer host")),
    request_body = UpdateTenant,
    responses((status = 200, body = TenantView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn update_tenant(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath(tenant): AdminPath<String>,
    JsonBody(body): JsonBody<UpdateTenant>,
) -> Answer<Json<TenantView>> {
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    let changes = TenantChanges {
        name: body.name,
        branding: body.branding,
        policies: body.policies,
    };
    Ok(Json(
        state.service.update_tenant(&tenant, changes).await?.into(),
    ))
}

/// Disable a cooperative: its issuer answers 404 (operator only).
#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/disable", tag = "tenants",
    params(("tenant" = String, Path, description = "The cooperative's issuer host")),
    responses((status = 200, body = TenantView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disable_tenant(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath(tenant): AdminPath<String>,
) -> Answer<Json<TenantView>> {
    set_tenant_disabled(state, caller, tenant, true).await
}

/// Enable a disabled cooperative again (operator only).
#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/enable", tag = "tenants",
    params(("tenant" = String, Path, description = "The cooperative's issuer host")),
    responses((status = 200, body = TenantView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn enable_tenant(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath(tenant): AdminPath<String>,
) -> Answer<Json<TenantView>> {
    set_tenant_disabled(state, caller, tenant, false).await
}

async fn set_tenant_disabled(
    state: AdminState,
    caller: AdminCaller,
    tenant: String,
    disabled: bool,
) -> Answer<Json<TenantView>> {
    caller.require_operator()?;
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    Ok(Json(
        state
            .service
            .set_tenant_disabled(&tenant, disabled)
            .await?
            .into(),
    ))
}

// --- admin tokens

/// Mint an admin token with power over this cooperative only (operator only). The token is
/// in the answer this once.
#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/tokens", tag = "tokens",
    params(("tenant" = String, Path, description = "The cooperative's issuer host")),
    request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath(tenant): AdminPath<String>,
    JsonBody(body): JsonBody<CreateToken>,
) -> Answer<Response> {
    caller.require_operator()?;
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    let (record, token) = state
        .service
        .create_admin_token(&tenant, &body.label)
        .await?;
    Ok(created(CreatedToken {
        id: record.id,
        label: record.label,
        created_at: record.created_at,
        token,
    }))
}

/// The cooperative's admin tokens (never the tokens themselves; operator only).
#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/tokens", tag = "tokens",
    params(("tenant" = String, Path, description = "The cooperative's issuer host")),
    responses((status = 200, body = [TokenView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_tokens(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath(tenant): AdminPath<String>,
) -> Answer<Json<Vec<TokenView>>> {
    caller.require_operator()?;
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    let tokens = state.service.list_admin_tokens(&tenant).await?;
    Ok(Json(tokens.into_iter().map(Into::into).collect()))
}

/// Delete an admin token (operator only).
#[utoipa::path(delete, path = "/admin/v1/tenants/{tenant}/tokens/{id}", tag = "tokens",
    params(("tenant" = String, Path, description = "The cooperative's issuer host"),
        ("id" = String, Path, description = "Token id")),
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_token(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath((tenant, id)): AdminPath<(String, String)>,
) -> Answer<StatusCode> {
    caller.require_operator()?;
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    state.service.delete_admin_token(&tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- accounts

/// The cooperative's accounts.
#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/accounts", tag = "accounts",
    params(("tenant" = String, Path, description = "The cooperative's issuer host")),
    responses((status = 200, body = [AccountView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_accounts(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath(tenant): AdminPath<String>,
) -> Answer<Json<Vec<AccountView>>> {
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    let accounts = state.service.list_accounts(&tenant).await?;
    Ok(Json(accounts.into_iter().map(Into::into).collect()))
}

/// Create an account.
#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/accounts", tag = "accounts",
    params(("tenant" = String, Path, description = "The cooperative's issuer host")),
    request_body = CreateAccount,
    responses((status = 201, body = AccountView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_account(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath(tenant): AdminPath<String>,
    JsonBody(body): JsonBody<CreateAccount>,
) -> Answer<Response> {
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    let spec = AccountSpec {
        handle: &body.handle,
        email: body.email.as_deref(),
        did: body.did.as_deref(),
        password: &body.password,
    };
    let account = state.service.create_account(&tenant, spec).await?;
    Ok(created(AccountView::from(account)))
}

/// An account.
#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/accounts/{id}", tag = "accounts",
    params(("tenant" = String, Path, description = "The cooperative's issuer host"),
        ("id" = String, Path, description = "Account id")),
    responses((status = 200, body = AccountView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_account(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath((tenant, id)): AdminPath<(String, String)>,
) -> Answer<Json<AccountView>> {
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    Ok(Json(state.service.account(&tenant, &id).await?.into()))
}

/// Disable or enable an account, or attach an external DID.
#[utoipa::path(patch, path = "/admin/v1/tenants/{tenant}/accounts/{id}", tag = "accounts",
    params(("tenant" = String, Path, description = "The cooperative's issuer host"),
        ("id" = String, Path, description = "Account id")),
    request_body = UpdateAccount,
    responses((status = 200, body = AccountView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_account(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath((tenant, id)): AdminPath<(String, String)>,
    JsonBody(body): JsonBody<UpdateAccount>,
) -> Answer<Json<AccountView>> {
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    let changes = AccountChanges {
        disabled: body.disabled,
        did: body.did,
    };
    Ok(Json(
        state
            .service
            .update_account(&tenant, &id, changes)
            .await?
            .into(),
    ))
}

/// Set a new password; ends every session of the account.
#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/accounts/{id}/password",
    tag = "accounts",
    params(("tenant" = String, Path, description = "The cooperative's issuer host"),
        ("id" = String, Path, description = "Account id")),
    request_body = ResetPassword,
    responses((status = 204), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath((tenant, id)): AdminPath<(String, String)>,
    JsonBody(body): JsonBody<ResetPassword>,
) -> Answer<StatusCode> {
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    state
        .service
        .reset_password(&tenant, &id, &body.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- sessions

/// Sessions, newest first (at most 1000), optionally of one account and/or client.
#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/sessions", tag = "sessions",
    params(("tenant" = String, Path, description = "The cooperative's issuer host"),
        SessionQuery),
    responses((status = 200, body = [SessionView]), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn list_sessions(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath(tenant): AdminPath<String>,
    RawQuery(query): RawQuery,
) -> Answer<Json<Vec<SessionView>>> {
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    let filter = session_filter(query.as_deref().unwrap_or(""))?;
    let sessions = state.service.list_sessions(&tenant, &filter).await?;
    Ok(Json(sessions.into_iter().map(Into::into).collect()))
}

/// `account` and `client` from the query string; anything else, or a repeated name, is refused.
fn session_filter(query: &str) -> Answer<SessionFilter> {
    let mut filter = SessionFilter::default();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match name.as_ref() {
            "account" => &mut filter.account_id,
            "client" => &mut filter.client_id,
            other => {
                return Err(AdminError::Invalid(format!(
                    "unknown query parameter {other:?}"
                )))
            }
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(AdminError::Invalid(format!("{name} is repeated")));
        }
    }
    Ok(filter)
}

/// Revoke the live sessions of an account, of a client, or of an account at a client.
#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/sessions/revoke", tag = "sessions",
    params(("tenant" = String, Path, description = "The cooperative's issuer host")),
    request_body = RevokeSessions,
    responses((status = 200, body = Revoked), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn revoke_sessions(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath(tenant): AdminPath<String>,
    JsonBody(body): JsonBody<RevokeSessions>,
) -> Answer<Json<Revoked>> {
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    let filter = SessionFilter {
        account_id: body.account,
        client_id: body.client,
    };
    let revoked = state.service.revoke_sessions(&tenant, &filter).await?;
    Ok(Json(Revoked { revoked }))
}

/// Revoke one session.
#[utoipa::path(delete, path = "/admin/v1/tenants/{tenant}/sessions/{id}", tag = "sessions",
    params(("tenant" = String, Path, description = "The cooperative's issuer host"),
        ("id" = String, Path, description = "Session id")),
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_session(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath((tenant, id)): AdminPath<(String, String)>,
) -> Answer<StatusCode> {
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    state.service.revoke_session(&tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- signing keys

/// The cooperative's signing keys, retired ones included, newest first.
#[utoipa::path(get, path = "/admin/v1/tenants/{tenant}/keys", tag = "keys",
    params(("tenant" = String, Path, description = "The cooperative's issuer host")),
    responses((status = 200, body = [KeyView]), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_keys(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath(tenant): AdminPath<String>,
) -> Answer<Json<Vec<KeyView>>> {
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    let keys = state.service.list_keys(&tenant).await?;
    Ok(Json(keys.into_iter().map(Into::into).collect()))
}

/// Rotate the signing key: a new key is published at once and signs after the delay.
#[utoipa::path(post, path = "/admin/v1/tenants/{tenant}/keys/rotate", tag = "keys",
    params(("tenant" = String, Path, description = "The cooperative's issuer host")),
    request_body = RotateKeys,
    responses((status = 201, body = KeyView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn rotate_keys(
    State(state): State<AdminState>,
    caller: AdminCaller,
    AdminPath(tenant): AdminPath<String>,
    OptionalJsonBody(body): OptionalJsonBody<RotateKeys>,
) -> Answer<Response> {
    let tenant = scoped_tenant(&state, caller, &tenant).await?;
    let delay = body
        .activation_delay_secs
        .unwrap_or(DEFAULT_ACTIVATION_DELAY_SECS);
    let key = state.service.rotate_keys(&tenant, delay).await?;
    Ok(created(KeyView::from(key)))
}

/// Unknown admin paths.
pub async fn not_found() -> AdminError {
    AdminError::NotFound("admin API route")
}
