-- Sign-in sessions of the web pages (issue 22): the cookie holds a random id, the row only its
-- SHA-256. A session reads as the token pasted at sign-in, so revoking that token, disabling
-- the user or deleting either ends it. Stored here, not in a gateway's memory, so every
-- gateway sharing the database knows it.
CREATE TABLE web_sessions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_hash BYTEA NOT NULL UNIQUE,
    token_id BIGINT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX web_sessions_token_id ON web_sessions (token_id);
CREATE INDEX web_sessions_expires_at ON web_sessions (expires_at);
