//! `feedgate serve`: builds the application, prints the bootstrap token once, serves until
//! SIGTERM or Ctrl-C.

use crate::clock::Clock;
use crate::config::{Settings, ShadowserverCredentials};
use crate::db::DatabaseUrl;
use crate::startup::Application;

/// Runs the server in the current thread's actix system.
pub fn run(mut settings: Settings, url: &DatabaseUrl) -> anyhow::Result<()> {
    // Secrets come from the environment only, never from an argument (process lists).
    settings.shadowserver_credentials = ShadowserverCredentials::from_env();
    actix_web::rt::System::new().block_on(async move {
        let public = settings.public_url.clone();
        let bind = settings.bind.clone();
        let app = Application::build(settings, url, Clock::default())?;
        if let Some(minted) = &app.bootstrap {
            let base =
                public.unwrap_or_else(|| format!("http://{}", display_host(&bind, app.port())));
            // Deliberately eprintln, not tracing: the token must never reach a log pipeline.
            eprintln!("Created the first user 'admin'. Its API token is shown only this once:");
            eprintln!();
            eprintln!("    {}", minted.plain.expose());
            eprintln!();
            eprintln!("Try it:");
            eprintln!(
                "    curl -H 'Authorization: Token token={}' {}/api/users/admin",
                minted.plain.expose(),
                base.trim_end_matches('/')
            );
            eprintln!();
        }
        tracing::info!(database = ?url, port = app.port(), "feedgate listening");
        app.run_until_stopped().await?;
        tracing::info!("feedgate stopped");
        Ok(())
    })
}

/// `0.0.0.0` is not an address a client can use; show localhost instead.
fn display_host(bind: &str, port: u16) -> String {
    let host = bind.rsplit_once(':').map_or(bind, |(h, _)| h);
    let host = match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "[::]" => "[::1]",
        other => other,
    };
    format!("{host}:{port}")
}
