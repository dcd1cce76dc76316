//! Liveness and readiness.

use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database and the replay cache (Redis, if configured) answer.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if let Err(e) = state.store().ping().await {
        tracing::warn!(error = %e, "not ready: database");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
    }
    if let Err(e) = state.replay_store().ping().await {
        tracing::warn!(error = %e, "not ready: replay cache");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "replay cache unavailable\n",
        )
            .into_response();
    }
    (StatusCode::OK, "ready\n").into_response()
}
