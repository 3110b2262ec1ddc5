//! `feedgate user add|quota|usage|disable|enable`: creates users, sets their limits, shows
//! their usage and disables or enables them, through the same model functions as the admin API.
//! The server defaults are those `feedgate serve` would use in this environment (`FEEDGATE_*`).

use std::io::BufRead;
use std::str::FromStr;

use clap::{Parser, Subcommand};

use crate::auth::accounts::{self, MAX_TOKENS_PER_USER};
use crate::auth::password::Password;
use crate::clock::Clock;
use crate::config::{DefaultLimits, Settings};
use crate::db::{self, DatabaseUrl, DbConnection};
use crate::domain::limit::{Limit, MAX_LIMIT};
use crate::domain::name::Username;
use crate::limits::daily::next_midnight;
use crate::models::user::{self, LimitChanges, LimitKind, UserRow};

/// How a limit option's value is shown in `--help`.
const LIMIT_VALUE: &str = "N|unlimited|default";

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
    /// Set a user's limits (N, `unlimited`, or `default` to drop the override) and print the
    /// resulting effective limits; without options only prints them.
    Quota {
        /// The user name.
        name: String,
        /// Requests per UTC day.
        #[arg(long, value_name = LIMIT_VALUE, allow_negative_numbers = true)]
        requests_per_day: Option<String>,
        /// Private feeds.
        #[arg(long, value_name = LIMIT_VALUE, allow_negative_numbers = true)]
        max_private_feeds: Option<String>,
        /// Public feeds.
        #[arg(long, value_name = LIMIT_VALUE, allow_negative_numbers = true)]
        max_public_feeds: Option<String>,
        /// Indicators across all the user's feeds.
        #[arg(long, value_name = LIMIT_VALUE, allow_negative_numbers = true)]
        max_indicators: Option<String>,
    },
    /// Print a user's requests today, feeds, indicators and tokens with their limits.
    Usage {
        /// The user name.
        name: String,
    },
    /// Disable a user: every token of theirs fails from the next request on.
    Disable {
        /// The user name.
        name: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// The user name.
        name: String,
    },
}

/// A limit given on the command line: `Some` sets an override, `None` (`default`) drops it.
#[derive(Debug, Clone, Copy)]
pub struct LimitSetting(pub Option<Limit>);

impl FromStr for LimitSetting {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        if raw.trim().eq_ignore_ascii_case("default") {
            return Ok(LimitSetting(None));
        }
        Limit::from_str(raw)
            .map(|l| LimitSetting(Some(l)))
            .map_err(|_| {
                format!(
                    "a limit is an integer 0-{MAX_LIMIT}, 'unlimited' or 'default', not {raw:?}"
                )
            })
    }
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
            let hash = password.as_ref().map(Password::hash).transpose()?;
            let (row, minted) = db::write_tx(&mut conn, |c| {
                accounts::create_user(c, &name, admin, hash.as_deref(), now)
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
        UserCommand::Quota {
            name,
            requests_per_day,
            max_private_feeds,
            max_public_feeds,
            max_indicators,
        } => {
            // Parsed here, not by clap, so a bad value is one line and exit code 1.
            let given = [
                (
                    LimitKind::RequestsPerDay,
                    "requests-per-day",
                    requests_per_day,
                ),
                (
                    LimitKind::PrivateFeeds,
                    "max-private-feeds",
                    max_private_feeds,
                ),
                (LimitKind::PublicFeeds, "max-public-feeds", max_public_feeds),
                (LimitKind::Indicators, "max-indicators", max_indicators),
            ];
            let mut changes = LimitChanges::default();
            for (kind, flag, value) in given {
                if let Some(value) = value {
                    let setting = value
                        .parse::<LimitSetting>()
                        .map_err(|e| anyhow::anyhow!("--{flag}: {e}"))?;
                    changes.set(kind, setting.0);
                }
            }
            let defaults = server_defaults()?;
            let now = Clock::default().now();
            let pool = super::open(url)?;
            let mut conn = pool.get()?;
            let row = db::write_tx(&mut conn, |c| {
                let row = find_user(c, &name)?;
                if changes.is_empty() {
                    return Ok(row);
                }
                user::set_limits(c, row.id, &changes, now)?;
                Ok::<_, anyhow::Error>(user::find(c, row.id)?)
            })?;
            println!("{:<18}  {:>12}  SOURCE", "LIMIT", "VALUE");
            for kind in LimitKind::ALL {
                let source = match row.limit_override(kind) {
                    Some(_) => "override",
                    None => "default",
                };
                let value = row.limit(kind, &defaults).to_string();
                println!("{:<18}  {value:>12}  {source}", kind.name());
            }
            Ok(())
        }
        UserCommand::Usage { name } => {
            let defaults = server_defaults()?;
            let now = Clock::default().now();
            let pool = super::open(url)?;
            let mut conn = pool.get()?;
            let row = find_user(&mut conn, &name)?;
            let extra = user::extra_usage_of(&mut conn, row.id, now.date())?;
            println!(
                "{} on {} (UTC; requests reset at {})",
                row.username,
                now.date(),
                next_midnight(now).format("%Y-%m-%dT%H:%M:%SZ")
            );
            println!("{:<18}  {:>12}  {:>12}", "WHAT", "USED", "LIMIT");
            for kind in LimitKind::ALL {
                let limit = row.limit(kind, &defaults).to_string();
                let used = row.used(kind, extra.requests_today);
                println!("{:<18}  {used:>12}  {limit:>12}", kind.usage_name());
            }
            println!(
                "{:<18}  {:>12}  {:>12}",
                "tokens", extra.tokens, MAX_TOKENS_PER_USER
            );
            Ok(())
        }
        UserCommand::Disable { name } => set_disabled(url, &name, true),
        UserCommand::Enable { name } => set_disabled(url, &name, false),
    }
}

/// Disables or enables a user, refusing to disable the last enabled admin.
fn set_disabled(url: &DatabaseUrl, name: &str, disabled: bool) -> anyhow::Result<()> {
    let now = Clock::default().now();
    let pool = super::open(url)?;
    let mut conn = pool.get()?;
    let row = db::write_tx(&mut conn, |c| {
        let row = find_user(c, name)?;
        if disabled && user::would_remove_last_admin(c, row.id, false)? {
            anyhow::bail!("{} is the last enabled admin", row.username);
        }
        user::set_disabled(c, row.id, disabled, now)?;
        Ok(row)
    })?;
    let done = if disabled { "disabled" } else { "enabled" };
    eprintln!("{done} user {}", row.username);
    Ok(())
}

/// Finds a user by name; an unknown one is a one-line error.
fn find_user(c: &mut DbConnection, name: &str) -> anyhow::Result<UserRow> {
    user::find_by_name(c, name).map_err(|e| match e {
        diesel::result::Error::NotFound => anyhow::anyhow!("no such user: {name}"),
        other => other.into(),
    })
}

/// The default limits `feedgate serve` would use in this environment (`FEEDGATE_*` variables).
fn server_defaults() -> anyhow::Result<DefaultLimits> {
    #[derive(Parser)]
    struct FromEnv {
        #[command(flatten)]
        settings: Settings,
    }
    let parsed = FromEnv::try_parse_from(["feedgate"]).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default().to_string();
        anyhow::anyhow!("server settings: {}", first.trim_start_matches("error: "))
    })?;
    Ok(parsed.settings.default_limits())
}
