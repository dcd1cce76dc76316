//! The tenant-bound repository of the SQL backends. Every statement carries `tenant_id`, and is
//! written once for both backends (see [`super::conn`]); writes go to [`Pools::writer`].

use super::conn::{statement, Arg, Pools, Row, Statement};
use super::live_session;
use crate::rows::{
    AccountRow, AdminTokenRow, DeviceAccountRow, RequestRow, SessionRow, SigningKeyRow,
    ACCOUNT_COLUMNS, ADMIN_TOKEN_COLUMNS, REQUEST_COLUMNS, SESSION_COLUMNS, SIGNING_KEY_COLUMNS,
};
use crate::sealed::{AtRest, Kind};
use crate::{
    Account, AdminToken, Approval, AuthRequestRecord, BoundRotation, CodeConsumption, NewAccount,
    NewAdminToken, NewAuthRequest, NewSession, NewSigningKey, ReplayMarker, Rotation, Session,
    SessionFilter, SigningKeyRecord, StoreResult, TenantId, TenantRepo,
};
use async_trait::async_trait;
use std::collections::HashSet;
use std::fmt::Write;

pub(crate) struct SqlTenantRepo {
    pools: Pools,
    tenant_id: TenantId,
    /// Signing keys and secrets are sealed with it (see `crate::sealed`).
    at_rest: AtRest,
}

impl SqlTenantRepo {
    pub(crate) fn new(pools: Pools, tenant_id: TenantId, at_rest: AtRest) -> Self {
        Self {
            pools,
            tenant_id,
            at_rest,
        }
    }

    async fn signing_keys_where(
        &self,
        op: &'static str,
        condition: &'static str,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        let order = self.pools.dialect().insertion_order;
        let sql = format!(
            "SELECT {SIGNING_KEY_COLUMNS} FROM signing_keys WHERE tenant_id = $1 {condition} \
             ORDER BY created_at DESC, {order} DESC"
        );
        let rows: Vec<SigningKeyRow> = self
            .pools
            .reader()
            .fetch_all(op, statement(sql).bind(self.tenant_id))
            .await?;
        rows.into_iter()
            .map(|r| r.open(&self.at_rest, self.tenant_id))
            .collect()
    }

    /// The row of this tenant's `table` whose `column` is `value`, as `T`.
    async fn find<R: Row + Into<T>, T>(
        &self,
        op: &'static str,
        columns: &str,
        table: &str,
        column: &str,
        value: &str,
    ) -> StoreResult<Option<T>> {
        let sql = format!("SELECT {columns} FROM {table} WHERE tenant_id = $1 AND {column} = $2");
        let select = statement(sql).bind(self.tenant_id).bind(value);
        let row: Option<R> = self.pools.reader().fetch_optional(op, select).await?;
        Ok(row.map(Into::into))
    }

    async fn account_where(
        &self,
        op: &'static str,
        column: &str,
        value: &str,
    ) -> StoreResult<Option<Account>> {
        self.find::<AccountRow, _>(op, ACCOUNT_COLUMNS, "accounts", column, value)
            .await
    }

    async fn session_where(
        &self,
        op: &'static str,
        column: &str,
        value: &str,
    ) -> StoreResult<Option<Session>> {
        self.find::<SessionRow, _>(op, SESSION_COLUMNS, "sessions", column, value)
            .await
    }

    /// Sets `column` of account `id` to `value`.
    async fn update_account(
        &self,
        op: &'static str,
        column: &'static str,
        id: &str,
        value: impl Into<Arg<'_>>,
    ) -> StoreResult<Option<Account>> {
        let sql = format!(
            "UPDATE accounts SET {column} = $1 WHERE tenant_id = $2 AND id = $3 \
             RETURNING {ACCOUNT_COLUMNS}"
        );
        let row: Option<AccountRow> = self
            .pools
            .writer()
            .fetch_optional(op, statement(sql).bind(value).bind(self.tenant_id).bind(id))
            .await?;
        Ok(row.map(Into::into))
    }

    /// Revokes (keeping an earlier revocation time) the sessions whose `column` is `value`.
    async fn revoke_sessions_where(
        &self,
        op: &'static str,
        column: &'static str,
        value: &str,
        now: i64,
    ) -> StoreResult<()> {
        let sql = format!(
            "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) \
             WHERE tenant_id = $2 AND {column} = $3"
        );
        let update = statement(sql).bind(now).bind(self.tenant_id).bind(value);
        self.pools.writer().execute(op, update).await?;
        Ok(())
    }

