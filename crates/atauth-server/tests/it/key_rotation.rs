//! Signing key rotation without downtime: a new key is published in the JWKS first, signs after
//! the delay, and the old one keeps verifying until every token it signed has expired.

use crate::common::*;
use atauth_protocol::access_token::{self, AccessTokenClaims};
use atauth_protocol::jose::SigningKey;
use atauth_protocol::random::SystemRandom;
use atauth_server::keys::{self, KeyState, RETIREMENT_GRACE_SECS};
use atauth_store::{DatabaseReplayStore, Store, Tenant};
use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::Arc;

const ALICE: &str = "alice.coop-a.test";
const GET_SESSION: &str = "/xrpc/com.atproto.server.getSession";
const DELAY: i64 = 600;

/// The `kid`s the cooperative at `host` publishes.
async fn jwks_kids(server: &TestServer, host: &str) -> Vec<String> {
    let response = server.get(host, "/oauth/jwks").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

fn kid_of(token: &str) -> String {
    jwt_parts(token).0["kid"].as_str().unwrap().to_string()
}

/// getSession at coop A with `token`, bound to `dpop`: the HTTP status.
async fn get_session(server: &TestServer, token: &str, dpop: &DpopKey) -> u16 {
    let nonce = server.nonce(COOP_A).await;
    let mut claims = dpop.claims(
        "GET",
        &format!("{}{GET_SESSION}", issuer(COOP_A)),
        server.now(),
        Some(&nonce),
    );
    let ath = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, token.as_bytes()));
    claims["ath"] = json!(ath);
    let response = server
        .get(COOP_A, GET_SESSION)
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", dpop.proof_with(&[], claims))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status != 200 {
        eprintln!("getSession: {status} {}", response.text().await.unwrap());
    }
    status
}

/// A fresh sign-in at coop A (its own session, so tokens checked later are never replaced
/// by a refresh): the access token and the DPoP key it is bound to.
async fn sign_in(server: &TestServer) -> (String, DpopKey) {
    let client = TestClient::loopback(server, COOP_A);
    let tokens = client.sign_in("atproto", ALICE).await;
    (tokens.access_token, client.dpop.duplicate())
}

/// The private key `kid` of `tenant`, read from the store.
async fn stored_key(store: &Arc<dyn Store>, tenant: &Tenant, kid: &str) -> SigningKey {
    let record = store
        .tenant_repo(tenant)
        .signing_key_history()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kid == kid)
        .unwrap();
    SigningKey::from_pkcs8(record.kid, &record.pkcs8).unwrap()
}

#[tokio::test]
async fn tokens_keep_verifying_across_a_rotation_and_the_new_kid_signs_after_the_delay() {
    let first = TestServer::start().await;
    let (old_token, old_dpop) = sign_in(&first).await;
    let old_kid = kid_of(&old_token);
    assert_eq!(jwks_kids(&first, COOP_A).await, [old_kid.as_str()]);
    let b_kids = jwks_kids(&first, COOP_B).await;

    let rotated_at = first.now();
    let new_key = keys::rotate_keys(
        &first.store,
        &issuer(COOP_A),
        DELAY,
        &SystemRandom,
        rotated_at,
    )
    .await
    .unwrap();
    assert_eq!(new_key.state, KeyState::Published);
    assert_eq!(new_key.activates_at, rotated_at + DELAY);
    assert_ne!(new_key.kid, old_kid);

    // An instance that loads the cooperative now (the others do within the cache lifetime).
    let server = first.another_instance(Arc::new(DatabaseReplayStore)).await;

    // Published: both keys in the JWKS, the old one still signs, old tokens verify.
    assert_eq!(
        jwks_kids(&server, COOP_A).await,
        [new_key.kid.clone(), old_kid.clone()]
    );
    let (before_activation, before_dpop) = sign_in(&server).await;
    assert_eq!(kid_of(&before_activation), old_kid);
    assert_eq!(get_session(&server, &old_token, &old_dpop).await, 200);

    // Active: new tokens carry the new kid; tokens of the old key keep verifying.
    server.clock.advance(DELAY);
    let (after_activation, after_dpop) = sign_in(&server).await;
    assert_eq!(kid_of(&after_activation), new_key.kid);
    assert_eq!(
        jwks_kids(&server, COOP_A).await,
        [new_key.kid.clone(), old_kid.clone()]
    );
    assert_eq!(get_session(&server, &old_token, &old_dpop).await, 200);
    assert_eq!(
        get_session(&server, &before_activation, &before_dpop).await,
        200
    );
    assert_eq!(
        get_session(&server, &after_activation, &after_dpop).await,
        200
    );
    // The instance loaded before the rotation verifies new tokens once its cache reloads;
    // here it still holds only the old key, which it keeps using until then.
    assert_eq!(get_session(&first, &old_token, &old_dpop).await, 200);

    // A token of the old key that would outlive the overlap (real ones expire before it ends)
    // verifies while the old key is retiring...
    let old_key = stored_key(&server.store, &server.tenant_a, &old_kid).await;
    let (_, payload) = jwt_parts(&after_activation);
    let mut claims: AccessTokenClaims = serde_json::from_value(payload).unwrap();
    claims.exp = server.now() + 10 * RETIREMENT_GRACE_SECS;
    let long_lived = access_token::sign(&old_key, &claims).unwrap();
    assert_eq!(get_session(&server, &long_lived, &after_dpop).await, 200);

    // ...and is refused once it retired, when the old key has left the JWKS.
    server
        .clock
        .set(new_key.activates_at + RETIREMENT_GRACE_SECS);
    assert_eq!(jwks_kids(&server, COOP_A).await, [new_key.kid.as_str()]);
    assert_eq!(get_session(&server, &long_lived, &after_dpop).await, 401);
    let (latest, latest_dpop) = sign_in(&server).await;
    assert_eq!(kid_of(&latest), new_key.kid);
    assert_eq!(get_session(&server, &latest, &latest_dpop).await, 200);

    let listed = keys::list_keys(&server.store, &issuer(COOP_A), server.now())
        .await
        .unwrap();
    let states: Vec<_> = listed.iter().map(|k| (k.kid.clone(), k.state)).collect();
    assert_eq!(
        states,
        [
            (new_key.kid.clone(), KeyState::Active),
            (old_kid.clone(), KeyState::Retired)
        ]
    );
    assert_eq!(
        listed[1].retires_at,
        Some(new_key.activates_at + RETIREMENT_GRACE_SECS)
    );

    // Cooperative B was not touched.
    assert_eq!(jwks_kids(&server, COOP_B).await, b_kids);
    let b_keys = keys::list_keys(&server.store, &issuer(COOP_B), server.now())
        .await
        .unwrap();
    assert_eq!(b_keys.len(), 1);
    assert_eq!(b_keys[0].state, KeyState::Active);
    assert_eq!(b_keys[0].retires_at, None);
}

