//! End-to-end resolution against an in-process HTTPS PLC directory / did:web host / PDS, with
//! real signed repositories and a TXT map; all offline.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and processes, on real time, with real keys"
)]

mod common;

use atauth_lexicon::{FetchReason, LexiconError, ProofError, StaticTxtResolver};
use common::*;
use serde_json::json;

const PLC_DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
const NSID: &str = "com.example.auth.basic";
const TXT_NAME: &str = "_lexicon.auth.example.com";

fn txt_to(did: &str) -> StaticTxtResolver {
    StaticTxtResolver::new()
        .with_record(TXT_NAME, "v=spf1 -all")
        .with_record(TXT_NAME, &format!("did={did}"))
}

/// A bench with a valid permission set published under `PLC_DID` with a fresh `curve` key.
async fn published(curve: Curve) -> (Bench, Signer) {
    let bench = bench(txt_to(PLC_DID)).await;
    let signer = Signer::generate(curve);
    bench.publish(
        PLC_DID,
        &signer,
        NSID,
        &permission_set(NSID, "com.example.auth.post"),
    );
    (bench, signer)
}

fn proof_error(result: Result<impl std::fmt::Debug, LexiconError>) -> ProofError {
    match result {
        Err(LexiconError::ProofInvalid { nsid, reason }) => {
            assert_eq!(nsid, NSID);
            reason
        }
        other => panic!("expected a proof error, got {other:?}"),
    }
}

async fn with_spoiled(curve: Curve, spoil: Spoil) -> ProofError {
    let (bench, signer) = published(curve).await;
    let document = permission_set(NSID, "com.example.auth.post");
    bench.set_record(
        NSID,
        Answer::Car(proof(PLC_DID, &signer, NSID, &document, spoil)),
    );
    proof_error(bench.resolver.resolve(NSID).await)
}

// --- Happy paths ---------------------------------------------------------------------------

#[tokio::test]
async fn resolves_a_p256_signed_set_through_did_plc() {
    let (bench, _signer) = published(Curve::P256).await;
    let resolved = bench.resolver.resolve_permission_set(NSID).await.unwrap();
    assert_eq!(resolved.nsid, NSID);
    assert_eq!(resolved.did, PLC_DID);
    assert_eq!(resolved.fetched_at, T0);
    assert!(resolved.cid.starts_with("bafyrei"), "{}", resolved.cid);
    assert_eq!(
        resolved.document,
        permission_set(NSID, "com.example.auth.post")
    );
    assert_eq!(bench.hits(&format!("plc {PLC_DID}")), 1);
    assert_eq!(bench.record_hits(NSID), 1);
}

#[tokio::test]
async fn resolves_a_k256_signed_set_through_did_web() {
    let bench = bench(StaticTxtResolver::new()).await;
    let did = bench.did_web();
    // The TXT map is fixed at start; point a fresh resolver's map at the did:web.
    let bench = bench_on_same_server_with_txt(bench, txt_to(&did));
    let signer = Signer::generate(Curve::K256);
    bench.publish(
        &did,
        &signer,
        NSID,
        &permission_set(NSID, "com.example.auth.post"),
    );
    let resolved = bench.resolver.resolve_permission_set(NSID).await.unwrap();
    assert_eq!(resolved.did, did);
    assert_eq!(resolved.document["defs"]["main"]["type"], "permission-set");
    assert_eq!(bench.hits(&format!("web {did}")), 1);
}

// --- Proof verification --------------------------------------------------------------------

#[tokio::test]
async fn commit_of_another_did_is_refused() {
    assert_eq!(
        with_spoiled(Curve::P256, Spoil::CommitDid).await,
        ProofError::CommitDid
    );
}

#[tokio::test]
async fn bad_signature_is_refused() {
    assert_eq!(
        with_spoiled(Curve::P256, Spoil::Signature).await,
        ProofError::BadSignature
    );
    assert_eq!(
        with_spoiled(Curve::K256, Spoil::Signature).await,
        ProofError::BadSignature
    );
}