    /// The statement of [`TenantRepo::rotate_refresh_bound`]: the conditions of
    /// [`BoundRotation::matches`] and [`BoundRotation::refresh_deadline`], in SQL. Arguments:
    /// `$1` new hash, `$2` now, `$3` inactivity deadline, `$4` tenant, `$5` old hash, `$6`
    /// client, `$7` DPoP key, `$8` client key.
    fn rotate_refresh_bound_sql(&self) -> String {
        let dialect = self.pools.dialect();
        let least = dialect.least;
        let set = format!(
            "previous_refresh_hash = refresh_hash, refresh_hash = $1, rotated_at = $2, \
             refresh_expires_at = CASE WHEN CAST($3 AS BIGINT) IS NULL THEN refresh_expires_at \
             WHEN expires_at IS NULL THEN $3 ELSE {least}(expires_at, $3) END"
        );
        let live = live_session("$2");
        if dialect.rotation_finds_target_first {
            // The row is found by its refresh token alone (the unique index) in a CTE, which
            // also reads the session's binding (client, DPoP key, client key: never changed
            // after creation). With the binding compared on the table itself, PostgreSQL's
            // generic plan of the prepared statement may pick the (tenant, client) index and
            // scan every session of a popular client. The conditions that can change (token,
            // liveness) are checked on the row the UPDATE locks, so a concurrent rotation or
            // revocation wins.
            format!(
                "WITH target AS MATERIALIZED (SELECT tenant_id AS target_tenant, \
                 id AS target_id, client_id AS target_client, dpop_jkt AS target_jkt, \
                 client_key_thumbprint AS target_client_key \
                 FROM sessions WHERE tenant_id = $4 AND refresh_hash = $5) \
                 UPDATE sessions SET {set} \
                 FROM target WHERE tenant_id = target_tenant AND id = target_id \
                 AND target_client = $6 AND target_jkt = $7 \
                 AND target_client_key IS NOT DISTINCT FROM $8 \
                 AND refresh_hash = $5 AND {live} \
                 RETURNING {SESSION_COLUMNS}"
            )
        } else {
            format!(
                "UPDATE sessions SET {set} \
                 WHERE tenant_id = $4 AND refresh_hash = $5 \
                 AND client_id = $6 AND dpop_jkt = $7 \
                 AND client_key_thumbprint IS NOT DISTINCT FROM $8 AND {live} \
                 RETURNING {SESSION_COLUMNS}"
            )
        }
    }
}

/// `INSERT INTO signing_keys` of a key already sealed for storage (`AtRest::seal`).
fn insert_signing_key<'a>(
    tenant_id: TenantId,
    kid: &'a str,
    sealed_pkcs8: Vec<u8>,
    now: i64,
    activates_at: i64,
) -> Statement<'a> {
    statement(
        "INSERT INTO signing_keys (tenant_id, kid, pkcs8, created_at, activates_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant_id)
    .bind(kid)
    .bind(sealed_pkcs8)
    .bind(now)
    .bind(activates_at)
}

#[async_trait]
impl TenantRepo for SqlTenantRepo {
    fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    // --- secrets and keys

