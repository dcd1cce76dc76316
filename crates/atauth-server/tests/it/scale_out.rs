//! Two atauth instances over one PostgreSQL database and one Redis, as behind a load balancer:
//! a flow may hop between them, a DPoP nonce issued by one is accepted by the other, and a
//! DPoP proof used at one is a replay at the other.
//!
//! Needs `ATAUTH_TEST_POSTGRES_URL` and `ATAUTH_TEST_REDIS_URL` (`scripts/with-services`).

use crate::common::*;
use crate::services::*;
use atauth_store::postgres::PostgresStore;
use atauth_store::{RedisReplayStore, ReplayStore, Store};
use serde_json::Value;
use std::sync::Arc;

/// Instance 1 and instance 2 over one fresh PostgreSQL database and the shared Redis, each with
/// its own connection pool and Redis connection (as separate processes would have).
async fn two_instances() -> Option<(TestServer, TestServer, PgTestDatabase, PostgresStore)> {
    let admin = postgres_url()?;
    let redis = redis_url()?;
    let db = PgTestDatabase::create(&admin).await;
    let store = PostgresStore::connect(&db.url).await.expect("postgres");
    db.separate_tenant_ids().await;
    let replay = |url: &str| -> Arc<dyn ReplayStore> {
        Arc::new(RedisReplayStore::new(url).expect("redis replay store"))
    };
    let one = TestServer::start_on(Arc::new(store.clone()), replay(&redis)).await;
    // The second instance has its own pool too.
    let other: Arc<dyn Store> = Arc::new(PostgresStore::connect(&db.url).await.expect("postgres"));
    let mut two = one.another_instance(replay(&redis)).await;
    two.store = other;
    Some((one, two, db, store))
}

/// Rows of the database's own replay table in `namespace`.
async fn db_markers(store: &PostgresStore, namespace: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM replay WHERE namespace = $1")
        .bind(namespace)
        .fetch_one(store.pool())
        .await
        .expect("count");
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_proof_used_at_one_instance_is_a_replay_at_the_other() {
    let Some((one, two, _db, pg)) = two_instances().await else {
        return;
    };
    let client = TestClient::loopback(&one, COOP_A);

    // A nonce from instance 1 ...
    let nonce = one.nonce(COOP_A).await;
    client.dpop.set_nonce(Some(nonce));
    let (form, _) = client.par_form(&[]);
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let proof = client
        .dpop
        .proof("POST", &client.url("/oauth/par"), one.now(), None);

    // ... is accepted by instance 2 (same per-tenant secret, from the database).
    let response = two
        .post_form(COOP_A, "/oauth/par", &fields, Some(proof.clone()))
        .await;
    let (status, body) = status_json(response).await;
    assert_eq!(status, 201, "{body}");

    // The same proof at instance 1: its jti is already in Redis.
    let response = one
        .post_form(COOP_A, "/oauth/par", &fields, Some(proof.clone()))
        .await;
    let body = expect_error(response, 400, "invalid_dpop_proof").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("replay"),
        "{body}"
    );
    // And at instance 2 again.
    let response = two
        .post_form(COOP_A, "/oauth/par", &fields, Some(proof))
        .await;
    expect_error(response, 400, "invalid_dpop_proof").await;

    // A fresh proof (new jti) with the same nonce is fine at instance 1.
    let proof = client
        .dpop
        .proof("POST", &client.url("/oauth/par"), one.now(), None);
    let (form, _) = client.par_form(&[]);
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let response = one
        .post_form(COOP_A, "/oauth/par", &fields, Some(proof))
        .await;
    assert_eq!(response.status(), 201);

    // The markers went to Redis, not to the database (which keeps the PKCE ones).
    assert_eq!(db_markers(&pg, "dpop").await, 0);
    assert_eq!(db_markers(&pg, "pkce_challenge").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_alternates_between_instances() {
    let Some((one, two, _db, _pg)) = two_instances().await else {
        return;
    };
    let at_one = TestClient::loopback(&one, COOP_A);
    // The same client (client_id, DPoP key) talking to instance 2.
    let mut at_two = TestClient::loopback(&two, COOP_A);
    at_two.dpop = at_one.dpop.duplicate();

    // PAR at 1, the authorization pages at 2.
    let par = at_one.par("atproto transition:generic", &[]).await;
    let mut browser = Browser::new(&two, COOP_A);
    let page = browser.get(&at_two.authorize_path(&par.request_uri)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let page = browser
        .post(
            "/oauth/authorize/sign-in",
            &[
                ("csrf_token", &page.hidden("csrf_token")),
                ("request_uri", &par.request_uri),
                ("client_id", &at_two.client_id),
                ("identifier", "alice.coop-a.test"),
                ("password", PASSWORD),
                ("action", "sign_in"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut form = page.form_fields();
    form.push(("decision".into(), "allow".into()));
    let done = browser.post_owned("/oauth/authorize/consent", form).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let params = redirect_params(&done.location.expect("redirect"));
    let code = params.get("code").expect("code").clone();

    // Token at 1 (the nonce learnt from 1 works at 2 and back).
    let response = at_one.exchange(&code, &par.verifier).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let first = tokens(response).await;
    // Refresh at 2, then at 1 with the new refresh token.
    let refresh = first.refresh_token.clone().expect("refresh token");
    let response = at_two.refresh(&refresh).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let second = tokens(response).await;
    at_one.dpop.set_nonce(at_two.dpop.current_nonce());
    let response = at_one
        .refresh(second.refresh_token.as_deref().expect("refresh token"))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let third = tokens(response).await;

    // The access token works at either instance's resource server.
    let response = at_two.get_session(&third.access_token).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);

    // Revoke at 1: the session is gone at 2 as well.
    let refresh = third.refresh_token.clone().expect("refresh token");
    let response = at_one.revoke(&refresh).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    at_two.dpop.set_nonce(at_one.dpop.current_nonce());
    let response = at_two.refresh(&refresh).await;
    let (status, body): (u16, Value) = status_json(response).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");

    // The code is used, whichever instance is asked.
    at_two.dpop.set_nonce(at_one.dpop.current_nonce());
    let response = at_two.exchange(&code, &par.verifier).await;
    let (status, body) = status_json(response).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
}
