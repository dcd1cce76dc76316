//! Network resolution of atproto lexicons, for permission sets (`include:` scopes), as the
//! atproto spec "Lexicon Publication and Resolution" describes and the reference server does:
//!
//! 1. the NSID's authority (its domain segments reversed: `com.example.foo.auth` ->
//!    `foo.example.com`, see [`nsid::authority`]);
//! 2. exactly one DNS TXT record `did=<did>` at `_lexicon.<authority>` ([`TxtResolver`]), or
//!    a configured authority DID;
//! 3. the DID document (`did:plc` through the PLC directory, `did:web`) for the `#atproto`
//!    signing key and the `#atproto_pds` endpoint ([`did`]);
//! 4. `com.atproto.sync.getRecord` for `com.atproto.lexicon.schema/<nsid>` from the PDS, a CAR
//!    proof, fetched through the SSRF-safe [`SafeFetcher`];
//! 5. the proof verified ([`proof`]): every block's CID, the commit's DID and version, its
//!    signature (low-S ECDSA, P-256 or secp256k1), the record's inclusion in the Merkle Search
//!    Tree, its `$type`;
//! 6. the document's `id` equals the NSID (and, for [`LexiconResolver::resolve_permission_set`],
//!    `defs.main.type` is `permission-set`).
//!
//! Results are cached (bounded): an entry older than [`REFRESH_AFTER`] is refreshed inline by
//! the next request; when a refresh fails the last good copy keeps being served until it is
//! [`STALE_AFTER`] old (the spec's upper bound), after which requests fail; failures are
//! remembered for [`FAILURE_TTL`] so a broken authority is not asked again on every request.
//! Concurrent requests for one NSID share one resolution. Time comes from an injected
//! [`Clock`].

pub mod car;
pub mod did;
mod error;
pub mod key;
pub mod mst;
pub mod nsid;
pub mod proof;
mod txt;

pub use error::{FetchReason, LexiconError, ProofError};
pub use txt::{StaticTxtResolver, SystemTxtResolver, TxtError, TxtResolver};

use atauth_fetch::SafeFetcher;
use atauth_protocol::clock::{Clock, UnixTime};
use atauth_protocol::identity::is_valid_did;
use moka::ops::compute::{CompResult, Op};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// An entry older than this is refreshed by the next request (reference server:
/// `LEXICON_REFRESH_FREQUENCY`, 5 min).
pub const REFRESH_AFTER: Duration = Duration::from_secs(5 * 60);
/// A last good copy older than this is no longer served (the spec's upper bound for "stale").
pub const STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a failed resolution is remembered before the network is asked again.
pub const FAILURE_TTL: Duration = Duration::from_secs(30);
/// Most NSIDs kept in the cache.
pub const MAX_ENTRIES: u64 = 10_000;
/// The public PLC directory.
pub const DEFAULT_PLC_DIRECTORY: &str = "https://plc.directory";

/// The media type of `com.atproto.sync.getRecord` answers.
const CAR_MEDIA_TYPE: &str = "application/vnd.ipld.car";

/// A lexicon resolved from the network and verified.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedLexicon {
    pub nsid: String,
    /// The authority DID whose repository holds the lexicon.
    pub did: String,
    /// The CID of the lexicon record.
    pub cid: String,
    /// The lexicon document (the record without its `$type`).
    pub document: Value,
    /// When it was fetched and verified.
    pub fetched_at: UnixTime,
}

/// Settings; [`Default`] gives the production values.
#[derive(Debug, Clone)]
pub struct ResolverConfig {
    /// Where `did:plc` documents are read from.
    pub plc_directory: Url,
    /// Use this DID as the authority of every NSID instead of DNS (the reference server's
    /// `PDS_LEXICON_AUTHORITY_DID`).
    pub authority_did: Option<String>,
    pub refresh_after: Duration,
    pub stale_after: Duration,
    pub failure_ttl: Duration,
    pub max_entries: u64,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        Self {
            // A constant that parses.
            plc_directory: Url::parse(DEFAULT_PLC_DIRECTORY).unwrap_or_else(|_| unreachable!()),
            authority_did: None,
            refresh_after: REFRESH_AFTER,
            stale_after: STALE_AFTER,
            failure_ttl: FAILURE_TTL,
            max_entries: MAX_ENTRIES,
        }
    }
}

/// What the cache holds for one NSID.
#[derive(Clone)]
struct Slot {
    /// The last good resolution.
    good: Option<Arc<ResolvedLexicon>>,
    /// The last failure and when it happened (cleared by a success).
    failure: Option<(LexiconError, UnixTime)>,
}

/// Resolves, verifies and caches lexicons. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct LexiconResolver {
    inner: Arc<Inner>,
}

