-- See the SQLite migration of the same name: the prefix lengths of stored networks, in bits
-- of the 16-byte form, so an address search probes only those network starts.
CREATE TABLE ip_prefixes (
    bits BIGINT NOT NULL PRIMARY KEY
);
INSERT INTO ip_prefixes (bits)
SELECT DISTINCT (CASE WHEN itype = 'ipv4' THEN 96 ELSE 0 END)
                + CAST(split_part(value, '/', 2) AS BIGINT)
FROM indicators
WHERE ip_lo IS NOT NULL AND ip_lo <> ip_hi AND strpos(value, '/') > 0
ON CONFLICT DO NOTHING;
INSERT INTO ip_prefixes (bits)
SELECT bits FROM generate_series(0, 127) AS bits
WHERE EXISTS (SELECT 1 FROM indicators
              WHERE ip_lo IS NOT NULL AND ip_lo <> ip_hi AND strpos(value, '/') = 0)
ON CONFLICT DO NOTHING;
