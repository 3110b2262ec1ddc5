DROP TABLE attachments;
DROP TABLE comments;
DROP TABLE indicators;
DROP TABLE feeds;
