-- atauth SQLite schema, version 1.
--
-- Conventions (kept simple so the PostgreSQL schema can mirror it):
--   * timestamps are INTEGER unix seconds, booleans INTEGER 0/1;
--   * every tenant-owned table starts its primary and unique keys with tenant_id, so the same
--     id at another tenant is a different row;
--   * handles and e-mail addresses are stored lowercased (by the Rust code) and compared
--     lowercased, instead of relying on collations;
--   * token and code material is only ever stored hashed.

CREATE TABLE tenants (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Bare origin, e.g. https://coop-a.example
    issuer          TEXT    NOT NULL UNIQUE,
    -- host[:port] of the issuer, lowercased
    host            TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    resource_server TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) STRICT;

CREATE TABLE tenant_secrets (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    name      TEXT    NOT NULL,
    value     BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, name)
) STRICT;

CREATE TABLE signing_keys (
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    kid        TEXT    NOT NULL,
    pkcs8      BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER,
    PRIMARY KEY (tenant_id, kid)
) STRICT;

CREATE TABLE accounts (
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    id            TEXT    NOT NULL,
    did           TEXT    NOT NULL,
    -- lowercased
    handle        TEXT    NOT NULL,
    -- lowercased
    email         TEXT,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, did),
    UNIQUE (tenant_id, handle),
    UNIQUE (tenant_id, email)
) STRICT;

-- A handle's host serves one DID document (did:web routing): handles are unique across tenants.
CREATE UNIQUE INDEX accounts_handle_global ON accounts (handle);

CREATE TABLE auth_requests (
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
    id              TEXT    NOT NULL,
    client_id       TEXT    NOT NULL,
    request_json    TEXT    NOT NULL,
    device_id       TEXT,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    account_id      TEXT,
    granted_scope   TEXT,
    code_hash       TEXT,
    code_expires_at INTEGER,
    code_used_at    INTEGER,
    approved_at     INTEGER,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code_hash)
) STRICT;

CREATE INDEX auth_requests_expires ON auth_requests (expires_at);

CREATE TABLE sessions (
    tenant_id             INTEGER NOT NULL REFERENCES tenants(id),
    id                    TEXT    NOT NULL,
    account_id            TEXT    NOT NULL,
    did                   TEXT    NOT NULL,
    client_id             TEXT    NOT NULL,
    request_id            TEXT    NOT NULL,
    dpop_jkt              TEXT    NOT NULL,
    scope                 TEXT    NOT NULL,
    client_key_thumbprint TEXT,
    refresh_hash          TEXT,
    previous_refresh_hash TEXT,
    rotated_at            INTEGER,
    expires_at            INTEGER,
    refresh_expires_at    INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    revoked_at            INTEGER,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, refresh_hash)
) STRICT;

CREATE INDEX sessions_previous_refresh ON sessions (tenant_id, previous_refresh_hash);
CREATE INDEX sessions_request ON sessions (tenant_id, request_id);

CREATE TABLE replay (
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    namespace  TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, namespace, key)
) STRICT;

CREATE INDEX replay_expires ON replay (expires_at);

CREATE TABLE consents (
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    account_id TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, account_id, client_id)
) STRICT;

CREATE TABLE device_accounts (
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    device_id    TEXT    NOT NULL,
    account_id   TEXT    NOT NULL,
    signed_in_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, device_id, account_id)
) STRICT;
