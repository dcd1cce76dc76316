use super::*;
use crate::ErrorCode;
use proptest::prelude::*;

const PROD: ClientPolicy = ClientPolicy { dev: false };
const DEV: ClientPolicy = ClientPolicy { dev: true };

fn code(id: &str, policy: ClientPolicy) -> ErrorCode {
    classify_client_id(id, policy).unwrap_err().code
}

fn discoverable(id: &str) -> ClientIdKind {
    ClientIdKind::Discoverable {
        metadata_url: id.to_owned(),
    }
}

#[test]
fn empty_client_id_is_invalid_client() {
    // checklist 30
    assert_eq!(code("", PROD), ErrorCode::InvalidClient);
}

#[test]
fn non_url_client_id_is_invalid_client() {
    assert_eq!(code("my-app", PROD), ErrorCode::InvalidClient);
    assert_eq!(
        code("/client-metadata.json", PROD),
        ErrorCode::InvalidClient
    );
}

#[test]
fn https_client_id_is_discoverable() {
    let id = "https://app.example.com/client-metadata.json";
    assert_eq!(classify_client_id(id, PROD).unwrap(), discoverable(id));
    let with_query = "https://app.example.com/oauth/client?v=2";
    assert_eq!(
        classify_client_id(with_query, PROD).unwrap(),
        discoverable(with_query)
    );
}

#[test]
fn loopback_client_id_forms() {
    for id in [
        "http://localhost",
        "http://localhost/",
        "http://localhost?scope=atproto",
        "http://localhost/?redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcb",
        "http://localhost?",
    ] {
        assert_eq!(
            classify_client_id(id, PROD).unwrap(),
            ClientIdKind::Loopback,
            "{id}"
        );
        assert_eq!(
            classify_client_id(id, DEV).unwrap(),
            ClientIdKind::Loopback,
            "{id}"
        );
    }
}

#[test]
fn loopback_lookalikes_are_refused() {
    // checklist 110
    for id in [
        "http://localhost:8080/",
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://localhost:8080",
    ] {
        assert_eq!(code(id, PROD), ErrorCode::InvalidClientMetadata, "{id}");
    }
    for id in ["http://localhost:8080/", "http://127.0.0.1/"] {
        assert_eq!(code(id, DEV), ErrorCode::InvalidClientMetadata, "{id}");
    }
    assert_eq!(
        code("http://localhost/cb", PROD),
        ErrorCode::InvalidClientMetadata
    );
    assert_eq!(
        code("http://LOCALHOST", PROD),
        ErrorCode::InvalidClientMetadata
    );
    assert_eq!(
        code("http://localhost#x", PROD),
        ErrorCode::InvalidClientMetadata
    );
}

#[test]
fn loopback_client_id_fragment_is_refused() {
    let e = classify_client_id("http://localhost?scope=atproto+transition:generic#x", PROD);
    let e = e.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidClientMetadata);
    assert!(e.description.contains("fragment"));
}

#[test]
fn loopback_query_allows_only_redirect_uri_and_scope() {
    let err = classify_client_id("http://localhost?client_name=x", PROD).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidClientMetadata);
    assert!(err.description.contains("client_name"));
}

#[test]
fn loopback_scope_at_most_once() {
    assert_eq!(
        code("http://localhost?scope=atproto&scope=atproto", PROD),
        ErrorCode::InvalidClientMetadata
    );
}

#[test]
fn loopback_redirect_localhost_is_refused() {
    // checklist 111
    let err = classify_client_id(
        "http://localhost?redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb",
        PROD,
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidClientMetadata);
    assert!(err.description.contains("RFC 8252 section 8.3"));
    assert!(
        loopback_client_metadata("http://localhost?redirect_uri=http%3A%2F%2Flocalhost%2F")
            .is_err()
    );
}

#[test]
fn loopback_redirect_must_be_http_loopback_ip() {
    for r in [
        "https%3A%2F%2F127.0.0.1%2F",
        "http%3A%2F%2Fexample.com%2F",
        "",
        "com.example%3A%2Fcb",
    ] {
        let id = format!("http://localhost?redirect_uri={r}");
        assert_eq!(code(&id, PROD), ErrorCode::InvalidClientMetadata, "{id}");
    }
}

#[test]
fn loopback_scope_must_include_atproto() {
    // checklist 112
    let err = classify_client_id("http://localhost?scope=transition%3Ageneric", PROD).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidClientMetadata);
    assert!(err.description.contains("atproto"));
    assert!(loopback_client_metadata("http://localhost?scope=").is_err());
}

#[test]
fn loopback_default_metadata() {
    // checklist 108
    let m = loopback_client_metadata("http://localhost").unwrap();
    assert_eq!(m.client_id, "http://localhost");
    assert_eq!(m.redirect_uris, ["http://127.0.0.1/", "http://[::1]/"]);
    assert_eq!(m.scope, "atproto");
    assert_eq!(m.token_endpoint_auth_method, AuthMethod::None);
    assert_eq!(m.application_type, ApplicationType::Native);
    assert_eq!(m.grant_types, ["authorization_code", "refresh_token"]);
    assert_eq!(m.response_types, ["code"]);
    assert!(m.dpop_bound_access_tokens);
    assert!(!m.is_confidential());
    assert_eq!(m.client_name, None);
}

