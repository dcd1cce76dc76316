//! The authorization endpoint and its pages, for loopback clients
//! (Checklist 59-69 and 73-76; profile differences 11 and 13),
//! with the page security headers, the device cookie and CSRF protection.

use crate::common::*;
use std::collections::HashMap;

const ALICE: &str = "alice.coop-a.test";

type Form = Vec<(String, String)>;

/// Asserts a 303 error redirect to the loopback redirect URI with `iss` and `state`.
fn assert_error_redirect(page: &Page, error: &str, state: &str) -> HashMap<String, String> {
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.as_deref().expect("location");
    assert!(location.starts_with(LOOPBACK_REDIRECT), "{location}");
    let params = redirect_params(location);
    assert_eq!(
        params.get("error").map(String::as_str),
        Some(error),
        "{location}"
    );
    assert_eq!(params.get("iss"), Some(&issuer(COOP_A)), "{location}");
    assert_eq!(
        params.get("state").map(String::as_str),
        Some(state),
        "{location}"
    );
    assert!(!params.contains_key("code"), "{location}");
    params
}

/// Asserts an HTML page for the member (no redirect to the client).
fn assert_html_error(page: &Page) {
    assert!(
        page.status >= 400 && page.status < 500,
        "{} {}",
        page.status,
        page.body
    );
    assert!(page.location.is_none(), "{:?}", page.location);
    assert!(
        page.header("content-type").starts_with("text/html"),
        "{:?}",
        page.headers
    );
}

#[tokio::test]
async fn authorize_page_is_html_that_cannot_be_framed() {
    // Checklist 59, plus Referrer-Policy same-origin and no caching.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[]).await;
    let mut browser = Browser::new(&server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.header("content-type").starts_with("text/html"));
    assert_eq!(page.header("x-frame-options"), "DENY");
    let csp = page.header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("referrer-policy"), "same-origin");
    assert_eq!(page.header("cache-control"), "no-store");
    // The following pages carry the same headers.
    let consent = browser.submit_sign_in(&page, ALICE, PASSWORD).await;
    assert_eq!(consent.status, 200);
    assert_eq!(consent.header("x-frame-options"), "DENY");
    assert!(consent
        .header("content-security-policy")
        .contains("frame-ancestors 'none'"));
    assert_eq!(consent.header("referrer-policy"), "same-origin");
}

#[tokio::test]
async fn authorize_page_sets_an_httponly_secure_lax_device_cookie_and_a_csrf_field() {
    // Checklist 60. The reference also sets a readable `csrf-token` cookie; we put a CSRF token
    // bound to the device cookie (HMAC) in each form instead, so no cookie is script-readable.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[]).await;
    let mut browser = Browser::new(&server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200);
    let cookies: Vec<String> = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let cookie = &cookies[0];
    assert!(cookie.starts_with("__Host-atauth-device="), "{cookie}");
    let attributes: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    for wanted in ["httponly", "secure", "samesite=lax", "path=/"] {
        assert!(
            attributes.iter().any(|a| a == wanted),
            "{wanted} missing: {cookie}"
        );
    }
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain=")),
        "{cookie}"
    );
    assert!(!page.hidden("csrf_token").is_empty());
    // A known device gets no new cookie.
    let again = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(again.status, 200);
    assert!(again.headers.get("set-cookie").is_none());
}

#[tokio::test]
async fn authorize_refuses_requests_that_are_not_top_level_navigations() {
    // Checklist 61: a fetch/XHR (Sec-Fetch-Mode other than navigate) or a frame
    // (Sec-Fetch-Dest other than document) gets a 400 HTML page, no redirect. (Agents that send
    // no Sec-Fetch-* headers at all are let through, see ui/authorize.rs.)
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[]).await;
    let path = client.authorize_path(&par.request_uri);
    let mut browser = Browser::new(&server, COOP_A);
    for headers in [
        [("sec-fetch-mode", "cors"), ("sec-fetch-dest", "empty")],
        [
            ("sec-fetch-mode", "no-cors"),
            ("sec-fetch-dest", "document"),
        ],
        [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "iframe")],
        [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "frame")],
    ] {
        let page = browser.get_with(&path, &headers).await;
        assert_eq!(page.status, 400, "{headers:?}");
        assert_html_error(&page);
        assert!(!page.body.contains("Handle or email"));
    }
    // The request is untouched: a proper navigation still works.
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

