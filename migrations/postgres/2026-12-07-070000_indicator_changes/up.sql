-- The change log (issue 20): one row per create, update, delete and expiry of an indicator,
-- numbered by `seq`, which only grows (one sequence for every gateway). A feed's changes are
-- appended after its row was updated in the same transaction, under that row's lock, so they
-- are numbered in commit order. indicator_id has no foreign key: a deleted indicator's change outlives it.
-- tlp: the indicator's marking when the change was made (the TLP rule for deletes and expiries).
CREATE TABLE indicator_changes (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed_id BIGINT NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    indicator_id BIGINT NOT NULL,
    op SMALLINT NOT NULL,
    tlp TEXT,
    at TIMESTAMP NOT NULL
);
CREATE INDEX indicator_changes_feed_seq ON indicator_changes (feed_id, seq);
-- The largest seq the retention deleted from the feed: an older `since` is refused (410).
ALTER TABLE feeds ADD COLUMN changes_pruned_seq BIGINT NOT NULL DEFAULT 0;
