-- Range searches (a CIDR block, a domain and its subdomains) match thousands of indicators and
-- answer the newest: with the time and the feed in the index, the page's ids are chosen from
-- the index alone and only the page's rows are read. They replace the narrower indexes, whose
-- columns they start with.
CREATE INDEX indicators_ip_time ON indicators (ip_lo, ip_hi, effective_at, feed_id) WHERE ip_lo IS NOT NULL;
CREATE INDEX indicators_host_time ON indicators (host_rev, effective_at, feed_id) WHERE host_rev IS NOT NULL;
DROP INDEX indicators_ip;
DROP INDEX indicators_host;
