//! Importers that turn files from outside sources into indicators. Each is synchronous over
//! `impl Read` and knows nothing of the database: it yields mapped rows, and the caller (the
//! CLI, the HTTP endpoint, the pull command) writes them through `models/`.

pub mod shadowserver;
