//! Signing keys of a cooperative: their lifecycle and the operations on them (list, rotate,
//! retire), shared by the CLI (`atauth keys`) and the admin API.
//!
//! A key goes through four states, all computed from its times and the clock:
//!
//! | state | in JWKS | signs | verifies |
//! |---|---|---|---|
//! | `published` (before `activates_at`) | yes | no | yes |
//! | `active` (the newest key whose `activates_at` has come) | yes | yes | yes |
//! | `retiring` (an older activated key, before `retires_at`) | yes | no | yes |
//! | `retired` (from `retires_at`) | no | no | no |
//!
//! A rotation publishes the new key at once and activates it after a delay, so that clients
//! and resource servers that cache the JWKS have fetched it before the first token it signs
//! reaches them. The previous keys retire once every token they may have signed has expired:
//! the successor's activation + the longest access token lifetime + a clock skew margin.

use crate::tenant::validate_issuer;
use atauth_protocol::constants::ACCESS_TOKEN_LIFETIME_CAP_SECS;
use atauth_protocol::jose::SigningKey;
use atauth_protocol::random::{self, RandomSource};
use atauth_store::{NewSigningKey, SigningKeyRecord, Store, StoreError, Tenant};
use serde::Serialize;
use std::sync::Arc;

/// Default delay between publishing a new key and signing with it. JWKS documents are cached
/// by their consumers (resource servers, HTTP caches; typical library defaults are minutes to
/// an hour) and by every atauth instance for 15 s, so one hour lets them all see the new key
/// before a token signed with it arrives.
pub const DEFAULT_ACTIVATION_DELAY_SECS: i64 = 60 * 60;

/// Longest accepted activation delay.
pub const MAX_ACTIVATION_DELAY_SECS: i64 = 30 * 24 * 60 * 60;

/// Added to the token lifetime before a replaced key retires: clocks of other instances and
/// of resource servers may run this much behind.
pub const RETIREMENT_SKEW_MARGIN_SECS: i64 = 5 * 60;

/// How long a key is kept for verification after its successor starts signing. Uses the cap of
/// the access token lifetime (not the default), so a longer per-cooperative lifetime is covered.
pub const RETIREMENT_GRACE_SECS: i64 = ACCESS_TOKEN_LIFETIME_CAP_SECS + RETIREMENT_SKEW_MARGIN_SECS;

/// The only algorithm atauth signs with.
const SIGNING_ALG: &str = "ES256";

/// Where a key is in its lifecycle at a given time (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// In the JWKS, not signing yet.
    Published,
    /// The key that signs new tokens.
    Active,
    /// Replaced; still in the JWKS and accepted until its `retires_at`.
    Retiring,
    /// Gone from the JWKS and refused.
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Published => "published",
            KeyState::Active => "active",
            KeyState::Retiring => "retiring",
            KeyState::Retired => "retired",
        }
    }

    /// Whether tokens signed with a key in this state are accepted (and it is in the JWKS).
    pub fn verifies(self) -> bool {
        !matches!(self, KeyState::Retired)
    }
}

/// The times that decide a key's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTimes {
    pub activates_at: i64,
    pub retires_at: Option<i64>,
    pub retired_at: Option<i64>,
}

impl From<&SigningKeyRecord> for KeyTimes {
    fn from(r: &SigningKeyRecord) -> Self {
        Self {
            activates_at: r.activates_at,
            retires_at: r.retires_at,
            retired_at: r.retired_at,
        }
    }
}

/// The state of each key at `now`. `keys` are ordered newest first (as the store returns
/// them): among keys activated at the same time, the newest signs.
pub fn key_states(keys: &[KeyTimes], now: i64) -> Vec<KeyState> {
    let retired = |k: &KeyTimes| k.retired_at.is_some() || k.retires_at.is_some_and(|t| t <= now);
    let mut signer: Option<(usize, i64)> = None;
    for (i, k) in keys.iter().enumerate() {
        if retired(k) || k.activates_at > now {
            continue;
        }
        if signer.is_none_or(|(_, best)| k.activates_at > best) {
            signer = Some((i, k.activates_at));
        }
    }
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            if retired(k) {
                KeyState::Retired
            } else if signer.is_some_and(|(s, _)| s == i) {
                KeyState::Active
            } else if k.activates_at > now {
                KeyState::Published
            } else {
                KeyState::Retiring
            }
        })
        .collect()
}

/// One signing key as the CLI and the admin API show it. Times are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// Key id (`kid` in the JWKS and in token headers).
    pub kid: String,
    /// Always `ES256`.
    pub alg: &'static str,
    pub state: KeyState,
    /// Published in the JWKS since.
    pub created_at: i64,
    /// Signs from (while it is the newest activated key).
    pub activates_at: i64,
    /// Leaves the JWKS and stops verifying at; set once a successor is published.
    pub retires_at: Option<i64>,
}

/// What can go wrong with a key operation.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No enabled cooperative has this issuer (or the issuer is malformed).
    #[error("{0}")]
    UnknownTenant(String),
    /// The activation delay is negative or longer than [`MAX_ACTIVATION_DELAY_SECS`].
    #[error("the activation delay must be between 0 and {MAX_ACTIVATION_DELAY_SECS} seconds")]
    InvalidDelay,
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The enabled cooperative whose issuer is `issuer` (normalised as a bare origin).
async fn tenant_by_issuer(store: &Arc<dyn Store>, issuer: &str) -> Result<Tenant, KeyError> {
    let issuer = validate_issuer(issuer).map_err(KeyError::UnknownTenant)?;
    store
        .tenant_by_issuer(&issuer)
        .await?
        .ok_or_else(|| KeyError::UnknownTenant(format!("no cooperative with issuer {issuer}")))
}

