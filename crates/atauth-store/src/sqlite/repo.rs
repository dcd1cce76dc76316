//! The tenant-bound repository of the SQLite backend. Every statement carries `tenant_id`.

use crate::rows::{
    AccountRow, DeviceAccountRow, RequestRow, SessionRow, SigningKeyRow, ACCOUNT_COLUMNS,
    REQUEST_COLUMNS, SESSION_COLUMNS, SIGNING_KEY_COLUMNS,
};
use crate::rows::{AdminTokenRow, ADMIN_TOKEN_COLUMNS};
use crate::sealed::{AtRest, Kind};
use crate::shared::map_err;
use crate::{
    Account, Approval, AuthRequestRecord, CodeConsumption, NewAccount, NewAuthRequest, NewSession,
    NewSigningKey, Rotation, Session, SigningKeyRecord, StoreResult, TenantId, TenantRepo,
};
use crate::{AdminToken, NewAdminToken, SessionFilter};
use async_trait::async_trait;
use sqlx::sqlite::SqlitePool;

pub(super) struct SqliteTenantRepo {
    pool: SqlitePool,
    /// The store's one writing connection (see `SqliteStore`).
    writer: SqlitePool,
    tenant_id: TenantId,
    /// Signing keys and secrets are sealed with it (see `crate::sealed`).
    at_rest: AtRest,
}

impl SqliteTenantRepo {
    pub(super) fn new(
        pool: SqlitePool,
        writer: SqlitePool,
        tenant_id: TenantId,
        at_rest: AtRest,
    ) -> Self {
        Self {
            pool,
            writer,
            tenant_id,
            at_rest,
        }
    }

    async fn signing_keys_where(
        &self,
        op: &'static str,
        condition: &'static str,
    ) -> StoreResult<Vec<SigningKeyRecord>> {
        let sql = format!(
            "SELECT {SIGNING_KEY_COLUMNS} FROM signing_keys WHERE tenant_id = ? {condition} \
             ORDER BY created_at DESC, rowid DESC"
        );
        let rows: Vec<SigningKeyRow> = sqlx::query_as(&sql)
            .bind(self.tenant_id)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_err(op, e))?;
        rows.into_iter()
            .map(|r| r.open(&self.at_rest, self.tenant_id))
            .collect()
    }

    async fn account_where(
        &self,
        op: &'static str,
        column: &'static str,
        value: &str,
    ) -> StoreResult<Option<Account>> {
        let sql =
            format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = ? AND {column} = ?");
        let row: Option<AccountRow> = sqlx::query_as(&sql)
            .bind(self.tenant_id)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err(op, e))?;
        Ok(row.map(Into::into))
    }

    async fn session_where(
        &self,
        op: &'static str,
        column: &'static str,
        value: &str,
    ) -> StoreResult<Option<Session>> {
        let sql =
            format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE tenant_id = ? AND {column} = ?");
        let row: Option<SessionRow> = sqlx::query_as(&sql)
            .bind(self.tenant_id)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err(op, e))?;
        Ok(row.map(Into::into))
    }
}

#[async_trait]
impl TenantRepo for SqliteTenantRepo {
    fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    // --- secrets and keys

    async fn secret_get_or_create(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let candidate = self
            .at_rest
            .seal(Kind::Secret, self.tenant_id, name, candidate)?;
        sqlx::query(
            "INSERT INTO tenant_secrets (tenant_id, name, value) VALUES (?, ?, ?) \
             ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(self.tenant_id)
        .bind(name)
        .bind(&candidate)
        .execute(&self.writer)
        .await
        .map_err(|e| map_err("store secret", e))?;
        let (value,): (Vec<u8>,) =
            sqlx::query_as("SELECT value FROM tenant_secrets WHERE tenant_id = ? AND name = ?")
                .bind(self.tenant_id)
                .bind(name)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| map_err("read secret", e))?;
        self.at_rest.open(Kind::Secret, self.tenant_id, name, value)
    }

