//! Redeeming an authorization code (RFC 6749 section 4.1.3, RFC 7636 section 4.6; checklist
//! 81 to 86): the consumed code's request must match the exchange in every binding.

use super::Presenter;
use crate::stored_request::StoredRequest;
use atauth_protocol::pkce;
use atauth_protocol::token_request::CodeExchange;
use atauth_protocol::OAuthError;
use atauth_store::{ApprovalRecord, AuthRequestRecord};

/// Checks the request of a consumed code against the exchange, in this order: the code was
/// approved, is redeemed by the client it was issued to (checklist 85) before it expires
/// (checklist 86), by the client key that pushed the request, with the same `redirect_uri` if
/// one is sent (checklist 84), the PKCE verifier (checklists 82, 83) and the DPoP key of the
/// request (checklist 81). The approval on success; every refusal is `invalid_grant` (the code
/// is burnt by then).
pub fn redeem<'r>(
    record: &'r AuthRequestRecord,
    exchange: &CodeExchange<'_>,
    presenter: &Presenter<'_>,
    now: i64,
) -> Result<&'r ApprovalRecord, OAuthError> {
    let approval = record
        .approval
        .as_ref()
        .ok_or_else(|| OAuthError::invalid_grant("Invalid code"))?;
    if record.client_id != presenter.client_id {
        return Err(OAuthError::invalid_grant(
            "This code was issued to another client",
        ));
    }
    if approval.code_expires_at <= now {
        return Err(OAuthError::invalid_grant("This code has expired"));
    }
    let StoredRequest {
        request,
        client_key_thumbprint,
        ..
    } = StoredRequest::from_json(&record.request_json)
        .ok_or_else(|| OAuthError::server_error("Stored request is unreadable"))?;
    if client_key_thumbprint.as_deref() != presenter.client_key_thumbprint {
        return Err(OAuthError::invalid_grant(
            "The client authenticated with another key than for the authorization request",
        ));
    }
    if exchange
        .redirect_uri
        .is_some_and(|sent| sent != request.redirect_uri)
    {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the one of the authorization request",
        ));
    }
    let verifier = exchange
        .code_verifier
        .ok_or_else(|| OAuthError::invalid_grant("Missing code_verifier"))?;
    pkce::verify(verifier, &request.code_challenge)?;
    if presenter.dpop_jkt != request.dpop_jkt {
        return Err(OAuthError::invalid_grant(
            "The DPoP key differs from the one used for the authorization request",
        ));
    }
    Ok(approval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use atauth_protocol::request::{AuthorizationRequest, ResponseMode};
    use atauth_protocol::ErrorCode;

    const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-long";
    const NOW: i64 = 1_000;

    fn record(client_key_thumbprint: Option<&str>) -> AuthRequestRecord {
        let stored = StoredRequest {
            request: AuthorizationRequest {
                client_id: "client-a".into(),
                redirect_uri: "http://127.0.0.1/callback".into(),
                state: "s".into(),
                scope: "atproto".into(),
                code_challenge: pkce::challenge_for(VERIFIER),
                response_mode: ResponseMode::Query,
                login_hint: None,
                prompt: None,
                dpop_jkt: "dpop-key".into(),
            },
            client_key_thumbprint: client_key_thumbprint.map(str::to_string),
            permission_sets: Vec::new(),
        };
        AuthRequestRecord {
            id: "req".into(),
            client_id: "client-a".into(),
            request_json: stored.to_json().unwrap(),
            device_id: None,
            expires_at: NOW + 300,
            created_at: NOW - 10,
            approval: Some(ApprovalRecord {
                account_id: "acct".into(),
                granted_scope: "atproto".into(),
                code_expires_at: NOW + 60,
                code_used_at: Some(NOW),
                approved_at: NOW - 5,
            }),
        }
    }

    fn exchange() -> CodeExchange<'static> {
        CodeExchange {
            code: "cod-x",
            redirect_uri: Some("http://127.0.0.1/callback"),
            code_verifier: Some(VERIFIER),
        }
    }

    fn presenter() -> Presenter<'static> {
        Presenter {
            client_id: "client-a",
            dpop_jkt: "dpop-key",
            client_key_thumbprint: None,
        }
    }

    fn refusal(
        record: &AuthRequestRecord,
        exchange: CodeExchange<'_>,
        presenter: Presenter<'_>,
        now: i64,
    ) -> String {
        let err = redeem(record, &exchange, &presenter, now).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidGrant, "{err}");
        err.description.into_owned()
    }

    #[test]
    fn a_matching_exchange_redeems_the_approval() {
        let record = record(None);
        let approval = redeem(&record, &exchange(), &presenter(), NOW).unwrap();
        assert_eq!(approval.account_id, "acct");
        // redirect_uri is optional at the token endpoint.
        let without = CodeExchange {
            redirect_uri: None,
            ..exchange()
        };
        assert!(redeem(&record, &without, &presenter(), NOW).is_ok());
    }

    #[test]
    fn an_unapproved_request_or_another_client_is_refused() {
        let mut unapproved = record(None);
        unapproved.approval = None;
        assert_eq!(
            refusal(&unapproved, exchange(), presenter(), NOW),
            "Invalid code"
        );
        let other = Presenter {
            client_id: "client-b",
            ..presenter()
        };
        assert_eq!(
            refusal(&record(None), exchange(), other, NOW),
            "This code was issued to another client"
        );
    }

    #[test]
    fn a_code_is_refused_from_its_expiry_on() {
        let record = record(None);
        assert!(redeem(&record, &exchange(), &presenter(), NOW + 59).is_ok());
        assert_eq!(
            refusal(&record, exchange(), presenter(), NOW + 60),
            "This code has expired"
        );
    }

    #[test]
    fn the_client_key_of_the_request_must_redeem_it() {
        let confidential = record(Some("client-key"));
        let same_key = Presenter {
            client_key_thumbprint: Some("client-key"),
            ..presenter()
        };
        assert!(redeem(&confidential, &exchange(), &same_key, NOW).is_ok());
        for key in [None, Some("another-key")] {
            let presenter = Presenter {
                client_key_thumbprint: key,
                ..presenter()
            };
            assert_eq!(
                refusal(&confidential, exchange(), presenter, NOW),
                "The client authenticated with another key than for the authorization request"
            );
        }
    }

    #[test]
    fn redirect_uri_verifier_and_dpop_key_must_match() {
        let record = record(None);
        let elsewhere = CodeExchange {
            redirect_uri: Some("http://127.0.0.1/elsewhere"),
            ..exchange()
        };
        assert_eq!(
            refusal(&record, elsewhere, presenter(), NOW),
            "redirect_uri differs from the one of the authorization request"
        );
        let no_verifier = CodeExchange {
            code_verifier: None,
            ..exchange()
        };
        assert_eq!(
            refusal(&record, no_verifier, presenter(), NOW),
            "Missing code_verifier"
        );
        let wrong = "another-verifier-of-at-least-forty-three-characters";
        let wrong_verifier = CodeExchange {
            code_verifier: Some(wrong),
            ..exchange()
        };
        refusal(&record, wrong_verifier, presenter(), NOW);
        let thief = Presenter {
            dpop_jkt: "thief-key",
            ..presenter()
        };
        assert_eq!(
            refusal(&record, exchange(), thief, NOW),
            "The DPoP key differs from the one used for the authorization request"
        );
    }

    #[test]
    fn an_unreadable_stored_request_is_a_server_error() {
        let mut broken = record(None);
        broken.request_json = "{".into();
        let err = redeem(&broken, &exchange(), &presenter(), NOW).unwrap_err();
        assert_eq!(err.code, ErrorCode::ServerError);
    }
}
