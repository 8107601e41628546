//! The `oauthd` binary: parse the command line and dispatch. Everything else is in the library.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    oauthd::cli::Cli::parse().run().await
}
