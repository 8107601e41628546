//! The command line: `serve`, `migrate`, and the operator commands for clients and users.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::admin::clients::{self, ClientSpec};
use crate::admin::{tokens, users};
use crate::clock::Clock;
use crate::config::Settings;
use crate::oauth::revocation::Revoked;
use crate::oauth::Authority;
use crate::startup::{self, Application};
use crate::store::ClientRecord;

#[derive(Debug, Parser)]
#[command(
    name = "oauthd",
    version,
    about = "A standalone OAuth 2.0 authorization server"
)]
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
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage resource owners (users of the password grant).
    #[command(subcommand)]
    User(UserCommand),
    /// Issue or revoke tokens as an operator.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint an access + refresh token pair for a client (and a user), as from a console.
    Issue {
        #[arg(long)]
        client_id: String,
        /// Issue for this user (a password-grant family) instead of the client itself.
        #[arg(long)]
        username: Option<String>,
        /// A scope (repeatable); default: the client's default scopes.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Revoke a token: a refresh token with its whole grant family, an access token alone.
    /// `-` reads the token from stdin (keeps it out of the process list).
    Revoke { token: String },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a confidential client; prints its id and secret once.
    Create(CreateClientArgs),
    /// List clients.
    List(JsonFlag),
    /// Show one client.
    Show {
        client_id: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete a client and every token issued to it.
    Delete { client_id: String },
    /// Generate a new secret; prints it once. The old secret stops working at once.
    RotateSecret {
        client_id: String,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Args)]
pub struct CreateClientArgs {
    /// A human-readable name.
    #[arg(long)]
    pub name: String,
    /// A grant type the client may use (repeatable): client_credentials, password, refresh_token.
    #[arg(long = "grant-type", required = true)]
    pub grant_types: Vec<String>,
    /// A scope the client may request (repeatable).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// A scope granted when a request names none (repeatable); default: all of --scope.
    #[arg(long = "default-scope")]
    pub default_scopes: Vec<String>,
    /// Use this client id instead of a generated one (to migrate existing clients).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Read an existing secret from the first line of stdin instead of generating one.
    #[arg(long)]
    pub secret_stdin: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args, Clone, Copy)]
pub struct JsonFlag {
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from the first line of stdin, never from arguments.
    Create {
        #[arg(long)]
        username: String,
        /// Read the password from stdin (the only way; accepted for clarity).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List usernames.
    List(JsonFlag),
    /// Delete a user and every token issued for them.
    Delete { username: String },
    /// Set a new password, read from the first line of stdin.
    SetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
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
            Command::Migrate => {
                let store = crate::store::Store::connect(&settings.database).await?;
                store.migrate().await?;
                println!("migrations applied");
                Ok(())
            }
            Command::Client(command) => client_command(&open(settings).await?, command).await,
            Command::User(command) => user_command(&open(settings).await?, command).await,
            Command::Token(command) => token_command(&open(settings).await?, command).await,
        }
    }
}

async fn open(settings: Settings) -> anyhow::Result<Authority> {
    let store = startup::open_store(&settings).await?;
    startup::authority(settings, store, Clock::System)
}

async fn client_command(auth: &Authority, command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create(args) => {
            let secret = if args.secret_stdin {
                Some(read_secret_line("client secret")?)
            } else {
                None
            };
            let spec = ClientSpec {
                client_id: args.client_id,
                name: args.name,
                grant_types: args.grant_types,
                scopes: args.scopes,
                default_scopes: (!args.default_scopes.is_empty()).then_some(args.default_scopes),
                secret,
            };
            let created = clients::create(auth, spec).await?;
            print_credentials(&created.client, &created.client_secret, args.json.json);
        }
        ClientCommand::List(flag) => {
            let all = clients::list(auth).await?;
            if flag.json {
                println!(
                    "{}",
                    serde_json::Value::Array(all.iter().map(client_json).collect())
                );
            } else {
                for c in &all {
                    println!(
                        "{}\t{}\t{}\t{}",
                        c.client_id,
                        c.name,
                        c.grant_types.join(","),
                        c.scopes.join(" ")
                    );
                }
            }
        }
        ClientCommand::Show { client_id, json } => {
            let c = clients::find(auth, &client_id).await?;
            if json.json {
                println!("{}", client_json(&c));
            } else {
                println!("client_id:      {}", c.client_id);
                println!("name:           {}", c.name);
                println!("grant_types:    {}", c.grant_types.join(" "));
                println!("scopes:         {}", c.scopes.join(" "));
                println!("default_scopes: {}", c.default_scopes.join(" "));
                println!("secret_version: {}", c.secret_version);
            }
        }
        ClientCommand::Delete { client_id } => {
            clients::delete(auth, &client_id).await?;
            println!("client {client_id} deleted");
        }
        ClientCommand::RotateSecret { client_id, json } => {
            let secret = clients::rotate_secret(auth, &client_id).await?;
            let c = clients::find(auth, &client_id).await?;
            print_credentials(&c, &secret, json.json);
        }
    }
    Ok(())
}

