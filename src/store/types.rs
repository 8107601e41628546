//! The typed values of a row: a token's digest, its kind, and a grant type. Each is decoded once,
//! where the row leaves the database, so the layers above compare enums, never strings; a value
//! the database should never hold (an unknown kind, a digest of the wrong length) is a decode
//! error, not a silently inactive token.

use std::fmt;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// SHA-256 of a token's text: the only form in which a token is stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    pub fn new(bytes: [u8; 32]) -> Digest {
        Digest(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Digests are not secrets, but they are not for logs either: shown as a short prefix.
impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({:02x}{:02x}{:02x}{:02x}…)", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

impl<DB: Database> Type<DB> for Digest
where
    Vec<u8>: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <Vec<u8> as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <Vec<u8> as Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for Digest
where
    &'r [u8]: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let bytes = <&[u8] as Decode<DB>>::decode(value)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| format!("a digest has 32 bytes, not {}", bytes.len()))?;
        Ok(Digest(bytes))
    }
}

impl<'q, DB: Database> Encode<'q, DB> for Digest
where
    Vec<u8>: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
        <Vec<u8> as Encode<DB>>::encode(self.0.to_vec(), buf)
    }
}

/// Whether a token is an access token or a refresh token (`token.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// The grant types oauthd implements (RFC 6749 §4.1, §4.3, §4.4, §6): `grant_family.grant_type`,
/// and the space-separated `client.grant_types`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    AuthorizationCode,
    Password,
    ClientCredentials,
    RefreshToken,
}

impl GrantType {
    pub const ALL: [GrantType; 4] =
        [GrantType::AuthorizationCode, GrantType::ClientCredentials, GrantType::Password, GrantType::RefreshToken];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::Password => "password",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// Text enums: stored as their `as_str()` value, decoded back or refused.
macro_rules! text_enum {
    ($ty:ty, $what:literal) => {
        impl<DB: Database> Type<DB> for $ty
        where
            str: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $ty
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&str as Decode<DB>>::decode(value)?;
                <$ty>::from_column(text).ok_or_else(|| format!(concat!("unknown ", $what, " {:?}"), text).into())
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $ty
        where
            &'q str: Encode<'q, DB>,
        {
            fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
                <&str as Encode<DB>>::encode_by_ref(&self.as_str(), buf)
            }
        }
    };
}

impl TokenKind {
    fn from_column(text: &str) -> Option<TokenKind> {
        [TokenKind::Access, TokenKind::Refresh].into_iter().find(|k| k.as_str() == text)
    }
}

impl GrantType {
    fn from_column(text: &str) -> Option<GrantType> {
        GrantType::parse(text)
    }

    /// Decodes the space-separated `client.grant_types` column.
    pub(crate) fn parse_list(text: &str) -> Result<Vec<GrantType>, String> {
        text.split(' ')
            .filter(|g| !g.is_empty())
            .map(|g| GrantType::parse(g).ok_or_else(|| format!("unknown grant type {g:?}")))
            .collect()
    }
}

text_enum!(TokenKind, "token kind");
text_enum!(GrantType, "grant type");

