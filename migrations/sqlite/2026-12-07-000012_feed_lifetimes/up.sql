-- A feed's own default lifetimes (`TYPE=DAYS` pairs over the server's `--lifetimes`); NULL: the server's.
ALTER TABLE feeds ADD COLUMN lifetimes TEXT;
