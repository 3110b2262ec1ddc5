-- What a feed's exports apply (issue 19): `kind` marks a whitelist feed (its values leave its
-- owner's exports, or everybody's when `global`, which only admins set), and `max_prefix` /
-- `max_prefix6` are the feed's own bound on the networks its exports carry (NULL: the
-- server's, /16 and /48). A request's `max_prefix`/`max_prefix6` still wins.
ALTER TABLE feeds ADD COLUMN kind TEXT NOT NULL DEFAULT 'indicators'
    CHECK (kind IN ('indicators', 'whitelist'));
ALTER TABLE feeds ADD COLUMN global BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE feeds ADD COLUMN max_prefix INTEGER CHECK (max_prefix BETWEEN 0 AND 32);
ALTER TABLE feeds ADD COLUMN max_prefix6 INTEGER CHECK (max_prefix6 BETWEEN 0 AND 128);
-- Every export looks up the whitelist feeds that apply to it: its owner's and the global ones.
CREATE INDEX feeds_whitelists ON feeds (kind, user_id) WHERE kind = 'whitelist';
