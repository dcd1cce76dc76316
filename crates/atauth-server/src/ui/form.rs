//! The body of a member page's form, read by an extractor that answers a page, never axum's
//! plain-text rejection.

use super::pages::message;
use crate::state::AppState;
use crate::tenant::{CurrentTenant, TenantContext};
use atauth_protocol::params::Params;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use std::sync::Arc;

/// A member form posted to a cooperative: its tenant and its fields. A body that cannot be
/// read (larger than the body limit) or parsed (a field sent twice) is answered with the same
/// "This form has expired" page as a form whose security token does not match.
pub struct MemberForm {
    pub tenant: Arc<TenantContext>,
    pub params: Params,
}

impl FromRequest<AppState> for MemberForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let CurrentTenant(tenant) = CurrentTenant::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state).await;
        match bytes.ok().and_then(|bytes| Params::parse(&bytes).ok()) {
            Some(params) => Ok(Self { tenant, params }),
            None => Err(expired_form(&tenant)),
        }
    }
}

/// The page for a form that cannot be trusted or read: the member starts again from the app.
pub fn expired_form(tenant: &TenantContext) -> Response {
    message(
        tenant,
        StatusCode::BAD_REQUEST,
        "This form has expired",
        "Your browser did not send the expected security token. Go back to the app and start again; make sure cookies are enabled.",
    )
}
