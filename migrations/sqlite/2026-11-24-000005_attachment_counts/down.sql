ALTER TABLE indicators DROP COLUMN attachments_count;
