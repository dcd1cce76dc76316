//! The authorization endpoint and its pages: sign-in, account choice, consent.
//!
//! `GET /oauth/authorize?client_id&request_uri` (PAR only) shows the right page;
//! the forms post to `/oauth/authorize/{sign-in,select,consent}`. Every POST carries a CSRF
//! token bound to the device cookie, and every step re-checks the request against its device.

use super::form::{expired_form, MemberForm};
use super::pages::{
    self, check_form_origin, csrf_token, device_id, message, render, set_device_cookie,
};
use super::redirect;
use super::throttle::ThrottleKeys;
use crate::client_address::ClientAddress;
use crate::error::log_store_failure;
use crate::oauth::par::request_id;
use crate::state::AppState;
use crate::stored_request::StoredRequest;
use crate::tenant::{CurrentTenant, TenantContext};
use askama::Template;
use atauth_protocol::client::ClientMetadata;
use atauth_protocol::constants::{
    AUTHORIZATION_INACTIVITY_SECS, CODE_LIFETIME_SECS, TOKEN_RANDOM_BYTES,
};
use atauth_protocol::params::Params;
use atauth_protocol::permission::{expand_scope, PermissionSet};
use atauth_protocol::random::{self, hash_secret};
use atauth_protocol::request::AuthorizationRequest;
use atauth_protocol::scope::{self, ScopeSet};
use atauth_protocol::{ErrorCode, OAuthError};
use atauth_store::{Account, Approval, AuthRequestRecord};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use consent_view::{accept_languages, ConsentView};
use http::{HeaderMap, StatusCode};
use prompt::FirstStep;

mod consent_view;
mod prompt;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    coop_name: &'a str,
    client_name: &'a str,
    client_id: &'a str,
    request_uri: &'a str,
    csrf_token: &'a str,
    identifier: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "choose_account.html")]
struct ChooseAccountPage<'a> {
    coop_name: &'a str,
    client_name: &'a str,
    client_id: &'a str,
    request_uri: &'a str,
    csrf_token: &'a str,
    accounts: &'a [Account],
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    coop_name: &'a str,
    client_name: &'a str,
    client_id: &'a str,
    request_uri: &'a str,
    csrf_token: &'a str,
    account_id: &'a str,
    handle: &'a str,
    view: &'a ConsentView,
    /// The requested scope as sent, for members who want the exact values.
    scope: &'a str,
}

/// A pending request, checked against the device that is looking at it.
struct Pending {
    record: AuthRequestRecord,
    request: AuthorizationRequest,
    client: ClientMetadata,
    request_uri: String,
    device_id: String,
    /// Resolved at PAR for the request's `include:` scopes.
    permission_sets: Vec<PermissionSet>,
    /// `Accept-Language` of the page's request, preferred first.
    languages: Vec<String>,
}

/// Why a step cannot continue: either a page for the member, or a redirect to the client.
type Step = Result<Pending, Response>;

fn fail_page(tenant: &TenantContext, heading: &str, text: &str) -> Response {
    message(tenant, StatusCode::BAD_REQUEST, heading, text)
}

/// Loads and checks the request named by `client_id` + `request_uri` for this device.
async fn load_pending(
    state: &AppState,
    tenant: &TenantContext,
    client_id: Option<&str>,
    request_uri: Option<&str>,
    device_id: String,
) -> Step {
    let now = state.now();
    let rng = state.inner.rng.as_ref();
    let (Some(client_id), Some(request_uri)) = (client_id, request_uri) else {
        return Err(fail_page(
            tenant,
            "This sign-in link is incomplete",
            "The app sent you here without a complete sign-in request. Go back to the app and start again.",
        ));
    };
    let unknown = || {
        fail_page(
            tenant,
            "This sign-in request is unknown or has expired",
            "Sign-in requests are valid for a few minutes only. Go back to the app and start again.",
        )
    };
    let Some(id) = request_id(request_uri) else {
        return Err(unknown());
    };
    let unavailable_page = |e| unavailable(tenant, &e);
    let record = tenant
        .repo
        .request_by_id(id)
        .await
        .map_err(unavailable_page)?
        .ok_or_else(unknown)?;
    let Some(StoredRequest {
        request,
        permission_sets,
        ..
    }) = StoredRequest::from_json(&record.request_json)
    else {
        return Err(unknown());
    };
    if record.client_id != client_id {
        return Err(redirect::error_to_client(
            tenant,
            &request,
            ErrorCode::AccessDenied,
            "The client_id does not match the pushed authorization request",
            rng,
        ));
    }
    if record.approval.is_none() && record.expires_at <= now {
        let _ = tenant.repo.delete_request(id).await;
        return Err(redirect::error_to_client(
            tenant,
            &request,
            ErrorCode::AccessDenied,
            "The authorization request has expired",
            rng,
        ));
    }
    let extended = (now + AUTHORIZATION_INACTIVITY_SECS).max(record.expires_at);
    let bound = tenant
        .repo
        .bind_request_device(id, &device_id, extended)
        .await
        .map_err(unavailable_page)?
        .ok_or_else(unknown)?;
    if bound != device_id {
        return Err(redirect::error_to_client(
            tenant,
            &request,
            ErrorCode::AccessDenied,
            "This authorization request is being handled in another browser",
            rng,
        ));
    }
    if record.approval.is_some() {
        // Deliberate difference 11: a reload after approval keeps the pending code.
        return Err(message(
            tenant,
            StatusCode::OK,
            "You already answered this request",
            "Return to the app to continue.",
        ));
    }
    let client =
        state.inner.clients.resolve(client_id).await.map_err(|e| {
            redirect::error_to_client(tenant, &request, e.code, &e.description, rng)
        })?;
    Ok(Pending {
        record,
        request,
        client,
        request_uri: request_uri.to_string(),
        device_id,
        permission_sets,
        languages: Vec::new(),
    })
}

