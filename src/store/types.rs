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
    fn a_digest_debug_shows_only_a_prefix() {
        let digest = Digest::new([0xab; 32]);
        assert_eq!(format!("{digest:?}"), "Digest(abababab…)");
    }
}
