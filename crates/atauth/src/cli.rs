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

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage cooperatives (tenants).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage member accounts.
    #[command(subcommand)]
    Account(AccountCommand),
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
    /// Log as JSON lines.
    #[arg(long, env = "ATAUTH_LOG_JSON")]
    pub log_json: bool,
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
}
