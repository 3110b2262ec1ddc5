-- Search without `q` by `asn=` or `cc=`: newest first among the rows of those autonomous
-- systems or countries. Only imported rows carry them, so API writes pay nothing for these.
CREATE INDEX indicators_asn ON indicators (asn, effective_at, id) WHERE asn IS NOT NULL;
CREATE INDEX indicators_cc ON indicators (cc, effective_at, id) WHERE cc IS NOT NULL;
