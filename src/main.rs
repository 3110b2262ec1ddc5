//! The `feedgate` binary: parse the command line, set up logging, run the command.

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() {
    let cli = feedgate::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("FEEDGATE_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    if let Err(e) = feedgate::cli::run(cli) {
        // One line naming the problem; the chain is joined, never a backtrace.
        let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
        eprintln!("feedgate: error: {}", chain.join(": "));
        std::process::exit(1);
    }
}
