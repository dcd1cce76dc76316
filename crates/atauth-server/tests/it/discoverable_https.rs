//! Discoverable clients against a production-mode (non-dev) server, the way it runs for real:
//! `https://app.test/client-metadata.json` without a port, fetched over TLS from a server with a
//! certificate by a throw-away CA that the fetcher trusts through `extra_ca_pem`; the fetcher's
//! host override points `app.test` at a loopback address of the test's own, port 443 (see
//! `MetadataHost::https_on_443`: needs root or CAP_NET_BIND_SERVICE).
//! Checklist numbers refer to `docs/spec/checklist.md`.

use crate::common::*;
use crate::metadata_host::{
    assert_error, client_key, confidential_client, confidential_document, jwks, public_client,
    public_web_document, MetadataHost, APP_HOST,
};
use atauth_fetch::FetchConfig;
use serde_json::json;

const REDIRECT: &str = "https://app.test/callback";
const SCOPE: &str = "atproto transition:generic";

/// A confidential web client whose keys are at an https `jwks_uri`, in production mode:
/// PAR → authorize → sign in → Allow → token → refresh → revoke.
#[tokio::test]
async fn production_confidential_client_over_https_completes_the_whole_flow() {
    let Some(host) = MetadataHost::https_on_443().await else {
        return;
    };
    let server = host.atauth().await;
    let key = client_key("k1");
    host.put_json("/jwks.json", &jwks(&[&key]));
    let client_id = host.url("/client-metadata.json");
    assert_eq!(client_id, "https://app.test/client-metadata.json");
    let mut doc = confidential_document(&client_id, &[REDIRECT], json!(null));
    doc.as_object_mut().unwrap().remove("jwks");
    doc["jwks_uri"] = json!(host.url("/jwks.json"));
    host.put_json("/client-metadata.json", &doc);

    let client = confidential_client(&server, COOP_A, &client_id, REDIRECT, key);
    let tokens = client.sign_in(SCOPE, "alice.coop-a.test").await;
    assert_eq!(tokens.body["sub"], server.alice.did.as_str());
    assert_eq!(tokens.body["scope"], SCOPE);
    let refresh = tokens.refresh_token.clone().expect("refresh token");
    let refreshed = client.refresh(&refresh).await;
    assert_eq!(refreshed.status(), 200);
    let refreshed = crate::common::tokens(refreshed).await;
    let newest = refreshed.refresh_token.expect("rotated refresh token");
    assert_eq!(client.revoke(&newest).await.status(), 200);
    let got = status_json(client.refresh(&newest).await).await;
    assert_error(&got, 400, "invalid_grant", "");
    assert_eq!(host.hits("/client-metadata.json"), 1, "document cached");
    assert!(host.hits("/jwks.json") >= 1);
}

/// Checklist 116: in production, a redirect URI with `http://` on a non-loopback host is
/// refused for web and native clients, and a loopback redirect is refused for a web client;
/// a native client's `http://127.0.0.1` redirect is fine.
#[tokio::test]
async fn production_http_redirects_are_refused_except_native_loopback() {
    let Some(host) = MetadataHost::https_on_443().await else {
        return;
    };
    let server = host.atauth().await;
    let cases = [
        (
            "/web-http.json",
            "web",
            "http://app.test/callback",
            "must use https",
        ),
        (
            "/web-loopback.json",
            "web",
            "http://127.0.0.1/callback",
            "must use https",
        ),
        (
            "/native-http.json",
            "native",
            "http://app.test/callback",
            "loopback redirect",
        ),
    ];
    for (path, application_type, redirect, needle) in cases {
        let client_id = host.url(path);
        let mut doc = public_web_document(&client_id, &[redirect]);
        doc["application_type"] = json!(application_type);
        host.put_json(path, &doc);
        let client = public_client(&server, COOP_A, &client_id, redirect);
        let got = status_json(client.par_with(&[]).await).await;
        assert_error(&got, 400, "invalid_redirect_uri", needle);
    }

    let client_id = host.url("/native-loopback.json");
    let mut doc = public_web_document(&client_id, &["http://127.0.0.1/callback"]);
    doc["application_type"] = json!("native");
    host.put_json("/native-loopback.json", &doc);
    let client = public_client(
        &server,
        COOP_A,
        &client_id,
        "http://127.0.0.1:8123/callback",
    );
    let (status, body) = status_json(client.par_with(&[]).await).await;
    assert_eq!(status, 201, "{body}");
}

/// Checklists 113-114 in production: a web client may not use a private-use scheme; a native
/// client at `app.test` may use `test.app:/...`.
#[tokio::test]
async fn production_private_use_scheme_redirects_are_for_native_clients_only() {
    let Some(host) = MetadataHost::https_on_443().await else {
        return;
    };
    let server = host.atauth().await;
    for (path, application_type, expected) in
        [("/web.json", "web", 400), ("/native.json", "native", 201)]
    {
        let client_id = host.url(path);
        let mut doc = public_web_document(&client_id, &["test.app:/callback"]);
        doc["application_type"] = json!(application_type);
        host.put_json(path, &doc);
        let client = public_client(&server, COOP_A, &client_id, "test.app:/callback");
        let (status, body) = status_json(client.par_with(&[]).await).await;
        assert_eq!(status, expected, "{application_type}: {body}");
        if expected == 400 {
            assert_eq!(body["error"], "invalid_redirect_uri", "{body}");
        }
    }
}

/// The certificate is verified: without the test CA, the same host is refused.
#[tokio::test]
async fn production_metadata_host_with_untrusted_certificate_is_refused() {
    let Some(host) = MetadataHost::https_on_443().await else {
        return;
    };
    let server = TestServer::start_with(
        FetchConfig {
            extra_ca_pem: None,
            ..host.fetch_config()
        },
        false,
    )
    .await;
    let client_id = host.url("/client-metadata.json");
    host.put_json(
        "/client-metadata.json",
        &public_web_document(&client_id, &[REDIRECT]),
    );
    let client = public_client(&server, COOP_A, &client_id, REDIRECT);
    let got = status_json(client.par_with(&[]).await).await;
    assert_error(
        &got,
        400,
        "invalid_client_metadata",
        &format!("Client metadata could not be loaded: could not connect to {APP_HOST}"),
    );
    assert_eq!(host.hits("/client-metadata.json"), 0);
}

/// Profile 3.10: in production `logo_uri`, `tos_uri` and `policy_uri` must be https (the
/// reference also takes http loopback URLs), and `client_uri` must share the client_id's host.
#[tokio::test]
async fn production_informational_uris_must_be_https() {
    let Some(host) = MetadataHost::https_on_443().await else {
        return;
    };
    let server = host.atauth().await;
    for (i, (field, value, needle)) in [
        ("logo_uri", "http://127.0.0.1/logo.png", "logo_uri"),
        ("tos_uri", "http://app.test/tos", "tos_uri"),
        ("policy_uri", "http://app.test/policy", "policy_uri"),
        ("client_uri", "https://other.test/", "same host"),
    ]
    .into_iter()
    .enumerate()
    {
        let path = format!("/uris-{i}.json");
        let client_id = host.url(&path);
        let mut doc = public_web_document(&client_id, &[REDIRECT]);
        doc[field] = json!(value);
        host.put_json(&path, &doc);
        let client = public_client(&server, COOP_A, &client_id, REDIRECT);
        let got = status_json(client.par_with(&[]).await).await;
        assert_error(&got, 400, "invalid_client_metadata", needle);
    }
}
