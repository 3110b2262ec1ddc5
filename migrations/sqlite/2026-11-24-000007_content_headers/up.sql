-- An imported row's stored copy names every column of its report: the names are most of its
-- bytes (about half of a scan_ssl row). A file's header is stored once here, and the row keeps
-- only its values, by position, with content_header pointing at the names; the API shows the
-- full text (spec §3.4), rebuilt when read. Rows without a content_header hold the full text.
-- digest: SHA-256 of names, the lookup key (names may be long). content_header has no foreign
-- key: headers are never deleted, and the check would run once per imported row (on
-- PostgreSQL a trigger query each).
CREATE TABLE content_headers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT NOT NULL UNIQUE,
    names TEXT NOT NULL
);
ALTER TABLE indicators ADD COLUMN content_header BIGINT;
