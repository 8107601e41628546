//! The seed's client: the consumer key and secret its curl commands carry as `Basic SVpz…`.

use oauthd::admin::clients::ClientSpec;
use secrecy::SecretString;

use super::app::{TestApp, TestClient};

pub const SEED_CLIENT_ID: &str = "IZsIi6HDbB5e8VKdZAnUi_fZ3f8a";
pub const SEED_CLIENT_SECRET: &str = "Gm0bJ6oWV8fC5OQLLlC6jslACW8a";
/// The Basic value of the seed's curl commands, verbatim: `SEED_CLIENT_ID:SEED_CLIENT_SECRET`
/// in base64.
pub const SEED_BASIC: &str = "SVpzSWk2SERiQjVlOFZLZFpBblVpX2ZaM2Y4YTpHbTBiSjZvV1Y4ZkM1T1FMTGxDNmpzbEFDVzhh";

impl TestApp {
    /// The seed's client, its id and secret imported through the same code the CLI uses: every
    /// grant, scopes PRODUCTION and SANDBOX.
    pub async fn seed_client(&self) -> TestClient {
        self.create_client(ClientSpec {
            client_id: Some(SEED_CLIENT_ID.into()),
            name: "seed".into(),
            grant_types: vec!["client_credentials".into(), "password".into(), "refresh_token".into()],
            scopes: vec!["PRODUCTION".into(), "SANDBOX".into()],
            secret: Some(SecretString::from(SEED_CLIENT_SECRET.to_owned())),
            ..ClientSpec::default()
        })
        .await
    }
}
