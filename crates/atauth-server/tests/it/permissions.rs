//! Granular permissions end to end: `include:` resolution at PAR (pinned sets from
//! `tests/permission-sets`), the expanded token scope, consent in plain words with withholding,
//! and what a resource server decides for the issued token.

use crate::common::*;
use atauth_protocol::jose::JwkSet;
use atauth_resource::{AccountAttr, RepoAction, ResourceRequest};
use serde_json::Value;

const CALENDAR: &str = "include:com.example.calendar.auth?aud=did:web:api.example.com%23cal";
/// What [`CALENDAR`] expands to with `tests/permission-sets/com.example.calendar.auth.json`:
/// the post and blob entries are dropped (outside the set's authority; not repo/rpc).
const CALENDAR_EXPANDED: &str = "repo:com.example.calendar.event?action=create&action=update \
    rpc?lxm=com.example.calendar.getEvent&lxm=com.example.calendar.listEvents&aud=did:web:api.example.com%23cal";
const DECLARED: &str = "atproto account:email repo:app.bsky.feed.post?action=create \
    include:com.example.calendar.auth?aud=did:web:api.example.com%23cal \
    include:com.example.unknown.auth identity:*";

fn client<'a>(server: &'a TestServer, host: &str) -> TestClient<'a> {
    TestClient::loopback_with_scope(server, host, DECLARED)
}

#[tokio::test]
async fn unresolvable_permission_set_is_refused_at_par() {
    // checklist 49
    let server = TestServer::start().await;
    let client = client(&server, "coop-a.test");
    let response = client
        .par_with(&[("scope", "atproto include:com.example.unknown.auth")])
        .await;
    let body = expect_error(response, 400, "invalid_scope").await;
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains("com.example.unknown.auth"),
        "{description}"
    );
}

#[tokio::test]
async fn token_scope_lists_the_expanded_permissions_then_the_other_scopes() {
    let server = TestServer::start().await;
    let client = client(&server, "coop-a.test");
    let tokens = client
        .sign_in(
            &format!("atproto {CALENDAR} account:email"),
            "alice.coop-a.test",
        )
        .await;
    let expected = format!("{CALENDAR_EXPANDED} atproto account:email");
    assert_eq!(tokens.body["scope"], expected.as_str());
    let (_, claims) = jwt_parts(&tokens.access_token);
    assert_eq!(claims["scope"], expected.as_str());
    assert!(!claims["scope"].as_str().unwrap_or("").contains("include:"));

    // Refresh keeps the session's granted scope.
    let refreshed = client
        .refresh(tokens.refresh_token.as_deref().expect("refresh token"))
        .await;
    assert_eq!(refreshed.status(), 200);
    let refreshed = crate::common::tokens(refreshed).await;
    assert_eq!(refreshed.body["scope"], expected.as_str());
}

#[tokio::test]
async fn a_cooperatives_own_pinned_set_wins_over_the_shared_one() {
    let server = TestServer::start().await;
    let client = client(&server, "coop-b.test");
    let tokens = client
        .sign_in(&format!("atproto {CALENDAR}"), "bob.coop-b.test")
        .await;
    assert_eq!(
        tokens.body["scope"],
        "rpc:com.example.calendar.listEvents?aud=did:web:api.example.com%23cal atproto"
    );
}

