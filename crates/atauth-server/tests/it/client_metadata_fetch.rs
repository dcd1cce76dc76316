//! How the server fetches client metadata: the SSRF policy as wired into PAR (the fetcher's
//! own tests cover the address table; these prove the server uses it), the client_id URL rules
//! of production mode, and fetch failures. Every refusal is 400 `invalid_client_metadata` with
//! a description saying exactly why. Checklist numbers refer to
//! `docs/spec/checklist.md`, "profile section N" to `docs/spec/profile.md` and "profile 3.N"
//! to Deliberate difference N in `docs/spec/differences.md`.

use crate::common::*;
use crate::metadata_host::{
    assert_error, client_key, confidential_client, confidential_document, public_client,
    public_web_document, Canned, FakeDns, MetadataHost,
};
use atauth_fetch::{FetchConfig, MAX_BODY_BYTES};
use serde_json::json;
use std::sync::Arc;

const REDIRECT: &str = "https://app.test/callback";

/// A production-mode server whose fetcher resolves every name to `answer`.
async fn strict_server(answer: &[&str]) -> (TestServer, Arc<FakeDns>) {
    let dns = FakeDns::new(answer);
    let server = TestServer::start_with_resolver(FetchConfig::default(), false, dns.clone()).await;
    (server, dns)
}

async fn par_for(server: &TestServer, client_id: &str) -> (u16, serde_json::Value) {
    let client = public_client(server, COOP_A, client_id, REDIRECT);
    status_json(client.par_with(&[]).await).await
}

/// Checklist 117: the host of the client_id resolves to a private address or to the cloud
/// metadata address; refused after the lookup, before any connection.
#[tokio::test]
async fn client_id_host_resolving_to_a_non_public_address_is_refused() {
    for (addr, what) in [
        ("10.0.0.1", "a private address"),
        ("169.254.169.254", "a link-local address"),
    ] {
        let (server, dns) = strict_server(&[addr]).await;
        let got = par_for(&server, "https://app.test/meta.json").await;
        let expected = format!(
            "Client metadata could not be loaded: host app.test resolves to {what} ({addr})"
        );
        assert_error(&got, 400, "invalid_client_metadata", &expected);
        assert_eq!(got.1["error_description"], expected.as_str());
        assert_eq!(dns.asked(), ["app.test"]);
    }
}

/// Checklist 117 (DNS rebinding form): one public and one private address in the answer is
/// refused as a whole.
#[tokio::test]
async fn client_id_host_resolving_to_a_public_and_a_private_address_is_refused() {
    let (server, _dns) = strict_server(&["93.184.216.34", "10.1.2.3"]).await;
    let got = par_for(&server, "https://app.test/meta.json").await;
    assert_error(
        &got,
        400,
        "invalid_client_metadata",
        "host app.test resolves to a private address (10.1.2.3)",
    );
}

/// Checklist 117, "unless a dev switch is on": dev mode lets loopback through (our dev switch
/// covers loopback only, profile section 4), and still refuses private addresses.
#[tokio::test]
async fn dev_mode_allows_loopback_metadata_hosts_but_not_private_ones() {
    let host = MetadataHost::http().await;
    let port = host.addr.port();
    let dns = FakeDns::new(&["127.0.0.1"]);
    let dev = FetchConfig {
        allow_loopback: true,
        ..FetchConfig::default()
    };
    let server = TestServer::start_with_resolver(dev.clone(), true, dns.clone()).await;
    let client_id = format!("http://loopback.test:{port}/meta.json");
    host.put_json("/meta.json", &public_web_document(&client_id, &[REDIRECT]));
    let (status, body) = par_for(&server, &client_id).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(dns.asked(), ["loopback.test"]);

    let server = TestServer::start_with_resolver(dev, true, FakeDns::new(&["10.0.0.1"])).await;
    let got = par_for(&server, &format!("http://private.test:{port}/meta.json")).await;
    assert_error(
        &got,
        400,
        "invalid_client_metadata",
        "host private.test resolves to a private address (10.0.0.1)",
    );
}

/// The `jwks_uri` of a confidential client goes through the same policy: its host resolving
/// to a private address makes client authentication fail without a connection.
#[tokio::test]
async fn jwks_uri_resolving_to_a_private_address_is_refused() {
    let host = MetadataHost::http().await;
    let dns = FakeDns::new(&["10.0.0.1"]);
    let server = TestServer::start_with_resolver(host.fetch_config(), true, dns.clone()).await;
    let key = client_key("k1");
    let client_id = host.url("/client-metadata.json");
    let mut doc = confidential_document(&client_id, &[REDIRECT], json!(null));
    doc.as_object_mut().unwrap().remove("jwks");
    doc["jwks_uri"] = json!("http://keys.test/jwks.json");
    host.put_json("/client-metadata.json", &doc);
    let client = confidential_client(&server, COOP_A, &client_id, REDIRECT, key);
    let got = status_json(client.par_with(&[]).await).await;
    assert_error(
        &got,
        400,
        "invalid_client",
        "Client JWKS could not be loaded: host keys.test resolves to a private address (10.0.0.1)",
    );
    assert_eq!(dns.asked(), ["keys.test"]);
}

