use super::*;
use crate::ErrorCode;
use proptest::prelude::*;
use serde_json::json;

const ID: &str = "https://app.example.com/client-metadata.json";
const PROD: ClientPolicy = ClientPolicy { dev: false };
const DEV: ClientPolicy = ClientPolicy { dev: true };

fn public_doc() -> Value {
    json!({
        "client_id": ID,
        "client_name": "Example",
        "client_uri": "https://app.example.com",
        "logo_uri": "https://cdn.example.net/logo.png",
        "redirect_uris": ["https://app.example.com/callback"],
        "scope": "atproto transition:generic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "web",
        "dpop_bound_access_tokens": true
    })
}

fn confidential_doc() -> Value {
    let mut d = public_doc();
    d["token_endpoint_auth_method"] = json!("private_key_jwt");
    d["token_endpoint_auth_signing_alg"] = json!("ES256");
    d["jwks_uri"] = json!("https://app.example.com/jwks.json");
    d
}

fn with(mut doc: Value, key: &str, value: Value) -> Value {
    doc[key] = value;
    doc
}

fn without(mut doc: Value, key: &str) -> Value {
    if let Some(o) = doc.as_object_mut() {
        o.remove(key);
    }
    doc
}

fn err(doc: &Value) -> OAuthError {
    validate_client_metadata(ID, doc, PROD).unwrap_err()
}

fn refused(doc: &Value) -> ErrorCode {
    err(doc).code
}

const META: ErrorCode = ErrorCode::InvalidClientMetadata;
const REDIRECT: ErrorCode = ErrorCode::InvalidRedirectUri;

#[test]
fn valid_public_web_client() {
    let m = validate_client_metadata(ID, &public_doc(), PROD).unwrap();
    assert_eq!(m.client_id, ID);
    assert_eq!(m.client_name.as_deref(), Some("Example"));
    assert_eq!(m.application_type, ApplicationType::Web);
    assert_eq!(m.token_endpoint_auth_method, AuthMethod::None);
    assert_eq!(m.scope, "atproto transition:generic");
    assert!(m.allows_refresh());
    assert_eq!(m.display_name(), "Example");
}

#[test]
fn valid_confidential_client() {
    let m = validate_client_metadata(ID, &confidential_doc(), PROD).unwrap();
    assert!(m.is_confidential());
    assert_eq!(
        m.jwks_uri.as_deref(),
        Some("https://app.example.com/jwks.json")
    );
    assert!(m.jwks.is_none());
}

#[test]
fn document_must_be_an_object() {
    assert_eq!(refused(&json!([1])), META);
}

#[test]
fn loopback_client_id_has_no_document() {
    let e = validate_client_metadata("http://localhost", &public_doc(), PROD).unwrap_err();
    assert_eq!(e.code, META);
}

#[test]
fn document_client_id_must_match() {
    // checklist 32
    assert_eq!(
        refused(&with(
            public_doc(),
            "client_id",
            json!("https://evil.example/m.json")
        )),
        META
    );
    assert_eq!(refused(&without(public_doc(), "client_id")), META);
    assert_eq!(refused(&with(public_doc(), "client_id", json!(1))), META);
}

#[test]
fn dpop_bound_access_tokens_must_be_true() {
    // checklist 33
    assert_eq!(
        refused(&without(public_doc(), "dpop_bound_access_tokens")),
        META
    );
    assert_eq!(
        refused(&with(
            public_doc(),
            "dpop_bound_access_tokens",
            json!(false)
        )),
        META
    );
    assert_eq!(
        refused(&with(
            public_doc(),
            "dpop_bound_access_tokens",
            json!("true")
        )),
        META
    );
}

#[test]
fn metadata_scope_must_include_atproto() {
    // checklist 34
    assert_eq!(
        refused(&with(public_doc(), "scope", json!("transition:generic"))),
        META
    );
}

#[test]
fn metadata_scope_is_required() {
    assert_eq!(refused(&without(public_doc(), "scope")), META);
    assert_eq!(refused(&with(public_doc(), "scope", json!(""))), META);
}

#[test]
fn metadata_scope_must_have_no_duplicates_or_bad_tokens() {
    assert_eq!(
        refused(&with(public_doc(), "scope", json!("atproto atproto"))),
        META
    );
    assert_eq!(
        refused(&with(
            public_doc(),
            "scope",
            json!("atproto\ttransition:generic")
        )),
        META
    );
}

#[test]
fn token_endpoint_auth_method_is_required() {
    // checklist 35
    let e = err(&without(public_doc(), "token_endpoint_auth_method"));
    assert_eq!(e.code, META);
    assert!(e.description.contains("token_endpoint_auth_method"));
}

