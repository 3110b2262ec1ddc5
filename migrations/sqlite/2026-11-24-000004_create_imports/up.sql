-- The Shadowserver import ledger (spec shadowserver.md §4.4). One row per file imported into a
-- feed, identified by (feed, file name, SHA-256); `state` is running, partial or complete;
-- `rows_skipped` and `summary` are JSON text. Report ids from the Reports API point at a ledger
-- row (several ids may share one). Times are UTC, written by the application.
CREATE TABLE import_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    feed_id BIGINT NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    report_type TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'partial', 'complete')),
    rows_read BIGINT NOT NULL DEFAULT 0,
    rows_skipped TEXT NOT NULL DEFAULT '{}',
    indicators_created BIGINT NOT NULL DEFAULT 0,
    summary TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (feed_id, name, sha256)
);

CREATE TABLE import_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    feed_id BIGINT NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    report_id TEXT NOT NULL,
    file_id BIGINT NOT NULL REFERENCES import_files (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (feed_id, report_id)
);
CREATE INDEX import_reports_file ON import_reports (file_id);