/// The page for a store failure; its detail is logged here, where it is answered.
fn unavailable(tenant: &TenantContext, e: &atauth_store::StoreError) -> Response {
    log_store_failure(e);
    message(
        tenant,
        StatusCode::SERVICE_UNAVAILABLE,
        "The service is temporarily unavailable",
        "Please try again in a moment.",
    )
}

/// `GET /oauth/authorize`.
pub async fn authorize(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    // Only top-level navigations may show these pages (no fetch/XHR, no frames). Non-browser
    // agents send no Sec-Fetch-* headers and are let through.
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-mode").is_some_and(|m| m != "navigate")
        || header("sec-fetch-dest").is_some_and(|d| d != "document")
    {
        return fail_page(
            &tenant,
            "This page cannot be embedded",
            "Open the sign-in link directly in your browser.",
        );
    }
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(e) => return fail_page(&tenant, "This sign-in link is invalid", &e.description),
    };
    let (device, is_new_device) = match device_id(&tenant, &headers) {
        Some(id) => (id, false),
        None => (pages::new_device_id(state.inner.rng.as_ref()), true),
    };
    let mut response = match load_pending(
        &state,
        &tenant,
        params.get("client_id"),
        params.get("request_uri"),
        device.clone(),
    )
    .await
    {
        Ok(mut pending) => {
            pending.languages = languages_of(&headers);
            show_next_page(&state, &tenant, pending).await
        }
        Err(response) => response,
    };
    if is_new_device {
        set_device_cookie(&tenant, &mut response, &device);
    }
    response
}

/// Shows the first page for a pending request (sign-in, account choice, consent), or, for
/// `prompt=none`, answers at once ([`prompt::first_step`]).
async fn show_next_page(state: &AppState, tenant: &TenantContext, pending: Pending) -> Response {
    let rng = state.inner.rng.as_ref();
    let accounts = match tenant.repo.device_accounts(&pending.device_id).await {
        Ok(list) => list.into_iter().map(|(a, _)| a).collect::<Vec<_>>(),
        Err(e) => return unavailable(tenant, &e),
    };
    let hint = pending.request.login_hint.as_deref();
    match prompt::first_step(pending.request.prompt, hint, &accounts) {
        FirstStep::SignIn => sign_in_page(tenant, &pending, hint.unwrap_or(""), None),
        FirstStep::ChooseAccount => render(
            StatusCode::OK,
            &ChooseAccountPage {
                coop_name: &tenant.tenant.name,
                client_name: &pending.client.display_name(),
                client_id: &pending.client.client_id,
                request_uri: &pending.request_uri,
                csrf_token: &csrf_token(tenant, &pending.device_id),
                accounts: &accounts,
            },
        ),
        FirstStep::Consent(account) => consent_page(tenant, &pending, account),
        FirstStep::LoginRequired => redirect::error_to_client(
            tenant,
            &pending.request,
            ErrorCode::LoginRequired,
            "No signed-in account",
            rng,
        ),
        FirstStep::Silent(account) => {
            // A store failure reading the remembered consent counts as no consent.
            let remembered = tenant
                .repo
                .consent(&account.id, &pending.client.client_id)
                .await
                .ok()
                .flatten();
            let requested = granted_scope(&pending, &pending.request.scopes());
            if !prompt::consent_covers(remembered.as_deref(), requested.as_deref()) {
                return redirect::error_to_client(
                    tenant,
                    &pending.request,
                    ErrorCode::ConsentRequired,
                    "The member has not approved this app",
                    rng,
                );
            }
            approve(state, tenant, &pending, account, pending.request.scopes()).await
        }
    }
}

