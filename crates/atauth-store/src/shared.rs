//! Helpers shared by the backends: issuer hosts and the mapping of database errors.

use crate::StoreError;

/// The `host[:port]` of an issuer origin, lowercased: the issuer without its scheme (and
/// without a trailing slash, should one have slipped in).
pub(crate) fn issuer_host(issuer: &str) -> String {
    let lower = issuer.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    rest.trim_end_matches('/').to_owned()
}

/// Maps a database error: uniqueness violations become [`StoreError::Conflict`] with a readable
/// message; anything else (connection loss, pool timeout, statement timeout, ...)
/// [`StoreError::Unavailable`]. Messages never carry bound values (so no hashes or secrets):
/// they are built from constraint and column names only.
pub(crate) fn map_err(op: &'static str, e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            // PostgreSQL reports the violated constraint (named after its table and columns);
            // SQLite lists `table.column`s in its message and reports no constraint.
            let what = db.constraint().unwrap_or_else(|| db.message());
            return StoreError::Conflict(conflict_message(op, what));
        }
        if db.is_foreign_key_violation() {
            return StoreError::Conflict(format!("{op}: refers to an unknown tenant"));
        }
    }
    unavailable(op, &e)
}

pub(crate) fn unavailable(op: &str, e: &dyn std::fmt::Display) -> StoreError {
    tracing::warn!(operation = op, error = %e, "storage error");
    StoreError::Unavailable(format!("{op}: {e}"))
}

/// A readable message for a uniqueness violation, from the constraint or column names
/// (`UNIQUE constraint failed: accounts.tenant_id, accounts.handle` in SQLite; the constraint
/// name, e.g. `accounts_tenant_id_handle_key`, in PostgreSQL).
pub(crate) fn conflict_message(op: &str, what: &str) -> String {
    let m = what.to_ascii_lowercase();
    let what = if m.contains("issuer") {
        "a tenant with this issuer already exists"
    } else if m.contains("host") {
        "a tenant with this issuer host already exists"
    } else if m.contains("handle") {
        "this handle is already taken"
    } else if m.contains("email") {
        "an account with this e-mail address already exists"
    } else if m.contains("did") {
        "an account with this DID already exists"
    } else if m.contains("kid") {
        "a signing key with this key id already exists"
    } else if m.contains("code_hash") {
        "this authorization code already exists"
    } else if m.contains("refresh_hash") {
        "this refresh token already exists"
    } else if m.contains("accounts") {
        "an account with this id already exists"
    } else if m.contains("auth_requests") {
        "a request with this id already exists"
    } else if m.contains("sessions") {
        "a session with this id already exists"
    } else {
        "duplicate"
    };
    format!("{op}: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_host_strips_scheme_and_lowercases() {
        assert_eq!(issuer_host("https://Coop-A.Example"), "coop-a.example");
        assert_eq!(issuer_host("http://127.0.0.1:2583"), "127.0.0.1:2583");
        assert_eq!(issuer_host("https://coop.example/"), "coop.example");
    }

    #[test]
    fn conflict_messages_name_the_field() {
        let m = conflict_message(
            "create account",
            "UNIQUE constraint failed: accounts.tenant_id, accounts.handle",
        );
        assert_eq!(m, "create account: this handle is already taken");
        let m = conflict_message("create tenant", "UNIQUE constraint failed: tenants.issuer");
        assert!(m.contains("issuer"));
        let m = conflict_message(
            "create account",
            "UNIQUE constraint failed: accounts.tenant_id, accounts.id",
        );
        assert!(m.contains("id already exists"));
    }

    /// Every unique constraint of the PostgreSQL schema that an insert can violate, with the
    /// field its message must name.
    #[test]
    fn postgres_constraint_names_map_to_their_field() {
        let cases = [
            ("tenants_issuer_key", "issuer already exists"),
            ("tenants_host_key", "issuer host already exists"),
            ("signing_keys_tenant_id_kid_pkey", "key id already exists"),
            (
                "accounts_tenant_id_id_pkey",
                "account with this id already exists",
            ),
            ("accounts_tenant_id_did_key", "DID already exists"),
            ("accounts_tenant_id_handle_key", "handle is already taken"),
            ("accounts_handle_global_key", "handle is already taken"),
            (
                "accounts_tenant_id_email_key",
                "e-mail address already exists",
            ),
            (
                "auth_requests_tenant_id_id_pkey",
                "request with this id already exists",
            ),
            (
                "auth_requests_tenant_id_code_hash_key",
                "authorization code already exists",
            ),
            (
                "sessions_tenant_id_id_pkey",
                "session with this id already exists",
            ),
            (
                "sessions_tenant_id_refresh_hash_key",
                "refresh token already exists",
            ),
        ];
        for (constraint, expected) in cases {
            let m = conflict_message("op", constraint);
            assert!(m.ends_with(expected), "{constraint}: {m}");
        }
    }
}
