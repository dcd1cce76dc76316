//! Discovery: authorization server and protected resource metadata, JWKS, CORS
//! (Checklist 1-12).

use crate::common::*;
use serde_json::Value;

async fn metadata(server: &TestServer) -> Value {
    let response = server
        .get(COOP_A, "/.well-known/oauth-authorization-server")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().expect("string"))
        .collect()
}

#[tokio::test]
async fn metadata_is_json_with_the_issuer_exactly_the_origin() {
    // Checklist 1.
    let server = TestServer::start().await;
    let response = server
        .get(COOP_A, "/.well-known/oauth-authorization-server")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        header_of(&response, "content-type").starts_with("application/json"),
        "{:?}",
        response.headers()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["issuer"], "https://coop-a.test");
    assert!(!body["issuer"].as_str().unwrap().ends_with('/'));
}

#[tokio::test]
async fn metadata_requires_pushed_authorization_requests_at_the_par_endpoint() {
    // Checklist 2.
    let server = TestServer::start().await;
    let m = metadata(&server).await;
    assert_eq!(m["require_pushed_authorization_requests"], true);
    assert_eq!(
        m["pushed_authorization_request_endpoint"],
        "https://coop-a.test/oauth/par"
    );
    assert_eq!(m["token_endpoint"], "https://coop-a.test/oauth/token");
    assert_eq!(m["revocation_endpoint"], "https://coop-a.test/oauth/revoke");
    assert_eq!(
        m["authorization_endpoint"],
        "https://coop-a.test/oauth/authorize"
    );
    assert_eq!(m["jwks_uri"], "https://coop-a.test/oauth/jwks");
}

#[tokio::test]
async fn metadata_supports_iss_response_parameter_and_client_id_metadata_documents() {
    // Checklist 3.
    let server = TestServer::start().await;
    let m = metadata(&server).await;
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert_eq!(m["client_id_metadata_document_supported"], true);
}

#[tokio::test]
async fn metadata_offers_only_s256_pkce() {
    // Checklist 4.
    let server = TestServer::start().await;
    let m = metadata(&server).await;
    assert_eq!(strings(&m["code_challenge_methods_supported"]), ["S256"]);
}

#[tokio::test]
async fn metadata_client_auth_is_none_or_private_key_jwt_never_alg_none() {
    // Checklist 5.
    let server = TestServer::start().await;
    let m = metadata(&server).await;
    let methods = strings(&m["token_endpoint_auth_methods_supported"]);
    assert!(
        methods.contains(&"none") && methods.contains(&"private_key_jwt"),
        "{methods:?}"
    );
    let algs = strings(&m["token_endpoint_auth_signing_alg_values_supported"]);
    assert!(algs.contains(&"ES256"), "{algs:?}");
    assert!(
        !algs.iter().any(|a| a.eq_ignore_ascii_case("none")),
        "{algs:?}"
    );
}

#[tokio::test]
async fn metadata_dpop_algs_include_es256() {
    // Checklist 6.
    let server = TestServer::start().await;
    let m = metadata(&server).await;
    let algs = strings(&m["dpop_signing_alg_values_supported"]);
    assert!(algs.contains(&"ES256"), "{algs:?}");
    assert!(
        !algs.iter().any(|a| a.eq_ignore_ascii_case("none")),
        "{algs:?}"
    );
}

#[tokio::test]
async fn metadata_scopes_include_atproto_and_the_transition_scopes() {
    // Checklist 7.
    let server = TestServer::start().await;
    let m = metadata(&server).await;
    let scopes = strings(&m["scopes_supported"]);
    for s in [
        "atproto",
        "transition:generic",
        "transition:email",
        "transition:chat.bsky",
    ] {
        assert!(scopes.contains(&s), "{s} missing from {scopes:?}");
    }
}

#[tokio::test]
async fn metadata_grant_types_are_code_and_refresh_and_response_type_is_code() {
    // Checklist 8.
    let server = TestServer::start().await;
    let m = metadata(&server).await;
    let mut grants = strings(&m["grant_types_supported"]);
    grants.sort_unstable();
    assert_eq!(grants, ["authorization_code", "refresh_token"]);
    assert_eq!(strings(&m["response_types_supported"]), ["code"]);
}

#[tokio::test]
async fn cors_preflight_is_answered_for_par_token_revoke_metadata_and_jwks() {
    // Checklist 9.
    let server = TestServer::start().await;
    for (path, method) in [
        ("/oauth/par", "POST"),
        ("/oauth/token", "POST"),
        ("/oauth/revoke", "POST"),
        ("/.well-known/oauth-authorization-server", "GET"),
        ("/oauth/jwks", "GET"),
    ] {
        let response = server
            .request(reqwest::Method::OPTIONS, COOP_A, path)
            .header("origin", "https://app.example")
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "dpop, content-type")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header_of(&response, "access-control-allow-origin"),
            "*",
            "{path}"
        );
        let allowed = header_of(&response, "access-control-allow-headers").to_ascii_lowercase();
        assert!(
            allowed.split(',').any(|h| h.trim() == "dpop"),
            "{path}: {allowed}"
        );
        let methods = header_of(&response, "access-control-allow-methods");
        assert!(methods.contains(method), "{path}: {methods}");
    }
}

#[tokio::test]
async fn metadata_and_jwks_allow_any_origin() {
    // Checklist 10.
    let server = TestServer::start().await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource",
        "/oauth/jwks",
    ] {
        let response = server
            .get(COOP_A, path)
            .header("origin", "https://app.example")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header_of(&response, "access-control-allow-origin"),
            "*",
            "{path}"
        );
    }
}

#[tokio::test]
async fn jwks_lists_public_keys_without_private_material() {
    // Checklist 11.
    let server = TestServer::start().await;
    let response = server.get(COOP_A, "/oauth/jwks").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(header_of(&response, "content-type").starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    let keys = body["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    for key in keys {
        assert_eq!(key["kty"], "EC", "{key}");
        assert!(key["kid"].is_string(), "{key}");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                key.get(private).is_none(),
                "private member {private} in {key}"
            );
        }
    }
    // The key in the JWKS verifies the access tokens we issue (same kid).
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", "alice.coop-a.test").await;
    let (header, _) = jwt_parts(&tokens.access_token);
    assert!(keys.iter().any(|k| k["kid"] == header["kid"]), "{header}");
}

#[tokio::test]
async fn protected_resource_metadata_names_exactly_this_issuer() {
    // Checklist 12.
    let server = TestServer::start().await;
    for host in [COOP_A, COOP_B] {
        let response = server
            .get(host, "/.well-known/oauth-protected-resource")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(header_of(&response, "content-type").starts_with("application/json"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(strings(&body["authorization_servers"]), [issuer(host)]);
    }
}