fn sign_in_page(
    tenant: &TenantContext,
    pending: &Pending,
    identifier: &str,
    error: Option<&str>,
) -> Response {
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    render(
        status,
        &SignInPage {
            coop_name: &tenant.tenant.name,
            client_name: &pending.client.display_name(),
            client_id: &pending.client.client_id,
            request_uri: &pending.request_uri,
            csrf_token: &csrf_token(tenant, &pending.device_id),
            identifier,
            error,
        },
    )
}

fn languages_of(headers: &HeaderMap) -> Vec<String> {
    accept_languages(
        headers
            .get(http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// The scope the token gets for `scopes` (granted values of this request): each `include:`
/// replaced by its expansion (profile section 5.4). `None` if a set is missing, which
/// PAR rules out.
fn granted_scope(pending: &Pending, scopes: &ScopeSet) -> Option<String> {
    expand_scope(scopes.iter(), &pending.permission_sets).ok()
}

fn consent_page(tenant: &TenantContext, pending: &Pending, account: &Account) -> Response {
    let scopes = pending.request.scopes();
    let languages: Vec<&str> = pending.languages.iter().map(String::as_str).collect();
    let view = consent_view::build(&scopes, &pending.permission_sets, &languages);
    render(
        StatusCode::OK,
        &ConsentPage {
            coop_name: &tenant.tenant.name,
            client_name: &pending.client.display_name(),
            client_id: &pending.client.client_id,
            request_uri: &pending.request_uri,
            csrf_token: &csrf_token(tenant, &pending.device_id),
            account_id: &account.id,
            handle: &account.handle,
            view: &view,
            scope: &pending.request.scope,
        },
    )
}

/// Records the approval, remembers the consent, and sends the code to the client.
async fn approve(
    state: &AppState,
    tenant: &TenantContext,
    pending: &Pending,
    account: &Account,
    granted: ScopeSet,
) -> Response {
    let now = state.now();
    let rng = state.inner.rng.as_ref();
    let Some(granted_scope) = granted_scope(pending, &granted) else {
        return message(
            tenant,
            StatusCode::INTERNAL_SERVER_ERROR,
            "This request cannot be completed",
            "A permission set of this request is missing. Go back to the app and start again.",
        );
    };
    let code = format!("cod-{}", random::token(rng, TOKEN_RANDOM_BYTES));
    let approval = Approval {
        account_id: account.id.clone(),
        granted_scope: granted_scope.clone(),
        code_hash: hash_secret(&code),
        code_expires_at: now + CODE_LIFETIME_SECS,
        now,
    };
    match tenant
        .repo
        .approve_request(&pending.record.id, approval)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return message(
                tenant,
                StatusCode::OK,
                "You already answered this request",
                "Return to the app to continue.",
            )
        }
        Err(e) => return unavailable(tenant, &e),
    }
    // Deliberate difference 7: remember what the member granted, not what was asked.
    if let Err(e) = tenant
        .repo
        .remember_consent(&account.id, &pending.client.client_id, &granted_scope, now)
        .await
    {
        return unavailable(tenant, &e);
    }
    redirect::to_client(tenant, &pending.request, vec![("code".into(), code)], rng)
}

/// Checks a UI form's device + CSRF + origin; loads the pending request.
async fn form_step(
    state: &AppState,
    tenant: &TenantContext,
    headers: &HeaderMap,
    params: &Params,
) -> Step {
    let device = device_id(tenant, headers).ok_or_else(|| expired_form(tenant))?;
    if !check_form_origin(
        tenant,
        headers,
        &device,
        params.get("csrf_token").unwrap_or(""),
    ) {
        return Err(expired_form(tenant));
    }
    let pending = load_pending(
        state,
        tenant,
        params.get("client_id"),
        params.get("request_uri"),
        device,
    )
    .await?;
    Ok(Pending {
        languages: languages_of(headers),
        ..pending
    })
}

/// `POST /oauth/authorize/sign-in`.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    MemberForm { tenant, params }: MemberForm,
) -> Result<Response, Response> {
    let pending = form_step(&state, &tenant, &headers, &params).await?;
    let rng = state.inner.rng.as_ref();
    if params.get("action") == Some("cancel") {
        let _ = tenant.repo.delete_request(&pending.record.id).await;
        return Ok(redirect::error_to_client(
            &tenant,
            &pending.request,
            ErrorCode::AccessDenied,
            "The member cancelled the sign-in",
            rng,
        ));
    }
    let identifier = params.get("identifier").unwrap_or("").trim().to_string();
    let password = params.get("password").unwrap_or("").to_string();
    let now = state.now();
    let normalized = normalize_identifier(&identifier);
    let unavailable_page = |e| unavailable(&tenant, &e);
    let account = find_account(&tenant, &normalized)
        .await
        .map_err(unavailable_page)?
        .filter(|a| !a.disabled);
    let keys = ThrottleKeys::for_sign_in(account.as_ref(), &normalized, address);
    let throttle = &state.inner.throttle;
    let tenant_id = tenant.tenant.id;
    let locked = throttle
        .retry_after(tenant_id, &keys, now)
        .await
        .map_err(unavailable_page)?;
    if let Some(wait) = locked {
        let text = format!(
            "Too many failed attempts. Try again in {} minutes.",
            (wait + 59) / 60
        );
        return Ok(sign_in_page(&tenant, &pending, &identifier, Some(&text)));
    }
    // A missing account costs the same argon2 work as a wrong password (no enumeration).
    let ok = state
        .inner
        .passwords
        .verify(password, account.as_ref().map(|a| a.password_hash.clone()))
        .await;
    let Some(account) = account.filter(|_| ok) else {
        throttle
            .record_failure(tenant_id, &keys, now)
            .await
            .map_err(unavailable_page)?;
        return Ok(sign_in_page(
            &tenant,
            &pending,
            &identifier,
            Some("Wrong handle, email or password."),
        ));
    };
    throttle
        .record_success(tenant_id, &keys)
        .await
        .map_err(unavailable_page)?;
    tenant
        .repo
        .add_device_account(&pending.device_id, &account.id, now)
        .await
        .map_err(unavailable_page)?;
    Ok(consent_page(&tenant, &pending, &account))
}