struct Inner {
    config: ResolverConfig,
    txt: Arc<dyn TxtResolver>,
    fetcher: SafeFetcher,
    clock: Arc<dyn Clock>,
    cache: moka::future::Cache<String, Slot>,
}

impl std::fmt::Debug for LexiconResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LexiconResolver")
            .field("config", &self.inner.config)
            .field("cached_entries", &self.inner.cache.entry_count())
            .finish_non_exhaustive()
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl LexiconResolver {
    /// A resolver with the given DNS, HTTP and clock.
    pub fn new(
        config: ResolverConfig,
        txt: Arc<dyn TxtResolver>,
        fetcher: SafeFetcher,
        clock: Arc<dyn Clock>,
    ) -> Self {
        // Time rules use the injected clock; moka only bounds the size (and drops entries
        // nobody asked for within the stale bound).
        let cache = moka::future::Cache::builder()
            .max_capacity(config.max_entries)
            .time_to_idle(config.stale_after)
            .build();
        Self {
            inner: Arc::new(Inner {
                config,
                txt,
                fetcher,
                clock,
                cache,
            }),
        }
    }

    /// Resolves `nsid`, from the cache when fresh (see the crate documentation).
    pub async fn resolve(&self, nsid: &str) -> Result<Arc<ResolvedLexicon>, LexiconError> {
        if nsid::authority(nsid).is_none() {
            return Err(LexiconError::InvalidNsid(nsid.to_owned()));
        }
        let inner = &self.inner;
        let refresh_after = secs(inner.config.refresh_after);
        let stale_after = secs(inner.config.stale_after);
        let failure_ttl = secs(inner.config.failure_ttl);
        // `and_compute_with` runs one computation per key at a time: concurrent requests for
        // the same NSID wait for the first and then find its result.
        let result = inner
            .cache
            .entry(nsid.to_owned())
            .and_compute_with(|current| async move {
                let slot = current.map(|e| e.into_value());
                let now = inner.clock.now();
                if let Some(slot) = &slot {
                    let fresh = slot
                        .good
                        .as_ref()
                        .is_some_and(|g| now - g.fetched_at < refresh_after);
                    let failed_recently = slot
                        .failure
                        .as_ref()
                        .is_some_and(|(_, at)| now - *at < failure_ttl);
                    if fresh || failed_recently {
                        return Op::Nop;
                    }
                }
                let slot = match inner.fetch_verified(nsid).await {
                    Ok(resolved) => Slot {
                        good: Some(Arc::new(resolved)),
                        failure: None,
                    },
                    Err(e) => {
                        tracing::info!(nsid, error = %e, "lexicon resolution failed");
                        Slot {
                            good: slot.and_then(|s| s.good),
                            failure: Some((e, now)),
                        }
                    }
                };
                Op::Put(slot)
            })
            .await;
        let slot = match result {
            CompResult::Inserted(e) | CompResult::ReplacedWith(e) | CompResult::Unchanged(e) => {
                e.into_value()
            }
            CompResult::StillNone(_) | CompResult::Removed(_) => {
                return Err(LexiconError::Unavailable {
                    nsid: nsid.to_owned(),
                })
            }
        };
        let now = inner.clock.now();
        match (slot.good, slot.failure) {
            // A good copy within the stale bound is served even while refreshes fail.
            (Some(good), _) if now - good.fetched_at < stale_after => Ok(good),
            (_, Some((e, _))) => Err(e),
            // Only reachable when a good copy went stale without a failure recorded.
            (_, None) => Err(LexiconError::Unavailable {
                nsid: nsid.to_owned(),
            }),
        }
    }

    /// Resolves `nsid` and checks that it is a permission set (`defs.main.type`).
    pub async fn resolve_permission_set(
        &self,
        nsid: &str,
    ) -> Result<Arc<ResolvedLexicon>, LexiconError> {
        let resolved = self.resolve(nsid).await?;
        let main_type = resolved
            .document
            .pointer("/defs/main/type")
            .and_then(Value::as_str);
        if main_type != Some("permission-set") {
            return Err(LexiconError::NotPermissionSet {
                nsid: nsid.to_owned(),
            });
        }
        Ok(resolved)
    }
}