    async fn secret_get_or_create(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let candidate = self
            .at_rest
            .seal(Kind::Secret, self.tenant_id, name, candidate)?;
        let insert = statement(
            "INSERT INTO tenant_secrets (tenant_id, name, value) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(self.tenant_id)
        .bind(name)
        .bind(candidate);
        self.pools.writer().execute("store secret", insert).await?;
        let select =
            statement("SELECT value FROM tenant_secrets WHERE tenant_id = $1 AND name = $2")
                .bind(self.tenant_id)
                .bind(name);
        let (value,): (Vec<u8>,) = self.pools.reader().fetch_one("read secret", select).await?;
        self.at_rest.open(Kind::Secret, self.tenant_id, name, value)
    }

    async fn add_signing_key(&self, key: NewSigningKey) -> StoreResult<()> {
        let pkcs8 = self
            .at_rest
            .seal(Kind::SigningKey, self.tenant_id, &key.kid, &key.pkcs8)?;
        let insert = insert_signing_key(self.tenant_id, &key.kid, pkcs8, key.now, key.now);
        self.pools
            .writer()
            .execute("add signing key", insert)
            .await?;
        Ok(())
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        self.signing_keys_where("list signing keys", "AND retired_at IS NULL")
            .await
    }

    async fn signing_key_history(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        self.signing_keys_where("list signing key history", "")
            .await
    }

    async fn add_successor_signing_key(
        &self,
        key: NewSigningKey,
        activates_at: i64,
        predecessors_retire_at: i64,
    ) -> StoreResult<()> {
        let pkcs8 = self
            .at_rest
            .seal(Kind::SigningKey, self.tenant_id, &key.kid, &key.pkcs8)?;
        let schedule = statement(
            "UPDATE signing_keys SET retires_at = $1 \
             WHERE tenant_id = $2 AND retired_at IS NULL AND retires_at IS NULL",
        )
        .bind(predecessors_retire_at)
        .bind(self.tenant_id);
        let insert = insert_signing_key(self.tenant_id, &key.kid, pkcs8, key.now, activates_at);
        self.pools
            .writer()
            .execute_in_transaction("rotate signing key", &[schedule, insert])
            .await
    }

    async fn retire_signing_keys(&self, now: i64) -> StoreResult<u64> {
        let update = statement(
            "UPDATE signing_keys SET retired_at = retires_at \
             WHERE tenant_id = $1 AND retired_at IS NULL AND retires_at <= $2",
        )
        .bind(self.tenant_id)
        .bind(now);
        self.pools
            .writer()
            .execute("retire signing keys", update)
            .await
    }

    // --- accounts

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        let sql = format!(
            "INSERT INTO accounts \
             (tenant_id, id, did, handle, email, password_hash, created_at, disabled) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE) RETURNING {ACCOUNT_COLUMNS}"
        );
        let insert = statement(sql)
            .bind(self.tenant_id)
            .bind(&account.id)
            .bind(&account.did)
            .bind(account.handle.to_lowercase())
            .bind(account.email.as_deref().map(str::to_lowercase))
            .bind(&account.password_hash)
            .bind(account.now);
        let row: AccountRow = self
            .pools
            .writer()
            .fetch_one("create account", insert)
            .await?;
        Ok(row.into())
    }

    async fn account_by_id(&self, id: &str) -> StoreResult<Option<Account>> {
        self.account_where("find account", "id", id).await
    }

    async fn account_by_did(&self, did: &str) -> StoreResult<Option<Account>> {
        self.account_where("find account by DID", "did", did).await
    }

    async fn account_by_handle(&self, handle: &str) -> StoreResult<Option<Account>> {
        self.account_where("find account by handle", "handle", &handle.to_lowercase())
            .await
    }

    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>> {
        self.account_where("find account by e-mail", "email", &email.to_lowercase())
            .await
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        let byte_order = self.pools.dialect().byte_order;
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = $1 \
             ORDER BY created_at, id {byte_order}"
        );
        let select = statement(sql).bind(self.tenant_id);
        let rows: Vec<AccountRow> = self
            .pools
            .reader()
            .fetch_all("list accounts", select)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn set_account_disabled(&self, id: &str, disabled: bool) -> StoreResult<Option<Account>> {
        self.update_account("disable account", "disabled", id, disabled)
            .await
    }

    async fn set_account_password_hash(
        &self,
        id: &str,
        password_hash: &str,
    ) -> StoreResult<Option<Account>> {
        self.update_account("set account password", "password_hash", id, password_hash)
            .await
    }

    async fn set_account_did(&self, id: &str, did: &str) -> StoreResult<Option<Account>> {
        self.update_account("set account DID", "did", id, did).await
    }

    // --- admin tokens

    async fn create_admin_token(&self, token: NewAdminToken) -> StoreResult<AdminToken> {
        let sql = format!(
            "INSERT INTO admin_tokens (tenant_id, id, token_hash, label, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {ADMIN_TOKEN_COLUMNS}"
        );
        let insert = statement(sql)
            .bind(self.tenant_id)
            .bind(&token.id)
            .bind(&token.token_hash)
            .bind(&token.label)
            .bind(token.now);
        let row: AdminTokenRow = self
            .pools
            .writer()
            .fetch_one("create admin token", insert)
            .await?;
        Ok(row.into())
    }

