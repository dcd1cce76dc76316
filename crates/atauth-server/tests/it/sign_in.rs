//! Sign-in on the authorization page: brute-force throttling (profile difference 12) and
//! answers that do not reveal whether an account exists.

use crate::common::*;

const ALICE: &str = "alice.coop-a.test";
const LOCKED: &str = "Too many failed attempts";
const WRONG: &str = "Wrong handle, email or password.";

/// The `<p class="error">` paragraph of a sign-in page.
fn error_message(page: &Page) -> String {
    page.body
        .split("<p class=\"error\"")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or_else(|| panic!("no error message in {}", page.body))
        .to_string()
}

/// A browser on the sign-in page of a fresh request.
async fn sign_in_page<'a>(client: &TestClient<'a>) -> (Browser<'a>, Page) {
    let par = client.par("atproto", &[]).await;
    let mut browser = Browser::new(client.server, &client.host);
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200);
    (browser, page)
}

#[tokio::test]
async fn ten_wrong_passwords_lock_the_account_even_for_the_right_password() {
    // Deliberate difference 12 (brute-force throttling): 10 failures lock the account.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (mut browser, page) = sign_in_page(&client).await;
    for i in 0..10 {
        let wrong = browser
            .submit_sign_in(&page, ALICE, &format!("guess {i}"))
            .await;
        assert_eq!(wrong.status, 401);
        assert!(
            error_message(&wrong).contains(WRONG),
            "attempt {i}: {}",
            wrong.body
        );
    }
    let locked = browser.submit_sign_in(&page, ALICE, PASSWORD).await;
    assert_eq!(locked.status, 401, "{}", locked.body);
    assert!(error_message(&locked).contains(LOCKED), "{}", locked.body);
    assert!(!locked.body.contains("Allow"));
    // Also from another browser, and by e-mail or DID: the account is locked, not the form.
    let (mut other, page) = sign_in_page(&client).await;
    for identifier in [
        ALICE,
        "ALICE.coop-a.test",
        "alice@coop-a.test",
        server.alice.did.as_str(),
    ] {
        let locked = other.submit_sign_in(&page, identifier, PASSWORD).await;
        assert!(
            error_message(&locked).contains(LOCKED),
            "{identifier}: {}",
            locked.body
        );
    }
    // Other accounts are unaffected.
    server
        .add_account(&server.tenant_a, "carol.coop-a.test", None)
        .await;
    let ok = other
        .submit_sign_in(&page, "carol.coop-a.test", PASSWORD)
        .await;
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("Allow"), "{}", ok.body);
}

#[tokio::test]
async fn wrong_passwords_count_per_account_whatever_identifier_is_typed() {
    // Deliberate difference 12: 10 failures spread over handle, e-mail and DID lock the one account behind them.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (mut browser, page) = sign_in_page(&client).await;
    let did = server.alice.did.clone();
    let identifiers = [
        ALICE,
        "alice@coop-a.test",
        did.as_str(),
        "@Alice.Coop-A.test",
    ];
    for i in 0..10 {
        let identifier = identifiers[i % identifiers.len()];
        let wrong = browser.submit_sign_in(&page, identifier, "nope").await;
        assert!(
            error_message(&wrong).contains(WRONG),
            "{identifier}: {}",
            wrong.body
        );
    }
    let locked = browser.submit_sign_in(&page, ALICE, PASSWORD).await;
    assert!(error_message(&locked).contains(LOCKED), "{}", locked.body);
}

#[tokio::test]
async fn the_lock_ends_after_the_window_and_a_success_resets_the_count() {
    // Deliberate difference 12: the lock is a 15-minute window; a success resets the count.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (mut browser, page) = sign_in_page(&client).await;
    // Nine failures, then a success: the count starts again.
    for _ in 0..9 {
        browser.submit_sign_in(&page, ALICE, "nope").await;
    }
    let ok = browser.submit_sign_in(&page, ALICE, PASSWORD).await;
    assert!(ok.body.contains("Allow"), "{}", ok.body);
    let (mut browser, page) = sign_in_page(&client).await;
    for _ in 0..9 {
        browser.submit_sign_in(&page, ALICE, "nope").await;
    }
    let ok = browser.submit_sign_in(&page, ALICE, PASSWORD).await;
    assert!(ok.body.contains("Allow"), "{}", ok.body);

    // Locked, then released 15 minutes later (a fresh request: the old one has expired).
    let (mut browser, page) = sign_in_page(&client).await;
    for _ in 0..10 {
        browser.submit_sign_in(&page, ALICE, "nope").await;
    }
    let locked = browser.submit_sign_in(&page, ALICE, PASSWORD).await;
    assert!(error_message(&locked).contains(LOCKED));
    server.clock.advance(15 * 60);
    let (mut browser, page) = sign_in_page(&client).await;
    let ok = browser.submit_sign_in(&page, ALICE, PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.contains("Allow"), "{}", ok.body);
}

#[tokio::test]
async fn an_unknown_account_and_a_wrong_password_get_the_same_answer() {
    // Deliberate difference 12 (no account enumeration): one message for both failures.
    let server = TestServer::start().await;
    let client = TestClient::loopback(&server, COOP_A);
    let (mut browser, page) = sign_in_page(&client).await;
    let wrong_password = browser
        .submit_sign_in(&page, ALICE, "not the password")
        .await;
    let unknown_handle = browser
        .submit_sign_in(&page, "nobody.coop-a.test", "not the password")
        .await;
    let unknown_email = browser
        .submit_sign_in(&page, "nobody@coop-a.test", PASSWORD)
        .await;
    let empty = browser.submit_sign_in(&page, "", "").await;
    for other in [&unknown_handle, &unknown_email, &empty] {
        assert_eq!(other.status, wrong_password.status);
        assert_eq!(error_message(other), error_message(&wrong_password));
        assert_eq!(
            other.header("content-type"),
            wrong_password.header("content-type")
        );
    }
    assert_eq!(wrong_password.status, 401);
    assert!(error_message(&wrong_password).contains(WRONG));
}

#[tokio::test]
async fn failures_at_another_cooperative_do_not_lock_an_account() {
    // Deliberate difference 12 and profile section 4: throttling is per account, so guessing
    // alice's handle at cooperative B (where it is no account) must not lock her out at A.
    let server = TestServer::start().await;
    let b = TestClient::loopback(&server, COOP_B);
    let (mut browser, page) = sign_in_page(&b).await;
    for _ in 0..10 {
        let wrong = browser.submit_sign_in(&page, ALICE, PASSWORD).await;
        assert!(error_message(&wrong).contains(WRONG), "{}", wrong.body);
    }
    let locked = browser.submit_sign_in(&page, ALICE, PASSWORD).await;
    assert!(error_message(&locked).contains(LOCKED), "{}", locked.body);

    let a = TestClient::loopback(&server, COOP_A);
    let (mut browser, page) = sign_in_page(&a).await;
    let ok = browser.submit_sign_in(&page, ALICE, PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.contains("Allow"), "{}", ok.body);
}
