-- Fixed-window rate-limit counters shared by every instance (sign-in throttling), used when
-- no Redis is configured. `key` is a hash: no handle, e-mail or address is stored in clear.
CREATE TABLE rate_limits (
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    key            TEXT    NOT NULL,
    count          INTEGER NOT NULL,
    window_ends_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
) STRICT;

CREATE INDEX rate_limits_window_ends_at ON rate_limits (window_ends_at);
