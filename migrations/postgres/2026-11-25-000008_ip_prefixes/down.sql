DROP TABLE ip_prefixes;
