//! Transport rules shared by the PAR, token and revocation endpoints: `DPoP-Nonce`,
//! `Cache-Control: no-store` and exposed headers on every answer (Checklist 17-18), and
//! robustness: malformed bodies and garbage DPoP headers never cause a 5xx, and the JSON
//! endpoints always answer a JSON `error`.

use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

const ALICE: &str = "alice.coop-a.test";
const ENDPOINTS: [&str; 3] = ["/oauth/par", "/oauth/token", "/oauth/revoke"];

/// A request case: (path or name, content type, body, extra: a proof or the expected status).
type Case<'a, T> = (&'a str, Option<&'a str>, Vec<u8>, Option<T>);

/// Asserts the headers every PAR/token/revoke answer must carry (with an `Origin` sent).
fn assert_transport_headers(response: &reqwest::Response, what: &str) {
    assert!(
        !header_of(response, "dpop-nonce").is_empty(),
        "{what}: no DPoP-Nonce: {:?}",
        response.headers()
    );
    assert_eq!(header_of(response, "cache-control"), "no-store", "{what}");
    let exposed = header_of(response, "access-control-expose-headers").to_ascii_lowercase();
    assert!(
        exposed.split(',').any(|h| h.trim() == "dpop-nonce"),
        "{what}: exposed headers {exposed:?}"
    );
    assert_eq!(
        header_of(response, "access-control-allow-origin"),
        "*",
        "{what}"
    );
}

/// Asserts a non-5xx answer with a JSON body carrying a string `error`; returns (status, body).
async fn assert_json_error(response: reqwest::Response, what: &str) -> (u16, Value) {
    let status = response.status().as_u16();
    assert!(status < 500, "{what}: status {status}");
    assert!(status >= 400, "{what}: status {status}");
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{what}: status {status}, body not JSON: {text:?}"));
    assert!(body["error"].is_string(), "{what}: {body}");
    (status, body)
}

/// A raw POST to `path` at coop A with a body, an optional content type and headers.
async fn raw_post(
    server: &TestServer,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    headers: &[(&str, reqwest::header::HeaderValue)],
) -> reqwest::Response {
    let mut request = server
        .request(reqwest::Method::POST, COOP_A, path)
        .header("origin", "https://app.example")
        .body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    for (k, v) in headers {
        request = request.header(*k, v.clone());
    }
    request.send().await.unwrap()
}

fn value(s: &str) -> reqwest::header::HeaderValue {
    reqwest::header::HeaderValue::from_str(s).unwrap()
}

