DROP INDEX feeds_whitelists;
ALTER TABLE feeds DROP COLUMN max_prefix6;
ALTER TABLE feeds DROP COLUMN max_prefix;
ALTER TABLE feeds DROP COLUMN global;
ALTER TABLE feeds DROP COLUMN kind;
