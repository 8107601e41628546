//! The command line: `serve`, `migrate`, `healthcheck`, and the operator commands for clients, users and tokens.
//! One file per command group under `cli/`; each parses with clap and calls `admin::`.

mod cleanup;
mod clients;
mod input;
mod tokens;
mod users;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::clock::Clock;
use crate::config::Settings;
use crate::oauth::Authority;
use crate::startup::{self, Application};

pub use clients::ClientCommand;
pub use tokens::TokenCommand;
pub use users::UserCommand;

#[derive(Debug, Parser)]
#[command(name = "oauthd", version, about = "A standalone OAuth 2.0 authorization server")]
pub struct Cli {
    /// Config file (TOML); see config/oauthd.toml. Environment variables OAUTHD_SECTION__KEY override it.
    #[arg(long, global = true, env = "OAUTHD_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates the database first unless database.migrate_on_start = false).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Exit 0 when the configured listener's /readyz answers 200 (for container HEALTHCHECKs).
    Healthcheck {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3, value_name = "SECS")]
        timeout: u64,
    },
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage resource owners (users of the password grant).
    #[command(subcommand)]
    User(UserCommand),
    /// Issue or revoke tokens as an operator.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run one janitor pass now: delete dead tokens and grant families ([janitor] settings).
    Cleanup(JsonFlag),
}

#[derive(Debug, Args, Clone, Copy)]
pub struct JsonFlag {
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let settings = Settings::load(self.config.as_deref())?;
        let serving = matches!(self.command, Command::Serve);
        crate::telemetry::init(&settings.log, !serving);
        match self.command {
            Command::Serve => {
                let app = Application::build(settings, Clock::System).await?;
                app.run_until_stopped().await
            }
            Command::Healthcheck { timeout } => {
                crate::healthcheck::probe(&settings, std::time::Duration::from_secs(timeout)).await?;
                println!("ready");
                Ok(())
            }
            Command::Migrate => {
                let store = crate::store::Store::connect(&settings.database).await?;
                store.migrate().await?;
                println!("migrations applied");
                Ok(())
            }
            Command::Client(command) => clients::run(&open(settings).await?, command).await,
            Command::User(command) => users::run(&open(settings).await?, command).await,
            Command::Token(command) => tokens::run(&open(settings).await?, command).await,
            Command::Cleanup(flag) => cleanup::run(&open(settings).await?, flag).await,
        }
    }
}

async fn open(settings: Settings) -> anyhow::Result<Authority> {
    let store = startup::open_store(&settings).await?;
    startup::authority(settings, store, Clock::System)
}
