//! Randomness as an injected dependency, and the opaque identifiers built from it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub trait RandomSource: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG (through aws-lc).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl RandomSource for SystemRandom {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place that draws from the operating system: everything else is given a `RandomSource`"
    )]
    #[allow(
        clippy::expect_used,
        reason = "aws-lc's RNG only fails if the OS entropy source is broken: no value is safe to \
                  return then, so the request (or command) stops here"
    )]
    fn fill(&self, buf: &mut [u8]) {
        aws_lc_rs::rand::fill(buf).expect("operating system random source failed");
    }
}

/// `n` random bytes as lowercase hex.
pub fn hex_id(rng: &dyn RandomSource, n: usize) -> String {
    let mut buf = vec![0u8; n];
    rng.fill(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` random bytes as unpadded base64url (for tokens and secrets).
pub fn token(rng: &dyn RandomSource, n: usize) -> String {
    let mut buf = vec![0u8; n];
    rng.fill(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a secret, base64url: what we store instead of a token itself.
pub fn hash_secret(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        secret.as_bytes(),
    ))
}

/// Constant-time equality for secrets.
pub fn secure_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
