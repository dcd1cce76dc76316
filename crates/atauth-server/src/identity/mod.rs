//! Hosted identities: did:web documents and handle resolution, routed by the handle's host.

use crate::error::ApiError;
use crate::state::AppState;
use crate::tenant::request_host;
use atauth_protocol::identity;
use atauth_protocol::params::Params;
use atauth_store::{Account, Tenant};
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::request::Parts;
use http::{header, StatusCode};
use serde_json::json;

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Not found\n",
    )
        .into_response()
}

/// The hosted account whose handle is the request's host (port stripped), with its tenant.
async fn account_for_host(
    state: &AppState,
    parts: &Parts,
) -> Result<Option<(Tenant, Account)>, ApiError> {
    let Some(host) = request_host(parts, state.inner.config.trusted_host_header.as_deref()) else {
        return Ok(None);
    };
    let handle = host.rsplit_once(':').map_or(host.as_str(), |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host.as_str()
        }
    });
    lookup_handle(state, handle).await
}

async fn lookup_handle(
    state: &AppState,
    handle: &str,
) -> Result<Option<(Tenant, Account)>, ApiError> {
    let handle = handle.to_ascii_lowercase();
    if !identity::is_valid_handle(&handle) {
        return Ok(None);
    }
    let store = state.store();
    let Some(tenant) = store.tenant_by_handle(&handle).await? else {
        return Ok(None);
    };
    let account = store
        .tenant_repo(&tenant)
        .account_by_handle(&handle)
        .await?;
    Ok(account
        .filter(|account| !account.disabled)
        .map(|account| (tenant, account)))
}

/// `GET /.well-known/did.json` on a handle host: the DID document of a hosted did:web account.
pub async fn did_document(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let (parts, _) = request.into_parts();
    let Some((tenant, account)) = account_for_host(&state, &parts).await? else {
        return Ok(not_found());
    };
    // Only the handle's hosted did:web is ours to serve; an external DID (did:plc, or a
    // did:web hosted elsewhere) is not.
    let hosted = crate::accounts::hosted_did(&tenant, &account.handle).ok();
    if hosted.as_deref() != Some(account.did.as_str()) {
        return Ok(not_found());
    }
    Ok(Json(json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": account.did,
        "alsoKnownAs": [format!("at://{}", account.handle)],
        "service": [{
            "id": "#atproto_pds",
            "type": "AtprotoPersonalDataServer",
            "serviceEndpoint": tenant.resource_server,
        }],
    }))
    .into_response())
}

/// `GET /.well-known/atproto-did` on a handle host (atproto handle resolution over HTTPS).
pub async fn atproto_did(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let (parts, _) = request.into_parts();
    Ok(match account_for_host(&state, &parts).await? {
        Some((_, account)) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            account.did,
        )
            .into_response(),
        None => not_found(),
    })
}

fn xrpc_error(status: StatusCode, error: &str, message: &str) -> Response {
    (status, Json(json!({ "error": error, "message": message }))).into_response()
}

/// XRPC `com.atproto.identity.resolveHandle`.
pub async fn resolve_handle(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    let Some(handle) = params.get("handle") else {
        return Ok(xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Missing handle parameter",
        ));
    };
    let handle = handle.trim_start_matches('@');
    if !identity::is_valid_handle(handle) {
        return Ok(xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Invalid handle",
        ));
    }
    Ok(match lookup_handle(&state, handle).await? {
        Some((_, account)) => Json(json!({ "did": account.did })).into_response(),
        None => xrpc_error(
            StatusCode::BAD_REQUEST,
            "HandleNotFound",
            "Unable to resolve handle",
        ),
    })
}
