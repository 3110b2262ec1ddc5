ALTER TABLE feeds DROP COLUMN lifetimes;
