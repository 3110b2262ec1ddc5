//! Authentication and authorization: tokens, passwords, the credential headers, the caller
//! extractors, and the account operations shared by the CLI and the API.

pub mod access;
pub mod accounts;
pub mod cache;
pub mod caller;
pub mod header;
pub mod password;
pub mod resolve;
pub mod session;
pub mod token;
