//! Stateless DPoP nonces (RFC 9449 section 8): no storage, shared by all instances.

use crate::clock::UnixTime;
use crate::constants::DPOP_NONCE_STEP_SECS;
use crate::jose::b64_encode;
use crate::random::secure_eq;
use aws_lc_rs::hmac;

/// Length of a nonce: unpadded base64url of a 32-byte HMAC-SHA256 tag.
const NONCE_CHARS: usize = 43;

/// Stateless nonces: HMAC-SHA256(secret, time counter), accepted for the previous, current and
/// next counter. All instances sharing the secret agree.
///
/// The counter is `floor(now / 60 s)` as a big-endian u64. Like the reference server,
/// [`NonceIssuer::current`] hands out the nonce of the *next* counter, so a nonce is accepted
/// from the moment it is issued for 120 to 180 seconds (never five minutes: profile section 1).
#[derive(Clone)]
pub struct NonceIssuer {
    key: hmac::Key,
}

impl std::fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceIssuer { .. }")
    }
}

impl NonceIssuer {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// The nonce to hand out now (`DPoP-Nonce` header).
    pub fn current(&self, now: UnixTime) -> String {
        self.for_counter(counter(now).wrapping_add(1))
    }

    /// Whether `nonce` is the nonce of the previous, current or next counter.
    /// Compares in constant time; any string, however malformed, is just `false`.
    pub fn is_valid(&self, nonce: &str, now: UnixTime) -> bool {
        if nonce.len() != NONCE_CHARS {
            return false;
        }
        let now = counter(now);
        [now.wrapping_sub(1), now, now.wrapping_add(1)]
            .into_iter()
            .fold(false, |found, c| {
                found | secure_eq(nonce.as_bytes(), self.for_counter(c).as_bytes())
            })
    }

    fn for_counter(&self, counter: i64) -> String {
        // Two's-complement reinterpretation: only ever negative for nonsensical clocks.
        let tag = hmac::sign(&self.key, &(counter as u64).to_be_bytes());
        b64_encode(tag.as_ref())
    }
}

fn counter(now: UnixTime) -> i64 {
    now.div_euclid(DPOP_NONCE_STEP_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: UnixTime = 1_700_000_000;

    fn issuer() -> NonceIssuer {
        NonceIssuer::new(&[7u8; 32])
    }

    #[test]
    fn nonce_is_hmac_of_big_endian_counter() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &[7u8; 32]);
        let counter = (T0 / 60 + 1) as u64;
        let want = b64_encode(hmac::sign(&key, &counter.to_be_bytes()).as_ref());
        assert_eq!(issuer().current(T0), want);
        assert_eq!(want.len(), NONCE_CHARS);
    }

    #[test]
    fn accepts_previous_current_and_next_counter_only() {
        let n = issuer();
        let c = counter(T0);
        for (offset, ok) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            assert_eq!(
                n.is_valid(&n.for_counter(c + offset), T0),
                ok,
                "counter offset {offset}"
            );
        }
    }

    #[test]
    fn issued_nonce_lives_two_to_three_steps() {
        let n = issuer();
        for start in [T0 - T0 % 60, T0 - T0 % 60 + 59] {
            let nonce = n.current(start);
            for later in [0, 30, 60, 90, 119] {
                assert!(n.is_valid(&nonce, start + later), "+{later}s from {start}");
            }
            // Four minutes on it is always stale; five minutes is the spec's ceiling.
            assert!(!n.is_valid(&nonce, start + 240));
            assert!(!n.is_valid(&nonce, start + 300));
            // Never before the step it was issued in.
            assert!(!n.is_valid(&nonce, start - 60));
        }
    }

    #[test]
    fn other_secret_or_garbage_is_refused() {
        let n = issuer();
        let other = NonceIssuer::new(b"another secret");
        assert!(!n.is_valid(&other.current(T0), T0));
        assert!(other.is_valid(&other.current(T0), T0));
        for garbage in [
            "",
            "x",
            &"A".repeat(43),
            &"é".repeat(40),
            &n.current(T0)[1..],
        ] {
            assert!(!n.is_valid(garbage, T0), "{garbage}");
        }
    }

    #[test]
    fn instances_sharing_a_secret_agree() {
        assert_eq!(issuer().current(T0), issuer().current(T0 + 1));
        assert!(issuer().is_valid(&issuer().current(T0), T0));
    }

    proptest! {
        #[test]
        fn never_panics(nonce in "\\PC{0,64}", now in any::<i64>()) {
            let n = issuer();
            let _ = n.is_valid(&nonce, now);
            let _ = n.current(now);
        }
    }
}
