-- Lists render an indicator's attachments; the count lets them skip the attachments query for
-- the (usual) page where no indicator has any.
ALTER TABLE indicators ADD COLUMN attachments_count BIGINT NOT NULL DEFAULT 0;
UPDATE indicators SET attachments_count =
    (SELECT count(*) FROM attachments WHERE attachments.indicator_id = indicators.id)
WHERE id IN (SELECT indicator_id FROM attachments);
