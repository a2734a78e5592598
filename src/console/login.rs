//! The console password: checking one at login, choosing the first on a
//! factory-fresh box.
//!
//! Owns: the rules of a password (length), SHA-crypt hashing and checking
//! (`$6$` written, `$5$` and `$6$` read: the /etc/shadow formats, so a hash
//! made with `mkpasswd -m sha-512` works), the running config with a new
//! hash set, and the delay after a wrong password. Must not: read the
//! terminal or talk to the daemon (the console's edge does both), or keep
//! a password anywhere but in the caller's buffer.

use std::time::Duration;

use sha_crypt::{PasswordHasher, PasswordVerifier, ShaCrypt};

use crate::config::{self, model::Appliance, Config};

/// The shortest password accepted, in characters.
pub const MIN_LEN: usize = 8;
/// The longest, in bytes (SHA-crypt's cost grows with the length).
pub const MAX_LEN: usize = 256;
/// Wrong passwords before the console hangs up (agetty starts it again).
pub const ATTEMPTS: u32 = 3;
/// The wait after a wrong password.
pub const DELAY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    #[error("the password is too short: expected at least {MIN_LEN} characters")]
    TooShort,
    #[error("the password is too long: expected at most {MAX_LEN} bytes")]
    TooLong,
    #[error("the two passwords differ")]
    Mismatch,
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("the running config does not read back ({0}); nothing committed")]
    Running(String),
}

/// Whether `new` may be the console password.
pub fn acceptable(new: &str) -> Result<(), LoginError> {
    if new.chars().count() < MIN_LEN {
        return Err(LoginError::TooShort);
    }
    if new.len() > MAX_LEN {
        return Err(LoginError::TooLong);
    }
    Ok(())
}

/// A new password typed twice -> its hash.
pub fn choose(new: &str, again: &str) -> Result<String, LoginError> {
    acceptable(new)?;
    if new != again {
        return Err(LoginError::Mismatch);
    }
    hash(new)
}

/// SHA-512-crypt of `password`, with a random salt of 16 characters
/// (12 bytes from the kernel's random pool, in crypt's base-64): the most
/// crypt(3) reads, so the hash checks the same under glibc.
pub fn hash(password: &str) -> Result<String, LoginError> {
    let mut salt = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut salt))
        .map_err(|e| LoginError::Hash(format!("no random salt: {e}")))?;
    ShaCrypt::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.as_str().to_owned())
        .map_err(|e| LoginError::Hash(e.to_string()))
}

/// Whether `password` matches `hash`; a hash that does not parse matches
/// nothing.
pub fn verify(password: &str, hash: &str) -> bool {
    password.len() <= MAX_LEN
        && ShaCrypt::default()
            .verify_password(password.as_bytes(), hash)
            .is_ok()
}

/// The console password hash of a config, if it sets one.
pub fn hash_of(c: &Config) -> Option<&str> {
    c.appliance.as_ref()?.console_password_hash.as_deref()
}

/// The running config's text with the console password hash set to
/// `hash` (an `appliance` block is added if there is none: the factory
/// default has none), ready to commit.
pub fn with_hash(running_text: &str, hash: &str) -> Result<String, LoginError> {
    let mut c = config::import_str("running", running_text, false)
        .map_err(|r| LoginError::Running(r.lines().join("; ")))?
        .config;
    c.appliance
        .get_or_insert_with(Appliance::default)
        .console_password_hash = Some(hash.to_owned());
    Ok(config::export::export(&c))
}

#[cfg(test)]
#[path = "login_tests.rs"]
mod tests;
