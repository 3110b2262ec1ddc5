//! The one integration test binary: black-box tests against the real server over HTTP, each on
//! a fresh SQLite file and, when `TEST_DATABASE_URL` is set, a fresh PostgreSQL schema.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly by design"
)]

/// Declares each test twice: on SQLite (always) and on PostgreSQL (reported as ignored, with the
/// reason, when `TEST_DATABASE_URL` was not set at build time).
macro_rules! both_backends {
    ($(fn $name:ident($app:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn sqlite() {
                let $app = TestApp::spawn(Backend::Sqlite);
                $body
            }
            #[test]
            #[cfg_attr(not(pg_tests), ignore = "TEST_DATABASE_URL not set: PostgreSQL run skipped")]
            fn postgres() {
                let $app = TestApp::spawn(Backend::Postgres);
                $body
            }
        }
    )*};
}

/// Like `both_backends!`, but the body receives a fresh database instead of a running app.
macro_rules! both_databases {
    ($(fn $name:ident($db:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn sqlite() {
                let $db = TestDb::new(Backend::Sqlite);
                $body
            }
            #[test]
            #[cfg_attr(not(pg_tests), ignore = "TEST_DATABASE_URL not set: PostgreSQL run skipped")]
            fn postgres() {
                let $db = TestDb::new(Backend::Postgres);
                $body
            }
        }
    )*};
}

mod hardening;
mod helpers;

mod access;
mod admin;
mod auth;
mod basics;
mod bulk;
mod changes;
mod cli;
mod curl_examples;
mod directory;
mod export;
mod export_cache;
mod feeds;
mod formats;
mod imports;
mod indicators;
mod limits;
mod marks;
mod openapi;
mod operator_filters;
mod pull;
mod purge;
mod sdk;
mod search;
mod search_filters;
mod shadowserver_ops;
mod taxii;
mod tokens;
mod validation;
mod web;
mod whitelist_feeds;

#[test]
fn postgres_variants_report_when_skipped() {
    if std::env::var_os("TEST_DATABASE_URL").is_none() {
        println!(
            "TEST_DATABASE_URL is not set: every PostgreSQL variant is skipped (shown as ignored)."
        );
    }
}
