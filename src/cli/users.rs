//! `oauthd user …`

use clap::Subcommand;
use serde_json::json;

use super::input::read_secret_line;
use super::JsonFlag;
use crate::admin::users;
use crate::oauth::Authority;

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
    /// Set a new password, read from the first line of stdin. Tokens stay valid: use revoke-tokens.
    SetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Revoke every token issued for a user (after a password reset).
    RevokeTokens { username: String },
}

pub async fn run(auth: &Authority, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { username, .. } => {
            let password = read_secret_line("password")?;
            users::create(auth, &username, &password).await?;
            println!("user {username} created");
        }
        UserCommand::List(flag) => {
            let all = users::list(auth).await?;
            if flag.json {
                let names: Vec<_> =
                    all.iter().map(|u| json!({"username": u.username, "created_at": u.created_at})).collect();
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
        UserCommand::RevokeTokens { username } => {
            let grants = users::revoke_tokens(auth, &username).await?;
            println!("revoked every token of user {username} ({grants} grants)");
        }
    }
    Ok(())
}
