//! `feedgate user add NAME [--admin] [--password-stdin]`: creates a user and prints a new token.

use std::io::BufRead;

use clap::Subcommand;

use crate::auth::accounts;
use crate::auth::password::Password;
use crate::clock::Clock;
use crate::db::{self, DatabaseUrl};
use crate::domain::name::Username;

/// User commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and print its first read/write token.
    Add {
        /// The user name (lower-cased; a-z, 0-9, '.', '_', '-').
        name: String,
        /// Give the user the admin role.
        #[arg(long)]
        admin: bool,
        /// Read a password (12-1024 characters) from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Runs a user command.
pub fn run(cmd: UserCommand, url: &DatabaseUrl) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            name,
            admin,
            password_stdin,
        } => {
            let name =
                Username::parse(&name).map_err(|e| anyhow::anyhow!("invalid user name: {e}"))?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                let line = line.trim_end_matches(['\r', '\n']).to_string();
                Some(Password::parse(line).map_err(|e| anyhow::anyhow!("{e}"))?)
            } else {
                None
            };
            let pool = super::open(url)?;
            let mut conn = pool.get()?;
            let now = Clock::default().now();
            let (row, minted) = db::write_tx(&mut conn, |c| {
                accounts::create_user(c, &name, admin, password.as_ref(), now)
            })
            .map_err(|e| match e {
                accounts::AccountError::NameTaken => anyhow::anyhow!("user {name} already exists"),
                other => anyhow::anyhow!("cannot create user {name}: {other}"),
            })?;
            eprintln!(
                "created {} {} (token id {})",
                row.role, row.username, minted.row.id
            );
            println!("{}", minted.plain.expose());
            Ok(())
        }
    }
}
