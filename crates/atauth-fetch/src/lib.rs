//! SSRF-safe fetching of client metadata documents and JWKS (atauth profile section 1):
//! https only, default port, public unicast addresses only (checked for IP literals and for
//! every resolved address), no proxies, no redirects, 10 s timeout, 512 KiB cap,
//! status 200 and `Content-Type: application/json` exactly, bounded success cache.
//!
//! HELPER-OWNED: signatures below are the contract.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Why a fetch failed; `Display` is a precise sentence fit for an OAuth `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Refused(String),
}

/// Dev-mode relaxations; all off by default.
#[derive(Debug, Clone, Default)]
pub struct FetchConfig {
    /// Accept `http://` and loopback addresses (dev mode only).
    pub allow_loopback: bool,
    /// Test-only host -> address overrides (`--dev-resolve HOST=ADDR`); implies nothing else.
    pub host_overrides: HashMap<String, IpAddr>,
    /// An extra PEM CA to trust (`--extra-ca-file`).
    pub extra_ca_pem: Option<Vec<u8>>,
}

pub struct SafeFetcher {
    _todo: (),
}

impl SafeFetcher {
    pub fn new(_config: FetchConfig) -> Result<Self, FetchError> {
        todo!()
    }
    /// Fetches and parses a JSON document, from cache when fresh (10 min, bounded).
    pub async fn get_json(&self, _url: &str) -> Result<Arc<serde_json::Value>, FetchError> {
        todo!()
    }
}
