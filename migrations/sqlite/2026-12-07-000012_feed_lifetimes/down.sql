ALTER TABLE feeds DROP COLUMN version;
ALTER TABLE feeds DROP COLUMN lifetimes;
