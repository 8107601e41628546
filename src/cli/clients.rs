//! `oauthd client …`

use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::input::{read_secret_line, Override};
use super::JsonFlag;
use crate::admin::clients::{self, ClientChanges, ClientSpec};
use crate::admin::views::{auth_method, ClientView};
use crate::admin::Origin;
use crate::oauth::policy::Policy;
use crate::oauth::Authority;
use crate::store::{ClientRecord, GrantType};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a client; prints its id and, for a confidential client, its secret once.
    Create(CreateClientArgs),
    /// List clients.
    List(JsonFlag),
    /// Show one client with the token policy in force for it.
    Show {
        client_id: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Change a client's name, grants, scopes, redirect URIs, flags or token policy.
    Update(UpdateClientArgs),
    /// Delete a client and every token issued to it.
    Delete { client_id: String },
    /// Disable a client: it cannot authenticate, and every token issued to it is revoked.
    Disable { client_id: String },
    /// Enable a disabled client again (its revoked tokens stay revoked).
    Enable { client_id: String },
    /// Revoke every token issued to a client (after a leaked secret).
    RevokeTokens { client_id: String },
    /// Generate a new secret; prints it once. The old secret stops working at once; tokens
    /// already issued stay valid unless --revoke-tokens.
    RotateSecret {
        client_id: String,
        #[arg(long)]
        revoke_tokens: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Args)]
pub struct CreateClientArgs {
    /// A human-readable name.
    #[arg(long)]
    pub name: String,
    /// A grant type the client may use (repeatable): authorization_code, client_credentials,
    /// password, refresh_token.
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
    /// Mark the client as a resource server that may introspect any token.
    #[arg(long)]
    pub introspect: bool,
    /// A redirect URI for the authorization_code grant (repeatable): https, or
    /// http://127.0.0.1[:PORT]/… and http://[::1][:PORT]/… for native apps (any port matches).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// A public client (token_endpoint_auth_method none): no secret; authorization_code and
    /// refresh_token only, PKCE always.
    #[arg(long)]
    pub public: bool,
    /// Whether authorization requests must use PKCE (optional: confidential clients only).
    #[arg(long, value_enum, default_value = "required")]
    pub pkce: PkceArg,
    /// A first-party client: users are not asked for consent.
    #[arg(long, value_name = "on|off", num_args = 0..=1, default_missing_value = "on", value_parser = on_off)]
    pub first_party: Option<bool>,
    /// A user (existing username) who may manage the client in the console as their own
    /// application; without it, only operators manage it.
    #[arg(long, value_name = "USERNAME")]
    pub owner: Option<String>,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// `--pkce required|optional`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PkceArg {
    Required,
    Optional,
}

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!("expected on or off, got {s:?}")),
    }
}

#[derive(Debug, Args)]
pub struct UpdateClientArgs {
    pub client_id: String,
    #[arg(long)]
    pub name: Option<String>,
    /// Replace the allowed grant types (repeatable).
    #[arg(long = "grant-type")]
    pub grant_types: Option<Vec<String>>,
    /// Replace the allowed scopes (repeatable).
    #[arg(long = "scope")]
    pub scopes: Option<Vec<String>>,
    /// Replace the default scopes (repeatable).
    #[arg(long = "default-scope")]
    pub default_scopes: Option<Vec<String>>,
    /// May introspect tokens of any client: on or off.
    #[arg(long, value_name = "on|off")]
    pub introspect: Option<Override<bool>>,
    /// Access token lifetime in seconds, or `default`.
    #[arg(long, value_name = "SECS|default")]
    pub access_lifetime: Option<Override<i64>>,
    /// Refresh token lifetime in seconds, or `default`.
    #[arg(long, value_name = "SECS|default")]
    pub refresh_lifetime: Option<Override<i64>>,
    /// Absolute grant family lifetime in seconds (0 = unlimited), or `default`.
    #[arg(long, value_name = "SECS|default")]
    pub family_lifetime: Option<Override<i64>>,
    /// Rotate refresh tokens on use: on, off or default.
    #[arg(long, value_name = "on|off|default")]
    pub rotation: Option<Override<bool>>,
    /// Replay window in seconds (0 = strict), or `default`.
    #[arg(long, value_name = "SECS|default")]
    pub replay_window: Option<Override<i64>>,
    /// Issue refresh tokens with client_credentials grants: on, off or default.
    #[arg(long, value_name = "on|off|default")]
    pub client_credentials_refresh: Option<Override<bool>>,
    /// Replace the registered redirect URIs (repeatable).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Option<Vec<String>>,
    /// Whether authorization requests must use PKCE (optional: confidential clients only).
    #[arg(long, value_enum)]
    pub pkce: Option<PkceArg>,
    /// A first-party client (users are not asked for consent): on or off.
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    pub first_party: Option<bool>,
    #[command(flatten)]
    pub json: JsonFlag,
}

