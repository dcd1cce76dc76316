//! Offline test bench: an HTTPS server on 127.0.0.1 (certificate for `localhost` from a
//! throw-away rcgen CA) acting as PLC directory, did:web host and PDS; signed repositories
//! built here (real P-256 / secp256k1 keys, MST, commit, CAR); a TXT map; a manual clock.

#![allow(dead_code)]

use atauth_fetch::{FetchConfig, SafeFetcher, SystemResolver};
use atauth_lexicon::proof::build;
use atauth_lexicon::{LexiconResolver, ResolverConfig, StaticTxtResolver};
use atauth_protocol::clock::ManualClock;
use atauth_test_support::pki::TestPki;
use aws_lc_rs::encoding::{AsBigEndian, EcPublicKeyCompressedBin};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ipld_core::cid::Cid;
use ipld_core::ipld::Ipld;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, Semaphore};

pub const T0: i64 = 1_800_000_000;

// ---------------------------------------------------------------------------------------------
// Keys and repositories

#[derive(Clone, Copy, Debug)]
pub enum Curve {
    P256,
    K256,
}

pub struct Signer {
    pub curve: Curve,
    pair: EcdsaKeyPair,
}

const P256_ORDER: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
const K256_ORDER: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

fn unhex(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// `a - b` for big-endian 256-bit numbers with `a >= b`.
fn sub(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = a[i] as i16 - b[i] as i16 - borrow;
        borrow = if d < 0 {
            d += 256;
            1
        } else {
            0
        };
        out[i] = d as u8;
    }
    out
}

impl Signer {
    pub fn generate(curve: Curve) -> Self {
        let alg = match curve {
            Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            Curve::K256 => &signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
        };
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).unwrap();
        Self { curve, pair }
    }

    fn order(&self) -> [u8; 32] {
        unhex(match self.curve {
            Curve::P256 => P256_ORDER,
            Curve::K256 => K256_ORDER,
        })
    }

    /// `publicKeyMultibase` of the `Multikey` form.
    pub fn multikey(&self) -> String {
        let compressed: EcPublicKeyCompressedBin = self.pair.public_key().as_be_bytes().unwrap();
        let mut bytes = match self.curve {
            Curve::P256 => vec![0x80, 0x24],
            Curve::K256 => vec![0xe7, 0x01],
        };
        bytes.extend_from_slice(compressed.as_ref());
        multibase::encode(multibase::Base::Base58Btc, bytes)
    }

    /// An `r || s` signature with `s` in the low (or, for negative tests, high) half.
    pub fn sign(&self, message: &[u8], high_s: bool) -> Vec<u8> {
        let sig = self.pair.sign(&SystemRandom::new(), message).unwrap();
        let mut sig = sig.as_ref().to_vec();
        let n = self.order();
        let s: [u8; 32] = sig[32..].try_into().unwrap();
        let other = sub(&n, &s);
        // Of s and n - s, exactly one is at most n / 2 (n is odd).
        let s_is_low = s <= other;
        if s_is_low == high_s {
            sig[32..].copy_from_slice(&other);
        }
        sig
    }
}

/// Ways to spoil a proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spoil {
    None,
    CommitDid,
    Signature,
    HighS,
    NotInTree,
    RecordCid,
    TamperedBlock,
}

pub const COLLECTION: &str = "com.atproto.lexicon.schema";

/// A permission-set lexicon document for `nsid`.
pub fn permission_set(nsid: &str, collection: &str) -> Value {
    json!({
        "lexicon": 1,
        "id": nsid,
        "defs": {"main": {
            "type": "permission-set",
            "title": "Test set",
            "permissions": [{"type": "permission", "resource": "repo", "collection": [collection]}]
        }}
    })
}

