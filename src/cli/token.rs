//! `feedgate token create|list|revoke`: token management on the server's database.

use clap::Subcommand;

use crate::auth::accounts::{self, TokenSpec};
use crate::clock::Clock;
use crate::db::{self, DatabaseUrl};
use crate::models::{token, user};

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a token for a user and print it (shown only this once).
    Create {
        #[arg(long)]
        user: String,
        /// Read scope only.
        #[arg(long)]
        read_only: bool,
        /// Expire after this many days (1-3650).
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=3650))]
        expires: Option<i64>,
        /// A name to tell tokens apart.
        #[arg(long, default_value = "token")]
        name: String,
    },
    /// List a user's unrevoked tokens (never their values).
    List {
        #[arg(long)]
        user: String,
    },
    /// Revoke a token by id.
    Revoke { id: i64 },
}

/// Runs a token command.
pub fn run(cmd: TokenCommand, url: &DatabaseUrl) -> anyhow::Result<()> {
    let pool = super::open(url)?;
    let mut conn = pool.get()?;
    let now = Clock::default().now();
    let find = |c: &mut db::DbConnection, name: &str| {
        user::find_by_name(c, name).map_err(|e| match e {
            diesel::result::Error::NotFound => anyhow::anyhow!("no such user: {name}"),
            other => other.into(),
        })
    };
    match cmd {
        TokenCommand::Create {
            user,
            read_only,
            expires,
            name,
        } => {
            if name.is_empty() || name.chars().count() > 100 {
                anyhow::bail!("a token name is 1-100 characters");
            }
            let spec = TokenSpec {
                name,
                write: !read_only,
                expires_at: expires.map(|d| now + chrono::Duration::days(d)),
            };
            let minted = db::write_tx(&mut conn, |c| {
                let owner = find(c, &user)?;
                accounts::mint_token(c, owner.id, &spec, now).map_err(anyhow::Error::from)
            })?;
            eprintln!(
                "created token {} ({}) for {user}",
                minted.row.id, minted.row.prefix
            );
            println!("{}", minted.plain.expose());
        }
        TokenCommand::List { user } => {
            let owner = find(&mut conn, &user)?;
            let rows = token::list_active(&mut conn, owner.id)?;
            println!(
                "{:>6}  {:<11}  {:<10}  {:<20}  {:<20}  {:<20}  NAME",
                "ID", "PREFIX", "SCOPE", "CREATED", "EXPIRES", "LAST USED"
            );
            let show = |t: Option<chrono::NaiveDateTime>| {
                t.map_or("-".to_string(), |t| {
                    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
                })
            };
            for t in rows {
                let scope = if t.scope == token::SCOPE_WRITE {
                    "read,write"
                } else {
                    "read"
                };
                println!(
                    "{:>6}  {:<11}  {:<10}  {:<20}  {:<20}  {:<20}  {}",
                    t.id,
                    t.prefix,
                    scope,
                    show(Some(t.created_at)),
                    show(t.expires_at),
                    show(t.last_used_at),
                    t.name
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let row = db::write_tx(&mut conn, |c| token::revoke(c, id, None, now)).map_err(
                |e| match e {
                    diesel::result::Error::NotFound => {
                        anyhow::anyhow!("no unrevoked token with id {id}")
                    }
                    other => other.into(),
                },
            )?;
            eprintln!("revoked token {} ({})", row.id, row.prefix);
        }
    }
    Ok(())
}
