//! A small compact-JWS module over aws-lc-rs: ES256 (P-256) and ES256K (secp256k1).
//!
//! HELPER-OWNED: signatures below are the contract the rest of the workspace codes against.

use crate::clock::UnixTime;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("malformed JWS: {0}")]
    Malformed(&'static str),
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    #[error("signature verification failed")]
    BadSignature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Es256,
    Es256k,
}

impl Algorithm {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "ES256K" => Some(Self::Es256k),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es256k => "ES256K",
        }
    }
}

/// A parsed public EC key (P-256 or secp256k1). Refuses JWKs carrying private members (`d`).
#[derive(Debug, Clone)]
pub struct PublicJwk {
    _todo: (),
}

impl PublicJwk {
    pub fn from_json(_jwk: &Value) -> Result<Self, JoseError> {
        todo!()
    }
    pub fn kid(&self) -> Option<&str> {
        todo!()
    }
    /// The algorithm this key's curve implies.
    pub fn algorithm(&self) -> Algorithm {
        todo!()
    }
    /// RFC 7638 thumbprint, SHA-256, base64url.
    pub fn thumbprint(&self) -> String {
        todo!()
    }
    /// The public JWK as JSON (no private members).
    pub fn to_json(&self) -> Value {
        todo!()
    }
    pub fn verify(&self, _alg: Algorithm, _signing_input: &[u8], _signature: &[u8]) -> Result<(), JoseError> {
        todo!()
    }
}

/// A set of public keys (`{"keys":[...]}`), as in client metadata `jwks`.
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    pub keys: Vec<PublicJwk>,
}

impl JwkSet {
    /// Parses a JWKS; keys that are not EC P-256/secp256k1 signing keys are skipped.
    pub fn from_json(_jwks: &Value) -> Result<Self, JoseError> {
        todo!()
    }
    pub fn find(&self, _kid: &str) -> Option<&PublicJwk> {
        todo!()
    }
}

/// An ES256 private key (the cooperative's signing key).
pub struct SigningKey {
    _todo: (),
}

impl SigningKey {
    pub fn generate(_kid: String) -> Result<Self, JoseError> {
        todo!()
    }
    pub fn from_pkcs8(_kid: String, _der: &[u8]) -> Result<Self, JoseError> {
        todo!()
    }
    pub fn to_pkcs8(&self) -> Vec<u8> {
        todo!()
    }
    pub fn kid(&self) -> &str {
        todo!()
    }
    /// Public JWK with `kid`, `alg: ES256`, `use: sig`.
    pub fn public_jwk(&self) -> Value {
        todo!()
    }
    /// Signs `claims` as a compact JWS with header `{alg: ES256, typ, kid}`.
    pub fn sign_jwt(&self, _typ: &str, _claims: &Value) -> Result<String, JoseError> {
        todo!()
    }
}

/// A decoded but not yet verified compact JWS.
#[derive(Debug, Clone)]
pub struct UnverifiedJws {
    pub header: serde_json::Map<String, Value>,
    pub claims: serde_json::Map<String, Value>,
    pub signing_input: String,
    pub signature: Vec<u8>,
}

impl UnverifiedJws {
    /// Splits and decodes `header.payload.signature` (both JSON objects); bounded size.
    pub fn decode(_compact: &str) -> Result<Self, JoseError> {
        todo!()
    }
    pub fn algorithm(&self) -> Result<Algorithm, JoseError> {
        todo!()
    }
    pub fn verify_with(&self, _key: &PublicJwk) -> Result<(), JoseError> {
        todo!()
    }
}

pub fn _unused(_t: UnixTime) {}
