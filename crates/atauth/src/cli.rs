//! Command-line interface. Every flag can also be set from the environment (`ATAUTH_*`).

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "atauth",
    version,
    about = "AT Protocol OAuth authorization server for cooperatives"
)]
pub struct Cli {
    /// Directory holding the default SQLite database (`<data-dir>/atauth.db`).
    #[arg(long, global = true, env = "ATAUTH_DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,

    /// The database: a PostgreSQL URL (`postgres://user:password@host:5432/atauth`, shared by
    /// several instances), or a SQLite file (`sqlite:///var/lib/atauth/atauth.db` or a plain
    /// path). Default: `<data-dir>/atauth.db`.
    #[arg(long, global = true, env = "ATAUTH_DATABASE", value_name = "URL")]
    pub database: Option<String>,

    /// File holding the master key (32 bytes as 64 hex digits or base64url) that encrypts
    /// signing keys and secrets in the database. Alternatively set `ATAUTH_MASTER_KEY` to the
    /// key itself. Without one, new keys are stored unencrypted.
    #[arg(
        long,
        global = true,
        env = "ATAUTH_MASTER_KEY_FILE",
        value_name = "PATH"
    )]
    pub master_key_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Manage cooperatives (tenants).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage member accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Credentials of the admin API (`serve --admin-listen`).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage a cooperative's signing keys (rotation) and their encryption at rest.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Development mode: a demo cooperative on http://127.0.0.1:2583 with a demo account, http
    /// issuers and client metadata on loopback. Never use in production.
    #[arg(long, env = "ATAUTH_DEV")]
    pub dev: bool,
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "ATAUTH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// PEM certificate chain for HTTPS (with --tls-key). Without it, plain HTTP (behind a proxy).
    #[arg(long, env = "ATAUTH_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, env = "ATAUTH_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Header set by a trusted reverse proxy with the original host (e.g. X-Forwarded-Host).
    #[arg(long, env = "ATAUTH_TRUSTED_HOST_HEADER")]
    pub trusted_host_header: Option<String>,
    /// A reverse proxy (CIDR, or one address) whose X-Forwarded-For / Forwarded headers name
    /// the client address, for sign-in throttling (repeatable; the variable takes a
    /// comma-separated list). From other peers these headers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "ATAUTH_TRUSTED_PROXIES",
        value_name = "CIDR",
        value_delimiter = ',',
        value_parser = atauth_server::client_address::parse_trusted_proxy
    )]
    pub trusted_proxies: Vec<atauth_server::client_address::IpNet>,
    /// Dev only, for tests: resolve HOST to ADDR for outbound fetches (repeatable).
    #[arg(long = "dev-resolve", value_name = "HOST=ADDR", requires = "dev")]
    pub dev_resolve: Vec<String>,
    /// Dev only, for tests: an extra CA (PEM) trusted for outbound fetches.
    #[arg(long, value_name = "PEM", requires = "dev")]
    pub extra_ca_file: Option<PathBuf>,
    /// Redis for the DPoP and client assertion replay caches (`redis://host:6379`), shared by
    /// several instances. Without it the database keeps them. While Redis is unreachable the
    /// requests that need it are refused (503), never let through.
    #[arg(long, env = "ATAUTH_REDIS", value_name = "URL")]
    pub redis: Option<String>,
    /// Pinned permission sets for `include:` scopes: `DIR/<nsid>.json` for every cooperative,
    /// `DIR/<cooperative host>/<nsid>.json` for one (it wins). Pinned sets take precedence over
    /// network resolution. With --dev and no DIR, `./permission-sets` if present.
    #[arg(long, env = "ATAUTH_PERMISSION_SETS", value_name = "DIR")]
    pub permission_sets: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long, env = "ATAUTH_LOG_JSON")]
    pub log_json: bool,
    /// Serve Prometheus metrics at `/metrics` on this separate address (e.g. 127.0.0.1:9464;
    /// port 0 picks a free port, printed). Off by default; keep it off the public network.
    #[arg(long, env = "ATAUTH_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Address of the admin API (`/admin/v1`, plain HTTP; keep it on loopback or a private
    /// network). The API is on only when an operator token is configured: `ATAUTH_ADMIN_TOKEN`
    /// or --admin-token-file.
    #[arg(
        long,
        env = "ATAUTH_ADMIN_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:2584"
    )]
    pub admin_listen: SocketAddr,
    /// File holding the operator's admin API token (at least 32 characters; power over every
    /// cooperative). Alternatively set `ATAUTH_ADMIN_TOKEN` to the token itself.
    #[arg(long, env = "ATAUTH_ADMIN_TOKEN_FILE", value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a cooperative with its own issuer and signing key.
    Create {
        /// Issuer origin, e.g. https://coop.example (no path).
        #[arg(long)]
        issuer: String,
        /// Display name shown to members.
        #[arg(long)]
        name: String,
        /// The cooperative's resource server (PDS) origin; defaults to the issuer (all-in-one).
        #[arg(long)]
        resource_server: Option<String>,
    },
    /// List cooperatives.
    List,
    /// Disable a cooperative: its issuer answers 404 (running servers notice within 15 s).
    Disable {
        /// Issuer (or issuer host) of the cooperative.
        #[arg(long)]
        tenant: String,
    },
    /// Enable a disabled cooperative again.
    Enable {
        /// Issuer (or issuer host) of the cooperative.
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Mint an admin API token that manages one cooperative only; prints it once.
    CreateToken {
        /// Issuer (or issuer host) of the cooperative.
        #[arg(long)]
        tenant: String,
        /// What the token is for (shown in listings).
        #[arg(long, default_value = "")]
        label: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account; prints its DID as the last line.
    Create {
        /// Issuer of the cooperative the account belongs to.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        handle: String,
        #[arg(long)]
        email: Option<String>,
        /// An external DID (e.g. did:plc:...); without it a hosted did:web is created.
        #[arg(long)]
        did: Option<String>,
        /// Read the password from standard input (first line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List the accounts of a cooperative.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Disable an account: it can no longer sign in, and its sessions are revoked.
    Disable {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        handle: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        handle: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// List a cooperative's signing keys with their state (published, active, retiring,
    /// retired) and times.
    List {
        /// Issuer of the cooperative.
        #[arg(long)]
        tenant: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Publish a new signing key in the JWKS now and sign with it after --delay; the previous
    /// key keeps verifying until every token it signed has expired, then retires.
    Rotate {
        /// Issuer of the cooperative.
        #[arg(long)]
        tenant: String,
        /// Time between publishing and signing (`90s`, `10m`, `1h`, `2d`, `0`). The default
        /// hour lets JWKS caches of resource servers pick the new key up first.
        #[arg(long, default_value = "1h", value_parser = parse_delay)]
        delay: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Encrypt the signing keys and secrets still stored in plaintext under the master key,
    /// and check that every encrypted one opens with it (`serve` does the same at start).
    EncryptExisting,
}

/// A delay in seconds from `<number>[s|m|h|d]` (no unit: seconds).
fn parse_delay(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit {unit:?}; use s, m, h or d")),
    };
    let number: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a delay like 90s, 10m, 1h or 2d"))?;
    number
        .checked_mul(scale)
        .ok_or_else(|| "delay too long".to_string())
}

#[cfg(test)]
mod delay_tests {
    use super::parse_delay;

    #[test]
    fn delays_with_units() {
        assert_eq!(parse_delay("0"), Ok(0));
        assert_eq!(parse_delay("90"), Ok(90));
        assert_eq!(parse_delay("90s"), Ok(90));
        assert_eq!(parse_delay("10m"), Ok(600));
        assert_eq!(parse_delay("1h"), Ok(3600));
        assert_eq!(parse_delay("2d"), Ok(172_800));
        for bad in ["", "h", "-5m", "1.5h", "10x", "1h30m"] {
            assert!(parse_delay(bad).is_err(), "{bad:?}");
        }
    }
}
