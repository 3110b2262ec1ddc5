//! feedgate: a threat-indicator sharing service speaking the CSIRTG v0 REST API.

pub mod api;
pub mod auth;
pub mod change_log;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod export;
pub mod framing;
pub mod import;
pub mod limits;
pub mod metrics;
pub mod models;
pub mod observe;
pub mod pulls;
pub mod purge;
pub mod startup;
pub mod state;
pub mod warninglists;
pub mod web;