#[tokio::test]
async fn an_unknown_request_uri_shows_an_html_error_and_does_not_redirect() {
    // Checklist 62.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let mut browser = Browser::new(&server, COOP_A);
    for request_uri in [
        "urn:ietf:params:oauth:request_uri:req-00000000000000000000000000000000",
        "urn:ietf:params:oauth:request_uri:req-zz",
        "https://evil.example/request",
        "",
    ] {
        let page = browser.get(&client.authorize_path(request_uri)).await;
        assert_html_error(&page);
    }
    // Parameters missing entirely, or duplicated.
    for path in [
        "/oauth/authorize".to_string(),
        format!("/oauth/authorize?client_id={}", "http%3A%2F%2Flocalhost"),
        format!(
            "{}&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Areq-00",
            client.authorize_path("urn:ietf:params:oauth:request_uri:req-00")
        ),
    ] {
        let page = browser.get(&path).await;
        assert_html_error(&page);
    }
}

#[tokio::test]
async fn authorize_with_another_client_id_than_at_par_redirects_with_access_denied() {
    // Checklist 63 and 66.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[]).await;
    let impostor = TestClient::loopback_with_scope(&server, COOP_A, "atproto");
    assert_ne!(impostor.client_id, client.client_id);
    let mut browser = Browser::new(&server, COOP_A);
    let page = browser
        .get(&impostor.authorize_path(&par.request_uri))
        .await;
    assert_error_redirect(&page, "access_denied", &par.state);
}

#[tokio::test]
async fn a_request_uri_opened_in_a_second_browser_redirects_with_access_denied() {
    // Checklist 64 and 66: the request is bound to the first device that loads it.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[]).await;
    let path = client.authorize_path(&par.request_uri);
    let mut first = Browser::new(&server, COOP_A);
    let page = first.get(&path).await;
    assert_eq!(page.status, 200);

    let mut second = Browser::new(&server, COOP_A);
    let stolen = second.get(&path).await;
    assert_error_redirect(&stolen, "access_denied", &par.state);

    // The first browser is unaffected and completes the flow.
    let consent = first.submit_sign_in(&page, ALICE, PASSWORD).await;
    let done = first.allow(&consent).await;
    let response = client.exchange(&done.code(), &par.verifier).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn authorize_after_the_request_expired_redirects_with_access_denied() {
    // Checklist 65 and 66: 6 and 14 minutes after PAR without a page load in between; once
    // answered, the request is gone and a reload shows the HTML "unknown" page.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    for minutes in [6, 14] {
        let par = client.par("atproto", &[]).await;
        server.clock.advance(minutes * 60);
        let mut browser = Browser::new(&server, COOP_A);
        let page = browser.get(&client.authorize_path(&par.request_uri)).await;
        let params = assert_error_redirect(&page, "access_denied", &par.state);
        assert!(
            params["error_description"].contains("expired"),
            "{params:?}"
        );
        let again = browser.get(&client.authorize_path(&par.request_uri)).await;
        assert_html_error(&again);
    }
}

#[tokio::test]
async fn each_page_load_keeps_the_request_alive_for_five_more_minutes() {
    // Profile section 1: authorization inactivity 5 min, extended on each page load.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[]).await;
    let path = client.authorize_path(&par.request_uri);
    let mut browser = Browser::new(&server, COOP_A);
    for _ in 0..3 {
        server.clock.advance(4 * 60);
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
    }
    // 12 minutes after PAR, still alive; 5 minutes after the last load it has expired.
    server.clock.advance(5 * 60 + 1);
    let page = browser.get(&path).await;
    assert_error_redirect(&page, "access_denied", &par.state);
}

