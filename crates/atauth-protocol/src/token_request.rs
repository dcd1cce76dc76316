//! The token request as a typed value: one variant per grant the token endpoint serves
//! (RFC 6749 section 4.1.3 and section 6). Checklist 89, deliberate difference 5: any other
//! `grant_type` is `unsupported_grant_type`.
//!
//! Parsing has two steps because the endpoint answers in that order: the grant type is checked
//! before the DPoP proof and the client (an unsupported grant costs nothing), the grant's own
//! parameters after them.

use crate::params::Params;
use crate::{ErrorCode, OAuthError};

/// The grants of the token endpoint (metadata `grant_types_supported`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode,
    RefreshToken,
}

impl Grant {
    /// The request's `grant_type`: missing is `invalid_request`, any grant but these two is
    /// `unsupported_grant_type` (checklist 89, deliberate difference 5).
    pub fn of(params: &Params) -> Result<Self, OAuthError> {
        match params.require("grant_type")? {
            "authorization_code" => Ok(Self::AuthorizationCode),
            "refresh_token" => Ok(Self::RefreshToken),
            other => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("Unsupported grant_type \"{other}\""),
            )),
        }
    }

    /// The request's parameters for this grant. Only the credential itself is required here;
    /// `code_verifier` and `redirect_uri` are checked when the code is redeemed, after the code
    /// is consumed (a failed exchange burns it).
    pub fn request(self, params: &Params) -> Result<TokenRequest<'_>, OAuthError> {
        match self {
            Self::AuthorizationCode => Ok(TokenRequest::AuthorizationCode(CodeExchange {
                code: params.require("code")?,
                redirect_uri: params.get("redirect_uri"),
                code_verifier: params.get("code_verifier"),
            })),
            Self::RefreshToken => Ok(TokenRequest::RefreshToken {
                refresh_token: params.require("refresh_token")?,
            }),
        }
    }
}

/// What a token request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRequest<'a> {
    /// RFC 6749 section 4.1.3.
    AuthorizationCode(CodeExchange<'a>),
    /// RFC 6749 section 6.
    RefreshToken { refresh_token: &'a str },
}

/// The parameters of an `authorization_code` grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeExchange<'a> {
    pub code: &'a str,
    /// Compared with the authorization request's when sent.
    pub redirect_uri: Option<&'a str>,
    /// Required, but refused as `invalid_grant` when the code is redeemed.
    pub code_verifier: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Params {
        Params::parse(query.as_bytes()).unwrap()
    }

    #[test]
    fn the_two_grants_are_recognised_and_others_are_unsupported_grant_type() {
        assert_eq!(
            Grant::of(&params("grant_type=authorization_code")),
            Ok(Grant::AuthorizationCode)
        );
        assert_eq!(
            Grant::of(&params("grant_type=refresh_token")),
            Ok(Grant::RefreshToken)
        );
        for other in [
            "password",
            "client_credentials",
            "implicit",
            "REFRESH_TOKEN",
        ] {
            let err = Grant::of(&params(&format!("grant_type={other}"))).unwrap_err();
            assert_eq!(err.code, ErrorCode::UnsupportedGrantType, "{other}");
            assert_eq!(
                err.description,
                format!("Unsupported grant_type \"{other}\"")
            );
        }
        let missing = Grant::of(&params("code=x")).unwrap_err();
        assert_eq!(missing.code, ErrorCode::InvalidRequest);
        assert_eq!(
            missing.description,
            "Missing required parameter \"grant_type\""
        );
    }

    #[test]
    fn each_grant_requires_its_credential_only() {
        let full = params("code=c&code_verifier=v&redirect_uri=r");
        let exchange = Grant::AuthorizationCode.request(&full).unwrap();
        assert_eq!(
            exchange,
            TokenRequest::AuthorizationCode(CodeExchange {
                code: "c",
                redirect_uri: Some("r"),
                code_verifier: Some("v"),
            })
        );
        let code_only = params("code=c");
        let bare = Grant::AuthorizationCode.request(&code_only).unwrap();
        assert_eq!(
            bare,
            TokenRequest::AuthorizationCode(CodeExchange {
                code: "c",
                redirect_uri: None,
                code_verifier: None,
            })
        );
        let err = Grant::AuthorizationCode
            .request(&params("code_verifier=v"))
            .unwrap_err();
        assert_eq!(err.description, "Missing required parameter \"code\"");
        assert_eq!(
            Grant::RefreshToken.request(&params("refresh_token=t")),
            Ok(TokenRequest::RefreshToken { refresh_token: "t" })
        );
        let err = Grant::RefreshToken.request(&params("code=c")).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        assert_eq!(
            err.description,
            "Missing required parameter \"refresh_token\""
        );
    }
}
