//! Server settings that the binary fills from flags, environment and file.

use crate::client_address::TrustedProxies;
use crate::password::PasswordCost;

#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// Dev mode relaxes exactly what the profile doc's section 4 lists. Never on by default.
    pub dev: bool,
    /// A header a trusted reverse proxy sets with the original host (e.g. `X-Forwarded-Host`).
    /// Only consulted when configured; otherwise `Host` alone routes.
    pub trusted_host_header: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` name the client address
    /// (`--trusted-proxy`); empty: the TCP peer is the client.
    pub trusted_proxies: TrustedProxies,
    /// Maximum concurrent password hash verifications (argon2 is CPU-bound).
    pub password_concurrency: usize,
    /// The argon2id cost of new password hashes (and of the dummy verification for unknown
    /// accounts); [`PasswordCost::PRODUCTION`] unless a test asks for less.
    pub password_cost: PasswordCost,
}
