//! The router: which path goes to which handler, and the layers around them.

use crate::state::AppState;
use crate::tenant::request_host;
use crate::{health, identity, metrics, oauth, ui, xrpc};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderName, HeaderValue, Method};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Request bodies are small forms; anything larger is refused before parsing.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;
/// A request still unanswered after this is cut (the admin API shares both limits).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(state: AppState) -> Router {
    // Endpoints browser-based clients call cross-origin (atproto profile section 2).
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("dpop"),
        ])
        .expose_headers([
            HeaderName::from_static("dpop-nonce"),
            header::WWW_AUTHENTICATE,
        ])
        .max_age(Duration::from_secs(600));

    // Endpoints that take DPoP proofs and hand out nonces on every answer.
    let dpop_endpoints = Router::new()
        .route("/oauth/par", post(oauth::par::push))
        .route("/oauth/token", post(oauth::token::token))
        .route("/oauth/revoke", post(oauth::revoke::revoke))
        .route("/oauth/introspect", post(oauth::introspect::introspect))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            add_dpop_nonce,
        ));

    let public_api = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata::authorization_server),
        )
        .route(
            "/.well-known/oauth-protected-resource",
            get(oauth::metadata::protected_resource),
        )
        .route("/oauth/jwks", get(oauth::metadata::jwks))
        .route("/.well-known/did.json", get(identity::did_document))
        .route("/.well-known/atproto-did", get(identity::atproto_did))
        .route(
            "/xrpc/com.atproto.identity.resolveHandle",
            get(identity::resolve_handle),
        )
        .route(
            "/xrpc/com.atproto.server.getSession",
            get(xrpc::get_session),
        )
        .merge(dpop_endpoints)
        .layer(cors);

    let pages = Router::new()
        .route("/oauth/authorize", get(ui::authorize::authorize))
        .route("/oauth/authorize/sign-in", post(ui::authorize::sign_in))
        .route(
            "/oauth/authorize/select",
            post(ui::authorize::select_account),
        )
        .route("/oauth/authorize/consent", post(ui::authorize::consent))
        .route("/assets/atauth.css", get(ui::stylesheet))
        .route("/assets/branding.css", get(ui::branding_stylesheet));

    Router::new()
        .merge(public_api)
        .merge(pages)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Every answer of a DPoP endpoint carries a fresh `DPoP-Nonce` (atproto profile section 2).
async fn add_dpop_nonce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let host = request_host(&parts, state.inner.config.trusted_host_header.as_deref());
    let request = Request::from_parts(parts, body);
    let mut response = next.run(request).await;
    if let Some(host) = host {
        if let Ok(Some(tenant)) = state.inner.tenants.by_host(&host).await {
            let nonce = tenant.nonces.current(state.now());
            if let Ok(v) = HeaderValue::from_str(&nonce) {
                response.headers_mut().insert("dpop-nonce", v);
            }
        }
    }
    response
}