async fn user_command(auth: &Authority, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { username, .. } => {
            let password = read_secret_line("password")?;
            users::create(auth, &username, &password).await?;
            println!("user {username} created");
        }
        UserCommand::List(flag) => {
            let all = users::list(auth).await?;
            if flag.json {
                let names: Vec<_> = all
                    .iter()
                    .map(|u| json!({"username": u.username, "created_at": u.created_at}))
                    .collect();
                println!("{}", serde_json::Value::Array(names));
            } else {
                for u in &all {
                    println!("{}", u.username);
                }
            }
        }
        UserCommand::Delete { username } => {
            users::delete(auth, &username).await?;
            println!("user {username} deleted");
        }
        UserCommand::SetPassword { username, .. } => {
            let password = read_secret_line("password")?;
            users::set_password(auth, &username, &password).await?;
            println!("password of {username} changed");
        }
    }
    Ok(())
}

async fn token_command(auth: &Authority, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Issue {
            client_id,
            username,
            scopes,
            json,
        } => {
            let answer = tokens::issue(auth, &client_id, username.as_deref(), &scopes).await?;
            if json.json {
                println!("{}", serde_json::to_string(&answer)?);
            } else {
                println!("access_token:  {}", answer.access_token.expose_secret());
                if let Some(refresh) = &answer.refresh_token {
                    println!("refresh_token: {}", refresh.expose_secret());
                }
                println!("expires_in:    {}", answer.expires_in);
                println!("scope:         {}", answer.scope);
            }
        }
        TokenCommand::Revoke { token } => {
            let token = if token == "-" {
                read_secret_line("token")?
            } else {
                SecretString::from(token)
            };
            match tokens::revoke(auth, token.expose_secret()).await? {
                Revoked::Family => println!("refresh token revoked with its whole grant family"),
                Revoked::AccessToken => println!("access token revoked"),
                Revoked::Unknown => println!("unknown token: nothing to revoke"),
            }
        }
    }
    Ok(())
}

fn client_json(c: &ClientRecord) -> serde_json::Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "grant_types": c.grant_types,
        "scopes": c.scopes,
        "default_scopes": c.default_scopes,
        "secret_version": c.secret_version,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    })
}

fn print_credentials(c: &ClientRecord, secret: &SecretString, as_json: bool) {
    if as_json {
        let mut v = client_json(c);
        v["client_secret"] = json!(secret.expose_secret());
        println!("{v}");
    } else {
        println!("client_id:     {}", c.client_id);
        println!("client_secret: {}", secret.expose_secret());
        println!("(the secret is shown only this once; oauthd keeps only its argon2id hash)");
    }
}

/// Reads one line from stdin, without its line ending.
fn read_secret_line(what: &str) -> anyhow::Result<SecretString> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("cannot read the {what} from stdin"))?;
    let trimmed = line.trim_end_matches(['\n', '\r']);
    if trimmed.is_empty() {
        anyhow::bail!(
            "no {what} on stdin (pipe it in, e.g. `printf '%s\\n' \"$VALUE\" | oauthd …`)"
        );
    }
    Ok(SecretString::from(trimmed.to_owned()))
}
