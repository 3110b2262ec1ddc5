-- Search without `q` by filters other than `asn`/`cc` (issue 20): the newest indicators of
-- every visible feed, in time order from this index alone (it holds what visibility, expiry
-- and the TLP rule read), the other filters checked on at most a scan budget of its entries.
CREATE INDEX indicators_time ON indicators (effective_at, id, feed_id, expires_at, tlp);
