//! Envelope encryption of private values at rest (signing keys, tenant secrets) under a master
//! key supplied by the operator.
//!
//! A sealed value is `MAGIC || nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)`.
//! The nonce is random per value (96 bits; at most a few values per tenant are ever sealed, far
//! below the 2^32 messages NIST SP 800-38D section 8.3 allows for random nonces). The
//! associated data names what the value is and whom it belongs to (kind, tenant id, key id or
//! secret name), so a row copied to another tenant or another name fails to open.
//!
//! Values without the magic prefix are plaintext rows written before a master key was
//! configured: they stay readable (and `Store::seal_at_rest` rewraps them). PKCS#8 DER starts
//! with `0x30` and the prefix with `0x00`, so a private key is never mistaken for a sealed value;
//! a random 32-byte secret starts with the 8-byte prefix with probability 2^-64.

use crate::{StoreError, StoreResult, TenantId};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::SecureRandom;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use std::sync::Arc;

/// A fresh AES-GCM nonce from the operating system's generator. Deliberately not the injected
/// randomness: a nonce must never repeat under one key, and a replayable test source in the
/// wrong place would break that silently; tests see only whether values open.
#[allow(
    clippy::disallowed_types,
    reason = "AES-GCM nonces come from the OS CSPRNG only (see above)"
)]
fn random_nonce() -> Result<[u8; NONCE_LEN], aws_lc_rs::error::Unspecified> {
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut nonce)?;
    Ok(nonce)
}

/// Version 1 of the sealed format. A later format gets another prefix.
const MAGIC: &[u8; 8] = b"\0atseal1";

/// Length of a master key: 256 bits.
pub const MASTER_KEY_LEN: usize = 32;

/// The operator's master key (AES-256-GCM). Its bytes never appear in `Debug` output.
pub struct MasterKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// A master key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the master key must be 32 bytes written as 64 hex digits or 43 base64url characters")]
pub struct InvalidMasterKey;

impl MasterKey {
    /// A master key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidMasterKey> {
        if bytes.len() != MASTER_KEY_LEN {
            return Err(InvalidMasterKey);
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| InvalidMasterKey)?;
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// Parses the text form used by `ATAUTH_MASTER_KEY` and `--master-key-file`: 64 hex digits,
    /// or base64url (with or without padding). Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Self, InvalidMasterKey> {
        let text = text.trim();
        let bytes =
            if text.len() == 2 * MASTER_KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                decode_hex(text)
            } else {
                URL_SAFE_NO_PAD
                    .decode(text)
                    .or_else(|_| URL_SAFE.decode(text))
                    .map_err(|_| InvalidMasterKey)?
            };
        Self::from_bytes(&bytes)
    }

    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> StoreResult<Vec<u8>> {
        let failed = |what: &str| StoreError::Unavailable(format!("cannot encrypt: {what}"));
        let nonce = random_nonce().map_err(|_| failed("the system random generator failed"))?;
        let mut in_out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut in_out,
            )
            .map_err(|_| failed("AES-GCM refused the input"))?;
        let mut sealed = Vec::with_capacity(MAGIC.len() + NONCE_LEN + in_out.len());
        sealed.extend_from_slice(MAGIC);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&in_out);
        Ok(sealed)
    }

    /// The plaintext of a sealed value (without the magic prefix), or `None` when the key, the
    /// associated data or the bytes do not match.
    fn open(&self, aad: &[u8], body: &[u8]) -> Option<Vec<u8>> {
        if body.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut in_out)
            .ok()?;
        Some(plaintext.to_vec())
    }
}

fn decode_hex(text: &str) -> Vec<u8> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b.to_ascii_lowercase() - b'a' + 10,
    };
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| (digit(pair[0]) << 4) | digit(pair[1]))
        .collect()
}

/// What a stored value is; part of the associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A signing key's PKCS#8, named by its `kid`.
    SigningKey,
    /// A `tenant_secrets` value, named by the secret's name.
    Secret,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::SigningKey => "signing key",
            Kind::Secret => "secret",
        }
    }
}

/// Whether a stored value is sealed (else it is a plaintext row).
pub fn is_sealed(stored: &[u8]) -> bool {
    stored.starts_with(MAGIC)
}

/// How values are protected at rest: sealed under a master key, or (without one) stored as
/// given. Shared by a store and the repositories it hands out.
#[derive(Debug, Clone, Default)]
pub(crate) struct AtRest {
    master_key: Option<Arc<MasterKey>>,
}

impl AtRest {
    pub(crate) fn new(master_key: Option<Arc<MasterKey>>) -> Self {
        Self { master_key }
    }

