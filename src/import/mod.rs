//! Importers that turn files from outside sources into indicators. The engine
//! (`shadowserver`) is synchronous over `impl Read` and knows nothing of the database: it
//! yields mapped rows; `writer` merges them into a feed through `models/`, and `spool` turns
//! stdin, HTTP bodies and downloads into hashed temporary files. The CLI, the HTTP endpoint
//! and the pull command drive them.

pub mod gate;
pub mod shadowserver;
pub mod spool;
pub mod writer;
