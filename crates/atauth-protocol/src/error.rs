//! One OAuth error type: an RFC error code plus a human-readable description.
//! The HTTP layer maps [`ErrorCode`] to a status and headers; nothing here knows HTTP.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    // RFC 6749 section 5.2 / 4.1.2.1
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    // OpenID Connect Core 3.1.2.6 (prompt handling)
    LoginRequired,
    ConsentRequired,
    AccountSelectionRequired,
    // RFC 9449 (DPoP)
    InvalidDpopProof,
    UseDpopNonce,
    // RFC 7591 (client metadata)
    InvalidClientMetadata,
    InvalidRedirectUri,
    // RFC 6750 (resource servers)
    InvalidToken,
    InsufficientScope,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }
    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_scope(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }
    pub fn invalid_dpop_proof(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidDpopProof, d)
    }
    pub fn use_dpop_nonce() -> Self {
        Self::new(
            ErrorCode::UseDpopNonce,
            "Authorization server requires nonce in DPoP proof",
        )
    }
    pub fn invalid_client_metadata(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClientMetadata, d)
    }
    pub fn invalid_redirect_uri(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRedirectUri, d)
    }
    pub fn invalid_token(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidToken, d)
    }
    pub fn access_denied(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::AccessDenied, d)
    }
    pub fn server_error(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::ServerError, d)
    }
    pub fn temporarily_unavailable(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::TemporarilyUnavailable, d)
    }
}