    async fn add_signing_key(&self, key: NewSigningKey) -> StoreResult<()> {
        let pkcs8 = self
            .at_rest
            .seal(Kind::SigningKey, self.tenant_id, &key.kid, &key.pkcs8)?;
        sqlx::query(
            "INSERT INTO signing_keys (tenant_id, kid, pkcs8, created_at, activates_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(self.tenant_id)
        .bind(&key.kid)
        .bind(&pkcs8)
        .bind(key.now)
        .bind(key.now)
        .execute(&self.writer)
        .await
        .map_err(|e| map_err("add signing key", e))?;
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
        let op = "rotate signing key";
        let pkcs8 = self
            .at_rest
            .seal(Kind::SigningKey, self.tenant_id, &key.kid, &key.pkcs8)?;
        let mut tx = self.writer.begin().await.map_err(|e| map_err(op, e))?;
        sqlx::query(
            "UPDATE signing_keys SET retires_at = ? \
             WHERE tenant_id = ? AND retired_at IS NULL AND retires_at IS NULL",
        )
        .bind(predecessors_retire_at)
        .bind(self.tenant_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(op, e))?;
        sqlx::query(
            "INSERT INTO signing_keys (tenant_id, kid, pkcs8, created_at, activates_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(self.tenant_id)
        .bind(&key.kid)
        .bind(&pkcs8)
        .bind(key.now)
        .bind(activates_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(op, e))?;
        tx.commit().await.map_err(|e| map_err(op, e))
    }

    async fn retire_signing_keys(&self, now: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE signing_keys SET retired_at = retires_at \
             WHERE tenant_id = ? AND retired_at IS NULL AND retires_at <= ?",
        )
        .bind(self.tenant_id)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(|e| map_err("retire signing keys", e))?;
        Ok(done.rows_affected())
    }

    // --- accounts

    async fn create_account(&self, account: NewAccount) -> StoreResult<Account> {
        let sql = format!(
            "INSERT INTO accounts \
             (tenant_id, id, did, handle, email, password_hash, created_at, disabled) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 0) RETURNING {ACCOUNT_COLUMNS}"
        );
        let row: AccountRow = sqlx::query_as(&sql)
            .bind(self.tenant_id)
            .bind(&account.id)
            .bind(&account.did)
            .bind(account.handle.to_lowercase())
            .bind(account.email.as_deref().map(str::to_lowercase))
            .bind(&account.password_hash)
            .bind(account.now)
            .fetch_one(&self.writer)
            .await
            .map_err(|e| map_err("create account", e))?;
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
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = ? ORDER BY created_at, id"
        );
        let rows: Vec<AccountRow> = sqlx::query_as(&sql)
            .bind(self.tenant_id)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_err("list accounts", e))?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn set_account_disabled(&self, id: &str, disabled: bool) -> StoreResult<Option<Account>> {
        let sql = format!(
            "UPDATE accounts SET disabled = ?1 WHERE tenant_id = ?2 AND id = ?3 \
             RETURNING {ACCOUNT_COLUMNS}"
        );
        let row: Option<AccountRow> = sqlx::query_as(&sql)
            .bind(disabled)
            .bind(self.tenant_id)
            .bind(id)
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| map_err("disable account", e))?;
        Ok(row.map(Into::into))
    }

    async fn set_account_password_hash(
        &self,
        id: &str,
        password_hash: &str,
    ) -> StoreResult<Option<Account>> {
        let sql = format!(
            "UPDATE accounts SET password_hash = ?1 WHERE tenant_id = ?2 AND id = ?3 \
             RETURNING {ACCOUNT_COLUMNS}"
        );
        let row: Option<AccountRow> = sqlx::query_as(&sql)
            .bind(password_hash)
            .bind(self.tenant_id)
            .bind(id)
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| map_err("set account password", e))?;
        Ok(row.map(Into::into))
    }

    async fn set_account_did(&self, id: &str, did: &str) -> StoreResult<Option<Account>> {
        let sql = format!(
            "UPDATE accounts SET did = ?1 WHERE tenant_id = ?2 AND id = ?3 \
             RETURNING {ACCOUNT_COLUMNS}"
        );
        let row: Option<AccountRow> = sqlx::query_as(&sql)
            .bind(did)
            .bind(self.tenant_id)
            .bind(id)
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| map_err("set account DID", e))?;
        Ok(row.map(Into::into))
    }

    // --- admin tokens

    async fn create_admin_token(&self, token: NewAdminToken) -> StoreResult<AdminToken> {
        let sql = format!(
            "INSERT INTO admin_tokens (tenant_id, id, token_hash, label, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {ADMIN_TOKEN_COLUMNS}"
        );
        let row: AdminTokenRow = sqlx::query_as(&sql)
            .bind(self.tenant_id)
            .bind(&token.id)
            .bind(&token.token_hash)
            .bind(&token.label)
            .bind(token.now)
            .fetch_one(&self.writer)
            .await
            .map_err(|e| map_err("create admin token", e))?;
        Ok(row.into())
    }

    async fn list_admin_tokens(&self) -> StoreResult<Vec<AdminToken>> {
        let sql = format!(
            "SELECT {ADMIN_TOKEN_COLUMNS} FROM admin_tokens WHERE tenant_id = ?1 \
             ORDER BY created_at, id"
        );
        let rows: Vec<AdminTokenRow> = sqlx::query_as(&sql)
            .bind(self.tenant_id)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_err("list admin tokens", e))?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn delete_admin_token(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM admin_tokens WHERE tenant_id = ?1 AND id = ?2")
            .bind(self.tenant_id)
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(|e| map_err("delete admin token", e))?;
        Ok(done.rows_affected() > 0)
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
        let done = sqlx::query(
            "INSERT INTO replay (tenant_id, namespace, key, expires_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (tenant_id, namespace, key) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE replay.expires_at <= ?",
        )
        .bind(self.tenant_id)
        .bind(namespace)
        .bind(key)
        .bind(expires_at)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(|e| map_err("record single-use marker", e))?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_once_batch(
        &self,
        markers: &[crate::ReplayMarker],
        now: i64,
    ) -> StoreResult<Vec<bool>> {
        if markers.is_empty() {
            return Ok(Vec::new());
        }
        // As `record_once`, for many rows: the rows inserted or taken over (expired) are
        // exactly the ones RETURNING gives back.
        let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO replay (tenant_id, namespace, key, expires_at) ",
        );
        query.push_values(markers, |mut row, m| {
            row.push_bind(self.tenant_id)
                .push_bind(&m.namespace)
                .push_bind(&m.key)
                .push_bind(m.expires_at);
        });
        query.push(
            " ON CONFLICT (tenant_id, namespace, key) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE replay.expires_at <= ",
        );
        query.push_bind(now);
        query.push(" RETURNING namespace, key");
        let recorded: Vec<(String, String)> = query
            .build_query_as()
            .fetch_all(&self.writer)
            .await
            .map_err(|e| map_err("record single-use markers", e))?;
        let recorded: std::collections::HashSet<(&str, &str)> = recorded
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
        sqlx::query(
            "INSERT INTO auth_requests \
             (tenant_id, id, client_id, request_json, expires_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(self.tenant_id)
        .bind(&request.id)
        .bind(&request.client_id)
        .bind(&request.request_json)
        .bind(request.expires_at)
        .bind(request.now)
        .execute(&self.writer)
        .await
        .map_err(|e| map_err("store request", e))?;
        Ok(())
    }

    async fn request_by_id(&self, id: &str) -> StoreResult<Option<AuthRequestRecord>> {
        let sql =
            format!("SELECT {REQUEST_COLUMNS} FROM auth_requests WHERE tenant_id = ? AND id = ?");
        let row: Option<RequestRow> = sqlx::query_as(&sql)
            .bind(self.tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err("find request", e))?;
        Ok(row.map(Into::into))
    }

    async fn bind_request_device(
        &self,
        id: &str,
        device_id: &str,
        new_expires_at: i64,
    ) -> StoreResult<Option<String>> {
        // SET expressions see the row as it was before the update, in SQLite as in PostgreSQL:
        // the expiry moves only if the row was unbound or bound to this very device.
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "UPDATE auth_requests SET device_id = COALESCE(device_id, ?1), \
             expires_at = CASE WHEN device_id IS NULL OR device_id = ?1 THEN ?2 \
             ELSE expires_at END \
             WHERE tenant_id = ?3 AND id = ?4 RETURNING device_id",
        )
        .bind(device_id)
        .bind(new_expires_at)
        .bind(self.tenant_id)
        .bind(id)
        .fetch_optional(&self.writer)
        .await
        .map_err(|e| map_err("bind request to device", e))?;
        Ok(row.and_then(|(bound,)| bound))
    }

    async fn approve_request(&self, id: &str, approval: Approval) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE auth_requests SET account_id = ?, granted_scope = ?, code_hash = ?, \
             code_expires_at = ?, approved_at = ? \
             WHERE tenant_id = ? AND id = ? AND code_hash IS NULL",
        )
        .bind(&approval.account_id)
        .bind(&approval.granted_scope)
        .bind(&approval.code_hash)
        .bind(approval.code_expires_at)
        .bind(approval.now)
        .bind(self.tenant_id)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(|e| map_err("approve request", e))?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_request(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM auth_requests WHERE tenant_id = ? AND id = ?")
            .bind(self.tenant_id)
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(|e| map_err("delete request", e))?;
        Ok(())
    }

    async fn consume_code(&self, code_hash: &str, now: i64) -> StoreResult<CodeConsumption> {
        let sql = format!(
            "UPDATE auth_requests SET code_used_at = ? \
             WHERE tenant_id = ? AND code_hash = ? AND code_used_at IS NULL \
             RETURNING {REQUEST_COLUMNS}"
        );
        let consumed: Option<RequestRow> = sqlx::query_as(&sql)
            .bind(now)
            .bind(self.tenant_id)
            .bind(code_hash)
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| map_err("consume code", e))?;
        if let Some(row) = consumed {
            return Ok(CodeConsumption::Consumed(row.into()));
        }
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM auth_requests WHERE tenant_id = ? AND code_hash = ?"
        );
        let used: Option<RequestRow> = sqlx::query_as(&sql)
            .bind(self.tenant_id)
            .bind(code_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_err("find code", e))?;
        Ok(match used {
            Some(row) => CodeConsumption::Reused(row.into()),
            None => CodeConsumption::Unknown,
        })
    }

    // --- sessions

    async fn create_session(&self, session: NewSession) -> StoreResult<Session> {
        let sql = format!(
            "INSERT INTO sessions (tenant_id, id, account_id, did, client_id, request_id, \
             dpop_jkt, scope, client_key_thumbprint, refresh_hash, expires_at, \
             refresh_expires_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {SESSION_COLUMNS}"
        );
        let row: SessionRow = sqlx::query_as(&sql)
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
            .bind(session.now)
            .fetch_one(&self.writer)
            .await
            .map_err(|e| map_err("create session", e))?;
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
            "UPDATE sessions SET previous_refresh_hash = refresh_hash, refresh_hash = ?, \
             rotated_at = ?, refresh_expires_at = ? \
             WHERE tenant_id = ? AND refresh_hash = ? AND revoked_at IS NULL \
             RETURNING {SESSION_COLUMNS}"
        );
        let row: Option<SessionRow> = sqlx::query_as(&sql)
            .bind(&rotation.new_hash)
            .bind(rotation.now)
            .bind(rotation.refresh_expires_at)
            .bind(self.tenant_id)
            .bind(old_hash)
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| map_err("rotate refresh token", e))?;
        Ok(row.map(Into::into))
    }

    async fn rotate_refresh_bound(
        &self,
        old_hash: &str,
        rotation: &crate::BoundRotation,
    ) -> StoreResult<Option<Session>> {
        // The conditions of `BoundRotation::matches` and `refresh_deadline`, in SQL.
        let sql = format!(
            "UPDATE sessions SET previous_refresh_hash = refresh_hash, refresh_hash = ?, \
             rotated_at = ?, refresh_expires_at = CASE WHEN ? IS NULL THEN refresh_expires_at \
             WHEN expires_at IS NULL THEN ? ELSE MIN(expires_at, ?) END \
             WHERE tenant_id = ? AND refresh_hash = ? AND revoked_at IS NULL \
             AND client_id = ? AND dpop_jkt = ? AND client_key_thumbprint IS ? \
             AND refresh_expires_at > ? AND (expires_at IS NULL OR expires_at > ?) \
             RETURNING {SESSION_COLUMNS}"
        );
        let row: Option<SessionRow> = sqlx::query_as(&sql)
            .bind(&rotation.new_hash)
            .bind(rotation.now)
            .bind(rotation.inactivity_deadline)
            .bind(rotation.inactivity_deadline)
            .bind(rotation.inactivity_deadline)
            .bind(self.tenant_id)
            .bind(old_hash)
            .bind(&rotation.client_id)
            .bind(&rotation.dpop_jkt)
            .bind(&rotation.client_key_thumbprint)
            .bind(rotation.now)
            .bind(rotation.now)
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| map_err("rotate refresh token", e))?;
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
        sqlx::query(
            "UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) \
             WHERE tenant_id = ? AND id = ?",
        )
        .bind(now)
        .bind(self.tenant_id)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(|e| map_err("revoke session", e))?;
        Ok(())
    }

    async fn revoke_sessions_of_request(&self, request_id: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) \
             WHERE tenant_id = ? AND request_id = ?",
        )
        .bind(now)
        .bind(self.tenant_id)
        .bind(request_id)
        .execute(&self.writer)
        .await
        .map_err(|e| map_err("revoke sessions of request", e))?;
        Ok(())
    }

    async fn list_sessions(&self, filter: &SessionFilter, limit: u32) -> StoreResult<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE tenant_id = ?1 \
             AND (?2 IS NULL OR account_id = ?2) \
             AND (?3 IS NULL OR client_id = ?3) \
             ORDER BY created_at DESC, id LIMIT ?4"
        );
        let rows: Vec<SessionRow> = sqlx::query_as(&sql)
            .bind(self.tenant_id)
            .bind(filter.account_id.as_deref())
            .bind(filter.client_id.as_deref())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_err("list sessions", e))?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn revoke_sessions(&self, filter: &SessionFilter, now: i64) -> StoreResult<u64> {
        if filter.account_id.is_none() && filter.client_id.is_none() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = ?1 \
             WHERE tenant_id = ?2 AND revoked_at IS NULL \
             AND (?3 IS NULL OR account_id = ?3) \
             AND (?4 IS NULL OR client_id = ?4)",
        )
        .bind(now)
        .bind(self.tenant_id)
        .bind(filter.account_id.as_deref())
        .bind(filter.client_id.as_deref())
        .execute(&self.writer)
        .await
        .map_err(|e| map_err("revoke sessions", e))?;
        Ok(done.rows_affected())
    }

    // --- consent and device sign-ins

    async fn remember_consent(
        &self,
        account_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO consents (tenant_id, account_id, client_id, scope, updated_at) \
             VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (tenant_id, account_id, client_id) \
             DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at",
        )
        .bind(self.tenant_id)
        .bind(account_id)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(|e| map_err("remember consent", e))?;
        Ok(())
    }

    async fn consent(&self, account_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT scope FROM consents WHERE tenant_id = ? AND account_id = ? AND client_id = ?",
        )
        .bind(self.tenant_id)
        .bind(account_id)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map_err("find consent", e))?;
        Ok(row.map(|(scope,)| scope))
    }

    async fn add_device_account(
        &self,
        device_id: &str,
        account_id: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO device_accounts (tenant_id, device_id, account_id, signed_in_at) \
             VALUES (?, ?, ?, ?) \
             ON CONFLICT (tenant_id, device_id, account_id) \
             DO UPDATE SET signed_in_at = excluded.signed_in_at",
        )
        .bind(self.tenant_id)
        .bind(device_id)
        .bind(account_id)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(|e| map_err("remember device sign-in", e))?;
        Ok(())
    }

    async fn device_accounts(&self, device_id: &str) -> StoreResult<Vec<(Account, i64)>> {
        let rows: Vec<DeviceAccountRow> = sqlx::query_as(
            "SELECT a.id, a.did, a.handle, a.email, a.password_hash, a.created_at, a.disabled, \
             d.signed_in_at \
             FROM device_accounts d \
             JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id \
             WHERE d.tenant_id = ? AND d.device_id = ? AND a.disabled = 0 \
             ORDER BY d.signed_in_at DESC, d.rowid DESC",
        )
        .bind(self.tenant_id)
        .bind(device_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map_err("list device accounts", e))?;
        Ok(rows
            .into_iter()
            .map(|r| (r.account.into(), r.signed_in_at))
            .collect())
    }
}