#[test]
fn unsupported_auth_methods_are_refused() {
    for m in [
        "client_secret_basic",
        "client_secret_post",
        "tls_client_auth",
    ] {
        assert_eq!(
            refused(&with(public_doc(), "token_endpoint_auth_method", json!(m))),
            META,
            "{m}"
        );
    }
}

#[test]
fn auth_method_none_takes_no_signing_alg() {
    assert_eq!(
        refused(&with(
            public_doc(),
            "token_endpoint_auth_signing_alg",
            json!("ES256")
        )),
        META
    );
}

#[test]
fn public_clients_keys_are_dropped() {
    let doc = with(
        public_doc(),
        "jwks_uri",
        json!("https://app.example.com/jwks.json"),
    );
    let m = validate_client_metadata(ID, &doc, PROD).unwrap();
    assert!(m.jwks_uri.is_none() && m.jwks.is_none());
}

#[test]
fn private_key_jwt_signing_alg_must_be_es256_or_es256k() {
    for alg in ["none", "HS256", "RS256"] {
        let doc = with(
            confidential_doc(),
            "token_endpoint_auth_signing_alg",
            json!(alg),
        );
        assert_eq!(refused(&doc), META, "{alg}");
    }
    let doc = with(
        confidential_doc(),
        "token_endpoint_auth_signing_alg",
        json!("ES256K"),
    );
    assert!(validate_client_metadata(ID, &doc, PROD).is_ok());
    let doc = without(confidential_doc(), "token_endpoint_auth_signing_alg");
    assert!(validate_client_metadata(ID, &doc, PROD).is_ok());
}

#[test]
fn private_key_jwt_needs_exactly_one_of_jwks_and_jwks_uri() {
    // checklist 120
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "kid": "k1"}]});
    let both = with(confidential_doc(), "jwks", jwks.clone());
    assert_eq!(refused(&both), META);
    let neither = without(confidential_doc(), "jwks_uri");
    assert_eq!(refused(&neither), META);
    let inline = with(neither, "jwks", jwks.clone());
    let m = validate_client_metadata(ID, &inline, PROD).unwrap();
    assert_eq!(m.jwks, Some(jwks));
}

#[test]
fn jwks_uri_must_be_https() {
    let doc = with(
        confidential_doc(),
        "jwks_uri",
        json!("http://app.example.com/jwks.json"),
    );
    assert_eq!(refused(&doc), META);
    assert!(validate_client_metadata(ID, &doc, DEV).is_ok());
}

#[test]
fn inline_jwks_must_hold_public_keys() {
    let base = without(confidential_doc(), "jwks_uri");
    assert_eq!(
        refused(&with(base.clone(), "jwks", json!({"keys": []}))),
        META
    );
    assert_eq!(
        refused(&with(base.clone(), "jwks", json!([{"kty": "EC"}]))),
        META
    );
    let private =
        json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "secret"}]});
    let e = err(&with(base.clone(), "jwks", private));
    assert!(e.description.contains("\"d\""));
    assert_eq!(
        refused(&with(
            base,
            "jwks",
            json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})
        )),
        META
    );
}

#[test]
fn native_clients_cannot_use_private_key_jwt() {
    // checklist 115
    let doc = with(confidential_doc(), "application_type", json!("native"));
    assert_eq!(refused(&doc), META);
}

#[test]
fn application_type_must_be_web_or_native() {
    assert_eq!(
        refused(&with(public_doc(), "application_type", json!("browser"))),
        META
    );
    let m = validate_client_metadata(ID, &without(public_doc(), "application_type"), PROD).unwrap();
    assert_eq!(m.application_type, ApplicationType::Web);
}

#[test]
fn grant_types_default_is_authorization_code_only() {
    let m = validate_client_metadata(ID, &without(public_doc(), "grant_types"), PROD).unwrap();
    assert_eq!(m.grant_types, ["authorization_code"]);
    assert!(!m.allows_refresh());
}

#[test]
fn grant_types_must_include_authorization_code() {
    assert_eq!(
        refused(&with(public_doc(), "grant_types", json!(["refresh_token"]))),
        META
    );
    assert_eq!(refused(&with(public_doc(), "grant_types", json!([]))), META);
}

#[test]
fn grant_types_only_code_and_refresh() {
    for g in ["implicit", "password", "client_credentials"] {
        let doc = with(
            public_doc(),
            "grant_types",
            json!(["authorization_code", g]),
        );
        assert_eq!(refused(&doc), META, "{g}");
    }
    let dup = with(
        public_doc(),
        "grant_types",
        json!(["authorization_code", "authorization_code"]),
    );
    assert_eq!(refused(&dup), META);
    assert_eq!(
        refused(&with(
            public_doc(),
            "grant_types",
            json!("authorization_code")
        )),
        META
    );
}