#[test]
fn loopback_metadata_from_query() {
    let id = "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%3A5173%2Fcb&redirect_uri=http%3A%2F%2F%5B%3A%3A1%5D%2Fcb\
              &scope=atproto+transition%3Ageneric";
    let m = loopback_client_metadata(id).unwrap();
    assert_eq!(
        m.redirect_uris,
        ["http://127.0.0.1:5173/cb", "http://[::1]/cb"]
    );
    assert_eq!(m.scope, "atproto transition:generic");
}

#[test]
fn loopback_metadata_refuses_non_loopback_ids() {
    let err = loopback_client_metadata("https://app.example.com/client-metadata.json").unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidClientMetadata);
}

#[test]
fn discoverable_http_is_refused_in_production() {
    // checklist 118
    assert_eq!(
        code("http://app.example.com/client-metadata.json", PROD),
        ErrorCode::InvalidClientMetadata
    );
}

#[test]
fn discoverable_port_is_refused_in_production() {
    // checklist 118
    assert_eq!(
        code("https://app.example.com:8443/m.json", PROD),
        ErrorCode::InvalidClientMetadata
    );
    assert_eq!(
        code("https://app.example.com:443/m.json", PROD),
        ErrorCode::InvalidClientMetadata
    );
}

#[test]
fn discoverable_path_must_not_be_root_or_end_with_slash() {
    // checklist 119
    for id in [
        "https://app.example.com",
        "https://app.example.com/",
        "https://app.example.com/oauth/",
    ] {
        assert_eq!(code(id, PROD), ErrorCode::InvalidClientMetadata, "{id}");
        assert_eq!(code(id, DEV), ErrorCode::InvalidClientMetadata, "{id}");
    }
    let e = classify_client_id("https://app.example.com/", PROD).unwrap_err();
    assert!(
        e.description.contains("must have a path"),
        "{}",
        e.description
    );
}

#[test]
fn discoverable_fragment_is_refused() {
    // checklist 119
    assert_eq!(
        code("https://app.example.com/m.json#x", PROD),
        ErrorCode::InvalidClientMetadata
    );
    assert_eq!(
        code("https://app.example.com/m.json#", DEV),
        ErrorCode::InvalidClientMetadata
    );
}

#[test]
fn discoverable_ip_literal_is_refused_in_production() {
    // checklist 119
    assert_eq!(
        code("https://93.184.215.14/m.json", PROD),
        ErrorCode::InvalidClientMetadata
    );
    assert_eq!(
        code("https://[2001:db8::1]/m.json", PROD),
        ErrorCode::InvalidClientMetadata
    );
}

#[test]
fn discoverable_userinfo_is_refused() {
    assert_eq!(
        code("https://user:pw@app.example.com/m.json", PROD),
        ErrorCode::InvalidClientMetadata
    );
    assert_eq!(
        code("https://user@app.example.com/m.json", DEV),
        ErrorCode::InvalidClientMetadata
    );
}

#[test]
fn discoverable_host_must_be_public_domain_in_production() {
    for id in [
        "https://intranet/m.json",
        "https://app.localhost/m.json",
        "https://printer.local/m.json",
        "https://x.invalid/m.json",
    ] {
        assert_eq!(code(id, PROD), ErrorCode::InvalidClientMetadata, "{id}");
    }
}

#[test]
fn discoverable_must_be_canonical() {
    for id in [
        "https://APP.example.com/m.json",
        "https://app.example.com/a/../m.json",
        " https://app.example.com/m.json",
        "https://app.example.com/m json",
    ] {
        assert_eq!(code(id, PROD), ErrorCode::InvalidClientMetadata, "{id}");
    }
}

#[test]
fn other_schemes_are_refused() {
    assert_eq!(
        code("ftp://app.example.com/m.json", PROD),
        ErrorCode::InvalidClientMetadata
    );
    assert_eq!(
        code("ftp://app.example.com/m.json", DEV),
        ErrorCode::InvalidClientMetadata
    );
}

#[test]
fn dev_mode_relaxes_scheme_host_and_port() {
    for id in [
        "http://client.atauth-test.internal:8080/client-metadata.json",
        "http://127.0.0.1:3000/client-metadata.json",
        "http://localhost:3000/client-metadata.json",
        "https://intranet/m.json",
    ] {
        assert_eq!(
            classify_client_id(id, DEV).unwrap(),
            discoverable(id),
            "{id}"
        );
    }
}

#[test]
fn declared_scope_rules() {
    assert_eq!(
        check_declared_scope("atproto  repo:x", "s").unwrap(),
        "atproto repo:x"
    );
    assert!(check_declared_scope("atproto atproto", "s").is_err());
    assert!(check_declared_scope("atproto a\"b", "s").is_err());
    assert!(check_declared_scope("transition:generic", "s").is_err());
}

proptest! {
    #[test]
    fn classify_never_panics(s in "\\PC{0,120}") {
        let _ = classify_client_id(&s, PROD);
        let _ = classify_client_id(&s, DEV);
        let _ = loopback_client_metadata(&s);
    }

    #[test]
    fn classify_loopback_shapes_never_panic(q in "[a-z_=&%0-9A-F:/.\\[\\]#?+]{0,80}") {
        let id = format!("http://localhost?{q}");
        let _ = classify_client_id(&id, PROD);
        let _ = loopback_client_metadata(&id);
    }
}
