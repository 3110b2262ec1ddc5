DROP TABLE server_meta;
DROP TABLE api_tokens;
DROP TABLE users;
