//! One file per table: the row struct, the insert form and plain functions on `&mut DbConnection`
//! returning `QueryResult`, so the API, the CLI and the importer share them. `search` holds the
//! search statements, `stored_copy` an indicator's stored copy (sealed: the packed form of an
//! imported row's copy never leaves `models/`), `import_batch` the importer's statements
//! around a batch and `purge` the background purge's batch of expired indicators.

pub mod attachment;
pub mod change;
pub mod comment;
pub mod content_header;
pub mod daily;
pub mod feed;
pub mod import;
pub mod import_batch;
pub mod indicator;
pub mod ip_prefix;
pub mod meta;
pub mod purge;
pub mod search;
pub mod shadowserver_run;
pub mod shadowserver_schedule;
pub mod stored_copy;
pub mod token;
pub mod user;
pub mod web_session;
