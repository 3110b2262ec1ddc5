//! Domain values that parse at the edge: once constructed, a value is valid. Pure `std` plus
//! small parsing crates; no diesel, no actix.

pub mod attachment;
pub mod expiry;
pub mod feed;
pub mod hex;
pub mod limit;
pub mod merge;
pub mod name;
pub mod page;
pub mod portlist;
pub mod protocol;
pub mod proxy;
pub mod tags;
pub mod thing;
pub mod time;
pub mod tlp;
pub mod viewer;
pub mod whitelist;

/// Why a raw value was refused; `code` is the per-field code of the spec (§5.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DomainError {
    pub code: &'static str,
    pub message: String,
}

impl DomainError {
    /// A refusal with a per-field code and a one-line explanation.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