    pub(crate) fn has_master_key(&self) -> bool {
        self.master_key.is_some()
    }

    /// The bytes to store for `plaintext`: sealed when a master key is configured.
    pub(crate) fn seal(
        &self,
        kind: Kind,
        tenant_id: TenantId,
        name: &str,
        plaintext: &[u8],
    ) -> StoreResult<Vec<u8>> {
        match &self.master_key {
            Some(key) => key.seal(&associated_data(kind, tenant_id, name), plaintext),
            None => Ok(plaintext.to_vec()),
        }
    }

    /// The plaintext of a stored value. Plaintext rows pass through; a sealed value needs the
    /// master key it was sealed with, and the tenant and name it was sealed for.
    pub(crate) fn open(
        &self,
        kind: Kind,
        tenant_id: TenantId,
        name: &str,
        stored: Vec<u8>,
    ) -> StoreResult<Vec<u8>> {
        let Some(body) = stored.strip_prefix(MAGIC) else {
            return Ok(stored);
        };
        let what = kind.label();
        let Some(key) = &self.master_key else {
            return Err(StoreError::Unavailable(format!(
                "{what} {name:?} of tenant {tenant_id} is encrypted and no master key is \
                 configured (set ATAUTH_MASTER_KEY or --master-key-file)"
            )));
        };
        key.open(&associated_data(kind, tenant_id, name), body)
            .ok_or_else(|| {
                StoreError::Unavailable(format!(
                    "{what} {name:?} of tenant {tenant_id} cannot be decrypted: wrong master key, \
                     or the row was altered or moved"
                ))
            })
    }
}

/// A stored column whose values are sealed: each row's value is bound to its tenant and to the
/// name in `name_column` (see [`Kind`]). `seal_at_rest` walks these on every backend.
pub(crate) struct SealedColumn {
    pub kind: Kind,
    pub table: &'static str,
    pub name_column: &'static str,
    pub value_column: &'static str,
    /// For error messages: reading the column, rewriting one value.
    pub read_op: &'static str,
    pub write_op: &'static str,
}

pub(crate) const SEALED_COLUMNS: [SealedColumn; 2] = [
    SealedColumn {
        kind: Kind::SigningKey,
        table: "signing_keys",
        name_column: "kid",
        value_column: "pkcs8",
        read_op: "read signing keys",
        write_op: "encrypt signing key",
    },
    SealedColumn {
        kind: Kind::Secret,
        table: "tenant_secrets",
        name_column: "name",
        value_column: "value",
        read_op: "read secrets",
        write_op: "encrypt secret",
    },
];

impl SealedColumn {
    pub(crate) fn select_sql(&self) -> String {
        format!(
            "SELECT tenant_id, {}, {} FROM {}",
            self.name_column, self.value_column, self.table
        )
    }
}

/// What `Store::seal_at_rest` does with one stored value.
#[derive(Debug)]
pub(crate) enum Reseal {
    /// Sealed already, and it opens with the configured master key.
    AlreadySealed,
    /// Plaintext, and no master key is configured.
    LeftPlain,
    /// Plaintext: store this sealed value instead.
    Rewrite(Vec<u8>),
}

impl AtRest {
    /// Decides what to do with a stored value; fails when a sealed value does not open.
    pub(crate) fn reseal(
        &self,
        kind: Kind,
        tenant_id: TenantId,
        name: &str,
        stored: &[u8],
    ) -> StoreResult<Reseal> {
        if is_sealed(stored) {
            self.open(kind, tenant_id, name, stored.to_vec())?;
            return Ok(Reseal::AlreadySealed);
        }
        if !self.has_master_key() {
            return Ok(Reseal::LeftPlain);
        }
        Ok(Reseal::Rewrite(self.seal(kind, tenant_id, name, stored)?))
    }
}

impl crate::SealReport {
    pub(crate) fn count(&mut self, outcome: &Reseal) {
        match outcome {
            Reseal::AlreadySealed => self.already_sealed += 1,
            Reseal::LeftPlain => self.plaintext += 1,
            Reseal::Rewrite(_) => self.sealed_now += 1,
        }
    }
}