    async fn list_admin_tokens(&self) -> StoreResult<Vec<AdminToken>> {
        let sql = format!(
            "SELECT {ADMIN_TOKEN_COLUMNS} FROM admin_tokens WHERE tenant_id = $1 \
             ORDER BY created_at, id"
        );
        let select = statement(sql).bind(self.tenant_id);
        let rows: Vec<AdminTokenRow> = self
            .pools
            .reader()
            .fetch_all("list admin tokens", select)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn delete_admin_token(&self, id: &str) -> StoreResult<bool> {
        let delete = statement("DELETE FROM admin_tokens WHERE tenant_id = $1 AND id = $2")
            .bind(self.tenant_id)
            .bind(id);
        let deleted = self
            .pools
            .writer()
            .execute("delete admin token", delete)
            .await?;
        Ok(deleted > 0)
    }

    // --- single-use markers

    async fn record_once(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        // New key: inserted. Known but expired key: taken over (counts as first use). Known and
        // live key: the conditional update does nothing, so no row changes.
        let upsert = statement(
            "INSERT INTO replay (tenant_id, namespace, key, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, namespace, key) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE replay.expires_at <= $5",
        )
        .bind(self.tenant_id)
        .bind(namespace)
        .bind(key)
        .bind(expires_at)
        .bind(now);
        let changed = self
            .pools
            .writer()
            .execute("record single-use marker", upsert)
            .await?;
        Ok(changed == 1)
    }

    async fn record_once_batch(
        &self,
        markers: &[ReplayMarker],
        now: i64,
    ) -> StoreResult<Vec<bool>> {
        if markers.is_empty() {
            return Ok(Vec::new());
        }
        // As `record_once`, for many rows: the rows inserted or taken over (expired) are
        // exactly the ones RETURNING gives back.
        let mut sql =
            String::from("INSERT INTO replay (tenant_id, namespace, key, expires_at) VALUES ");
        for i in 0..markers.len() {
            let first = 4 * i + 1;
            let separator = if i == 0 { "" } else { ", " };
            let _ = write!(
                sql,
                "{separator}(${first}, ${}, ${}, ${})",
                first + 1,
                first + 2,
                first + 3
            );
        }
        let _ = write!(
            sql,
            " ON CONFLICT (tenant_id, namespace, key) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE replay.expires_at <= ${} RETURNING namespace, key",
            4 * markers.len() + 1
        );
        let mut upsert = statement(sql);
        for m in markers {
            upsert = upsert
                .bind(self.tenant_id)
                .bind(&m.namespace)
                .bind(&m.key)
                .bind(m.expires_at);
        }
        let recorded: Vec<(String, String)> = self
            .pools
            .writer()
            .fetch_all("record single-use markers", upsert.bind(now))
            .await?;
        let recorded: HashSet<(&str, &str)> = recorded
            .iter()
            .map(|(namespace, key)| (namespace.as_str(), key.as_str()))
            .collect();
        Ok(markers
            .iter()
            .map(|m| recorded.contains(&(m.namespace.as_str(), m.key.as_str())))
            .collect())
    }

    // --- authorization requests and codes

    async fn insert_request(&self, request: NewAuthRequest) -> StoreResult<()> {
        let insert = statement(
            "INSERT INTO auth_requests \
             (tenant_id, id, client_id, request_json, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(self.tenant_id)
        .bind(&request.id)
        .bind(&request.client_id)
        .bind(&request.request_json)
        .bind(request.expires_at)
        .bind(request.now);
        self.pools.writer().execute("store request", insert).await?;
        Ok(())
    }

    async fn request_by_id(&self, id: &str) -> StoreResult<Option<AuthRequestRecord>> {
        self.find::<RequestRow, _>("find request", REQUEST_COLUMNS, "auth_requests", "id", id)
            .await
    }

    async fn bind_request_device(
        &self,
        id: &str,
        device_id: &str,
        new_expires_at: i64,
    ) -> StoreResult<Option<String>> {
        // SET expressions see the row as it was before the update: the expiry moves only if the
        // row was unbound or bound to this very device. In PostgreSQL a racing update waits for
        // the winner's and is then evaluated against the winner's row version (READ
        // COMMITTED), so every caller gets the winning device back.
        let update = statement(
            "UPDATE auth_requests SET device_id = COALESCE(device_id, $1), \
             expires_at = CASE WHEN device_id IS NULL OR device_id = $1 THEN $2 \
             ELSE expires_at END \
             WHERE tenant_id = $3 AND id = $4 RETURNING device_id",
        )
        .bind(device_id)
        .bind(new_expires_at)
        .bind(self.tenant_id)
        .bind(id);
        let row: Option<(Option<String>,)> = self
            .pools
            .writer()
            .fetch_optional("bind request to device", update)
            .await?;
        Ok(row.and_then(|(bound,)| bound))
    }

    async fn approve_request(&self, id: &str, approval: Approval) -> StoreResult<bool> {
        let update = statement(
            "UPDATE auth_requests SET account_id = $1, granted_scope = $2, code_hash = $3, \
             code_expires_at = $4, approved_at = $5 \
             WHERE tenant_id = $6 AND id = $7 AND code_hash IS NULL",
        )
        .bind(&approval.account_id)
        .bind(&approval.granted_scope)
        .bind(&approval.code_hash)
        .bind(approval.code_expires_at)
        .bind(approval.now)
        .bind(self.tenant_id)
        .bind(id);
        let changed = self
            .pools
            .writer()
            .execute("approve request", update)
            .await?;
        Ok(changed == 1)
    }

    async fn delete_request(&self, id: &str) -> StoreResult<()> {
        let delete = statement("DELETE FROM auth_requests WHERE tenant_id = $1 AND id = $2")
            .bind(self.tenant_id)
            .bind(id);
        self.pools
            .writer()
            .execute("delete request", delete)
            .await?;
        Ok(())
    }

    async fn consume_code(&self, code_hash: &str, now: i64) -> StoreResult<CodeConsumption> {
        let sql = format!(
            "UPDATE auth_requests SET code_used_at = $1 \
             WHERE tenant_id = $2 AND code_hash = $3 AND code_used_at IS NULL \
             RETURNING {REQUEST_COLUMNS}"
        );
        let update = statement(sql)
            .bind(now)
            .bind(self.tenant_id)
            .bind(code_hash);
        let consumed: Option<RequestRow> = self
            .pools
            .writer()
            .fetch_optional("consume code", update)
            .await?;
        if let Some(row) = consumed {
            return Ok(CodeConsumption::Consumed(row.into()));
        }
        let used = self
            .find::<RequestRow, AuthRequestRecord>(
                "find code",
                REQUEST_COLUMNS,
                "auth_requests",
                "code_hash",
                code_hash,
            )
            .await?;
        Ok(match used {
            Some(request) => CodeConsumption::Reused(request),
            None => CodeConsumption::Unknown,
        })
    }

    // --- sessions

    async fn create_session(&self, session: NewSession) -> StoreResult<Session> {
        let sql = format!(
            "INSERT INTO sessions (tenant_id, id, account_id, did, client_id, request_id, \
             dpop_jkt, scope, client_key_thumbprint, refresh_hash, expires_at, \
             refresh_expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             RETURNING {SESSION_COLUMNS}"
        );
        let insert = statement(sql)
            .bind(self.tenant_id)
            .bind(&session.id)
            .bind(&session.account_id)
            .bind(&session.did)
            .bind(&session.client_id)
            .bind(&session.request_id)
            .bind(&session.dpop_jkt)
            .bind(&session.scope)
            .bind(&session.client_key_thumbprint)
            .bind(&session.refresh_hash)
            .bind(session.expires_at)
            .bind(session.refresh_expires_at)
            .bind(session.now);
        let row: SessionRow = self
            .pools
            .writer()
            .fetch_one("create session", insert)
            .await?;
        Ok(row.into())
    }

    async fn session_by_id(&self, id: &str) -> StoreResult<Option<Session>> {
        self.session_where("find session", "id", id).await
    }

    async fn rotate_refresh(
        &self,
        old_hash: &str,
        rotation: Rotation,
    ) -> StoreResult<Option<Session>> {
        let sql = format!(
            "UPDATE sessions SET previous_refresh_hash = refresh_hash, refresh_hash = $1, \
             rotated_at = $2, refresh_expires_at = $3 \
             WHERE tenant_id = $4 AND refresh_hash = $5 AND revoked_at IS NULL \
             RETURNING {SESSION_COLUMNS}"
        );
        let update = statement(sql)
            .bind(&rotation.new_hash)
            .bind(rotation.now)
            .bind(rotation.refresh_expires_at)
            .bind(self.tenant_id)
            .bind(old_hash);
        let row: Option<SessionRow> = self
            .pools
            .writer()
            .fetch_optional("rotate refresh token", update)
            .await?;
        Ok(row.map(Into::into))
    }

    async fn rotate_refresh_bound(
        &self,
        old_hash: &str,
        rotation: &BoundRotation,
    ) -> StoreResult<Option<Session>> {
        let update = statement(self.rotate_refresh_bound_sql())
            .bind(&rotation.new_hash)
            .bind(rotation.now)
            .bind(rotation.inactivity_deadline)
            .bind(self.tenant_id)
            .bind(old_hash)
            .bind(&rotation.client_id)
            .bind(&rotation.dpop_jkt)
            .bind(&rotation.client_key_thumbprint);
        let row: Option<SessionRow> = self
            .pools
            .writer()
            .fetch_optional("rotate refresh token", update)
            .await?;
        Ok(row.map(Into::into))
    }

    async fn session_by_previous_refresh(&self, hash: &str) -> StoreResult<Option<Session>> {
        self.session_where(
            "find session by previous refresh token",
            "previous_refresh_hash",
            hash,
        )
        .await
    }

    async fn session_by_refresh(&self, hash: &str) -> StoreResult<Option<Session>> {
        self.session_where("find session by refresh token", "refresh_hash", hash)
            .await
    }

    async fn revoke_session(&self, id: &str, now: i64) -> StoreResult<()> {
        self.revoke_sessions_where("revoke session", "id", id, now)
            .await
    }

    async fn revoke_sessions_of_request(&self, request_id: &str, now: i64) -> StoreResult<()> {
        self.revoke_sessions_where("revoke sessions of request", "request_id", request_id, now)
            .await
    }

    async fn list_sessions(&self, filter: &SessionFilter, limit: u32) -> StoreResult<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE tenant_id = $1 \
             AND (CAST($2 AS TEXT) IS NULL OR account_id = $2) \
             AND (CAST($3 AS TEXT) IS NULL OR client_id = $3) \
             ORDER BY created_at DESC, id LIMIT $4"
        );
        let select = statement(sql)
            .bind(self.tenant_id)
            .bind(&filter.account_id)
            .bind(&filter.client_id)
            .bind(i64::from(limit));
        let rows: Vec<SessionRow> = self
            .pools
            .reader()
            .fetch_all("list sessions", select)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn revoke_sessions(&self, filter: &SessionFilter, now: i64) -> StoreResult<u64> {
        if filter.account_id.is_none() && filter.client_id.is_none() {
            return Ok(0);
        }
        let update = statement(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE tenant_id = $2 AND revoked_at IS NULL \
             AND (CAST($3 AS TEXT) IS NULL OR account_id = $3) \
             AND (CAST($4 AS TEXT) IS NULL OR client_id = $4)",
        )
        .bind(now)
        .bind(self.tenant_id)
        .bind(&filter.account_id)
        .bind(&filter.client_id);
        self.pools.writer().execute("revoke sessions", update).await
    }

    // --- consent and device sign-ins

    async fn remember_consent(
        &self,
        account_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()> {
        let upsert = statement(
            "INSERT INTO consents (tenant_id, account_id, client_id, scope, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, account_id, client_id) \
             DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at",
        )
        .bind(self.tenant_id)
        .bind(account_id)
        .bind(client_id)
        .bind(scope)
        .bind(now);
        self.pools
            .writer()
            .execute("remember consent", upsert)
            .await?;
        Ok(())
    }

    async fn consent(&self, account_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        let select = statement(
            "SELECT scope FROM consents WHERE tenant_id = $1 AND account_id = $2 AND client_id = $3",
        )
        .bind(self.tenant_id)
        .bind(account_id)
        .bind(client_id);
        let row: Option<(String,)> = self
            .pools
            .reader()
            .fetch_optional("find consent", select)
            .await?;
        Ok(row.map(|(scope,)| scope))
    }

    async fn add_device_account(
        &self,
        device_id: &str,
        account_id: &str,
        now: i64,
    ) -> StoreResult<()> {
        let upsert = statement(
            "INSERT INTO device_accounts (tenant_id, device_id, account_id, signed_in_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, device_id, account_id) \
             DO UPDATE SET signed_in_at = excluded.signed_in_at",
        )
        .bind(self.tenant_id)
        .bind(device_id)
        .bind(account_id)
        .bind(now);
        self.pools
            .writer()
            .execute("remember device sign-in", upsert)
            .await?;
        Ok(())
    }

    async fn device_accounts(&self, device_id: &str) -> StoreResult<Vec<(Account, i64)>> {
        let order = self.pools.dialect().insertion_order;
        let sql = format!(
            "SELECT a.id, a.did, a.handle, a.email, a.password_hash, a.created_at, a.disabled, \
             d.signed_in_at \
             FROM device_accounts d \
             JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id \
             WHERE d.tenant_id = $1 AND d.device_id = $2 AND NOT a.disabled \
             ORDER BY d.signed_in_at DESC, d.{order} DESC"
        );
        let select = statement(sql).bind(self.tenant_id).bind(device_id);
        let rows: Vec<DeviceAccountRow> = self
            .pools
            .reader()
            .fetch_all("list device accounts", select)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.account.into(), r.signed_in_at))
            .collect())
    }
}
