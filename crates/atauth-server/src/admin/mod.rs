//! The admin REST API, `/admin/v1`, served on its own listener (loopback by default), never on
//! the public one. Bearer-authenticated ([`auth`]): the operator token (all cooperatives) or a
//! cooperative's admin token (that cooperative only). `{tenant}` in paths is the cooperative's
//! issuer host (`coop-a.example`). Errors are `{error, error_description}` JSON ([`error`]).
//! The handlers ([`api`]) are thin: the work is in [`service`], which the CLI shares. The
//! OpenAPI document ([`openapi`]) is generated from the handlers and served without
//! authentication at `/admin/v1/openapi.json` (it describes the API, no data).

pub mod api;
pub mod auth;
pub mod error;
pub mod openapi;
pub mod service;
pub mod settings;

use crate::routes::{MAX_BODY_BYTES, REQUEST_TIMEOUT};
use crate::state::AppState;
use atauth_protocol::random::hash_secret;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;
use service::AdminService;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The operator token must be long enough not to be guessed.
pub const MIN_OPERATOR_TOKEN_CHARS: usize = 32;

/// What the admin API needs beyond the server state.
#[derive(Clone)]
pub struct AdminState {
    pub(crate) service: AdminService,
    /// SHA-256 of the operator token (the token itself is not kept).
    pub(crate) operator_token_hash: Arc<String>,
}

/// The admin router over the server's state (same store and tenant cache, so changes are seen
/// at once by the public router of this process). `operator_token` is the operator's bearer
/// token: at least [`MIN_OPERATOR_TOKEN_CHARS`] characters.
pub fn router(state: AppState, operator_token: &str) -> anyhow::Result<Router> {
    let operator_token = operator_token.trim();
    anyhow::ensure!(
        operator_token.chars().count() >= MIN_OPERATOR_TOKEN_CHARS,
        "the admin token must have at least {MIN_OPERATOR_TOKEN_CHARS} characters"
    );
    let admin = AdminState {
        service: AdminService::for_state(&state),
        operator_token_hash: Arc::new(hash_secret(operator_token)),
    };
    Ok(routes()
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(admin))
}

/// Every route of the API (the OpenAPI test checks the document lists each of them).
fn routes() -> Router<AdminState> {
    const T: &str = "/admin/v1/tenants/{tenant}";
    Router::new()
        .route("/admin/v1/openapi.json", get(openapi::document))
        .route(
            "/admin/v1/tenants",
            get(api::list_tenants).post(api::create_tenant),
        )
        .route(T, get(api::get_tenant).patch(api::update_tenant))
        .route(&format!("{T}/disable"), post(api::disable_tenant))
        .route(&format!("{T}/enable"), post(api::enable_tenant))
        .route(
            &format!("{T}/tokens"),
            get(api::list_tokens).post(api::create_token),
        )
        .route(&format!("{T}/tokens/{{id}}"), delete(api::delete_token))
        .route(
            &format!("{T}/accounts"),
            get(api::list_accounts).post(api::create_account),
        )
        .route(
            &format!("{T}/accounts/{{id}}"),
            get(api::get_account).patch(api::update_account),
        )
        .route(
            &format!("{T}/accounts/{{id}}/password"),
            post(api::reset_password),
        )
        .route(&format!("{T}/sessions"), get(api::list_sessions))
        .route(&format!("{T}/sessions/revoke"), post(api::revoke_sessions))
        .route(&format!("{T}/sessions/{{id}}"), delete(api::revoke_session))
        .route(&format!("{T}/keys"), get(api::list_keys))
        .route(&format!("{T}/keys/rotate"), post(api::rotate_keys))
}
