DROP INDEX feeds_directory;
