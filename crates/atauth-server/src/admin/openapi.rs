//! The OpenAPI 3.1 document of the admin API, generated from the handlers' annotations.

use super::api;
use super::error::ErrorBody;
use super::settings::{Branding, Policies};
use axum::response::IntoResponse;
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "atauth admin API",
        description = "Cooperatives, accounts, sessions, admin tokens and signing keys. \
            Bearer tokens: the operator's (every cooperative) or a cooperative's admin token \
            (that cooperative only; 403 elsewhere). `{tenant}` is the issuer host."
    ),
    paths(
        api::list_tenants, api::create_tenant, api::get_tenant, api::update_tenant,
        api::disable_tenant, api::enable_tenant,
        api::create_token, api::list_tokens, api::delete_token,
        api::list_accounts, api::create_account, api::get_account, api::update_account,
        api::reset_password,
        api::list_sessions, api::revoke_sessions, api::revoke_session,
        api::list_keys, api::rotate_keys,
    ),
    components(schemas(ErrorBody, Branding, Policies)),
    modifiers(&BearerAuth),
    security(("bearerAuth" = [])),
    tags(
        (name = "tenants", description = "Cooperatives"),
        (name = "tokens", description = "Admin tokens of a cooperative (operator only)"),
        (name = "accounts", description = "Member accounts"),
        (name = "sessions", description = "Sessions (token families)"),
        (name = "keys", description = "Signing keys"),
    )
)]
pub struct AdminApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /admin/v1/openapi.json`.
pub async fn document() -> impl IntoResponse {
    Json(AdminApiDoc::openapi())
}
