//! Sign-in throttling behind a reverse proxy (issue 11, weakness 3): the per-address limit
//! counts the address a trusted proxy forwards, so an attacker behind the proxy exhausts only
//! their own address's budget, not that of every member behind it; and a client that is not a
//! trusted proxy cannot pick its own address with `X-Forwarded-For`.
//!
//! The tests play the proxy hop themselves: requests come from 127.0.0.1 with the
//! `X-Forwarded-For` a proxy appends.

use crate::common::*;
use atauth_test_support::browser::{Browser as SupportBrowser, SIGN_IN_PATH};

/// Failed sign-ins that lock a client address (`ui::throttle::MAX_FAILURES_PER_ADDRESS`).
const ADDRESS_LIMIT: usize = 50;
const LOCKED: &str = "Too many failed attempts";
const ATTACKER: &str = "198.51.100.66";
const MEMBER: &str = "203.0.113.7";

/// A fresh authorization request's sign-in page, in a browser of its own.
async fn sign_in_page(server: &TestServer) -> (Browser<'_>, Page) {
    let client = TestClient::loopback(server, COOP_A);
    let par = client.par("atproto transition:generic", &[]).await;
    let mut browser = Browser::new(server, COOP_A);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    (browser, page)
}

/// Submits the sign-in form of `page` as posted through a proxy that forwarded `client`.
async fn submit_forwarded(
    browser: &mut Browser<'_>,
    page: &Page,
    identifier: &str,
    password: &str,
    client: &str,
) -> Page {
    let origin = format!("https://{COOP_A}");
    let form = SupportBrowser::sign_in_form(page, identifier, password);
    let headers = [
        ("origin", origin.as_str()),
        ("sec-fetch-site", "same-origin"),
        ("x-forwarded-for", client),
    ];
    browser.post_with(SIGN_IN_PATH, form, &headers).await
}

/// `ADDRESS_LIMIT` failed sign-ins, each for another made-up account (so no account counter
/// fills up), forwarded as coming from `address(attempt)`.
async fn fail_from(server: &TestServer, address: impl Fn(usize) -> String) {
    let (mut browser, mut page) = sign_in_page(server).await;
    for attempt in 0..ADDRESS_LIMIT {
        let identifier = format!("nobody-{attempt}.coop-a.test");
        page = submit_forwarded(
            &mut browser,
            &page,
            &identifier,
            "wrong password",
            &address(attempt),
        )
        .await;
        assert!(page.body.contains("Wrong handle"), "{}", page.body);
    }
}

#[tokio::test]
async fn an_attacker_behind_a_trusted_proxy_cannot_lock_out_the_members_behind_it() {
    let server = TestServer::start_behind_proxies(&["127.0.0.1/32"]).await;
    // The client claims to be the member; the proxy appends the address it really saw.
    fail_from(&server, |_| format!("{MEMBER}, {ATTACKER}")).await;

    // The attacker's address is locked, even with the right password ...
    let (mut browser, page) = sign_in_page(&server).await;
    let refused = submit_forwarded(
        &mut browser,
        &page,
        "alice.coop-a.test",
        PASSWORD,
        &format!("{MEMBER}, {ATTACKER}"),
    )
    .await;
    assert!(refused.body.contains(LOCKED), "{}", refused.body);
    assert!(!refused.body.contains("Allow"), "{}", refused.body);

    // ... while a member behind the same proxy signs in.
    let (mut browser, page) = sign_in_page(&server).await;
    let consent =
        submit_forwarded(&mut browser, &page, "alice.coop-a.test", PASSWORD, MEMBER).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.body.contains("Allow"), "{}", consent.body);
}

#[tokio::test]
async fn a_forwarded_address_from_a_peer_that_is_not_a_trusted_proxy_is_ignored() {
    // The proxies are elsewhere; requests from 127.0.0.1 are clients speaking for themselves.
    let server = TestServer::start_behind_proxies(&["10.0.0.0/8"]).await;
    // Each failure claims another address: all of them count against the peer's.
    fail_from(&server, |attempt| format!("192.0.2.{attempt}")).await;

    let (mut browser, page) = sign_in_page(&server).await;
    let refused =
        submit_forwarded(&mut browser, &page, "alice.coop-a.test", PASSWORD, MEMBER).await;
    assert!(refused.body.contains(LOCKED), "{}", refused.body);
    assert!(!refused.body.contains("Allow"), "{}", refused.body);
}
