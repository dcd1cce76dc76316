use super::*;
use crate::ErrorCode;

fn client(redirect_uris: &[&str]) -> ClientMetadata {
    ClientMetadata {
        client_id: "https://app.example.com/client-metadata.json".to_owned(),
        client_name: None,
        client_uri: None,
        logo_uri: None,
        tos_uri: None,
        policy_uri: None,
        redirect_uris: redirect_uris.iter().map(|s| (*s).to_owned()).collect(),
        grant_types: vec!["authorization_code".to_owned()],
        response_types: vec!["code".to_owned()],
        scope: "atproto".to_owned(),
        token_endpoint_auth_method: AuthMethod::None,
        application_type: ApplicationType::Web,
        dpop_bound_access_tokens: true,
        jwks: None,
        jwks_uri: None,
    }
}

#[test]
fn display_name_prefers_client_name() {
    let mut c = client(&[]);
    c.client_name = Some("  Graysky ".to_owned());
    assert_eq!(c.display_name(), "Graysky");
}

#[test]
fn display_name_falls_back_to_client_id_host() {
    let mut c = client(&[]);
    assert_eq!(c.display_name(), "app.example.com");
    c.client_name = Some("   ".to_owned());
    assert_eq!(c.display_name(), "app.example.com");
    let loopback = loopback_client_metadata("http://localhost").unwrap();
    assert_eq!(loopback.display_name(), "localhost");
}

#[test]
fn redirect_uri_exact_match() {
    let c = client(&[
        "https://app.example.com/cb",
        "https://app.example.com/other",
    ]);
    assert_eq!(
        c.resolve_redirect_uri(Some("https://app.example.com/other"))
            .unwrap(),
        "https://app.example.com/other"
    );
}

#[test]
fn unregistered_redirect_uri_is_invalid_request() {
    // checklist 41
    let c = client(&["https://app.example.com/cb"]);
    for r in [
        "https://app.example.com/cb/",
        "https://app.example.com/CB",
        "https://app.example.com/cb?x",
        "https://evil.example/cb",
    ] {
        let e = c.resolve_redirect_uri(Some(r)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest, "{r}");
        assert!(e.description.contains(r), "{r}");
    }
}

#[test]
fn omitted_redirect_uri_uses_the_only_registered_one() {
    // checklist 42
    let c = client(&["https://app.example.com/cb"]);
    assert_eq!(
        c.resolve_redirect_uri(None).unwrap(),
        "https://app.example.com/cb"
    );
}

#[test]
fn omitted_redirect_uri_with_several_registered_is_invalid_request() {
    // checklist 43
    let c = client(&[
        "https://app.example.com/cb",
        "https://app.example.com/other",
    ]);
    assert_eq!(
        c.resolve_redirect_uri(None).unwrap_err().code,
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        client(&[]).resolve_redirect_uri(None).unwrap_err().code,
        ErrorCode::InvalidRequest
    );
}

#[test]
fn loopback_redirect_port_is_ignored() {
    // checklist 109
    let c = loopback_client_metadata("http://localhost").unwrap();
    assert_eq!(
        c.resolve_redirect_uri(Some("http://127.0.0.1:53682/"))
            .unwrap(),
        "http://127.0.0.1:53682/"
    );
    assert_eq!(
        c.resolve_redirect_uri(Some("http://[::1]:8080/")).unwrap(),
        "http://[::1]:8080/"
    );
    assert_eq!(
        c.resolve_redirect_uri(Some("http://127.0.0.1/")).unwrap(),
        "http://127.0.0.1/"
    );
    assert!(c
        .resolve_redirect_uri(Some("http://127.0.0.1:53682/cb"))
        .is_err());
    assert!(c
        .resolve_redirect_uri(Some("http://localhost:53682/"))
        .is_err());
}

#[test]
fn loopback_redirect_registered_port_must_match() {
    let c = client(&["http://127.0.0.1:8080/cb"]);
    assert!(c
        .resolve_redirect_uri(Some("http://127.0.0.1:8080/cb"))
        .is_ok());
    assert!(c
        .resolve_redirect_uri(Some("http://127.0.0.1:9090/cb"))
        .is_err());
}
