-- Admin API: per-cooperative branding and policies (validated JSON objects written by the
-- server; '{}' means the defaults) and the tenant-scoped admin tokens (stored hashed).
-- Mirrors migrations/sqlite/0003_admin.sql.
ALTER TABLE tenants ADD COLUMN branding TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tenants ADD COLUMN policies TEXT NOT NULL DEFAULT '{}';

CREATE TABLE admin_tokens (
    tenant_id  BIGINT NOT NULL,
    id         TEXT   NOT NULL,
    -- SHA-256 of the token (the token itself is shown once, never stored)
    token_hash TEXT   NOT NULL,
    label      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT admin_tokens_tenant_id_id_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT admin_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT admin_tokens_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id)
);

-- Admin listings and bulk revocation of sessions by account or client.
CREATE INDEX sessions_tenant_id_account_id_idx ON sessions (tenant_id, account_id);
CREATE INDEX sessions_tenant_id_client_id_idx ON sessions (tenant_id, client_id);
