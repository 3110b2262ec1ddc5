-- Feeds and their indicators, comments and attachments. Times are UTC, written by the application.
CREATE TABLE feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    private BOOLEAN NOT NULL,
    license_name TEXT NOT NULL,
    license_url TEXT,
    indicator_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, name)
);

-- ip_lo/ip_hi: first and last address, 16 bytes big-endian, IPv4 mapped into ::ffff:0:0/96.
-- host_rev: the host name with labels reversed and a trailing dot (com.example.www.), for fqdns
-- and the hosts of urls and emails. effective_at: lasttime, else created_at (never NULL, so
-- ordering is the same on both backends). tags: the normalised tags joined with commas.
-- import_key: NULL for API-written indicators; set by the Shadowserver import.
CREATE TABLE indicators (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    feed_id BIGINT NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    itype TEXT NOT NULL CHECK (itype IN ('ipv4', 'ipv6', 'fqdn', 'url', 'email', 'md5', 'sha1', 'sha256', 'sha512')),
    ip_lo BLOB,
    ip_hi BLOB,
    host_rev BLOB,
    portlist TEXT,
    portlist_src TEXT,
    protocol BIGINT,
    firsttime TIMESTAMP,
    lasttime TIMESTAMP,
    effective_at TIMESTAMP NOT NULL,
    count BIGINT NOT NULL DEFAULT 1,
    description TEXT,
    content TEXT,
    provider TEXT,
    asn BIGINT,
    asn_desc TEXT,
    cc TEXT,
    tags TEXT NOT NULL DEFAULT '',
    import_key TEXT,
    comments_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX indicators_api_value ON indicators (feed_id, value) WHERE import_key IS NULL;
CREATE UNIQUE INDEX indicators_import_key ON indicators (feed_id, import_key) WHERE import_key IS NOT NULL;
CREATE INDEX indicators_feed_page ON indicators (feed_id, effective_at, id);
CREATE INDEX indicators_value ON indicators (value);
CREATE INDEX indicators_ip ON indicators (ip_lo, ip_hi) WHERE ip_lo IS NOT NULL;
CREATE INDEX indicators_host ON indicators (host_rev) WHERE host_rev IS NOT NULL;
CREATE INDEX indicators_user ON indicators (user_id);

CREATE TABLE comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    indicator_id BIGINT NOT NULL REFERENCES indicators (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX comments_indicator ON comments (indicator_id, id);
CREATE INDEX comments_user ON comments (user_id);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    indicator_id BIGINT NOT NULL REFERENCES indicators (id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    filesize BIGINT NOT NULL,
    sha1 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX attachments_indicator ON attachments (indicator_id, id);