/// The CAR `com.atproto.sync.getRecord` answers for `COLLECTION/nsid` in `did`'s repository.
pub fn proof(did: &str, signer: &Signer, nsid: &str, document: &Value, spoil: Spoil) -> Vec<u8> {
    let mut record = document.clone();
    record["$type"] = json!(COLLECTION);
    let (record_cid, record_bytes) = build::block(&build::from_json(&record));
    let (decoy_cid, _) = build::block(&Ipld::String("another record".into()));

    let target = format!("{COLLECTION}/{nsid}");
    let before = format!("{COLLECTION}/aaa.example.first");
    let after = format!("{COLLECTION}/zzz.example.last");
    let feed = "app.bsky.feed.post/3jzfcijpj2z2a".to_string();

    let mut blocks: Vec<(Cid, Vec<u8>)> = Vec::new();
    // Leaf A: keys below everything in the root.
    let (leaf_a, leaf_a_bytes) =
        build::block(&build::node(None, &[(feed.as_bytes(), decoy_cid, None)]));
    blocks.push((leaf_a, leaf_a_bytes));
    // Leaf B (right of `before`): the target and a later key (prefix-compressed).
    let target_value = if spoil == Spoil::RecordCid {
        decoy_cid
    } else {
        record_cid
    };
    let leaf_b_entries: Vec<(&[u8], Cid, Option<Cid>)> = if spoil == Spoil::NotInTree {
        vec![(after.as_bytes(), decoy_cid, None)]
    } else {
        vec![
            (target.as_bytes(), target_value, None),
            (after.as_bytes(), decoy_cid, None),
        ]
    };
    let (leaf_b, leaf_b_bytes) = build::block(&build::node(None, &leaf_b_entries));
    blocks.push((leaf_b, leaf_b_bytes));
    let (root, root_bytes) = build::block(&build::node(
        Some(leaf_a),
        &[(before.as_bytes(), decoy_cid, Some(leaf_b))],
    ));
    blocks.push((root, root_bytes));

    let commit_did = if spoil == Spoil::CommitDid {
        "did:plc:zzzzzzzzzzzzzzzzzzzzzzzz"
    } else {
        did
    };
    let (mut commit, unsigned) = build::unsigned_commit(commit_did, root, "3kznmn7xqxl22");
    let mut sig = signer.sign(&unsigned, spoil == Spoil::HighS);
    if spoil == Spoil::Signature {
        sig[10] ^= 0x01;
    }
    commit.insert("sig".into(), Ipld::Bytes(sig));
    let (commit_cid, commit_bytes) = build::block(&Ipld::Map(commit));

    let mut record_bytes = record_bytes;
    if spoil == Spoil::TamperedBlock {
        // Same length, one character changed: "Test set" -> "Best set".
        let at = record_bytes
            .windows(8)
            .position(|w| w == b"Test set")
            .unwrap();
        record_bytes[at] = b'B';
    }
    let mut all = vec![(commit_cid, commit_bytes)];
    all.extend(blocks);
    all.push((record_cid, record_bytes));
    build::car(commit_cid, &all)
}

/// A DID document with `signer` as `#atproto` and `pds` as `#atproto_pds`.
pub fn did_document(did: &str, signer: &Signer, pds: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "alsoKnownAs": ["at://lexicons.example"],
        "verificationMethod": [{
            "id": format!("{did}#atproto"),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": signer.multikey()
        }],
        "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": pds}]
    })
}

// ---------------------------------------------------------------------------------------------
// The server

#[derive(Clone)]
pub enum Answer {
    Car(Vec<u8>),
    /// The right bytes with another media type.
    Json(Vec<u8>),
    Status(u16),
}

pub struct Shared {
    pub did_docs: Mutex<HashMap<String, Value>>,
    /// rkey (NSID) -> getRecord answer.
    pub records: Mutex<HashMap<String, Answer>>,
    pub hits: Mutex<HashMap<String, usize>>,
    /// When set, getRecord waits for a permit from `release` after signalling `entered`.
    pub gated: AtomicBool,
    pub entered: Notify,
    pub release: Semaphore,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            did_docs: Mutex::default(),
            records: Mutex::default(),
            hits: Mutex::default(),
            gated: AtomicBool::new(false),
            entered: Notify::new(),
            release: Semaphore::new(0),
        }
    }
}

impl Shared {
    fn hit(&self, what: String) {
        *self.hits.lock().unwrap().entry(what).or_default() += 1;
    }
}

pub struct Bench {
    pub port: u16,
    pub shared: Arc<Shared>,
    pub clock: Arc<ManualClock>,
    pub resolver: LexiconResolver,
    fetcher: SafeFetcher,
    config: ResolverConfig,
}

/// The same server and clock with a fresh resolver (empty cache) answering DNS from `txt`.
pub fn bench_on_same_server_with_txt(bench: Bench, txt: StaticTxtResolver) -> Bench {
    let resolver = LexiconResolver::new(
        bench.config.clone(),
        Arc::new(txt),
        bench.fetcher.clone(),
        bench.clock.clone(),
    );
    Bench { resolver, ..bench }
}

