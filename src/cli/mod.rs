//! The command line: `feedgate serve`, `feedgate user …`, `feedgate token …`, `feedgate import
//! …`, `feedgate shadowserver …`. Every command takes `--database-url` / `DATABASE_URL`; errors
//! are one line on stderr and exit code 1 (the import commands add 2 and 3: see their modules).

pub mod import;
pub mod serve;
pub mod shadowserver;
pub mod token;
pub mod user;

use clap::{Parser, Subcommand};

use crate::config::{DatabaseArgs, Settings};
use crate::db::{self, DatabaseUrl, DbPool, PoolOptions};

/// feedgate: share threat indicators over the CSIRTG v0 API.
#[derive(Debug, Parser)]
#[command(name = "feedgate", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (creates and migrates the database on start).
    Serve(Box<Settings>),
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Import report files into a feed.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// The Shadowserver Reports API: subscriptions, report types, statistics, pulls (and their
    /// check against the statistics), single reports and queries imported into a feed.
    #[command(subcommand)]
    Shadowserver(shadowserver::ShadowserverCommand),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(&cli.database.url)?;
    match cli.command {
        Command::Serve(settings) => serve::run(*settings, &url),
        Command::User(cmd) => user::run(cmd, &url),
        Command::Token(cmd) => token::run(cmd, &url),
        Command::Import(cmd) => import::run(cmd, &url),
        Command::Shadowserver(cmd) => shadowserver::run(cmd, &url),
    }
}

/// A small pool for one-shot commands; migrates like the server does.
pub(crate) fn open(url: &DatabaseUrl) -> anyhow::Result<DbPool> {
    Ok(db::connect(
        url,
        PoolOptions {
            max_size: 1,
            ..Default::default()
        },
    )?)
}
