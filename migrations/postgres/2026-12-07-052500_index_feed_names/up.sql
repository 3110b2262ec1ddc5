-- The directory of feeds (`GET /api/feeds`) pages every visible feed by (name, id): this index
-- gives that order, so a page reads its rows instead of sorting the table.
CREATE INDEX feeds_directory ON feeds (name, id);