#[tokio::test]
async fn cancelling_sign_in_or_denying_consent_redirects_with_access_denied_iss_and_state() {
    // Checklist 67 and 66.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);

    let par = client.par("atproto", &[]).await;
    let mut browser = Browser::new(&server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    let mut form = page.form_fields();
    form.push(("action".into(), "cancel".into()));
    let cancelled = browser.post_owned("/oauth/authorize/sign-in", form).await;
    assert_error_redirect(&cancelled, "access_denied", &par.state);

    let par = client.par("atproto", &[]).await;
    let (mut browser, consent) = client.open_consent(&par, ALICE).await;
    let mut form = consent.form_fields();
    form.push(("decision".into(), "deny".into()));
    let denied = browser.post_owned("/oauth/authorize/consent", form).await;
    assert_error_redirect(&denied, "access_denied", &par.state);
    // The request is gone: no second chance to approve it.
    let again = browser.allow(&consent).await;
    assert_html_error(&again);
}

#[tokio::test]
async fn approval_redirects_with_code_iss_and_state() {
    // Checklist 68.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, done) = client.approve_with("atproto", &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let location = done.location.clone().unwrap();
    let url = url::Url::parse(&location).unwrap();
    assert_eq!(url.fragment(), None);
    assert!(
        location.starts_with(&format!("{LOOPBACK_REDIRECT}?")),
        "{location}"
    );
    let params = redirect_params(&location);
    assert!(params["code"].len() > 20, "{location}");
    assert_eq!(params["iss"], issuer(COOP_A));
    assert_eq!(params["state"], par.state);
    assert!(!params.contains_key("error"));
}

#[tokio::test]
async fn fragment_response_mode_puts_the_parameters_in_the_fragment() {
    // Checklist 69 (fragment).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, done) = client
        .approve_with("atproto", &[("response_mode", "fragment")])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let location = done.location.clone().unwrap();
    let url = url::Url::parse(&location).unwrap();
    assert_eq!(url.query(), None, "{location}");
    let params = redirect_params(&location);
    assert_eq!(params["state"], par.state);
    assert_eq!(params["iss"], issuer(COOP_A));
    let response = client.exchange(&params["code"], &par.verifier).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn form_post_response_mode_returns_an_auto_submitting_form() {
    // Checklist 69 (form_post).
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (par, done) = client
        .approve_with("atproto", &[("response_mode", "form_post")])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.location.is_none());
    assert!(done.header("content-type").starts_with("text/html"));
    assert!(
        done.body.contains(&format!(
            r#"<form method="post" action="{LOOPBACK_REDIRECT}""#
        )),
        "{}",
        done.body
    );
    assert!(done.body.contains(".submit()"), "{}", done.body);
    let csp = done.header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let fields: HashMap<String, String> = done.form_fields().into_iter().collect();
    assert_eq!(fields["state"], par.state);
    assert_eq!(fields["iss"], issuer(COOP_A));
    let response = client.exchange(&fields["code"], &par.verifier).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn reloading_after_approval_says_return_to_the_app_and_keeps_the_code() {
    // Checklist 73. Deliberate difference 11: instead of an access_denied redirect that
    // destroys the pending code, the page says "return to the app" and the code stays usable.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[]).await;
    let (mut browser, consent) = client.open_consent(&par, ALICE).await;
    let done = browser.allow(&consent).await;
    let code = done.code();

    let reload = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(reload.status, 200, "{}", reload.body);
    assert!(reload.location.is_none());
    assert!(reload.body.contains("Return to the app"), "{}", reload.body);
    // Submitting the consent form again yields no second code.
    let twice = browser.allow(&consent).await;
    assert!(twice.location.is_none(), "{:?}", twice.location);

    let response = client.exchange(&code, &par.verifier).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn withholding_atproto_at_consent_redirects_with_access_denied() {
    // Checklist 74.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto transition:generic", &[]).await;
    let (mut browser, consent) = client.open_consent(&par, ALICE).await;
    let mut form: Vec<(String, String)> = consent
        .form_fields()
        .into_iter()
        .filter(|(k, v)| !(k.starts_with("grant_") && v == "atproto"))
        .collect();
    assert!(form.iter().any(|(k, _)| k.starts_with("grant_")));
    form.push(("decision".into(), "allow".into()));
    let page = browser.post_owned("/oauth/authorize/consent", form).await;
    assert_error_redirect(&page, "access_denied", &par.state);
}

#[tokio::test]
async fn narrowing_at_consent_drops_a_scope_and_can_never_add_one() {
    // Checklist 75.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client
        .par("atproto transition:generic transition:email", &[])
        .await;
    let (mut browser, consent) = client.open_consent(&par, ALICE).await;
    let mut form: Vec<(String, String)> = consent
        .form_fields()
        .into_iter()
        .filter(|(_, v)| v != "transition:email")
        .collect();
    assert!(
        form.len() < consent.form_fields().len(),
        "email is optional"
    );
    form.push(("grant_99".into(), "transition:chat.bsky".into()));
    form.push(("decision".into(), "allow".into()));
    let done = browser.post_owned("/oauth/authorize/consent", form).await;
    let response = client.exchange(&done.code(), &par.verifier).await;
    assert_eq!(response.status(), 200);
    let tokens = tokens(response).await;
    assert_eq!(tokens.body["scope"], "atproto transition:generic");
    let (_, claims) = jwt_parts(&tokens.access_token);
    assert_eq!(claims["scope"], "atproto transition:generic");
    let session: serde_json::Value = client
        .get_session(&tokens.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(session.get("email").is_none(), "{session}");
}

#[tokio::test]
async fn a_public_client_always_gets_the_consent_screen() {
    // Checklist 76: after a first approval, the same browser, account and scopes still get
    // a consent page (with or without login_hint), never an immediate redirect.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[]).await;
    let (mut browser, consent) = client.open_consent(&par, ALICE).await;
    let done = browser.allow(&consent).await;
    assert_eq!(done.status, 303);

    let par = client.par("atproto", &[("login_hint", ALICE)]).await;
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.location.is_none());
    assert!(page.body.contains("Allow"), "{}", page.body);

    let par = client.par("atproto", &[]).await;
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.location.is_none());
    assert!(page.body.contains("Choose an account"), "{}", page.body);
    let mut form = page.form_fields();
    form.push(("account_id".into(), server.alice.id.clone()));
    let consent = browser.post_owned("/oauth/authorize/select", form).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.location.is_none());
    assert!(consent.body.contains("Allow"), "{}", consent.body);
}

#[tokio::test]
async fn prompt_login_asks_for_the_password_even_when_signed_in() {
    // Deliberate difference 13: prompt=login forces re-authentication for every client.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[]).await;
    let (mut browser, consent) = client.open_consent(&par, ALICE).await;
    browser.allow(&consent).await;

    let par = client
        .par("atproto", &[("prompt", "login"), ("login_hint", ALICE)])
        .await;
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Handle or email"), "{}", page.body);
    assert!(!page.body.contains("Allow"), "{}", page.body);
}

#[tokio::test]
async fn a_consent_post_with_a_bad_csrf_token_or_from_another_site_is_refused() {
    // CSRF: wrong token, another device's token, cross-site Sec-Fetch-Site, foreign Origin,
    // and a missing device cookie are all refused without a code; the genuine post then works.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[]).await;
    let (mut browser, consent) = client.open_consent(&par, ALICE).await;
    let genuine = {
        let mut form = consent.form_fields();
        form.push(("decision".into(), "allow".into()));
        form
    };
    let with_token = |token: &str| -> Vec<(String, String)> {
        genuine
            .iter()
            .map(|(k, v)| {
                if k == "csrf_token" {
                    (k.clone(), token.to_string())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect()
    };
    let other_device_token = {
        let other = client.par("atproto", &[]).await;
        let mut stranger = Browser::new(&server, COOP_A);
        stranger
            .get(&client.authorize_path(&other.request_uri))
            .await
            .hidden("csrf_token")
    };
    let same_origin = [
        ("origin", "https://coop-a.test"),
        ("sec-fetch-site", "same-origin"),
    ];
    let attempts: Vec<(Form, Vec<(&str, &str)>)> = vec![
        (with_token("wrong"), same_origin.to_vec()),
        (with_token(""), same_origin.to_vec()),
        (with_token(&other_device_token), same_origin.to_vec()),
        (
            genuine.clone(),
            vec![
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        ),
        (genuine.clone(), vec![("sec-fetch-site", "cross-site")]),
        (genuine.clone(), vec![("sec-fetch-site", "same-site")]),
        (genuine.clone(), vec![("origin", "https://evil.example")]),
        (genuine.clone(), vec![("origin", "null")]),
    ];
    for (form, headers) in attempts {
        let page = browser
            .post_with("/oauth/authorize/consent", form, &headers)
            .await;
        assert_eq!(page.status, 400, "{headers:?}: {}", page.body);
        assert!(page.location.is_none(), "{:?}", page.location);
        assert!(!page.body.contains("code="), "{}", page.body);
    }
    // Without the device cookie.
    let mut cookieless = Browser::new(&server, COOP_A);
    let page = cookieless
        .post_owned("/oauth/authorize/consent", genuine.clone())
        .await;
    assert_eq!(page.status, 400);
    assert!(page.location.is_none());

    let page = browser
        .post_owned("/oauth/authorize/consent", genuine)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let response = client.exchange(&page.code(), &par.verifier).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_sign_in_post_with_a_bad_csrf_token_is_refused() {
    // CSRF on the sign-in form (login CSRF): the account is not signed in on the device.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[]).await;
    let mut browser = Browser::new(&server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    let mut form: Vec<(String, String)> = page
        .form_fields()
        .into_iter()
        .filter(|(k, _)| k != "csrf_token")
        .collect();
    form.push(("csrf_token".into(), "forged".into()));
    form.push(("identifier".into(), ALICE.into()));
    form.push(("password".into(), PASSWORD.into()));
    form.push(("action".into(), "sign_in".into()));
    let refused = browser.post_owned("/oauth/authorize/sign-in", form).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(!refused.body.contains("Allow"));
    let cross_site = browser
        .post_with(
            "/oauth/authorize/sign-in",
            {
                let mut form = page.form_fields();
                form.push(("identifier".into(), ALICE.into()));
                form.push(("password".into(), PASSWORD.into()));
                form
            },
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross_site.status, 400, "{}", cross_site.body);
    // Still the sign-in page: no account was remembered on the device.
    let again = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert!(again.body.contains("Handle or email"), "{}", again.body);
}

/// Checklist 72, deliberate choice: `prompt=select_account` with nobody signed in on this
/// browser shows the sign-in page (the member can sign in and so select an account) instead of
/// an `account_selection_required` error.
#[tokio::test]
async fn select_account_with_nobody_signed_in_shows_the_sign_in_page() {
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let par = client.par("atproto", &[("prompt", "select_account")]).await;
    let mut browser = Browser::new(&server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Handle or email"), "{}", page.body);
    assert!(page.location.is_none());
}
