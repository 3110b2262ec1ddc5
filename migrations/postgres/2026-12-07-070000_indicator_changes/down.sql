ALTER TABLE feeds DROP COLUMN changes_pruned_seq;
DROP TABLE indicator_changes;
