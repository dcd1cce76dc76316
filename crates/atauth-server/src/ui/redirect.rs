//! Sending the member back to the client (RFC 6749 section 4.1.2, RFC 9207 `iss`,
//! OAuth 2.0 Form Post Response Mode).

use crate::tenant::TenantContext;
use askama::Template;
use atauth_protocol::random::{self, RandomSource};
use atauth_protocol::request::{AuthorizationRequest, ResponseMode};
use atauth_protocol::ErrorCode;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    fields: &'a [(String, String)],
    script_nonce: &'a str,
}

/// Redirects to the client with `params` plus `state` and `iss`, in the request's response mode.
pub fn to_client(
    tenant: &TenantContext,
    request: &AuthorizationRequest,
    mut params: Vec<(String, String)>,
    rng: &dyn RandomSource,
) -> Response {
    params.push(("state".into(), request.state.clone()));
    params.push(("iss".into(), tenant.issuer().to_string()));
    match request.response_mode {
        ResponseMode::FormPost => {
            let nonce = random::token(rng, 16);
            let page = FormPostPage {
                action: &request.redirect_uri,
                fields: &params,
                script_nonce: &nonce,
            };
            let csp = format!("default-src 'none'; script-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'");
            let response = match page.render() {
                Ok(html) => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    html,
                )
                    .into_response(),
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            };
            super::pages::with_page_headers(response, &csp)
        }
        mode => {
            let Ok(mut url) = url::Url::parse(&request.redirect_uri) else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            if mode == ResponseMode::Fragment {
                let encoded = form_urlencoded_pairs(&params);
                url.set_fragment(Some(&encoded));
            } else {
                url.query_pairs_mut().extend_pairs(params.iter());
            }
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(url.as_str()) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
    }
}

fn form_urlencoded_pairs(params: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish()
}

/// An error redirect (`error`, `error_description`, `state`, `iss`).
pub fn error_to_client(
    tenant: &TenantContext,
    request: &AuthorizationRequest,
    code: ErrorCode,
    description: &str,
    rng: &dyn RandomSource,
) -> Response {
    to_client(
        tenant,
        request,
        vec![
            ("error".into(), code.as_str().into()),
            ("error_description".into(), description.into()),
        ],
        rng,
    )
}
