//! Reading secrets from stdin (never from arguments) and values that may say "default".

use std::io::BufRead;
use std::str::FromStr;

use anyhow::Context as _;
use secrecy::SecretString;

/// Reads one line from stdin, without its line ending.
pub fn read_secret_line(what: &str) -> anyhow::Result<SecretString> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).with_context(|| format!("cannot read the {what} from stdin"))?;
    let trimmed = line.trim_end_matches(['\n', '\r']);
    if trimmed.is_empty() {
        anyhow::bail!("no {what} on stdin (pipe it in, e.g. `printf '%s\\n' \"$VALUE\" | oauthd …`)");
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

/// A per-client override: a value, or `default` to fall back to the server-wide setting.
#[derive(Debug, Clone, Copy)]
pub struct Override<T>(pub Option<T>);

impl FromStr for Override<i64> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "default" {
            return Ok(Override(None));
        }
        s.parse().map(|v| Override(Some(v))).map_err(|_| format!("expected seconds or `default`, got {s:?}"))
    }
}

impl FromStr for Override<bool> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "default" => Ok(Override(None)),
            "on" | "true" | "yes" => Ok(Override(Some(true))),
            "off" | "false" | "no" => Ok(Override(Some(false))),
            _ => Err(format!("expected on, off or default, got {s:?}")),
        }
    }
}
