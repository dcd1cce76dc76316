//! Every protocol number, named once, with where it comes from.
//! Values are defaults; per-cooperative overrides must stay within the caps.

/// PAR request lifetime (RFC 9126 section 2.2; atauth profile section 1).
pub const PAR_LIFETIME_SECS: i64 = 300;
/// An open authorization page expires after this much inactivity; each page load extends it.
pub const AUTHORIZATION_INACTIVITY_SECS: i64 = 5 * 60;
/// Authorization code lifetime after approval (RFC 6749 section 4.1.2 recommends <= 10 min).
pub const CODE_LIFETIME_SECS: i64 = 60;
/// Access token lifetime; the atproto spec asks for less than 30 minutes.
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 15 * 60;
pub const ACCESS_TOKEN_LIFETIME_CAP_SECS: i64 = 30 * 60;
/// Public clients: total session lifetime (atproto OAuth spec, "Tokens and Session Lifetime").
pub const PUBLIC_SESSION_LIFETIME_SECS: i64 = 14 * 24 * 3600;
/// Confidential clients: refresh token inactivity lifetime (cap 180 days).
pub const CONFIDENTIAL_REFRESH_INACTIVITY_SECS: i64 = 90 * 24 * 3600;
pub const CONFIDENTIAL_REFRESH_INACTIVITY_CAP_SECS: i64 = 180 * 24 * 3600;
/// A retried refresh with the previous token, same DPoP key and client, within this window,
/// gets the same successor instead of revoking the session (network retries; atproto #4656, #5411).
pub const REFRESH_RETRY_GRACE_SECS: i64 = 30;

/// DPoP nonce time step (profile section 1): HMAC over a counter of this many seconds.
pub const DPOP_NONCE_STEP_SECS: i64 = 60;
/// DPoP proof `iat` acceptance window (RFC 9449 section 11.1 leaves it to the server).
pub const DPOP_IAT_MAX_AGE_SECS: i64 = 190;
pub const DPOP_IAT_MAX_FUTURE_SECS: i64 = 180;
/// How long a DPoP `jti` is remembered; longer than the `iat` window so a replay is always caught.
pub const DPOP_JTI_TTL_SECS: i64 = 200;

/// Client assertion `iat` may be at most this old (profile section 1).
pub const CLIENT_ASSERTION_MAX_AGE_SECS: i64 = 60;
/// Assertion `jti` kept until `exp`, or this long when `exp` is sooner / absent.
pub const CLIENT_ASSERTION_JTI_TTL_SECS: i64 = 70;

/// PKCE verifier length bounds (RFC 7636 section 4.1).
pub const PKCE_VERIFIER_MIN_LEN: usize = 43;
pub const PKCE_VERIFIER_MAX_LEN: usize = 128;
/// A used PKCE challenge is remembered this long so a second flow cannot reuse it.
pub const PKCE_CHALLENGE_REUSE_WINDOW_SECS: i64 = 27 * 3600;

// The client metadata fetch limits (size, time, cache) are named where they are enforced, in
// `atauth-fetch` (profile section 1).

/// Longest DPoP proof or client assertion `jti` we store (a bound on stored input, profile
/// section 1).
pub const MAX_JTI_CHARS: usize = 256;

/// Bytes of randomness in every opaque identifier and token we mint.
pub const TOKEN_RANDOM_BYTES: usize = 32;