impl Inner {
    /// One full resolution from the network, no cache.
    async fn fetch_verified(&self, nsid: &str) -> Result<ResolvedLexicon, LexiconError> {
        let did = match &self.config.authority_did {
            Some(did) => did.clone(),
            None => self.authority_did(nsid).await?,
        };
        let identity = did::resolve(&self.fetcher, &self.config.plc_directory, &did).await?;
        let url = get_record_url(&identity.pds, &did, nsid);
        let car = self
            .fetcher
            .get_bytes(url.as_str(), &[CAR_MEDIA_TYPE])
            .await
            .map_err(|e| LexiconError::RecordUnavailable {
                nsid: nsid.to_owned(),
                reason: FetchReason::from(&e),
            })?;
        let verified = proof::verify_record(
            &car,
            &did,
            &identity.signing_key,
            proof::LEXICON_COLLECTION,
            nsid,
        )
        .map_err(|reason| LexiconError::ProofInvalid {
            nsid: nsid.to_owned(),
            reason,
        })?;
        let mut document = verified.record;
        check_document(nsid, &mut document)?;
        Ok(ResolvedLexicon {
            nsid: nsid.to_owned(),
            did,
            cid: verified.cid.to_string(),
            document,
            fetched_at: self.clock.now(),
        })
    }

    /// The DID in the one `did=` TXT record at `_lexicon.<authority>`.
    async fn authority_did(&self, nsid: &str) -> Result<String, LexiconError> {
        let authority =
            nsid::authority(nsid).ok_or_else(|| LexiconError::InvalidNsid(nsid.to_owned()))?;
        let name = format!("_lexicon.{authority}");
        let records = match self.txt.txt(&name).await {
            Ok(records) => records,
            Err(TxtError::NotFound) => Vec::new(),
            Err(TxtError::Failed) => {
                return Err(LexiconError::DnsFailure {
                    nsid: nsid.to_owned(),
                })
            }
        };
        let dids: Vec<&str> = records
            .iter()
            .filter_map(|r| r.strip_prefix("did="))
            .collect();
        match dids.as_slice() {
            [did] if is_valid_did(did) => Ok((*did).to_owned()),
            [_] => Err(LexiconError::InvalidAuthorityDid {
                nsid: nsid.to_owned(),
            }),
            [] => Err(LexiconError::NoAuthority {
                nsid: nsid.to_owned(),
                authority,
            }),
            _ => Err(LexiconError::AmbiguousAuthority {
                nsid: nsid.to_owned(),
                authority,
            }),
        }
    }
}

/// `<pds>/xrpc/com.atproto.sync.getRecord?did=..&collection=com.atproto.lexicon.schema&rkey=<nsid>`.
fn get_record_url(pds: &Url, did: &str, nsid: &str) -> Url {
    let mut url = pds.clone();
    url.set_path("/xrpc/com.atproto.sync.getRecord");
    url.set_fragment(None);
    url.query_pairs_mut()
        .clear()
        .append_pair("did", did)
        .append_pair("collection", proof::LEXICON_COLLECTION)
        .append_pair("rkey", nsid);
    url
}

/// The checks on the lexicon document itself: an object, `lexicon: 1`, `id` equal to the NSID.
/// Removes the record's `$type`, leaving the document as a lexicon file has it.
fn check_document(nsid: &str, document: &mut Value) -> Result<(), LexiconError> {
    let invalid = |reason| LexiconError::InvalidDocument {
        nsid: nsid.to_owned(),
        reason,
    };
    let Some(object) = document.as_object_mut() else {
        return Err(invalid("it is not an object"));
    };
    object.remove("$type");
    if object.get("lexicon").and_then(Value::as_i64) != Some(1) {
        return Err(invalid("its lexicon version is not 1"));
    }
    if object.get("id").and_then(Value::as_str) != Some(nsid) {
        return Err(invalid("its id is not the requested NSID"));
    }
    if !object.get("defs").is_some_and(Value::is_object) {
        return Err(invalid("it has no defs"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_record_urls() {
        let pds = Url::parse("https://pds.example/some/path?x=1#f").unwrap();
        assert_eq!(
            get_record_url(&pds, "did:plc:abc", "com.example.auth").as_str(),
            "https://pds.example/xrpc/com.atproto.sync.getRecord?did=did%3Aplc%3Aabc&collection=com.atproto.lexicon.schema&rkey=com.example.auth"
        );
    }

    #[test]
    fn documents() {
        let mut ok = serde_json::json!({"$type": "com.atproto.lexicon.schema", "lexicon": 1, "id": "com.example.auth", "defs": {}});
        assert_eq!(check_document("com.example.auth", &mut ok), Ok(()));
        assert!(ok.get("$type").is_none());
        let mut other = serde_json::json!({"lexicon": 1, "id": "com.example.other", "defs": {}});
        assert!(check_document("com.example.auth", &mut other).is_err());
        let mut v2 = serde_json::json!({"lexicon": 2, "id": "com.example.auth", "defs": {}});
        assert!(check_document("com.example.auth", &mut v2).is_err());
    }
}
