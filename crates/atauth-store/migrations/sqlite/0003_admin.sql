-- Admin API: per-cooperative branding and policies (validated JSON objects written by the
-- server; '{}' means the defaults) and the tenant-scoped admin tokens (stored hashed).
ALTER TABLE tenants ADD COLUMN branding TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN policies TEXT NOT NULL DEFAULT '{}';

CREATE TABLE admin_tokens (
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    id         TEXT    NOT NULL,
    -- SHA-256 of the token (the token itself is shown once, never stored)
    token_hash TEXT    NOT NULL UNIQUE,
    label      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

-- Admin listings and bulk revocation of sessions by account or client.
CREATE INDEX sessions_account ON sessions (tenant_id, account_id);
CREATE INDEX sessions_client ON sessions (tenant_id, client_id);
