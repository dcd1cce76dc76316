-- Signing key rotation. A key is published in the JWKS from created_at, signs from
-- activates_at (the newest key whose activates_at has come signs), is accepted for
-- verification until retires_at (set when a successor is published: the successor's
-- activation + the access token lifetime + a clock skew margin), and is then marked
-- retired_at. Keys created before this migration were active from their creation.
ALTER TABLE signing_keys ADD COLUMN activates_at INTEGER;
ALTER TABLE signing_keys ADD COLUMN retires_at INTEGER;
UPDATE signing_keys SET activates_at = created_at WHERE activates_at IS NULL;
