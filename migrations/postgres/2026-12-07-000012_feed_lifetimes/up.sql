-- A feed's own default lifetimes (`TYPE=DAYS` pairs over the server's `--lifetimes`); NULL: the server's.
ALTER TABLE feeds ADD COLUMN lifetimes TEXT;
-- Moves with every write to the feed or its indicators, in the writing transaction: an export
-- cached under one version is served only while the feed is still at it, on every gateway.
ALTER TABLE feeds ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