/// Checklist 118: in production a client_id with a port, or with `http://`, is refused, without
/// even a DNS lookup.
#[tokio::test]
async fn production_client_id_with_port_or_http_is_refused() {
    let (server, dns) = strict_server(&["93.184.216.34"]).await;
    for (client_id, needle) in [
        (
            "https://app.test:8443/meta.json",
            "must not include a port number",
        ),
        (
            "https://app.test:443/meta.json",
            "must not include a port number",
        ),
        ("http://app.test/meta.json", "must use https"),
    ] {
        let got = par_for(&server, client_id).await;
        assert_error(&got, 400, "invalid_client_metadata", needle);
    }
    assert!(dns.asked().is_empty(), "{:?}", dns.asked());
}

/// Checklist 119: path `/` (or none), a trailing slash, a fragment, or an IP-literal host.
#[tokio::test]
async fn client_id_with_root_path_trailing_slash_fragment_or_ip_host_is_refused() {
    let (server, dns) = strict_server(&["93.184.216.34"]).await;
    for (client_id, needle) in [
        ("https://app.test/", "must have a path"),
        ("https://app.test", "must have a path"),
        (
            "https://app.test/client/",
            "must not end its path with \"/\"",
        ),
        (
            "https://app.test/meta.json#x",
            "must not contain a fragment",
        ),
        ("https://10.0.0.1/meta.json", "not an IP address"),
        ("https://93.184.216.34/meta.json", "not an IP address"),
        ("https://[2001:db8::1]/meta.json", "not an IP address"),
    ] {
        let got = par_for(&server, client_id).await;
        assert_error(&got, 400, "invalid_client_metadata", needle);
    }
    assert!(dns.asked().is_empty(), "{:?}", dns.asked());
}

/// Checklist 31 (with profile 3.10, status 200 exactly): 404, a redirect (not followed),
/// `text/plain`, a body over 512 KiB.
#[tokio::test]
async fn metadata_fetch_failures_are_invalid_client_metadata() {
    let host = MetadataHost::http().await;
    let server = host.atauth().await;
    let target = host.url("/target.json");
    host.put_json("/target.json", &public_web_document(&target, &[REDIRECT]));

    let redirect = host.url("/redirect.json");
    host.put(
        "/redirect.json",
        Canned {
            status: 302,
            content_type: None,
            location: Some(target.clone()),
            body: Vec::new(),
        },
    );
    let got = par_for(&server, &redirect).await;
    assert_error(
        &got,
        400,
        "invalid_client_metadata",
        "the server answered HTTP 302, a redirect; redirects are not followed",
    );
    assert_eq!(host.hits("/target.json"), 0, "the redirect was followed");

    let got = par_for(&server, &host.url("/missing.json")).await;
    assert_error(
        &got,
        400,
        "invalid_client_metadata",
        "the server answered HTTP 404, expected 200",
    );

    let text = host.url("/text.json");
    host.put(
        "/text.json",
        Canned {
            content_type: Some("text/plain".into()),
            ..Canned::json(&public_web_document(&text, &[REDIRECT]))
        },
    );
    let got = par_for(&server, &text).await;
    assert_error(
        &got,
        400,
        "invalid_client_metadata",
        "the response was not application/json (text/plain)",
    );

    let created = host.url("/created.json");
    host.put(
        "/created.json",
        Canned {
            status: 201,
            ..Canned::json(&public_web_document(&created, &[REDIRECT]))
        },
    );
    let got = par_for(&server, &created).await;
    assert_error(
        &got,
        400,
        "invalid_client_metadata",
        "the server answered HTTP 201, expected 200",
    );

    let big = host.url("/big.json");
    let mut doc = public_web_document(&big, &[REDIRECT]);
    doc["padding"] = json!("x".repeat(MAX_BODY_BYTES));
    host.put_json("/big.json", &doc);
    let got = par_for(&server, &big).await;
    assert_error(
        &got,
        400,
        "invalid_client_metadata",
        &format!("the document exceeds {MAX_BODY_BYTES} bytes"),
    );

    // The same server accepts the well-formed document.
    let (status, body) = par_for(&server, &target).await;
    assert_eq!(status, 201, "{body}");
}