#[test]
fn response_types_must_be_code_only() {
    let m = validate_client_metadata(ID, &without(public_doc(), "response_types"), PROD).unwrap();
    assert_eq!(m.response_types, ["code"]);
    for r in [
        json!(["code", "token"]),
        json!(["code id_token"]),
        json!([]),
        json!(["token"]),
    ] {
        assert_eq!(
            refused(&with(public_doc(), "response_types", r.clone())),
            META,
            "{r}"
        );
    }
}

#[test]
fn redirect_uris_are_required_and_non_empty() {
    assert_eq!(refused(&without(public_doc(), "redirect_uris")), META);
    assert_eq!(
        refused(&with(public_doc(), "redirect_uris", json!([]))),
        META
    );
    assert_eq!(
        refused(&with(public_doc(), "redirect_uris", json!([1]))),
        META
    );
}

#[test]
fn web_client_custom_scheme_redirect_is_refused() {
    // checklist 113
    let doc = with(
        public_doc(),
        "redirect_uris",
        json!(["com.example.app:/cb"]),
    );
    assert_eq!(refused(&doc), REDIRECT);
}

#[test]
fn native_client_scheme_must_match_client_host() {
    // checklist 114
    let native = with(public_doc(), "application_type", json!("native"));
    let ok = with(
        native.clone(),
        "redirect_uris",
        json!(["com.example.app:/cb"]),
    );
    assert!(validate_client_metadata(ID, &ok, PROD).is_ok());
    let other = with(native, "redirect_uris", json!(["com.other.app:/cb"]));
    assert_eq!(refused(&other), REDIRECT);
}

#[test]
fn http_redirects_are_refused_except_native_loopback() {
    // checklist 116
    let http = with(
        public_doc(),
        "redirect_uris",
        json!(["http://app.example.com/cb"]),
    );
    assert_eq!(refused(&http), REDIRECT);
    let loopback = with(
        public_doc(),
        "redirect_uris",
        json!(["http://127.0.0.1/cb"]),
    );
    assert_eq!(refused(&loopback), REDIRECT);
    let native = with(loopback, "application_type", json!("native"));
    assert!(validate_client_metadata(ID, &native, PROD).is_ok());
}

#[test]
fn every_redirect_uri_is_checked() {
    let doc = with(
        public_doc(),
        "redirect_uris",
        json!([
            "https://app.example.com/cb",
            "https://app.example.com/cb#frag"
        ]),
    );
    assert_eq!(refused(&doc), REDIRECT);
}

#[test]
fn display_uris_must_be_https() {
    for key in ["logo_uri", "tos_uri", "policy_uri", "client_uri"] {
        let doc = with(public_doc(), key, json!("http://app.example.com/x"));
        let e = err(&doc);
        assert_eq!(e.code, META, "{key}");
        assert!(e.description.contains(key), "{key}");
        assert!(validate_client_metadata(ID, &doc, DEV).is_ok(), "{key}");
        assert_eq!(
            refused(&with(public_doc(), key, json!("not a url"))),
            META,
            "{key}"
        );
    }
}

#[test]
fn client_uri_must_share_client_id_host() {
    let doc = with(
        public_doc(),
        "client_uri",
        json!("https://other.example.com/"),
    );
    assert_eq!(refused(&doc), META);
}

#[test]
fn empty_or_null_optional_fields_count_as_absent() {
    let doc = with(
        with(public_doc(), "logo_uri", json!("")),
        "client_name",
        Value::Null,
    );
    let m = validate_client_metadata(ID, &doc, PROD).unwrap();
    assert_eq!(m.logo_uri, None);
    assert_eq!(m.display_name(), "app.example.com");
}

#[test]
fn client_id_form_is_checked_too() {
    let id = "http://app.example.com/client-metadata.json";
    let doc = with(public_doc(), "client_id", json!(id));
    let e = validate_client_metadata(id, &doc, PROD).unwrap_err();
    assert_eq!(e.code, META);
}

proptest! {
    #[test]
    fn validate_never_panics_on_arbitrary_json_text(s in "\\PC{0,200}") {
        if let Ok(v) = serde_json::from_str::<Value>(&s) {
            let _ = validate_client_metadata(ID, &v, PROD);
        }
    }

    #[test]
    fn validate_never_panics_on_mutated_documents(
        key in prop::sample::select(vec![
            "client_id", "redirect_uris", "scope", "grant_types", "response_types",
            "token_endpoint_auth_method", "application_type", "jwks", "jwks_uri",
            "logo_uri", "client_uri", "token_endpoint_auth_signing_alg",
        ]),
        value in prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            "\\PC{0,40}".prop_map(Value::String),
            prop::collection::vec("\\PC{0,30}", 0..3).prop_map(|v| json!(v)),
            Just(json!({"keys": [{}]})),
        ],
        dev in any::<bool>(),
    ) {
        let doc = with(confidential_doc(), key, value);
        let _ = validate_client_metadata(ID, &doc, ClientPolicy { dev });
    }
}
