//! Prometheus metrics: requests and latency per route, active sessions per cooperative,
//! client metadata cache use and Redis errors, served in the text exposition format.
//!
//! Labels are bounded on purpose: the route is the matched path template (never the raw
//! path), the status a class (`2xx`...), the OAuth error code one of the codes the server
//! emits (anything else is `other`), the cooperative its issuer. No token, secret, handle or
//! address ever becomes a label.
//!
//! `/metrics` is served by [`router`] on its own listener (`atauth serve --metrics-listen`),
//! not on the public one.

use crate::state::AppState;
use atauth_fetch::SafeFetcher;
use axum::body::{Body, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderValue, StatusCode};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use tokio::time::Instant;

/// Largest error body read to find its OAuth `error` code (error bodies are a few hundred bytes).
const MAX_ERROR_BODY: usize = 16 * 1024;

/// The OAuth error codes the server answers with (RFC 6749 section 5.2, RFC 9449, RFC 7009,
/// RFC 9126, RFC 6750); the `error` label takes one of these or `other`.
const ERROR_CODES: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "unsupported_response_type",
    "unsupported_token_type",
    "invalid_scope",
    "access_denied",
    "invalid_request_uri",
    "invalid_request_object",
    "invalid_redirect_uri",
    "invalid_client_metadata",
    "invalid_dpop_proof",
    "use_dpop_nonce",
    "invalid_token",
    "insufficient_scope",
    "invalid_authorization_details",
    "login_required",
    "consent_required",
    "temporarily_unavailable",
    "server_error",
    "not_found",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: &'static str,
    error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    issuer: String,
}

/// The process's metrics. One per [`AppState`].
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    active_sessions: Family<TenantLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    pub(crate) fn new(fetcher: Arc<SafeFetcher>) -> Self {
        let mut registry = Registry::with_prefix("atauth");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route template, method, status class and OAuth error code",
            requests.clone(),
        );
        let latency =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route template and method",
            latency.clone(),
        );
        let active_sessions = Family::<TenantLabels, Gauge>::default();
        registry.register(
            "active_sessions",
            "Sessions neither revoked nor expired, by cooperative issuer",
            active_sessions.clone(),
        );
        registry.register_collector(Box::new(ProcessCounters { fetcher }));
        Self {
            registry,
            requests,
            latency,
            active_sessions,
        }
    }

    fn observe(
        &self,
        route: &str,
        method: &str,
        status: StatusCode,
        error: &'static str,
        secs: f64,
    ) {
        let route = route.to_string();
        let method = method.to_string();
        self.requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                method: method.clone(),
                status: status_class(status),
                error,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route, method })
            .observe(secs);
    }

    /// The text exposition, with the active-session gauges read from `store` first.
    pub async fn render(&self, state: &AppState) -> Result<String, std::fmt::Error> {
        // On an error the last known values stay; the store logs the error.
        if let Ok(counts) = state.store().active_sessions(state.now()).await {
            self.active_sessions.clear();
            for (issuer, n) in counts {
                self.active_sessions
                    .get_or_create(&TenantLabels { issuer })
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Counters kept elsewhere, read at scrape time.
#[derive(Debug)]
struct ProcessCounters {
    fetcher: Arc<SafeFetcher>,
}

impl Collector for ProcessCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.fetcher.cache_stats();
        let redis_errors = atauth_store::replay::redis_error_count();
        for (name, help, value) in [
            (
                "client_metadata_cache_hits",
                "Client metadata and JWKS lookups answered from the cache",
                stats.hits,
            ),
            (
                "client_metadata_cache_misses",
                "Client metadata and JWKS lookups that fetched the document",
                stats.misses,
            ),
            (
                "redis_errors",
                "Redis calls (replay markers, rate-limit counters) that failed",
                redis_errors,
            ),
        ] {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The known OAuth error code of a JSON error body, `other` for an unknown one, `""` for none.
fn error_code(body: &[u8]) -> &'static str {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return "";
    };
    match value.get("error").and_then(|e| e.as_str()) {
        Some(code) => ERROR_CODES
            .iter()
            .find(|known| **known == code)
            .copied()
            .unwrap_or("other"),
        None => "",
    }
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Middleware counting every request under its matched route (`Router::layer`, so the route
/// is known). Error answers in JSON are read back to label their OAuth error code.
pub(crate) async fn record(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().as_str().to_string();
    let response = next.run(request).await;
    let status = response.status();
    // Only bodies known to be small are read back (JSON error bodies are complete buffers).
    let small = response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n <= MAX_ERROR_BODY as u64);
    let (response, error) = if status.as_u16() >= 400 && is_json(&response) && small {
        let (parts, body) = response.into_parts();
        match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
            Ok(bytes) => {
                let error = error_code(&bytes);
                (Response::from_parts(parts, Body::from(bytes)), error)
            }
            Err(_) => (
                (StatusCode::INTERNAL_SERVER_ERROR, "response body failed").into_response(),
                "other",
            ),
        }
    } else {
        (response, "")
    };
    state.inner.metrics.observe(
        &route,
        &method,
        status,
        error,
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics` (Prometheus text format), for a listener of its own.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    match state.inner.metrics.render(&state).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_bounded() {
        assert_eq!(error_code(br#"{"error":"invalid_grant"}"#), "invalid_grant");
        assert_eq!(error_code(br#"{"error":"made-up-by-someone"}"#), "other");
        assert_eq!(error_code(br#"{"ok":true}"#), "");
        assert_eq!(error_code(b"not json"), "");
    }

    #[test]
    fn statuses_are_classes() {
        assert_eq!(status_class(StatusCode::CREATED), "2xx");
        assert_eq!(status_class(StatusCode::SEE_OTHER), "3xx");
        assert_eq!(status_class(StatusCode::BAD_REQUEST), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
    }
}
