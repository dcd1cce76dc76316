//! The server's integration tests, in one test binary (one link, one copy of the helpers): a
//! real atauth server on loopback per test, driven over HTTP. nextest runs each test in a
//! process of its own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and databases, on real time, with real keys"
)]

mod common;
mod metadata_host;
mod services;

mod admin_api;
mod authorize;
mod client_metadata_fetch;
mod discoverable_clients;
mod discoverable_https;
mod discovery;
mod flow;
mod identity;
mod key_rotation;
mod no_secrets_in_logs;
mod outage;
mod par;
mod permissions;
mod rate_limits;
mod refresh;
mod resource;
mod revoke;
mod scale_out;
mod sign_in;
mod tenancy;
mod token;
mod transport;
mod trusted_proxies;