/// The cooperative's signing keys at `now`, retired ones included, newest first. Marks keys
/// whose retirement time has come as retired first ([`retire_expired`]).
pub async fn list_keys(
    store: &Arc<dyn Store>,
    issuer: &str,
    now: i64,
) -> Result<Vec<KeyInfo>, KeyError> {
    let tenant = tenant_by_issuer(store, issuer).await?;
    let repo = store.tenant_repo(&tenant);
    repo.retire_signing_keys(now).await?;
    let records = repo.signing_key_history().await?;
    let times: Vec<KeyTimes> = records.iter().map(KeyTimes::from).collect();
    Ok(records
        .into_iter()
        .zip(key_states(&times, now))
        .map(|(r, state)| KeyInfo {
            kid: r.kid,
            alg: SIGNING_ALG,
            state,
            created_at: r.created_at,
            activates_at: r.activates_at,
            retires_at: r.retires_at,
        })
        .collect())
}

/// Rotates the cooperative's signing key: a new ES256 key is published in the JWKS at once and
/// signs from `now + delay_secs`; every key not yet scheduled retires at that activation +
/// [`RETIREMENT_GRACE_SECS`]. Returns the new key, whose `kid` is drawn from `rng`. A delay of 0
/// (emergency rotation) makes tokens signed in the next seconds unverifiable by consumers
/// holding a cached JWKS.
pub async fn rotate_keys(
    store: &Arc<dyn Store>,
    issuer: &str,
    delay_secs: i64,
    rng: &dyn RandomSource,
    now: i64,
) -> Result<KeyInfo, KeyError> {
    if !(0..=MAX_ACTIVATION_DELAY_SECS).contains(&delay_secs) {
        return Err(KeyError::InvalidDelay);
    }
    let tenant = tenant_by_issuer(store, issuer).await?;
    let repo = store.tenant_repo(&tenant);
    repo.retire_signing_keys(now).await?;
    let kid = random::hex_id(rng, 8);
    let key =
        SigningKey::generate(kid.clone()).map_err(|e| KeyError::KeyGeneration(e.to_string()))?;
    let activates_at = now + delay_secs;
    let retires_at = activates_at + RETIREMENT_GRACE_SECS;
    repo.add_successor_signing_key(
        NewSigningKey {
            kid: kid.clone(),
            pkcs8: key.to_pkcs8(),
            now,
        },
        activates_at,
        retires_at,
    )
    .await?;
    tracing::info!(tenant = %tenant.issuer, kid, activates_at, retires_at, "signing key rotated");
    Ok(KeyInfo {
        kid,
        alg: SIGNING_ALG,
        state: if delay_secs == 0 {
            KeyState::Active
        } else {
            KeyState::Published
        },
        created_at: now,
        activates_at,
        retires_at: None,
    })
}

/// Marks the cooperative's keys whose retirement time has come as retired (they are refused
/// from that time on anyway; this drops them from what is loaded). Returns how many.
pub async fn retire_expired(
    store: &Arc<dyn Store>,
    issuer: &str,
    now: i64,
) -> Result<u64, KeyError> {
    let tenant = tenant_by_issuer(store, issuer).await?;
    Ok(store.tenant_repo(&tenant).retire_signing_keys(now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyState::*;

    fn times(activates_at: i64, retires_at: Option<i64>) -> KeyTimes {
        KeyTimes {
            activates_at,
            retires_at,
            retired_at: None,
        }
    }

    #[test]
    fn one_key_is_active() {
        assert_eq!(key_states(&[times(100, None)], 100), [Active]);
    }

    #[test]
    fn rotation_walks_through_the_states() {
        // Newest first: the successor (activates at 200), the original (retires at 300).
        let keys = [times(200, None), times(100, Some(300))];
        assert_eq!(key_states(&keys, 150), [Published, Active]);
        assert_eq!(key_states(&keys, 200), [Active, Retiring]);
        assert_eq!(key_states(&keys, 299), [Active, Retiring]);
        assert_eq!(key_states(&keys, 300), [Active, Retired]);
    }

    #[test]
    fn marked_retired_is_retired() {
        let keys = [
            times(200, None),
            KeyTimes {
                activates_at: 100,
                retires_at: Some(300),
                retired_at: Some(300),
            },
        ];
        assert_eq!(key_states(&keys, 250), [Active, Retired]);
    }

    #[test]
    fn newest_activation_signs_even_if_created_earlier() {
        // Created later with a short delay: activates before the earlier-published key.
        let keys = [
            times(120, None),
            times(500, Some(140)),
            times(0, Some(1000)),
        ];
        assert_eq!(key_states(&keys, 130), [Active, Published, Retiring]);
        assert_eq!(key_states(&keys, 600), [Active, Retired, Retiring]);
    }

    #[test]
    fn same_activation_newest_signs() {
        let keys = [times(100, None), times(100, None)];
        assert_eq!(key_states(&keys, 100), [Active, Retiring]);
    }

    #[test]
    fn nothing_signs_when_everything_retired() {
        let keys = [times(100, Some(150))];
        assert_eq!(key_states(&keys, 150), [Retired]);
        assert!(!Retired.verifies() && Retiring.verifies() && Published.verifies());
    }
}