pub async fn run(auth: &Authority, command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create(args) => {
            let secret = if args.secret_stdin { Some(read_secret_line("client secret")?) } else { None };
            let spec = ClientSpec {
                client_id: args.client_id,
                name: args.name,
                grant_types: args.grant_types,
                scopes: args.scopes,
                default_scopes: (!args.default_scopes.is_empty()).then_some(args.default_scopes),
                secret,
                introspect: args.introspect,
                redirect_uris: args.redirect_uris,
                public: args.public,
                pkce_optional: args.pkce == PkceArg::Optional,
                first_party: args.first_party.unwrap_or(false),
                owner: args.owner,
            };
            let created = clients::create(auth, spec).await?;
            print_credentials(auth, &created.client, created.client_secret.as_ref(), args.json.json);
        }
        ClientCommand::List(flag) => {
            let all = clients::list(auth).await?;
            if flag.json {
                println!("{}", serde_json::Value::Array(all.iter().map(|c| client_json(auth, c)).collect()));
            } else {
                for c in &all {
                    let state = if c.disabled_at.is_some() { "disabled" } else { "enabled" };
                    println!(
                        "{}\t{}\t{}\t{}\t{state}",
                        c.client_id,
                        c.name,
                        grant_names(&c.grant_types).join(","),
                        c.scopes.join(" ")
                    );
                }
            }
        }
        ClientCommand::Show { client_id, json } => {
            let c = clients::find(auth, &client_id).await?;
            print_client(auth, &c, json.json);
        }
        ClientCommand::Update(args) => {
            let changes = ClientChanges {
                name: args.name,
                grant_types: args.grant_types,
                scopes: args.scopes,
                default_scopes: args.default_scopes,
                introspect: args.introspect.map(|o| o.0.unwrap_or(false)),
                access_lifetime_secs: args.access_lifetime.map(|o| o.0),
                refresh_lifetime_secs: args.refresh_lifetime.map(|o| o.0),
                family_lifetime_secs: args.family_lifetime.map(|o| o.0),
                rotate_refresh_tokens: args.rotation.map(|o| o.0),
                replay_window_secs: args.replay_window.map(|o| o.0),
                client_credentials_refresh: args.client_credentials_refresh.map(|o| o.0),
                redirect_uris: args.redirect_uris,
                pkce_required: args.pkce.map(|p| p == PkceArg::Required),
                first_party: args.first_party,
            };
            let c = clients::update(auth, &args.client_id, changes).await?;
            print_client(auth, &c, args.json.json);
        }
        ClientCommand::Delete { client_id } => {
            clients::delete(auth, &Origin::cli(), &client_id).await?;
            println!("client {client_id} deleted with every token issued to it");
        }
        ClientCommand::Disable { client_id } => {
            clients::set_disabled(auth, &Origin::cli(), &client_id, true).await?;
            println!("client {client_id} disabled; its tokens are revoked");
        }
        ClientCommand::Enable { client_id } => {
            clients::set_disabled(auth, &Origin::cli(), &client_id, false).await?;
            println!("client {client_id} enabled");
        }
        ClientCommand::RevokeTokens { client_id } => {
            let grants = clients::revoke_tokens(auth, &Origin::cli(), &client_id).await?;
            println!("revoked every token of client {client_id} ({grants} grants)");
        }
        ClientCommand::RotateSecret { client_id, revoke_tokens, json } => {
            let secret = clients::rotate_secret(auth, &Origin::cli(), &client_id, revoke_tokens).await?;
            let c = clients::find(auth, &client_id).await?;
            print_credentials(auth, &c, Some(&secret), json.json);
        }
    }
    Ok(())
}

/// The JSON of a client: the same shape the admin API answers.
fn client_json(auth: &Authority, c: &ClientRecord) -> serde_json::Value {
    serde_json::to_value(ClientView::new(&auth.settings.tokens, c)).unwrap_or_default()
}

fn print_client(auth: &Authority, c: &ClientRecord, as_json: bool) {
    if as_json {
        println!("{}", client_json(auth, c));
        return;
    }
    let p = Policy::for_client(&auth.settings.tokens, c);
    println!("client_id:                  {}", c.client_id);
    println!("name:                       {}", c.name);
    println!("grant_types:                {}", grant_names(&c.grant_types).join(" "));
    println!("scopes:                     {}", c.scopes.join(" "));
    println!("default_scopes:             {}", c.default_scopes.join(" "));
    println!("introspect (resource srv):  {}", c.introspect);
    println!("redirect_uris:              {}", c.redirect_uris.join(" "));
    println!("token_endpoint_auth_method: {}", auth_method(c));
    println!("pkce_required:              {}", c.pkce_required || c.public);
    println!("first_party:                {}", c.first_party);
    println!("disabled:                   {}", c.disabled_at.is_some());
    println!("owner:                      {}", c.owner.as_deref().unwrap_or("-"));
    println!("secret_version:             {}", c.secret_version);
    println!("access_lifetime_secs:       {}", p.access_lifetime_secs);
    println!("refresh_lifetime_secs:      {}", p.refresh_lifetime_secs);
    println!("family_lifetime_secs:       {}", p.family_lifetime_secs);
    println!("rotate_refresh_tokens:      {}", p.rotate_refresh_tokens);
    println!("replay_window_secs:         {}", p.replay_window_secs);
    println!("client_credentials_refresh: {}", p.client_credentials_refresh);
}

/// The RFC 8414 / RFC 7591 name of how the client authenticates at the token endpoint.
fn print_credentials(auth: &Authority, c: &ClientRecord, secret: Option<&SecretString>, as_json: bool) {
    if as_json {
        let mut v = client_json(auth, c);
        if let Some(secret) = secret {
            v["client_secret"] = json!(secret.expose_secret());
        }
        println!("{v}");
        return;
    }
    println!("client_id:     {}", c.client_id);
    match secret {
        Some(secret) => {
            println!("client_secret: {}", secret.expose_secret());
            println!("(the secret is shown only this once; oauthd keeps only its argon2id hash)");
        }
        None => println!("(a public client: it has no secret and identifies itself by its client_id)"),
    }
}

fn grant_names(grant_types: &[GrantType]) -> Vec<&'static str> {
    grant_types.iter().map(|g| g.as_str()).collect()
}
