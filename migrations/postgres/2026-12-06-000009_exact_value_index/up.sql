-- Only urls, e-mails and hashes are searched by their value (an exact match); addresses and
-- networks are searched through indicators_ip_time and names through indicators_host_time.
-- Indexing every value cost each stored address and name one more B-tree insert (a seventh of
-- a bulk insert's B-tree work) for an entry no search reads. The exact search names the same
-- predicate, so the planner can use this partial index.
DROP INDEX indicators_value;
CREATE INDEX indicators_value ON indicators (value) WHERE itype NOT IN ('ipv4', 'ipv6', 'fqdn');
