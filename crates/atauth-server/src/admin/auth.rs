//! Who is calling the admin API: the operator (one token configured at start-up, power over
//! every cooperative) or a cooperative's admin (a token minted by the operator, stored hashed,
//! power over that cooperative only). `Authorization: Bearer <token>` (RFC 6750 section 2.1).
//!
//! A disabled cooperative's tokens are answered like unknown ones (401 `invalid_token`, as a
//! deleted token is): they authenticate no one until the operator enables it again (the store's
//! lookup, [`atauth_store::Store::admin_token_by_hash`], finds only enabled cooperatives'
//! tokens). The operator's token is unaffected.

use super::error::AdminError;
use super::AdminState;
use atauth_protocol::random::{hash_secret, secure_eq};
use atauth_store::{Tenant, TenantId};
use axum::extract::FromRequestParts;
use http::request::Parts;

/// Longest bearer token looked at; anything longer is refused without hashing or lookup.
const MAX_TOKEN_LEN: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCaller {
    Operator,
    Tenant(TenantId),
}

impl AdminCaller {
    pub fn require_operator(self) -> Result<(), AdminError> {
        match self {
            Self::Operator => Ok(()),
            Self::Tenant(_) => Err(AdminError::Forbidden),
        }
    }

    pub fn may_manage(self, tenant: &Tenant) -> bool {
        match self {
            Self::Operator => true,
            Self::Tenant(id) => id == tenant.id,
        }
    }
}

impl FromRequestParts<AdminState> for AdminCaller {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or(AdminError::Unauthenticated)?;
        let hash = hash_secret(token);
        // Compared as hashes in constant time: equal-length inputs, no early exit.
        if secure_eq(hash.as_bytes(), state.operator_token_hash.as_bytes()) {
            return Ok(Self::Operator);
        }
        // A lookup by the SHA-256 of a 256-bit random token reveals nothing usable by timing;
        // it finds no token of a disabled cooperative.
        match state.service.store().admin_token_by_hash(&hash).await? {
            Some(record) => Ok(Self::Tenant(record.tenant_id)),
            None => Err(AdminError::Unauthenticated),
        }
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_TOKEN_LEN)
        .then_some(token)
}
