-- TAXII 2.1 pages a feed oldest first by when each indicator's current version was written
-- (`updated_at`, its `date_added`), keyset on (updated_at, id): one range of this index per page,
-- at any depth.
CREATE INDEX indicators_feed_added ON indicators (feed_id, updated_at, id);
