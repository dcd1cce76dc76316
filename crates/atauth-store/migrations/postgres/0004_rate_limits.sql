-- Fixed-window rate-limit counters shared by every instance (sign-in throttling), used when
-- no Redis is configured. `key` is a hash: no handle, e-mail or address is stored in clear.
CREATE TABLE rate_limits (
    tenant_id      BIGINT  NOT NULL,
    key            TEXT    NOT NULL,
    count          BIGINT  NOT NULL,
    window_ends_at BIGINT  NOT NULL,
    CONSTRAINT rate_limits_tenant_id_key_pkey PRIMARY KEY (tenant_id, key),
    CONSTRAINT rate_limits_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id)
);

CREATE INDEX rate_limits_window_ends_at_idx ON rate_limits (window_ends_at);