/// `atauth-sealed-v1 \0 kind \0 tenant id \0 name`: binds a ciphertext to its row.
fn associated_data(kind: Kind, tenant_id: TenantId, name: &str) -> Vec<u8> {
    format!("atauth-sealed-v1\0{}\0{tenant_id}\0{name}", kind.label()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Arc<MasterKey> {
        Arc::new(MasterKey::from_bytes(&[byte; 32]).unwrap())
    }

    fn sealed_with(byte: u8) -> AtRest {
        AtRest::new(Some(key(byte)))
    }

    const PKCS8: &[u8] = b"\x30\x81\x87private key bytes";

    #[test]
    fn round_trip() {
        let at_rest = sealed_with(7);
        let stored = at_rest.seal(Kind::SigningKey, 1, "k1", PKCS8).unwrap();
        assert!(is_sealed(&stored));
        assert!(!stored.windows(PKCS8.len()).any(|w| w == PKCS8));
        let opened = at_rest.open(Kind::SigningKey, 1, "k1", stored).unwrap();
        assert_eq!(opened, PKCS8);
    }

    #[test]
    fn each_value_gets_its_own_nonce() {
        let at_rest = sealed_with(7);
        let one = at_rest.seal(Kind::Secret, 1, "cookie", b"same").unwrap();
        let two = at_rest.seal(Kind::Secret, 1, "cookie", b"same").unwrap();
        assert_ne!(one, two);
    }

    #[test]
    fn wrong_master_key_fails() {
        let stored = sealed_with(7)
            .seal(Kind::SigningKey, 1, "k1", PKCS8)
            .unwrap();
        let err = sealed_with(8)
            .open(Kind::SigningKey, 1, "k1", stored)
            .unwrap_err();
        assert!(err.to_string().contains("wrong master key"), "{err}");
    }

    #[test]
    fn sealed_value_without_master_key_fails() {
        let stored = sealed_with(7)
            .seal(Kind::Secret, 1, "cookie", b"secret")
            .unwrap();
        let err = AtRest::default()
            .open(Kind::Secret, 1, "cookie", stored)
            .unwrap_err();
        assert!(err.to_string().contains("no master key"), "{err}");
    }

    #[test]
    fn swapped_associated_data_fails() {
        let at_rest = sealed_with(7);
        let stored = at_rest.seal(Kind::SigningKey, 1, "k1", PKCS8).unwrap();
        // Another tenant, another key id, another kind of row.
        assert!(at_rest
            .open(Kind::SigningKey, 2, "k1", stored.clone())
            .is_err());
        assert!(at_rest
            .open(Kind::SigningKey, 1, "k2", stored.clone())
            .is_err());
        assert!(at_rest.open(Kind::Secret, 1, "k1", stored).is_err());
    }

    #[test]
    fn tampered_value_fails() {
        let at_rest = sealed_with(7);
        let stored = at_rest.seal(Kind::SigningKey, 1, "k1", PKCS8).unwrap();
        for i in MAGIC.len()..stored.len() {
            let mut tampered = stored.clone();
            tampered[i] ^= 0x01;
            assert!(
                at_rest.open(Kind::SigningKey, 1, "k1", tampered).is_err(),
                "byte {i}"
            );
        }
        let truncated = stored[..MAGIC.len() + 5].to_vec();
        assert!(at_rest.open(Kind::SigningKey, 1, "k1", truncated).is_err());
    }

    #[test]
    fn plaintext_rows_stay_readable() {
        for at_rest in [AtRest::default(), sealed_with(7)] {
            let opened = at_rest
                .open(Kind::SigningKey, 1, "k1", PKCS8.to_vec())
                .unwrap();
            assert_eq!(opened, PKCS8);
        }
        // Without a master key new values are stored as given.
        assert_eq!(
            AtRest::default().seal(Kind::Secret, 1, "x", b"v").unwrap(),
            b"v"
        );
    }

    #[test]
    fn master_key_text_forms() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let bytes: Vec<u8> = (0..32)
            .map(|i| {
                [
                    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
                    0xdd, 0xee, 0xff,
                ][i % 16]
            })
            .collect();
        let b64 = URL_SAFE_NO_PAD.encode(&bytes);
        let from_hex = MasterKey::parse(&format!(" {hex}\n")).unwrap();
        let from_b64 = MasterKey::parse(&b64).unwrap();
        let padded = MasterKey::parse(&URL_SAFE.encode(&bytes)).unwrap();
        // All three are the same key: what one seals the others open.
        let aad = associated_data(Kind::Secret, 1, "n");
        let sealed = from_hex.seal(&aad, b"v").unwrap();
        assert_eq!(from_b64.open(&aad, &sealed[MAGIC.len()..]).unwrap(), b"v");
        assert_eq!(padded.open(&aad, &sealed[MAGIC.len()..]).unwrap(), b"v");

        for bad in [
            "",
            "short",
            &hex[..62],
            &URL_SAFE_NO_PAD.encode([1u8; 31]),
            "zz",
        ] {
            assert_eq!(
                MasterKey::parse(bad).unwrap_err(),
                InvalidMasterKey,
                "{bad:?}"
            );
        }
        assert_eq!(format!("{from_hex:?}"), "MasterKey(..)");
    }
}
