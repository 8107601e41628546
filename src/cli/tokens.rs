//! `oauthd token …`

use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};

use super::input::read_secret_line;
use super::JsonFlag;
use crate::admin::{tokens, Origin};
use crate::oauth::revocation::Revoked;
use crate::oauth::Authority;

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

pub async fn run(auth: &Authority, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Issue { client_id, username, scopes, json } => {
            let answer = tokens::issue(auth, &Origin::cli(), &client_id, username.as_deref(), &scopes).await?;
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
            let token = if token == "-" { read_secret_line("token")? } else { SecretString::from(token) };
            match tokens::revoke(auth, &Origin::cli(), token.expose_secret()).await?.map(|r| r.revoked) {
                Some(Revoked::Family) => println!("refresh token revoked with its whole grant family"),
                Some(Revoked::AccessToken) => println!("access token revoked"),
                Some(Revoked::Unknown) | None => println!("unknown token: nothing to revoke"),
            }
        }
    }
    Ok(())
}