/// Declares a text enum: its variants with their column names, `as_str`, `parse` (the inverse),
/// `ALL`, and the sqlx mapping of [`text_enum!`].
macro_rules! named_enum {
    ($(#[$meta:meta])* $ty:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident = $name:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ty {
            $($(#[$vmeta])* $variant,)+
        }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            pub fn parse(text: &str) -> Option<$ty> {
                $ty::ALL.iter().copied().find(|v| v.as_str() == text)
            }

            fn from_column(text: &str) -> Option<$ty> {
                $ty::parse(text)
            }
        }

        text_enum!($ty, $what);
    };
}

named_enum!(
    /// What a security event records (`security_event.kind`). The names are stable: operators
    /// filter on them and alerting rules match them.
    EventKind, "security event kind", {
        /// A rotated refresh token was presented again; its grant family was revoked.
        RefreshTokenReuse = "refresh_token_reuse",
        /// A used authorization code was presented again; the grant family its exchange created
        /// was revoked.
        AuthorizationCodeReuse = "authorization_code_reuse",
        /// Repeated failed sign-ins or password grants locked an account or an address out for
        /// a while: the hook for the throttle of failed authentications, which records one when a
        /// failure starts or lengthens a refusal (not each refused attempt, which would let anyone
        /// fill the table).
        LoginLocked = "login_locked",
        /// An administrator revoked one token (a refresh token with its grant family).
        TokenRevoked = "token_revoked",
        /// An administrator revoked one grant family.
        GrantRevoked = "grant_revoked",
        /// An administrator revoked every token of a client.
        ClientTokensRevoked = "client_tokens_revoked",
        /// An administrator revoked every token of a user.
        UserTokensRevoked = "user_tokens_revoked",
        /// A client was disabled (its tokens revoked) or enabled again.
        ClientDisabled = "client_disabled",
        ClientEnabled = "client_enabled",
        /// A client was deleted with every token issued to it.
        ClientDeleted = "client_deleted",
        /// A client was given a new secret.
        ClientSecretRotated = "client_secret_rotated",
        /// A user was disabled (their tokens revoked) or enabled again.
        UserDisabled = "user_disabled",
        UserEnabled = "user_enabled",
        /// A user was deleted with every token issued for them.
        UserDeleted = "user_deleted",
        /// An administrator set a user's password.
        UserPasswordReset = "user_password_reset",
        /// A user was made an administrator, or no longer is one.
        UserAdminGranted = "user_admin_granted",
        UserAdminRevoked = "user_admin_revoked",
        /// A token pair was issued without a grant at the token endpoint: by a user for their own
        /// application in the console, or by the operator (`oauthd token issue`).
        TokensIssued = "tokens_issued",
        /// A user withdrew their consent to a client (or an administrator did for them): the
        /// grants the user gave it were revoked and the consent forgotten.
        ConsentRevoked = "consent_revoked",
        /// A call to the admin API by a token carrying the admin scope (the audit trail).
        AdminApiCall = "admin_api_call",
        /// A call to the admin API refused for want of privileges (an active token without the
        /// admin scope, or of a user who is not an administrator).
        AdminApiDenied = "admin_api_denied",
        /// A form an administrator sent from the console's admin pages (the console's audit
        /// trail, as `admin_api_call` is the API's): what it asked and how it was answered.
        AdminConsoleAction = "admin_console_action",
    }
);

named_enum!(
    /// Who caused a security event (`security_event.actor_kind`).
    ActorKind, "actor kind", {
        /// A signed-in user: an administrator (the console or the admin API), or any user acting on
        /// their own applications in the console.
        User = "user",
        /// A client, through the admin API with a token of its own.
        Client = "client",
        /// The operator at the command line, on the server.
        Cli = "cli",
        /// oauthd itself (reuse detection, throttling).
        System = "system",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_types_round_trip_through_their_names() {
        for grant in GrantType::ALL {
            assert_eq!(GrantType::parse(grant.as_str()), Some(grant));
        }
        assert_eq!(GrantType::parse("implicit"), None);
        assert_eq!(GrantType::parse(""), None);
        assert_eq!(GrantType::parse("Password"), None, "names are case-sensitive");
    }

    #[test]
    fn a_grant_type_list_decodes_with_extra_spaces_and_refuses_unknown_names() {
        assert_eq!(
            GrantType::parse_list(" password  refresh_token "),
            Ok(vec![GrantType::Password, GrantType::RefreshToken])
        );
        assert_eq!(GrantType::parse_list(""), Ok(vec![]));
        assert!(GrantType::parse_list("password implicit").is_err());
    }

    #[test]
    fn token_kinds_decode_only_from_their_own_names() {
        assert_eq!(TokenKind::from_column("access"), Some(TokenKind::Access));
        assert_eq!(TokenKind::from_column("refresh"), Some(TokenKind::Refresh));
        assert_eq!(TokenKind::from_column("ACCESS"), None);
    }

    #[test]
    fn event_and_actor_kinds_round_trip_through_their_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
        }
        for kind in ActorKind::ALL {
            assert_eq!(ActorKind::from_column(kind.as_str()), Some(*kind));
        }
        assert_eq!(EventKind::parse("Refresh_Token_Reuse"), None, "names are case-sensitive");
        assert_eq!(ActorKind::parse("admin"), None);
    }

    #[test]
    fn a_digest_debug_shows_only_a_prefix() {
        let digest = Digest::new([0xab; 32]);
        assert_eq!(format!("{digest:?}"), "Digest(abababab…)");
    }
}
