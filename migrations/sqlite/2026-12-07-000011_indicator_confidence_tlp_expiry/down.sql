DROP INDEX indicators_expires;
DROP INDEX indicators_ip_time;
DROP INDEX indicators_host_time;
CREATE INDEX indicators_ip_time ON indicators (ip_lo, ip_hi, effective_at, feed_id) WHERE ip_lo IS NOT NULL;
CREATE INDEX indicators_host_time ON indicators (host_rev, effective_at, feed_id) WHERE host_rev IS NOT NULL;
ALTER TABLE indicators DROP COLUMN expires_at;
ALTER TABLE indicators DROP COLUMN tlp;
ALTER TABLE indicators DROP COLUMN confidence;
