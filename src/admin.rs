//! Operator actions behind the CLI (`oauthd client …`, `oauthd user …`, `oauthd token …`); tests
//! seed through the same functions. Validation of names, secrets and lists lives here.

pub mod clients;
pub mod tokens;
pub mod users;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// RFC 6749 Appendix A: client ids, secrets are `*VSCHAR` (%x20-7E).
fn is_vschar_text(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7E).contains(&b))
}
