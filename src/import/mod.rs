//! Importers that turn files from outside sources into indicators. The engine
//! (`shadowserver`) is synchronous over `impl Read` and knows nothing of the database: it
//! yields mapped rows. `writer` drives an import into a feed (the ledger, file by file),
//! `pipeline` reads a file's batches on a second thread, `merge` applies a batch (§4.2 through
//! `domain::merge`, the statements of `models/`), and `spool` turns stdin, HTTP bodies and
//! downloads into hashed temporary files; `pull` is a Reports API pull into a feed (the CLI's
//! and the scheduled one). The CLI, the HTTP endpoint and the scheduler drive them.

pub mod gate;
mod merge;
mod pipeline;
pub mod pull;
pub mod shadowserver;
pub mod spool;
pub mod writer;
