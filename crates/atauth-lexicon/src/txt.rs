//! DNS TXT lookups behind a trait, so resolution runs offline in tests.

use async_trait::async_trait;
use std::collections::HashMap;

/// A TXT lookup that could not give an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxtError {
    /// The name exists with no TXT records, or does not exist (`NXDOMAIN`).
    #[error("no TXT records")]
    NotFound,
    /// The lookup itself failed (timeout, `SERVFAIL`, unreachable servers).
    #[error("the DNS lookup failed")]
    Failed,
}

/// Looks up the TXT records of a name; each record's character-strings joined into one string.
#[async_trait]
pub trait TxtResolver: Send + Sync {
    async fn txt(&self, name: &str) -> Result<Vec<String>, TxtError>;
}

/// The system's DNS configuration (`/etc/resolv.conf`) through hickory-resolver.
pub struct SystemTxtResolver {
    resolver: hickory_resolver::TokioResolver,
}

impl SystemTxtResolver {
    /// Reads the system configuration; fails when it cannot be read.
    pub fn new() -> Result<Self, String> {
        let resolver = hickory_resolver::TokioResolver::builder_tokio()
            .and_then(|b| b.build())
            .map_err(|e| e.to_string())?;
        Ok(Self { resolver })
    }
}

#[async_trait]
impl TxtResolver for SystemTxtResolver {
    async fn txt(&self, name: &str) -> Result<Vec<String>, TxtError> {
        // A trailing dot makes the name fully qualified: no search-domain variants.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match self.resolver.txt_lookup(fqdn).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    hickory_resolver::proto::rr::RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|chunk| String::from_utf8_lossy(chunk))
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Err(TxtError::NotFound),
            Err(e) => {
                tracing::info!(name, error = %e, "TXT lookup failed");
                Err(TxtError::Failed)
            }
        }
    }
}

/// Fixed answers, for tests and for operators who pin authorities: name -> records.
/// A name that is absent answers [`TxtError::NotFound`].
#[derive(Debug, Clone, Default)]
pub struct StaticTxtResolver {
    records: HashMap<String, Vec<String>>,
}

impl StaticTxtResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one TXT record for `name` (lower-cased, without a trailing dot).
    pub fn with_record(mut self, name: &str, record: &str) -> Self {
        self.records
            .entry(normalise(name))
            .or_default()
            .push(record.to_owned());
        self
    }
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

#[async_trait]
impl TxtResolver for StaticTxtResolver {
    async fn txt(&self, name: &str) -> Result<Vec<String>, TxtError> {
        self.records
            .get(&normalise(name))
            .cloned()
            .ok_or(TxtError::NotFound)
    }
}