#[tokio::test]
async fn signature_by_another_key_is_refused() {
    let (bench, _signer) = published(Curve::P256).await;
    let intruder = Signer::generate(Curve::P256);
    let document = permission_set(NSID, "com.example.auth.post");
    bench.set_record(
        NSID,
        Answer::Car(proof(PLC_DID, &intruder, NSID, &document, Spoil::None)),
    );
    assert_eq!(
        proof_error(bench.resolver.resolve(NSID).await),
        ProofError::BadSignature
    );
}

#[tokio::test]
async fn high_s_signature_is_refused() {
    assert_eq!(
        with_spoiled(Curve::P256, Spoil::HighS).await,
        ProofError::HighS
    );
    assert_eq!(
        with_spoiled(Curve::K256, Spoil::HighS).await,
        ProofError::HighS
    );
}

#[tokio::test]
async fn record_missing_from_the_tree_is_refused() {
    assert_eq!(
        with_spoiled(Curve::K256, Spoil::NotInTree).await,
        ProofError::RecordNotFound
    );
}

#[tokio::test]
async fn tree_pointing_at_another_record_is_refused() {
    assert_eq!(
        with_spoiled(Curve::P256, Spoil::RecordCid).await,
        ProofError::MissingRecord
    );
}

#[tokio::test]
async fn tampered_block_is_refused() {
    assert_eq!(
        with_spoiled(Curve::P256, Spoil::TamperedBlock).await,
        ProofError::BlockHashMismatch
    );
}

#[tokio::test]
async fn garbage_instead_of_a_car_is_refused() {
    let (bench, _signer) = published(Curve::P256).await;
    bench.set_record(NSID, Answer::Car(b"\x05hello world".to_vec()));
    assert_eq!(
        proof_error(bench.resolver.resolve(NSID).await),
        ProofError::MalformedCar
    );
}

// --- Authority (DNS) -----------------------------------------------------------------------

