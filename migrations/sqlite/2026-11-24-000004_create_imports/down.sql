DROP TABLE import_reports;
DROP TABLE import_files;
