-- The prefix lengths (in bits of the 16-byte form: an IPv4 /24 is 120) of the networks stored
-- as indicators. An address search probes the address index once per enclosing network start;
-- probing only the lengths listed here, instead of all 25 (IPv4) or 97 (IPv6), is most of its
-- index work saved. Writers add a length in the transaction that stores its first network;
-- nothing removes one (a length no longer stored costs a probe, never a missed match).
CREATE TABLE ip_prefixes (
    bits BIGINT NOT NULL PRIMARY KEY
);
-- Every stored network's value carries its prefix length after the '/'.
INSERT OR IGNORE INTO ip_prefixes (bits)
SELECT DISTINCT (CASE WHEN itype = 'ipv4' THEN 96 ELSE 0 END)
                + CAST(substr(value, instr(value, '/') + 1) AS INTEGER)
FROM indicators
WHERE ip_lo IS NOT NULL AND ip_lo <> ip_hi AND instr(value, '/') > 0;
-- Should a network without one exist, every length is listed: slower searches, never wrong ones.
WITH RECURSIVE n(bits) AS (SELECT 0 UNION ALL SELECT bits + 1 FROM n WHERE bits < 127)
INSERT OR IGNORE INTO ip_prefixes (bits)
SELECT bits FROM n
WHERE EXISTS (SELECT 1 FROM indicators
              WHERE ip_lo IS NOT NULL AND ip_lo <> ip_hi AND instr(value, '/') = 0);