#[tokio::test]
async fn two_did_txt_records_are_ambiguous() {
    let txt = txt_to(PLC_DID).with_record(TXT_NAME, "did=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa");
    let bench = bench(txt).await;
    let err = bench.resolver.resolve(NSID).await.unwrap_err();
    assert_eq!(
        err,
        LexiconError::AmbiguousAuthority {
            nsid: NSID.into(),
            authority: "auth.example.com".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "the lexicon authority for com.example.auth.basic is ambiguous (more than one DNS TXT record with a DID at _lexicon.auth.example.com)"
    );
}

#[tokio::test]
async fn missing_txt_record_means_no_authority() {
    let bench = bench(StaticTxtResolver::new().with_record(TXT_NAME, "v=spf1 -all")).await;
    let err = bench.resolver.resolve(NSID).await.unwrap_err();
    assert_eq!(
        err,
        LexiconError::NoAuthority {
            nsid: NSID.into(),
            authority: "auth.example.com".into()
        }
    );
    let bench = bench_on_same_server_with_txt(bench, StaticTxtResolver::new());
    assert!(matches!(
        bench.resolver.resolve(NSID).await,
        Err(LexiconError::NoAuthority { .. })
    ));
}

#[tokio::test]
async fn invalid_nsid_is_refused_before_any_lookup() {
    let (bench, _signer) = published(Curve::P256).await;
    assert_eq!(
        bench.resolver.resolve("com.example").await.unwrap_err(),
        LexiconError::InvalidNsid("com.example".into())
    );
}

// --- DID documents -------------------------------------------------------------------------

#[tokio::test]
async fn unknown_did_and_unsupported_methods_fail_cleanly() {
    let bench = bench(txt_to(PLC_DID)).await;
    assert_eq!(
        bench.resolver.resolve(NSID).await.unwrap_err(),
        LexiconError::DidDocumentUnavailable {
            did: PLC_DID.into(),
            reason: FetchReason::Status(404)
        }
    );
    let bench = bench_on_same_server_with_txt(
        bench,
        txt_to("did:key:zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc"),
    );
    assert!(matches!(
        bench.resolver.resolve(NSID).await,
        Err(LexiconError::UnsupportedDidMethod { .. })
    ));
}

// --- The document --------------------------------------------------------------------------

#[tokio::test]
async fn document_id_must_be_the_nsid() {
    let (bench, signer) = published(Curve::K256).await;
    let wrong = permission_set("com.example.auth.other", "com.example.auth.post");
    bench.set_record(
        NSID,
        Answer::Car(proof(PLC_DID, &signer, NSID, &wrong, Spoil::None)),
    );
    let err = bench.resolver.resolve(NSID).await.unwrap_err();
    assert_eq!(
        err,
        LexiconError::InvalidDocument {
            nsid: NSID.into(),
            reason: "its id is not the requested NSID"
        }
    );
}

#[tokio::test]
async fn a_record_lexicon_is_not_a_permission_set() {
    let (bench, signer) = published(Curve::P256).await;
    let record =
        json!({"lexicon": 1, "id": NSID, "defs": {"main": {"type": "record", "key": "tid"}}});
    bench.set_record(
        NSID,
        Answer::Car(proof(PLC_DID, &signer, NSID, &record, Spoil::None)),
    );
    assert!(bench.resolver.resolve(NSID).await.is_ok());
    let err = bench
        .resolver
        .resolve_permission_set(NSID)
        .await
        .unwrap_err();
    assert_eq!(err, LexiconError::NotPermissionSet { nsid: NSID.into() });
    assert_eq!(
        err.to_string(),
        "com.example.auth.basic is not a permission set"
    );
}

// --- Cache ---------------------------------------------------------------------------------

#[tokio::test]
async fn entries_are_refreshed_after_five_minutes() {
    let (bench, signer) = published(Curve::P256).await;
    bench.resolver.resolve(NSID).await.unwrap();
    let updated = permission_set(NSID, "com.example.auth.like");
    bench.set_record(
        NSID,
        Answer::Car(proof(PLC_DID, &signer, NSID, &updated, Spoil::None)),
    );

    bench.clock.advance(299);
    let cached = bench.resolver.resolve(NSID).await.unwrap();
    assert_eq!(cached.fetched_at, T0);
    assert_eq!(bench.record_hits(NSID), 1);

    bench.clock.advance(2);
    let refreshed = bench.resolver.resolve(NSID).await.unwrap();
    assert_eq!(refreshed.fetched_at, T0 + 301);
    assert_eq!(refreshed.document, updated);
    assert_eq!(bench.record_hits(NSID), 2);
}

#[tokio::test]
async fn last_good_copy_is_kept_on_error_and_refused_after_24_hours() {
    let (bench, _signer) = published(Curve::K256).await;
    let first = bench.resolver.resolve(NSID).await.unwrap();
    bench.set_record(NSID, Answer::Status(500));

    // Refresh due and failing: the last good copy is served.
    bench.clock.advance(6 * 60);
    assert_eq!(bench.resolver.resolve(NSID).await.unwrap(), first);
    assert_eq!(bench.record_hits(NSID), 2);
    // Within the failure memory: no new request.
    bench.clock.advance(10);
    assert_eq!(bench.resolver.resolve(NSID).await.unwrap(), first);
    assert_eq!(bench.record_hits(NSID), 2);
    // Past it: asked again, still failing, still served.
    bench.clock.advance(60);
    assert_eq!(bench.resolver.resolve(NSID).await.unwrap(), first);
    assert_eq!(bench.record_hits(NSID), 3);

    // 24 hours after the good copy was fetched: no longer served.
    bench.clock.set(T0 + 24 * 60 * 60);
    let expected = LexiconError::RecordUnavailable {
        nsid: NSID.into(),
        reason: FetchReason::Status(500),
    };
    assert_eq!(bench.resolver.resolve(NSID).await.unwrap_err(), expected);
    assert_eq!(
        expected.to_string(),
        "the lexicon record for com.example.auth.basic could not be fetched from its repository (the server answered HTTP 500)"
    );
}

#[tokio::test]
async fn stale_copy_recovers_when_the_source_does() {
    let (bench, signer) = published(Curve::P256).await;
    bench.resolver.resolve(NSID).await.unwrap();
    bench.set_record(NSID, Answer::Status(503));
    bench.clock.set(T0 + 25 * 60 * 60);
    assert!(bench.resolver.resolve(NSID).await.is_err());
    bench.publish(
        PLC_DID,
        &signer,
        NSID,
        &permission_set(NSID, "com.example.auth.post"),
    );
    bench.clock.advance(31);
    let resolved = bench.resolver.resolve(NSID).await.unwrap();
    assert_eq!(resolved.fetched_at, T0 + 25 * 60 * 60 + 31);
}

#[tokio::test]
async fn failures_are_remembered_briefly() {
    let (bench, signer) = published(Curve::P256).await;
    bench.set_record(NSID, Answer::Status(404));
    assert!(bench.resolver.resolve(NSID).await.is_err());
    assert!(bench.resolver.resolve(NSID).await.is_err());
    assert_eq!(bench.record_hits(NSID), 1);

    bench.publish(
        PLC_DID,
        &signer,
        NSID,
        &permission_set(NSID, "com.example.auth.post"),
    );
    bench.clock.advance(29);
    assert!(bench.resolver.resolve(NSID).await.is_err());
    bench.clock.advance(1);
    assert!(bench.resolver.resolve(NSID).await.is_ok());
    assert_eq!(bench.record_hits(NSID), 2);
}

#[tokio::test]
async fn concurrent_requests_share_one_resolution() {
    let (bench, _signer) = published(Curve::P256).await;
    bench
        .shared
        .gated
        .store(true, std::sync::atomic::Ordering::SeqCst);
    // join! polls the three in order: the first resolution reaches the server and waits at the
    // gate, the second is then already waiting behind it, and only then is the gate opened.
    let (a, b, ()) = tokio::join!(
        bench.resolver.resolve(NSID),
        bench.resolver.resolve(NSID),
        async {
            bench.shared.entered.notified().await;
            bench.shared.release.add_permits(2);
        }
    );
    assert_eq!(a.unwrap(), b.unwrap());
    assert_eq!(bench.record_hits(NSID), 1);
}

// --- Transport -----------------------------------------------------------------------------

#[tokio::test]
async fn get_record_answer_must_be_a_car() {
    let (bench, signer) = published(Curve::P256).await;
    let document = permission_set(NSID, "com.example.auth.post");
    let car = proof(PLC_DID, &signer, NSID, &document, Spoil::None);
    bench.set_record(NSID, Answer::Json(car));
    assert_eq!(
        bench.resolver.resolve(NSID).await.unwrap_err(),
        LexiconError::RecordUnavailable {
            nsid: NSID.into(),
            reason: FetchReason::MediaType
        }
    );
}

#[tokio::test]
async fn pds_at_a_private_address_is_not_contacted() {
    let (bench, signer) = published(Curve::P256).await;
    // An IP literal refused by the fetcher's address policy before any connection.
    bench.set_did_doc(PLC_DID, did_document(PLC_DID, &signer, "https://10.0.0.1"));
    let err = bench.resolver.resolve(NSID).await.unwrap_err();
    assert_eq!(
        err,
        LexiconError::RecordUnavailable {
            nsid: NSID.into(),
            reason: FetchReason::AddressNotAllowed
        }
    );
    assert!(!err.to_string().contains("10.0.0.1"), "{err}");
    assert_eq!(bench.record_hits(NSID), 0);
}

#[tokio::test]
async fn configured_authority_did_replaces_dns() {
    let config = atauth_lexicon::ResolverConfig {
        authority_did: Some(PLC_DID.into()),
        ..Default::default()
    };
    let bench = bench_with(StaticTxtResolver::new(), config).await;
    let signer = Signer::generate(Curve::K256);
    bench.publish(
        PLC_DID,
        &signer,
        NSID,
        &permission_set(NSID, "com.example.auth.post"),
    );
    let resolved = bench.resolver.resolve_permission_set(NSID).await.unwrap();
    assert_eq!(resolved.did, PLC_DID);
}