fn normalize_identifier(identifier: &str) -> String {
    identifier
        .trim()
        .trim_start_matches('@')
        .to_ascii_lowercase()
}

async fn find_account(
    tenant: &TenantContext,
    identifier: &str,
) -> Result<Option<Account>, atauth_store::StoreError> {
    if identifier.is_empty() {
        return Ok(None);
    }
    if identifier.contains('@') {
        tenant.repo.account_by_email(identifier).await
    } else if identifier.starts_with("did:") {
        tenant.repo.account_by_did(identifier).await
    } else {
        tenant.repo.account_by_handle(identifier).await
    }
}

/// The device's signed-in account `account_id`, if it is one.
async fn device_account(
    tenant: &TenantContext,
    device: &str,
    account_id: &str,
) -> Result<Option<Account>, Response> {
    let accounts = tenant
        .repo
        .device_accounts(device)
        .await
        .map_err(|e| unavailable(tenant, &e))?;
    Ok(accounts
        .into_iter()
        .map(|(a, _)| a)
        .find(|a| a.id == account_id))
}

/// `POST /oauth/authorize/select`: pick a remembered account, or sign in with another one.
pub async fn select_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    MemberForm { tenant, params }: MemberForm,
) -> Result<Response, Response> {
    let pending = form_step(&state, &tenant, &headers, &params).await?;
    let Some(account_id) = params.get("account_id") else {
        return Ok(sign_in_page(&tenant, &pending, "", None));
    };
    Ok(
        match device_account(&tenant, &pending.device_id, account_id).await? {
            Some(account) => consent_page(&tenant, &pending, &account),
            None => sign_in_page(&tenant, &pending, "", None),
        },
    )
}

/// `POST /oauth/authorize/consent`: Allow (possibly narrowed) or Deny.
pub async fn consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    MemberForm { tenant, params }: MemberForm,
) -> Result<Response, Response> {
    let pending = form_step(&state, &tenant, &headers, &params).await?;
    let rng = state.inner.rng.as_ref();
    let account_id = params.get("account_id").unwrap_or("");
    let Some(account) = device_account(&tenant, &pending.device_id, account_id).await? else {
        return Ok(sign_in_page(
            &tenant,
            &pending,
            "",
            Some("Please sign in again."),
        ));
    };
    match params.get("decision") {
        Some("allow") => {}
        Some("deny") => {
            let _ = tenant.repo.delete_request(&pending.record.id).await;
            return Ok(redirect::error_to_client(
                &tenant,
                &pending.request,
                ErrorCode::AccessDenied,
                "The member denied the request",
                rng,
            ));
        }
        _ => return Ok(consent_page(&tenant, &pending, &account)),
    }
    let granted: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k.starts_with("grant_"))
        .map(|(_, v)| v)
        .collect();
    let narrowed = match scope::narrow(&pending.request.scopes(), &granted.join(" ")) {
        Ok(scopes) => scopes,
        Err(OAuthError { code, description }) => {
            let _ = tenant.repo.delete_request(&pending.record.id).await;
            return Ok(redirect::error_to_client(
                &tenant,
                &pending.request,
                code,
                &description,
                rng,
            ));
        }
    };
    Ok(approve(&state, &tenant, &pending, &account, narrowed).await)
}
