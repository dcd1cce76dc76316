//! atauth's HTTP surface: tenant routing by `Host`, the OAuth endpoints, member pages,
//! hosted identities and the minimal resource server of the all-in-one mode.
//!
//! A request reads top to bottom: extractor → [`tenant::TenantContext`] → protocol rule
//! (`atauth-protocol`) → tenant-bound store → response ([`error`] maps protocol errors).

// Handlers return ready `Response`s as early exits; boxing them would only add noise.
#![allow(clippy::result_large_err)]

pub mod accounts;
pub mod admin;
pub mod client_address;
pub mod config;
pub mod error;
pub mod keys;
pub mod metrics;
pub mod password_policy;
pub mod permission_sets;
pub mod state;
pub mod tenant;

mod client_registry;
mod dpop_guard;
mod health;
mod identity;
mod oauth;
mod password;
mod routes;
mod session_rules;
mod stored_request;
mod tokens;
mod ui;
mod xrpc;

pub use config::ServerConfig;
pub use password::{hash_password, PasswordCost, PasswordHasher};
pub use routes::router;
pub use state::AppState;
pub use tenant::provision_tenant;
