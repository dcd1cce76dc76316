use super::*;
use crate::client::{loopback_client_metadata, validate_client_metadata, ClientPolicy};
use serde_json::json;

const CLIENT_ID: &str = "https://app.example.com/client-metadata.json";
const JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn client_with(f: impl FnOnce(&mut serde_json::Value)) -> ClientMetadata {
    let mut doc = json!({
        "client_id": CLIENT_ID,
        "redirect_uris": ["https://app.example.com/callback"],
        "scope": "atproto transition:generic transition:email future:thing",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "dpop_bound_access_tokens": true
    });
    f(&mut doc);
    match validate_client_metadata(CLIENT_ID, &doc, ClientPolicy::default()) {
        Ok(c) => c,
        Err(e) => panic!("test client metadata is invalid: {e}"),
    }
}

fn public_client() -> ClientMetadata {
    client_with(|_| {})
}

fn confidential_client() -> ClientMetadata {
    client_with(|d| {
        d["token_endpoint_auth_method"] = json!("private_key_jwt");
        d["jwks_uri"] = json!("https://app.example.com/jwks.json");
    })
}

fn base() -> Vec<(&'static str, String)> {
    vec![
        ("client_id", CLIENT_ID.to_owned()),
        ("response_type", "code".to_owned()),
        (
            "redirect_uri",
            "https://app.example.com/callback".to_owned(),
        ),
        ("state", "st-123".to_owned()),
        ("scope", "atproto transition:generic".to_owned()),
        ("code_challenge", CHALLENGE.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
    ]
}

/// The base request with `key` set to `value` (`None` removes it).
fn params_with(key: &'static str, value: Option<&str>) -> Params {
    let mut p: Vec<(&str, String)> = base().into_iter().filter(|(k, _)| *k != key).collect();
    if let Some(v) = value {
        p.push((key, v.to_owned()));
    }
    Params::from_pairs(p)
}

fn validate(params: &Params) -> Result<AuthorizationRequest, OAuthError> {
    validate_par(params, &public_client(), JKT)
}

fn code_with(key: &'static str, value: Option<&str>) -> ErrorCode {
    validate(&params_with(key, value)).unwrap_err().code
}

#[test]
fn valid_request_is_stored_with_proof_key() {
    let r = validate(&Params::from_pairs(base())).unwrap();
    assert_eq!(r.client_id, CLIENT_ID);
    assert_eq!(r.redirect_uri, "https://app.example.com/callback");
    assert_eq!(r.state, "st-123");
    assert_eq!(r.scope, "atproto transition:generic");
    assert_eq!(r.code_challenge, CHALLENGE);
    assert_eq!(r.response_mode, ResponseMode::Query);
    assert_eq!(r.prompt, None);
    assert_eq!(r.login_hint, None);
    assert_eq!(r.dpop_jkt, JKT);
}

#[test]
fn jar_request_parameter_is_refused() {
    assert_eq!(
        code_with("request", Some("eyJ.x.y")),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn request_uri_at_par_is_refused() {
    let p = params_with(
        "request_uri",
        Some("urn:ietf:params:oauth:request_uri:req-1"),
    );
    assert_eq!(validate(&p).unwrap_err().code, ErrorCode::InvalidRequest);
}

#[test]
fn oidc_parameters_are_refused() {
    // checklist 45
    for k in ["nonce", "claims", "id_token_hint"] {
        let e = validate(&params_with(k, Some("x"))).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest, "{k}");
        assert!(e.description.contains(k), "{k}");
    }
}

#[test]
fn authorization_details_are_refused() {
    assert_eq!(
        code_with("authorization_details", Some("[]")),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn voluntary_oidc_parameters_are_ignored() {
    let mut p = base();
    p.push(("acr_values", "x".to_owned()));
    p.push(("max_age", "0".to_owned()));
    p.push(("ui_locales", "fr".to_owned()));
    assert!(validate(&Params::from_pairs(p)).is_ok());
}

#[test]
fn response_type_is_required() {
    assert_eq!(code_with("response_type", None), ErrorCode::InvalidRequest);
}

#[test]
fn response_type_must_be_code() {
    // checklist 44
    assert_eq!(
        code_with("response_type", Some("token")),
        ErrorCode::UnsupportedResponseType
    );
    assert_eq!(
        code_with("response_type", Some("code id_token")),
        ErrorCode::UnsupportedResponseType
    );
}

#[test]
fn missing_client_id_is_invalid_client() {
    // checklist 30
    assert_eq!(code_with("client_id", None), ErrorCode::InvalidClient);
}

#[test]
fn client_id_must_match_authenticated_client() {
    assert_eq!(
        code_with("client_id", Some("https://other.example/m.json")),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn unregistered_redirect_uri_is_refused() {
    // checklist 41
    assert_eq!(
        code_with("redirect_uri", Some("https://evil.example/cb")),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn omitted_redirect_uri_uses_single_registered() {
    // checklist 42
    let r = validate(&params_with("redirect_uri", None)).unwrap();
    assert_eq!(r.redirect_uri, "https://app.example.com/callback");
}

#[test]
fn omitted_redirect_uri_with_several_registered_is_refused() {
    // checklist 43
    let client = client_with(|d| {
        d["redirect_uris"] = json!(["https://app.example.com/a", "https://app.example.com/b"]);
    });
    let e = validate_par(&params_with("redirect_uri", None), &client, JKT).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRequest);
}

#[test]
fn loopback_client_redirect_port_is_ignored() {
    // checklist 108, 109
    let client = loopback_client_metadata("http://localhost").unwrap();
    let mut p = base();
    for (k, v) in p.iter_mut() {
        match *k {
            "client_id" => *v = "http://localhost".to_owned(),
            "redirect_uri" => *v = "http://127.0.0.1:49152/".to_owned(),
            "scope" => *v = "atproto".to_owned(),
            _ => {}
        }
    }
    let p = Params::from_pairs(p);
    let r = validate_par(&p, &client, JKT).unwrap();
    assert_eq!(r.redirect_uri, "http://127.0.0.1:49152/");
    assert_eq!(r.scope, "atproto");
}

#[test]
fn state_is_required() {
    let e = validate(&params_with("state", None)).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    assert!(e.description.contains("state"));
}

#[test]
fn state_is_at_most_2048_chars() {
    assert!(validate(&params_with("state", Some(&"s".repeat(2048)))).is_ok());
    assert_eq!(
        code_with("state", Some(&"s".repeat(2049))),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn code_challenge_is_required() {
    // checklist 36
    let e = validate(&params_with("code_challenge", None)).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    assert!(e.description.contains("PKCE"));
}

#[test]
fn code_challenge_method_must_be_s256() {
    // checklist 37
    assert_eq!(
        code_with("code_challenge_method", Some("plain")),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        code_with("code_challenge_method", None),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn code_challenge_must_be_s256_shaped() {
    assert_eq!(
        code_with("code_challenge", Some("short")),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn scope_is_required() {
    assert_eq!(code_with("scope", None), ErrorCode::InvalidScope);
}

#[test]
fn scope_must_contain_atproto() {
    // checklist 38
    assert_eq!(
        code_with("scope", Some("transition:generic")),
        ErrorCode::InvalidScope
    );
}

#[test]
fn undeclared_scope_is_refused() {
    // checklist 39
    assert_eq!(
        code_with("scope", Some("atproto transition:chat.bsky")),
        ErrorCode::InvalidScope
    );
}

#[test]
fn openid_scope_is_refused() {
    // checklist 40
    assert_eq!(
        code_with("scope", Some("atproto openid")),
        ErrorCode::InvalidScope
    );
}

#[test]
fn declared_unknown_scope_is_dropped() {
    // checklist 50
    let r = validate(&params_with(
        "scope",
        Some("atproto future:thing transition:email"),
    ))
    .unwrap();
    assert_eq!(r.scope, "atproto transition:email");
}

#[test]
fn response_modes() {
    for (v, m) in [
        ("query", ResponseMode::Query),
        ("fragment", ResponseMode::Fragment),
        ("form_post", ResponseMode::FormPost),
    ] {
        assert_eq!(
            validate(&params_with("response_mode", Some(v)))
                .unwrap()
                .response_mode,
            m
        );
    }
    assert_eq!(
        code_with("response_mode", Some("web_message")),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn prompt_values() {
    for (v, p) in [
        ("login", Some(Prompt::Login)),
        ("consent", Some(Prompt::Consent)),
        ("select_account", Some(Prompt::SelectAccount)),
        ("create", None),
    ] {
        assert_eq!(
            validate(&params_with("prompt", Some(v))).unwrap().prompt,
            p,
            "{v}"
        );
    }
    assert_eq!(
        code_with("prompt", Some("bogus")),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        code_with("prompt", Some("login consent")),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn prompt_none_from_public_client_is_refused() {
    // checklist 46
    assert_eq!(code_with("prompt", Some("none")), ErrorCode::InvalidRequest);
    let r = validate_par(
        &params_with("prompt", Some("none")),
        &confidential_client(),
        JKT,
    )
    .unwrap();
    assert_eq!(r.prompt, Some(Prompt::None));
}

#[test]
fn login_hint_handle_is_normalised() {
    let r = validate(&params_with("login_hint", Some("@Alice.Example.COM"))).unwrap();
    assert_eq!(r.login_hint.as_deref(), Some("alice.example.com"));
}

#[test]
fn login_hint_did_is_kept_as_sent() {
    let did = "did:plc:z72i7hdynmk6r22z27h6tvur";
    let r = validate(&params_with("login_hint", Some(did))).unwrap();
    assert_eq!(r.login_hint.as_deref(), Some(did));
}

#[test]
fn invalid_login_hint_is_refused() {
    // checklist 47
    for h in [
        "alice",
        "not a handle",
        "did:PLC:x",
        "alice@example.com",
        "did:plc:",
    ] {
        assert_eq!(
            code_with("login_hint", Some(h)),
            ErrorCode::InvalidRequest,
            "{h}"
        );
    }
}

#[test]
fn dpop_jkt_must_match_proof() {
    // checklist 48 (we answer invalid_request, see module docs)
    let e = validate(&params_with("dpop_jkt", Some("other-thumbprint"))).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    assert!(e.description.contains("dpop_jkt"));
    assert_eq!(
        validate(&params_with("dpop_jkt", Some(JKT)))
            .unwrap()
            .dpop_jkt,
        JKT
    );
}

#[test]
fn dpop_proof_is_required() {
    let e = validate_par(&Params::from_pairs(base()), &public_client(), "").unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidDpopProof);
}

#[test]
fn client_without_code_grant_is_unauthorized() {
    let mut client = public_client();
    client.grant_types = vec!["refresh_token".to_owned()];
    let e = validate_par(&Params::from_pairs(base()), &client, JKT).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnauthorizedClient);
}

#[test]
fn stored_request_round_trips_through_json() {
    let r = validate(&params_with("response_mode", Some("form_post"))).unwrap();
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"form_post\""));
    assert_eq!(
        serde_json::from_str::<AuthorizationRequest>(&json).unwrap(),
        r
    );
    assert_eq!(r.scopes().to_scope_string(), r.scope);
}