#[tokio::test]
async fn a_cached_cooperative_switches_keys_at_the_exact_time() {
    // The instance loads the cooperative after the rotation and keeps it cached across the
    // activation: the switch follows the clock, not the cache.
    let server = TestServer::start().await;
    let rotated_at = server.now();
    let new_key = keys::rotate_keys(
        &server.store,
        &issuer(COOP_A),
        DELAY,
        &SystemRandom,
        rotated_at,
    )
    .await
    .unwrap();
    let (first, first_dpop) = sign_in(&server).await;
    assert_ne!(kid_of(&first), new_key.kid);

    server.clock.set(new_key.activates_at - 1);
    assert_ne!(kid_of(&sign_in(&server).await.0), new_key.kid);
    server.clock.set(new_key.activates_at);
    let (second, second_dpop) = sign_in(&server).await;
    assert_eq!(kid_of(&second), new_key.kid);
    assert_eq!(get_session(&server, &first, &first_dpop).await, 200);
    assert_eq!(get_session(&server, &second, &second_dpop).await, 200);
}

#[tokio::test]
async fn rotation_refuses_unknown_cooperatives_and_bad_delays() {
    let server = TestServer::start().await;
    let now = server.now();
    let unknown = keys::rotate_keys(
        &server.store,
        "https://nowhere.test",
        60,
        &SystemRandom,
        now,
    )
    .await;
    assert!(matches!(unknown, Err(keys::KeyError::UnknownTenant(_))));
    let malformed = keys::list_keys(&server.store, "not a url", now).await;
    assert!(matches!(malformed, Err(keys::KeyError::UnknownTenant(_))));
    for delay in [-1, keys::MAX_ACTIVATION_DELAY_SECS + 1] {
        let bad =
            keys::rotate_keys(&server.store, &issuer(COOP_A), delay, &SystemRandom, now).await;
        assert!(matches!(bad, Err(keys::KeyError::InvalidDelay)), "{delay}");
    }
    // Nothing was added.
    let listed = keys::list_keys(&server.store, &issuer(COOP_A), now)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn a_server_on_a_database_sealed_with_a_master_key_serves_and_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let master_key = atauth_store::MasterKey::from_bytes(&[7; 32]).unwrap();
    let sqlite = atauth_store::sqlite::SqliteStore::open(&dir.path().join("atauth.db"))
        .await
        .unwrap()
        .with_master_key(Arc::new(master_key));
    let store: Arc<dyn Store> = Arc::new(sqlite);
    let server = TestServer::start_on(store.clone(), Arc::new(DatabaseReplayStore)).await;

    // Sign-in uses the sealed signing key and the sealed nonce and cookie secrets.
    let (token, dpop) = sign_in(&server).await;
    assert_eq!(get_session(&server, &token, &dpop).await, 200);
    let new_key = keys::rotate_keys(&store, &issuer(COOP_A), 0, &SystemRandom, server.now())
        .await
        .unwrap();
    assert_eq!(new_key.state, KeyState::Active);
    let fresh = server.another_instance(Arc::new(DatabaseReplayStore)).await;
    let (latest, latest_dpop) = sign_in(&fresh).await;
    assert_eq!(kid_of(&latest), new_key.kid);
    assert_eq!(get_session(&fresh, &latest, &latest_dpop).await, 200);
    assert_eq!(get_session(&fresh, &token, &dpop).await, 200);

    // Nothing private is stored in plaintext.
    let url = format!("sqlite://{}", dir.path().join("atauth.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let raw: Vec<(Vec<u8>,)> =
        sqlx::query_as("SELECT pkcs8 FROM signing_keys UNION ALL SELECT value FROM tenant_secrets")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert!(raw.len() >= 3 + 3, "{}", raw.len());
    assert!(raw
        .iter()
        .all(|(value,)| atauth_store::sealed::is_sealed(value)));
}
