CREATE INDEX indicators_ip ON indicators (ip_lo, ip_hi) WHERE ip_lo IS NOT NULL;
CREATE INDEX indicators_host ON indicators (host_rev) WHERE host_rev IS NOT NULL;
DROP INDEX indicators_ip_time;
DROP INDEX indicators_host_time;
