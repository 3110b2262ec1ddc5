ALTER TABLE indicators DROP COLUMN content_header;
DROP TABLE content_headers;
