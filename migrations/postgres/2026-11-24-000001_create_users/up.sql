-- Users, their API tokens and server-wide facts (bootstrap). Times are UTC, written by the application.
-- Limit overrides: NULL = inherit the server default, -1 = unlimited, N >= 0 = that limit.
CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    requests_per_day BIGINT CHECK (requests_per_day >= -1),
    max_private_feeds BIGINT CHECK (max_private_feeds >= -1),
    max_public_feeds BIGINT CHECK (max_public_feeds >= -1),
    max_indicators BIGINT CHECK (max_indicators >= -1),
    private_feed_count BIGINT NOT NULL DEFAULT 0,
    public_feed_count BIGINT NOT NULL DEFAULT 0,
    indicator_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    name TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id, id);

CREATE TABLE server_meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
