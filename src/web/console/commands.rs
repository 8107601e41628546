//! The seed's curl commands, filled in for one application and one token pair: refreshing
//! (`grant_type=refresh_token&refresh_token=<retoken>&scope=…` with `Authorization: Basic …,
//! Content-Type: application/x-www-form-urlencoded` as one header, as the seed writes it) and
//! revoking (`token=…` with `Authorization: Basic …`), against this server's issuer URL.
//!
//! The Basic value is the client id and secret, each form-urlencoded, joined by `:`, in base64
//! (RFC 6749 §2.3.1). The console knows the secret only when the user typed it in (and it was
//! verified); otherwise the command carries the seed's placeholder. A public application has no
//! secret: its commands name it by `client_id` in the body (RFC 6749 §3.2.1, RFC 7009 §2.1).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// `-k` when the server's certificate is self-signed (curl would refuse it), as the seed has it.
pub struct Target<'a> {
    pub issuer: &'a str,
    pub insecure: bool,
}

/// How the client authenticates in the commands.
pub enum Credentials<'a> {
    /// A confidential client whose secret the user gave.
    Basic { client_id: &'a str, secret: &'a str },
    /// A confidential client whose secret the console does not know: the seed's placeholder.
    Placeholder,
    /// A public client: `client_id` in the body.
    Public { client_id: &'a str },
}

/// The Basic value of RFC 6749 §2.3.1.
pub fn basic(client_id: &str, secret: &str) -> String {
    STANDARD.encode(format!("{}:{}", form_encode(client_id), form_encode(secret)))
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The refresh command for `refresh_token` with `scope` (the seed's `&scope=PRODUCTION`).
pub fn refresh(target: &Target<'_>, credentials: &Credentials<'_>, refresh_token: &str, scope: &str) -> String {
    let mut data = format!("grant_type=refresh_token&refresh_token={}", form_encode(refresh_token));
    if !scope.is_empty() {
        data.push_str(&format!("&scope={}", form_encode(scope)));
    }
    let header = match credentials {
        Credentials::Public { client_id } => {
            data.push_str(&format!("&client_id={}", form_encode(client_id)));
            "Content-Type: application/x-www-form-urlencoded".to_owned()
        }
        other => format!("{}, Content-Type: application/x-www-form-urlencoded", authorization(other)),
    };
    command(target, &data, &header, "/token")
}

/// The revoke command for `token` (the seed's `token=<ACCESS_TOKEN_TO_BE_REVOKED>`).
pub fn revoke(target: &Target<'_>, credentials: &Credentials<'_>, token: &str) -> String {
    let mut data = format!("token={}", form_encode(token));
    let header = match credentials {
        Credentials::Public { client_id } => {
            data.push_str(&format!("&client_id={}", form_encode(client_id)));
            "Content-Type: application/x-www-form-urlencoded".to_owned()
        }
        other => authorization(other),
    };
    command(target, &data, &header, "/revoke")
}

fn authorization(credentials: &Credentials<'_>) -> String {
    match credentials {
        Credentials::Basic { client_id, secret } => format!("Authorization: Basic {}", basic(client_id, secret)),
        Credentials::Placeholder | Credentials::Public { .. } => {
            "Authorization: Basic Base64Encoded(Consumer key:consumer secret)".to_owned()
        }
    }
}

fn command(target: &Target<'_>, data: &str, header: &str, path: &str) -> String {
    let k = if target.insecure { "-k " } else { "" };
    format!("curl {k}-d \"{data}\" -H \"{header}\" {}{path}", target.issuer.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_ID: &str = "IZsIi6HDbB5e8VKdZAnUi_fZ3f8a";
    const SEED_SECRET: &str = "Gm0bJ6oWV8fC5OQLLlC6jslACW8a";
    const SEED_BASIC: &str = "SVpzSWk2SERiQjVlOFZLZFpBblVpX2ZaM2Y4YTpHbTBiSjZvV1Y4ZkM1T1FMTGxDNmpzbEFDVzhh";

    fn seed() -> Credentials<'static> {
        Credentials::Basic { client_id: SEED_ID, secret: SEED_SECRET }
    }

    #[test]
    fn the_seeds_refresh_command_comes_out_letter_for_letter() {
        let target = Target { issuer: "https://gateway.api.cloud.wso2.com", insecure: true };
        assert_eq!(
            refresh(&target, &seed(), "<retoken>", "PRODUCTION").replace("%3C", "<").replace("%3E", ">"),
            format!(
                "curl -k -d \"grant_type=refresh_token&refresh_token=<retoken>&scope=PRODUCTION\" -H \"Authorization: Basic {SEED_BASIC}, Content-Type: application/x-www-form-urlencoded\" https://gateway.api.cloud.wso2.com/token"
            )
        );
    }

    #[test]
    fn the_seeds_revoke_command_comes_out_letter_for_letter() {
        let target = Target { issuer: "https://gateway.api.cloud.wso2.com/", insecure: true };
        assert_eq!(
            revoke(&target, &Credentials::Placeholder, "ACCESS"),
            "curl -k -d \"token=ACCESS\" -H \"Authorization: Basic Base64Encoded(Consumer key:consumer secret)\" https://gateway.api.cloud.wso2.com/revoke"
        );
        assert!(revoke(&target, &seed(), "ACCESS").contains(&format!("Basic {SEED_BASIC}\"")));
    }

    #[test]
    fn values_are_form_encoded_and_k_only_for_a_self_signed_certificate() {
        let target = Target { issuer: "http://127.0.0.1:8080", insecure: false };
        let command = refresh(&target, &seed(), "ort_a-b", "PRODUCTION SANDBOX");
        assert!(
            command.starts_with("curl -d \"grant_type=refresh_token&refresh_token=ort_a-b&scope=PRODUCTION+SANDBOX\"")
        );
        assert!(command.ends_with(" http://127.0.0.1:8080/token"));
        // RFC 6749 §2.3.1: the id and secret are form-urlencoded before base64.
        assert_eq!(basic("a:b", "c d"), STANDARD.encode("a%3Ab:c+d"));
    }

    #[test]
    fn a_public_client_is_named_in_the_body_without_a_basic_header() {
        let target = Target { issuer: "http://127.0.0.1:8080", insecure: false };
        let public = Credentials::Public { client_id: "spa" };
        let command = refresh(&target, &public, "ort_x", "");
        assert_eq!(
            command,
            "curl -d \"grant_type=refresh_token&refresh_token=ort_x&client_id=spa\" -H \"Content-Type: application/x-www-form-urlencoded\" http://127.0.0.1:8080/token"
        );
        assert!(!revoke(&target, &public, "oat_x").contains("Authorization"));
    }
}