#[tokio::test]
async fn consent_shows_permission_sets_and_plain_words_in_the_members_language() {
    let server = TestServer::start().await;
    let client = client(&server, "coop-a.test");
    let scope = format!(
        "atproto {CALENDAR} account:email repo:app.bsky.feed.post?action=create identity:*"
    );
    let par = client.par(&scope, &[]).await;
    let mut browser = Browser::new(&server, "coop-a.test");
    let page = browser.get(&client.authorize_path(&par.request_uri)).await;
    let mut form = page.form_fields();
    form.push(("identifier".into(), "alice.coop-a.test".into()));
    form.push(("password".into(), PASSWORD.into()));
    form.push(("action".into(), "sign_in".into()));
    let consent = browser
        .post_with(
            "/oauth/authorize/sign-in",
            form,
            &[("accept-language", "fr-CA, en;q=0.5")],
        )
        .await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    let body = &consent.body;
    for expected in [
        "<h2>Agenda</h2>",
        "Créer et modifier vos événements.",
        "Create and change: com.example.calendar.event",
        "Call com.example.calendar.getEvent, com.example.calendar.listEvents on did:web:api.example.com#cal",
        "Create: posts (app.bsky.feed.post)",
        "See your e-mail address",
        "could take over your account",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in {body}");
    }
    // The blob entry and the out-of-authority post entry of the set are not shown.
    assert!(!body.contains("Upload"), "{body}");
    // Only e-mail can be withheld here; everything else is sent back as it was requested.
    let fields = consent.form_fields();
    let checkboxes: Vec<&str> = body
        .split("<input type=\"checkbox\"")
        .skip(1)
        .filter_map(|tag| tag.split("value=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(checkboxes, ["account:email"]);
    let granted: Vec<&str> = fields
        .iter()
        .filter(|(k, _)| k.starts_with("grant_"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(granted.len(), 5, "{granted:?}");
}

#[tokio::test]
async fn english_consent_uses_the_plain_title() {
    let server = TestServer::start().await;
    let client = client(&server, "coop-a.test");
    let par = client.par(&format!("atproto {CALENDAR}"), &[]).await;
    let (_, consent) = client.open_consent(&par, "alice.coop-a.test").await;
    assert!(
        consent.body.contains("<h2>Calendar</h2>"),
        "{}",
        consent.body
    );
    assert!(consent.body.contains("Create and edit your events."));
}

#[tokio::test]
async fn atproto_alone_lists_nothing_special() {
    let server = TestServer::start().await;
    let client = client(&server, "coop-a.test");
    let par = client.par("atproto", &[]).await;
    let (_, consent) = client.open_consent(&par, "alice.coop-a.test").await;
    assert!(
        consent.body.contains("It asks for nothing else."),
        "{}",
        consent.body
    );
    assert!(!consent.body.contains("<h2>"), "{}", consent.body);
}

/// Signs in with `scope`, submitting the consent form with `withhold` unchecked.
async fn sign_in_withholding(client: &TestClient<'_>, scope: &str, withhold: &[&str]) -> Tokens {
    let par = client.par(scope, &[]).await;
    let (mut browser, consent) = client.open_consent(&par, "alice.coop-a.test").await;
    let mut form: Vec<(String, String)> = consent
        .form_fields()
        .into_iter()
        .filter(|(k, v)| !(k.starts_with("grant_") && withhold.contains(&v.as_str())))
        .collect();
    // A value that was never requested cannot be added (profile section 5.5).
    form.push(("grant_extra".into(), "identity:*".into()));
    form.push(("decision".into(), "allow".into()));
    let done = browser.post_owned("/oauth/authorize/consent", form).await;
    let response = client.exchange(&done.code(), &par.verifier).await;
    assert_eq!(response.status(), 200);
    tokens(response).await
}

#[tokio::test]
async fn withholding_email_narrows_the_granted_scope_and_the_resource_obeys() {
    let server = TestServer::start().await;
    let client = client(&server, "coop-a.test");
    let scope = "atproto account:email repo:app.bsky.feed.post?action=create";

    let kept = sign_in_withholding(&client, scope, &[]).await;
    assert_eq!(kept.body["scope"], scope);
    let session: Value = client
        .get_session(&kept.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(session["email"], "alice@coop-a.test");

    let withheld = sign_in_withholding(&client, scope, &["account:email"]).await;
    assert_eq!(
        withheld.body["scope"],
        "atproto repo:app.bsky.feed.post?action=create"
    );
    let session: Value = client
        .get_session(&withheld.access_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(session["did"], server.alice.did.as_str());
    assert!(session.get("email").is_none(), "{session}");
}

#[tokio::test]
async fn an_issued_token_allows_exactly_what_its_scope_grants_at_a_resource_server() {
    let server = TestServer::start().await;
    let client = client(&server, "coop-a.test");
    let tokens = client
        .sign_in(
            "atproto repo:app.bsky.feed.post?action=create",
            "alice.coop-a.test",
        )
        .await;
    // A resource server of the cooperative verifies the token against the published keys.
    let jwks: Value = server
        .get("coop-a.test", "/oauth/jwks")
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let jwks = JwkSet::from_json(&jwks).expect("jwks");
    let url = format!(
        "{}/xrpc/com.atproto.repo.createRecord",
        server.tenant_a.resource_server
    );
    let nonce = client.dpop.nonce.lock().unwrap().clone().expect("nonce");
    let proof = client
        .dpop
        .proof("POST", &url, server.now(), Some(&tokens.access_token));
    let authorization = format!("DPoP {}", tokens.access_token);
    let request = ResourceRequest {
        method: "POST",
        url: &url,
        authorization: Some(&authorization),
        dpop: Some(&proof),
        now: server.now(),
    };
    let principal = atauth_resource::verify_request(
        &request,
        &issuer("coop-a.test"),
        &|kid| jwks.find(kid).cloned(),
        &|n| n == nonce,
    )
    .expect("verified");
    let permissions = principal.permissions();
    assert!(permissions.may_write_record("app.bsky.feed.post", RepoAction::Create));
    assert!(!permissions.may_write_record("app.bsky.feed.post", RepoAction::Delete));
    assert!(!permissions.may_write_record("app.bsky.feed.like", RepoAction::Create));
    assert!(!permissions.may_upload_blob("image/png"));
    assert!(!permissions.may_account(AccountAttr::Email, atauth_resource::AccountAction::Read));
    assert!(!permissions.may_call(
        "app.bsky.actor.getProfile",
        "did:web:api.bsky.app#bsky_appview"
    ));
}
