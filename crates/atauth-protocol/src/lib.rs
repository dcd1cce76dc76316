//! The atproto OAuth profile as pure, synchronous rules.
//!
//! Nothing here performs I/O: callers pass in the current time (see [`clock`]),
//! fetched documents and stored state, and get back validated values or an
//! [`error::OAuthError`]. The HTTP layer alone maps errors to status codes.

pub mod clock;
pub mod constants;
pub mod error;
pub mod params;
pub mod random;

pub mod access_token;
pub mod client;
pub mod client_auth;
pub mod dpop;
pub mod identity;
pub mod jose;
pub mod permission;
pub mod pkce;
pub mod request;
pub mod scope;
pub mod token_request;

pub use error::{ErrorCode, OAuthError};
