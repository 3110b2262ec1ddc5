-- confidence: 0-10 (CIF's scale), NULL when the publisher gave none. tlp: the indicator's own
-- level, NULL for the feed's default (clear on a public feed, amber on a private one), so a feed
-- made public later shows its unmarked indicators. expires_at: NULL never expires; rows stored
-- before this migration keep never expiring.
ALTER TABLE indicators ADD COLUMN confidence DOUBLE PRECISION CHECK (confidence >= 0 AND confidence <= 10);
ALTER TABLE indicators ADD COLUMN tlp TEXT CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red'));
ALTER TABLE indicators ADD COLUMN expires_at TIMESTAMP;
-- Range searches choose their page from these indexes alone: the expiry and the level decide
-- whether an entry is shown, so they are in the index too.
DROP INDEX indicators_ip_time;
DROP INDEX indicators_host_time;
CREATE INDEX indicators_ip_time ON indicators (ip_lo, ip_hi, effective_at, feed_id, expires_at, tlp) WHERE ip_lo IS NOT NULL;
CREATE INDEX indicators_host_time ON indicators (host_rev, effective_at, feed_id, expires_at, tlp) WHERE host_rev IS NOT NULL;
-- The purge finds what expired long ago without reading live rows.
CREATE INDEX indicators_expires ON indicators (expires_at) WHERE expires_at IS NOT NULL;
