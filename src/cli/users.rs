//! `oauthd user …`

use clap::{ArgGroup, Args, Subcommand};

use super::input::read_secret_line;
use super::JsonFlag;
use crate::admin::users::{self, UserChanges};
use crate::admin::views::UserView;
use crate::admin::Origin;
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
        /// Make the user an administrator (the console's admin pages).
        #[arg(long)]
        admin: bool,
    },
    /// List users (--json: with their administrator and disabled flags).
    List(JsonFlag),
    /// Change a user: make them an administrator or no longer one.
    Update(UpdateUserArgs),
    /// Delete a user and every token issued for them.
    Delete { username: String },
    /// Set a new password, read from the first line of stdin. Tokens stay valid: use revoke-tokens.
    SetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: they cannot authenticate, and every token issued for them is revoked.
    Disable { username: String },
    /// Enable a disabled user again (their revoked tokens stay revoked).
    Enable { username: String },
    /// Revoke every token issued for a user (after a password reset).
    RevokeTokens { username: String },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("change").required(true).args(["admin", "no_admin"])))]
pub struct UpdateUserArgs {
    pub username: String,
    /// Make the user an administrator.
    #[arg(long)]
    pub admin: bool,
    /// Make the user no longer an administrator.
    #[arg(long)]
    pub no_admin: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

pub async fn run(auth: &Authority, command: UserCommand) -> anyhow::Result<()> {
    let origin = Origin::cli();
    match command {
        UserCommand::Create { username, admin, .. } => {
            let password = read_secret_line("password")?;
            users::create(auth, &username, &password).await?;
            if admin {
                users::set_admin(auth, &origin, &username, true).await?;
                println!("user {username} created, an administrator");
            } else {
                println!("user {username} created");
            }
        }
        UserCommand::List(flag) => {
            let all = users::list(auth).await?;
            if flag.json {
                let views: Vec<UserView> = all.iter().map(UserView::from).collect();
                println!("{}", serde_json::to_string(&views)?);
            } else {
                for u in &all {
                    println!("{}", u.username);
                }
            }
        }
        UserCommand::Update(args) => {
            let changes = UserChanges { admin: Some(args.admin), ..UserChanges::default() };
            let user = users::update(auth, &origin, &args.username, changes).await?;
            if args.json.json {
                println!("{}", serde_json::to_string(&UserView::from(&user))?);
            } else {
                let role = if user.admin { "an administrator" } else { "not an administrator" };
                println!("user {} is {role}", user.username);
            }
        }
        UserCommand::Delete { username } => {
            users::delete(auth, &origin, &username).await?;
            println!("user {username} deleted");
        }
        UserCommand::SetPassword { username, .. } => {
            let password = read_secret_line("password")?;
            users::set_password(auth, &origin, &username, &password).await?;
            println!("password of {username} changed");
        }
        UserCommand::Disable { username } => {
            users::set_disabled(auth, &origin, &username, true).await?;
            println!("user {username} disabled; their tokens are revoked");
        }
        UserCommand::Enable { username } => {
            users::set_disabled(auth, &origin, &username, false).await?;
            println!("user {username} enabled");
        }
        UserCommand::RevokeTokens { username } => {
            let grants = users::revoke_tokens(auth, &origin, &username).await?;
            println!("revoked every token of user {username} ({grants} grants)");
        }
    }
    Ok(())
}
