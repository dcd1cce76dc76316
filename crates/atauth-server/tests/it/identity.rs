//! Hosted identities, routed by the handle's host (profile section 4 "Tenancy and identity"):
//! did:web documents, `/.well-known/atproto-did`, `com.atproto.identity.resolveHandle`, and the
//! protected-resource metadata clients check against the issuer (checklist 12).

use crate::common::*;
use atauth_protocol::random::SystemRandom;
use atauth_server::accounts::{create_account, AccountSpec};
use serde_json::{json, Value};

async fn get(server: &TestServer, host: &str, path: &str) -> (u16, String, String) {
    let response = server.get(host, path).send().await.expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn did_json_on_a_hosted_handle_host_is_the_did_web_document() {
    let server = TestServer::start().await;
    assert_eq!(server.alice.did, "did:web:alice.coop-a.test");
    let (status, content_type, body) =
        get(&server, "alice.coop-a.test", "/.well-known/did.json").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["id"], "did:web:alice.coop-a.test");
    assert_eq!(doc["alsoKnownAs"], json!(["at://alice.coop-a.test"]));
    let services = doc["service"].as_array().expect("service");
    let pds = services
        .iter()
        .find(|s| s["id"] == "#atproto_pds")
        .unwrap_or_else(|| panic!("no #atproto_pds in {doc}"));
    assert_eq!(pds["type"], "AtprotoPersonalDataServer");
    assert_eq!(pds["serviceEndpoint"], "https://coop-a.test");
}

#[tokio::test]
async fn atproto_did_on_a_handle_host_is_the_did_as_text() {
    let server = TestServer::start().await;
    let (status, content_type, body) =
        get(&server, "alice.coop-a.test", "/.well-known/atproto-did").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert_eq!(body.trim(), "did:web:alice.coop-a.test");
}

/// An external DID (did:plc) is not ours to serve, but its handle still resolves.
#[tokio::test]
async fn external_did_has_no_did_json_but_atproto_did_resolves() {
    let server = TestServer::start().await;
    let (status, _, _) = get(&server, "bob.coop-b.test", "/.well-known/did.json").await;
    assert_eq!(status, 404);
    let (status, _, body) = get(&server, "bob.coop-b.test", "/.well-known/atproto-did").await;
    assert_eq!(status, 200);
    assert_eq!(body.trim(), "did:plc:bobbobbobbobbobbobbobbob");
}

#[tokio::test]
async fn unknown_handle_host_is_404() {
    let server = TestServer::start().await;
    for path in ["/.well-known/did.json", "/.well-known/atproto-did"] {
        for host in ["carol.coop-a.test", "nobody.example.com", "coop-a.test"] {
            let (status, _, body) = get(&server, host, path).await;
            assert_eq!(status, 404, "{host}{path}: {body}");
        }
    }
}

#[tokio::test]
async fn resolve_handle_answers_on_any_tenant_host() {
    let server = TestServer::start().await;
    for host in [COOP_A, COOP_B] {
        for (handle, did) in [
            ("alice.coop-a.test", "did:web:alice.coop-a.test"),
            ("bob.coop-b.test", "did:plc:bobbobbobbobbobbobbobbob"),
            ("ALICE.coop-a.test", "did:web:alice.coop-a.test"),
        ] {
            let (status, content_type, body) = get(
                &server,
                host,
                &format!("/xrpc/com.atproto.identity.resolveHandle?handle={handle}"),
            )
            .await;
            assert_eq!(status, 200, "{host} {handle}: {body}");
            assert!(content_type.starts_with("application/json"));
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body, json!({ "did": did }));
        }
    }
}

#[tokio::test]
async fn resolve_handle_with_invalid_or_unknown_handle_is_an_xrpc_400() {
    let server = TestServer::start().await;
    for (query, error) in [
        ("handle=not_a_handle", "InvalidRequest"),
        ("handle=", "InvalidRequest"),
        ("", "InvalidRequest"),
        ("handle=carol.coop-a.test", "HandleNotFound"),
    ] {
        let (status, _, body) = get(
            &server,
            COOP_A,
            &format!("/xrpc/com.atproto.identity.resolveHandle?{query}"),
        )
        .await;
        assert_eq!(status, 400, "{query}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"], error, "{query}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

/// A cooperative whose issuer has a non-default port hosts `did:web:<handle>%3A<port>`, served
/// on that port.
#[tokio::test]
async fn did_web_under_an_issuer_with_a_port_carries_the_port() {
    let server = TestServer::start().await;
    let now = server.now();
    let tenant = atauth_server::provision_tenant(
        &server.store,
        &SystemRandom,
        "https://coop-c.test:8443",
        "Cooperative C",
        None,
        now,
    )
    .await
    .unwrap();
    let carol = create_account(
        &server.store,
        &tenant,
        AccountSpec {
            handle: "carol.coop-c.test",
            email: None,
            did: None,
            password: PASSWORD,
        },
        PASSWORD_COST,
        &SystemRandom,
        now,
    )
    .await
    .unwrap();
    assert_eq!(carol.did, "did:web:carol.coop-c.test%3A8443");

    let (status, _, body) = get(&server, "carol.coop-c.test:8443", "/.well-known/did.json").await;
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["id"], "did:web:carol.coop-c.test%3A8443");
    assert_eq!(doc["alsoKnownAs"], json!(["at://carol.coop-c.test"]));
    assert_eq!(
        doc["service"][0]["serviceEndpoint"],
        "https://coop-c.test:8443"
    );
}

/// Checklist 12: the protected-resource metadata names exactly the issuer.
#[tokio::test]
async fn protected_resource_metadata_names_the_issuer() {
    let server = TestServer::start().await;
    for host in [COOP_A, COOP_B] {
        let (status, content_type, body) =
            get(&server, host, "/.well-known/oauth-protected-resource").await;
        assert_eq!(status, 200, "{body}");
        assert!(content_type.starts_with("application/json"));
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["authorization_servers"], json!([issuer(host)]));
        assert_eq!(body["resource"], issuer(host));
        let scopes = body["scopes_supported"]
            .as_array()
            .expect("scopes_supported");
        assert!(scopes.contains(&json!("atproto")), "{body}");
    }
}

/// Only the hosted `did:web` of the handle is ours to serve: an operator-linked external
/// did:web (hosted elsewhere) gets no document here, though its handle still resolves.
#[tokio::test]
async fn external_did_web_has_no_did_json_on_the_handle_host() {
    let server = TestServer::start().await;
    let dave = create_account(
        &server.store,
        &server.tenant_a,
        AccountSpec {
            handle: "dave.coop-a.test",
            email: None,
            did: Some("did:web:dave.elsewhere.example"),
            password: PASSWORD,
        },
        PASSWORD_COST,
        &SystemRandom,
        server.now(),
    )
    .await
    .unwrap();
    assert_eq!(dave.did, "did:web:dave.elsewhere.example");
    let (status, _, body) = get(&server, "dave.coop-a.test", "/.well-known/did.json").await;
    assert_eq!(status, 404, "{body}");
    let (status, _, body) = get(&server, "dave.coop-a.test", "/.well-known/atproto-did").await;
    assert_eq!(status, 200);
    assert_eq!(body.trim(), "did:web:dave.elsewhere.example");
}