impl Bench {
    pub fn origin(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    pub fn did_web(&self) -> String {
        format!("did:web:localhost%3A{}", self.port)
    }

    pub fn set_did_doc(&self, did: &str, doc: Value) {
        self.shared
            .did_docs
            .lock()
            .unwrap()
            .insert(did.to_owned(), doc);
    }

    pub fn set_record(&self, nsid: &str, answer: Answer) {
        self.shared
            .records
            .lock()
            .unwrap()
            .insert(nsid.to_owned(), answer);
    }

    /// getRecord requests seen for `nsid`.
    pub fn record_hits(&self, nsid: &str) -> usize {
        self.hits(&format!("record {nsid}"))
    }

    pub fn hits(&self, what: &str) -> usize {
        self.shared
            .hits
            .lock()
            .unwrap()
            .get(what)
            .copied()
            .unwrap_or(0)
    }

    /// Publishes a lexicon: DID document and a valid proof.
    pub fn publish(&self, did: &str, signer: &Signer, nsid: &str, document: &Value) {
        self.set_did_doc(did, did_document(did, signer, &self.origin()));
        self.set_record(
            nsid,
            Answer::Car(proof(did, signer, nsid, document, Spoil::None)),
        );
    }
}

fn router(shared: Arc<Shared>) -> Router {
    async fn plc(State(shared): State<Arc<Shared>>, Path(did): Path<String>) -> Response {
        shared.hit(format!("plc {did}"));
        did_doc(&shared, &did, "application/did+ld+json; charset=utf-8")
    }
    async fn web(State(shared): State<Arc<Shared>>, headers: axum::http::HeaderMap) -> Response {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .replace(':', "%3A");
        let did = format!("did:web:{host}");
        shared.hit(format!("web {did}"));
        did_doc(&shared, &did, "application/json")
    }
    fn did_doc(shared: &Shared, did: &str, media_type: &'static str) -> Response {
        match shared.did_docs.lock().unwrap().get(did) {
            Some(doc) => ([(header::CONTENT_TYPE, media_type)], doc.to_string()).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
    async fn get_record(
        State(shared): State<Arc<Shared>>,
        Query(q): Query<HashMap<String, String>>,
    ) -> Response {
        let rkey = q.get("rkey").cloned().unwrap_or_default();
        shared.hit(format!("record {rkey}"));
        if q.get("collection").map(String::as_str) != Some(COLLECTION) {
            return StatusCode::BAD_REQUEST.into_response();
        }
        if shared.gated.load(Ordering::SeqCst) {
            shared.entered.notify_one();
            shared.release.acquire().await.unwrap().forget();
        }
        let answer = shared.records.lock().unwrap().get(&rkey).cloned();
        match answer {
            Some(Answer::Car(bytes)) => (
                [(header::CONTENT_TYPE, "application/vnd.ipld.car")],
                Body::from(bytes),
            )
                .into_response(),
            Some(Answer::Json(bytes)) => (
                [(header::CONTENT_TYPE, "application/json")],
                Body::from(bytes),
            )
                .into_response(),
            Some(Answer::Status(code)) => StatusCode::from_u16(code).unwrap().into_response(),
            None => StatusCode::BAD_REQUEST.into_response(),
        }
    }
    Router::new()
        .route("/plc/{did}", get(plc))
        .route("/.well-known/did.json", get(web))
        .route("/xrpc/com.atproto.sync.getRecord", get(get_record))
        .with_state(shared)
}

/// Starts the server; `txt` gets the resolver's DNS answers.
pub async fn bench(txt: StaticTxtResolver) -> Bench {
    bench_with(txt, ResolverConfig::default()).await
}

pub async fn bench_with(txt: StaticTxtResolver, mut config: ResolverConfig) -> Bench {
    let pki = TestPki::issue(&["localhost"]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let shared = Arc::new(Shared::default());
    pki.serve_https(listener, router(shared.clone()));

    let fetch_config = FetchConfig {
        allow_loopback: true,
        host_overrides: [("localhost".to_owned(), "127.0.0.1".parse().unwrap())]
            .into_iter()
            .collect(),
        extra_ca_pem: Some(pki.ca_pem.into_bytes()),
        timeout: None,
    };
    let fetcher = SafeFetcher::with_resolver(fetch_config, Arc::new(SystemResolver)).unwrap();
    config.plc_directory = format!("https://localhost:{port}/plc").parse().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let resolver = LexiconResolver::new(
        config.clone(),
        Arc::new(txt),
        fetcher.clone(),
        clock.clone(),
    );
    Bench {
        port,
        shared,
        clock,
        resolver,
        fetcher,
        config,
    }
}