#[tokio::test]
async fn every_par_token_and_revoke_answer_carries_a_nonce_and_no_store() {
    // Checklist 17, 18: success and error answers alike.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let form_ct = Some("application/x-www-form-urlencoded");
    let form = |pairs: &[(&str, &str)]| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes()
    };

    // PAR: created, use_dpop_nonce, invalid_request, invalid_dpop_proof, 415.
    let (par_form, _) = client.par_form(&[]);
    let par_body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(par_form.iter())
        .finish()
        .into_bytes();
    let proof = client.fresh_proof("/oauth/par").await;
    let response = raw_post(
        &server,
        "/oauth/par",
        form_ct,
        par_body,
        &[("dpop", value(&proof))],
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_transport_headers(&response, "PAR 201");

    let no_nonce = client.dpop.proof_with(
        &[],
        client
            .dpop
            .claims("POST", &client.url("/oauth/par"), server.now(), None),
    );
    let mut cases: Vec<Case<String>> = vec![
        (
            "/oauth/par",
            form_ct,
            form(&[("client_id", &client.client_id)]),
            Some(no_nonce),
        ),
        (
            "/oauth/par",
            form_ct,
            form(&[("scope", "atproto")]),
            Some(client.fresh_proof("/oauth/par").await),
        ),
        (
            "/oauth/par",
            form_ct,
            form(&[("scope", "atproto")]),
            Some("garbage".into()),
        ),
        ("/oauth/par", None, b"a=b".to_vec(), None),
        // Token: invalid_grant, unsupported_grant_type, missing DPoP, 415.
        (
            "/oauth/token",
            form_ct,
            form(&[
                ("grant_type", "refresh_token"),
                ("client_id", &client.client_id),
                ("refresh_token", "ref-nope"),
            ]),
            Some(client.fresh_proof("/oauth/token").await),
        ),
        (
            "/oauth/token",
            form_ct,
            form(&[("grant_type", "password")]),
            None,
        ),
        (
            "/oauth/token",
            form_ct,
            form(&[("grant_type", "authorization_code")]),
            None,
        ),
        ("/oauth/token", Some("text/plain"), b"x".to_vec(), None),
        // Revoke: invalid_client, use_dpop_nonce, 415.
        ("/oauth/revoke", form_ct, form(&[("token", "x")]), None),
        (
            "/oauth/revoke",
            form_ct,
            form(&[("token", "x"), ("client_id", &client.client_id)]),
            Some(client.dpop.proof_with(
                &[],
                client.dpop.claims(
                    "POST",
                    &client.url("/oauth/revoke"),
                    server.now(),
                    Some("stale"),
                ),
            )),
        ),
        ("/oauth/revoke", None, b"token=x".to_vec(), None),
    ];
    for (i, (path, ct, body, proof)) in cases.drain(..).enumerate() {
        let headers: Vec<(&str, reqwest::header::HeaderValue)> =
            proof.iter().map(|p| ("dpop", value(p))).collect();
        let response = raw_post(&server, path, ct, body, &headers).await;
        let what = format!("case {i} at {path}");
        assert_transport_headers(&response, &what);
        assert_json_error(response, &what).await;
    }

    // Token and revoke successes.
    let (par, code) = client.authorize("atproto", ALICE).await;
    let proof = client.fresh_proof("/oauth/token").await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("client_id", &client.client_id),
        ("redirect_uri", LOOPBACK_REDIRECT),
        ("code", &code),
        ("code_verifier", &par.verifier),
    ]);
    let response = raw_post(
        &server,
        "/oauth/token",
        form_ct,
        body,
        &[("dpop", value(&proof))],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_transport_headers(&response, "token 200");
    let tokens = tokens(response).await;
    let refresh = tokens.refresh_token.unwrap();

    let proof = client.fresh_proof("/oauth/token").await;
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("client_id", &client.client_id),
        ("refresh_token", &refresh),
    ]);
    let response = raw_post(
        &server,
        "/oauth/token",
        form_ct,
        body,
        &[("dpop", value(&proof))],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_transport_headers(&response, "refresh 200");
    let refresh = crate::common::tokens(response).await.refresh_token.unwrap();

    let proof = client.fresh_proof("/oauth/revoke").await;
    let body = form(&[("client_id", &client.client_id), ("token", &refresh)]);
    let response = raw_post(
        &server,
        "/oauth/revoke",
        form_ct,
        body,
        &[("dpop", value(&proof))],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_transport_headers(&response, "revoke 200");
}

#[tokio::test]
async fn malformed_bodies_never_cause_a_server_error() {
    // Robustness: a table of malformed bodies at PAR, token and revoke; every answer is a
    // 4xx JSON error with the transport headers, and bodies over 64 KiB are 413.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let form = "application/x-www-form-urlencoded";
    let json_ct = "application/json";
    let huge = format!(
        "client_id={}&grant_type=refresh_token&token=x",
        "a".repeat(70 * 1024)
    );
    let many: String = (0..5000).map(|i| format!("p{i}={i}&")).collect();
    let nested = "[".repeat(10_000);
    let cases: Vec<Case<u16>> = vec![
        ("no content type", None, b"client_id=x&grant_type=refresh_token".to_vec(), Some(415)),
        ("text/plain", Some("text/plain"), b"client_id=x".to_vec(), Some(415)),
        ("multipart", Some("multipart/form-data; boundary=x"), b"--x--".to_vec(), Some(415)),
        ("json array", Some(json_ct), b"[1,2,3]".to_vec(), Some(400)),
        ("json null", Some(json_ct), b"null".to_vec(), Some(400)),
        ("json truncated", Some(json_ct), b"{\"client_id\":".to_vec(), Some(400)),
        ("json nested value", Some(json_ct), br#"{"client_id":{"a":1},"grant_type":["x"]}"#.to_vec(), Some(400)),
        ("json deeply nested", Some(json_ct), nested.into_bytes(), Some(400)),
        ("json duplicate keys", Some(json_ct), br#"{"client_id":"a","client_id":"b"}"#.to_vec(), None),
        ("json as form", Some(form), br#"{"client_id":"x"}"#.to_vec(), None),
        ("duplicated params", Some(form), b"client_id=a&client_id=b&grant_type=refresh_token&grant_type=refresh_token&token=x&token=y".to_vec(), Some(400)),
        ("huge param", Some(form), huge.into_bytes(), Some(413)),
        ("huge json", Some(json_ct), format!("{{\"client_id\":\"{}\"}}", "a".repeat(70 * 1024)).into_bytes(), Some(413)),
        ("non-utf8 bytes", Some(form), b"client_id=\xff\xfe&grant_type=\x80\x81&token=\xc3\x28".to_vec(), None),
        ("non-utf8 escapes", Some(form), b"client_id=%ff%fe&grant_type=%80&token=%c3%28".to_vec(), None),
        ("non-utf8 json", Some(json_ct), b"{\"client_id\":\"\xff\xfe\"}".to_vec(), Some(400)),
        ("nul bytes", Some(form), b"client_id=%00&grant_type=%00&token=%00".to_vec(), None),
        ("empty body", Some(form), Vec::new(), None),
        ("odd separators", Some(form), b"=&&=&a&&b=c=d&%&%zz".to_vec(), None),
        ("latin-1 charset", Some("application/x-www-form-urlencoded; charset=iso-8859-1"), b"client_id=caf\xe9".to_vec(), None),
        ("many params", Some(form), many.into_bytes(), None),
    ];
    for path in ENDPOINTS {
        for (name, ct, body, expected) in &cases {
            let proof = client.fresh_proof(path).await;
            let response =
                raw_post(&server, path, *ct, body.clone(), &[("dpop", value(&proof))]).await;
            let what = format!("{name} at {path}");
            assert_transport_headers(&response, &what);
            let (status, _) = assert_json_error(response, &what).await;
            if let Some(expected) = expected {
                assert_eq!(status, *expected, "{what}");
            }
        }
    }
}

/// A compact JWS with these header and claims and a garbage signature.
fn unsigned_jws(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test]
async fn garbage_dpop_headers_are_invalid_dpop_proof_never_a_server_error() {
    // Robustness of the DPoP header at PAR, token and revoke: 400 invalid_dpop_proof
    // (deliberate difference 4), JSON, with the transport headers.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let nonce = client.ensure_nonce().await;
    let jwk = client.dpop.public_jwk();
    for path in ENDPOINTS {
        let claims = client
            .dpop
            .claims("POST", &client.url(path), server.now(), Some(&nonce));
        let good_header = json!({"alg": "ES256", "typ": "dpop+jwt", "jwk": jwk});
        let mut garbage: Vec<reqwest::header::HeaderValue> = [
            "",
            " ",
            "x",
            "a.b.c",
            "..",
            "....",
            "e30.e30.e30",
            "e30.e30.",
            "!!!.???.***",
            "DPoP eyJ",
        ]
        .iter()
        .map(|s| value(s))
        .collect();
        garbage.push(value(&"A".repeat(20_000)));
        garbage.push(value(&format!("{}.{}", "A".repeat(3000), "B".repeat(3000))));
        garbage.push(reqwest::header::HeaderValue::from_bytes(b"\xff\xfe.\x80.\x81").unwrap());
        for header in [
            json!({"alg": "none", "typ": "dpop+jwt", "jwk": jwk}),
            json!({"alg": "HS256", "typ": "dpop+jwt", "jwk": jwk}),
            json!({"alg": "ES256", "typ": "dpop+jwt"}),
            json!({"alg": "ES256", "typ": "dpop+jwt", "jwk": "not an object"}),
            json!({"alg": "ES256", "typ": "dpop+jwt", "jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}),
            json!({"alg": "ES256", "typ": "dpop+jwt", "jwk": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}}),
            json!({"alg": "ES256", "typ": "dpop+jwt", "jwk": {"kty": "EC", "crv": "P-999", "x": jwk["x"], "y": jwk["y"]}}),
            json!({"alg": 7, "typ": ["dpop+jwt"], "jwk": null}),
            json!([1, 2, 3]),
            good_header.clone(),
        ] {
            garbage.push(value(&unsigned_jws(&header, &claims, "")));
            garbage.push(value(&unsigned_jws(&header, &claims, "c2lnbmF0dXJl")));
        }
        // Signed, but with claims of the wrong types.
        for bad in [
            json!({"jti": 1, "htm": "POST", "htu": client.url(path), "iat": server.now(), "nonce": nonce}),
            json!({"jti": "j", "htm": ["POST"], "htu": client.url(path), "iat": server.now(), "nonce": nonce}),
            json!({"jti": "j", "htm": "POST", "htu": 5, "iat": server.now(), "nonce": nonce}),
            json!({"jti": "j", "htm": "POST", "htu": client.url(path), "iat": "now", "nonce": nonce}),
            json!({"jti": "j", "htm": "POST", "htu": client.url(path), "iat": 1e300, "nonce": nonce}),
            json!({"jti": "j", "htm": "POST", "htu": client.url(path), "iat": i64::MIN, "nonce": nonce}),
            json!({"jti": "j", "htm": "POST", "htu": client.url(path), "iat": server.now(), "nonce": 42}),
            json!({"jti": "j", "htm": "POST", "htu": client.url(path), "iat": server.now(), "exp": "x", "nonce": nonce}),
            json!({"jti": "j".repeat(5000), "htm": "POST", "htu": client.url(path), "iat": server.now(), "nonce": nonce}),
        ] {
            garbage.push(value(&client.dpop.proof_with(&[], bad)));
        }
        let form: Vec<(&str, &str)> = match path {
            "/oauth/par" => vec![("client_id", &client.client_id), ("scope", "atproto")],
            "/oauth/token" => vec![
                ("grant_type", "refresh_token"),
                ("client_id", &client.client_id),
                ("refresh_token", "ref-x"),
            ],
            _ => vec![("client_id", &client.client_id), ("token", "ref-x")],
        };
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish()
            .into_bytes();
        for (i, proof) in garbage.into_iter().enumerate() {
            let response = raw_post(
                &server,
                path,
                Some("application/x-www-form-urlencoded"),
                body.clone(),
                &[("dpop", proof.clone())],
            )
            .await;
            let what = format!("DPoP case {i} ({proof:?}) at {path}");
            assert_transport_headers(&response, &what);
            let (status, body) = assert_json_error(response, &what).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_dpop_proof")),
                "{what}: {body}"
            );
        }
        // Two DPoP headers.
        let one = client.fresh_proof(path).await;
        let two = client.fresh_proof(path).await;
        let response = raw_post(
            &server,
            path,
            Some("application/x-www-form-urlencoded"),
            body.clone(),
            &[("dpop", value(&one)), ("dpop", value(&two))],
        )
        .await;
        let (status, body) = assert_json_error(response, "two DPoP headers").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_dpop_proof"))
        );
    }
}

#[tokio::test]
async fn garbage_authorization_and_dpop_headers_at_the_resource_server_are_401() {
    // Robustness at getSession: a 401 JSON error with a DPoP challenge, never a 5xx.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    let good_auth = format!("DPoP {}", tokens.access_token);
    let authorizations: Vec<reqwest::header::HeaderValue> = vec![
        value(""),
        value("DPoP"),
        value("DPoP "),
        value("Basic YWxpY2U6cGFzcw=="),
        value("DPoP a b"),
        value("DPoP a.b.c"),
        value(&format!("DPoP {}", "A".repeat(20_000))),
        value(&format!("dpop {}x", tokens.access_token)),
        reqwest::header::HeaderValue::from_bytes(b"DPoP \xff\xfe").unwrap(),
    ];
    for (i, authorization) in authorizations.into_iter().enumerate() {
        let proof = client.dpop.proof(
            "GET",
            &client.url("/xrpc/com.atproto.server.getSession"),
            server.now(),
            Some(&tokens.access_token),
        );
        let response = server
            .get(COOP_A, "/xrpc/com.atproto.server.getSession")
            .header("authorization", authorization)
            .header("dpop", proof)
            .send()
            .await
            .unwrap();
        assert!(
            header_of(&response, "www-authenticate").starts_with("DPoP"),
            "case {i}"
        );
        let (status, _) = assert_json_error(response, &format!("authorization case {i}")).await;
        assert_eq!(status, 401, "case {i}");
    }
    for (i, proof) in ["", "x", "a.b.c", "e30.e30.e30", &"A".repeat(20_000)]
        .into_iter()
        .enumerate()
    {
        let response = server
            .get(COOP_A, "/xrpc/com.atproto.server.getSession")
            .header("authorization", &good_auth)
            .header("dpop", proof)
            .send()
            .await
            .unwrap();
        assert!(
            header_of(&response, "www-authenticate").starts_with("DPoP"),
            "case {i}"
        );
        let (status, body) = assert_json_error(response, &format!("proof case {i}")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_dpop_proof"))
        );
    }
}

#[tokio::test]
async fn malformed_authorize_requests_never_cause_a_server_error() {
    // Robustness of the HTML endpoints: odd queries and form bodies get a 4xx page.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[]).await;
    let mut browser = Browser::new(&server, COOP_A);
    let long = "a".repeat(30_000);
    for query in [
        "client_id=%ff%fe&request_uri=%80".to_string(),
        "client_id=a&client_id=b&request_uri=c".to_string(),
        format!("client_id={long}&request_uri={long}"),
        "=&&=&%zz".to_string(),
        "request_uri=%00".to_string(),
    ] {
        let page = browser.get(&format!("/oauth/authorize?{query}")).await;
        assert!(
            (400..500).contains(&page.status),
            "{query}: {}",
            page.status
        );
    }
    // Load the real request so the browser has a device cookie, then post garbage forms.
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200);
    let huge = vec![("identifier".to_string(), "a".repeat(70 * 1024))];
    for path in [
        "/oauth/authorize/sign-in",
        "/oauth/authorize/select",
        "/oauth/authorize/consent",
    ] {
        for form in [
            vec![],
            vec![
                ("csrf_token".to_string(), "x".to_string()),
                ("csrf_token".to_string(), "y".to_string()),
            ],
            vec![("request_uri".to_string(), "\u{0}".to_string())],
            huge.clone(),
        ] {
            let page = browser.post_owned(path, form).await;
            assert!(
                (400..500).contains(&page.status),
                "{path}: {} {}",
                page.status,
                page.body
            );
        }
    }
}
