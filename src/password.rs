//! Password hashes that Dovecot verifies, and one-time passwords.
//!
//! Hashes are stored as `{ARGON2ID}$argon2id$...`, the scheme prefix Dovecot's passdb expects,
//! so the same string serves our own logins and Dovecot's passwd-file/SQL passdb.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

pub const SCHEME_PREFIX: &str = "{ARGON2ID}";
/// Longer passwords are refused: argon2 would accept them, but nobody types them and they are
/// a cheap way to make every login hash megabytes.
pub const MAX_PASSWORD_LEN: usize = 1024;
pub const MIN_PASSWORD_LEN: usize = 8;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("password too short: at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("password too long: at most {MAX_PASSWORD_LEN} characters")]
    TooLong,
    #[error("password contains a control character")]
    ControlCharacter,
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Checks the password rules and returns the Dovecot-ready hash.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    if password.chars().any(char::is_control) {
        return Err(PasswordError::ControlCharacter);
    }
    let hash = Argon2::default().hash_password(password.as_bytes()).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(format!("{SCHEME_PREFIX}{hash}"))
}

/// Verifies a password against a stored hash; unknown schemes never verify.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Some(phc) = stored.strip_prefix(SCHEME_PREFIX) else { return false };
    if password.len() > MAX_PASSWORD_LEN {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A random password of 20 characters from an alphabet without look-alikes (no 0/O, 1/l/I).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    // 256 % 57 != 0 gives a slight bias; with 20 characters the entropy stays above 110 bits.
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_and_rejects_wrong_password() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("{ARGON2ID}$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse!", &h));
        assert!(!verify_password("correct horse", "{PLAIN}correct horse"));
    }

    #[test]
    fn bad_passwords_are_refused() {
        assert_eq!(hash_password("short"), Err(PasswordError::TooShort));
        assert_eq!(hash_password(&"x".repeat(2000)), Err(PasswordError::TooLong));
        assert_eq!(hash_password("line\nbreak!"), Err(PasswordError::ControlCharacter));
    }

    #[test]
    fn generated_passwords_differ() {
        let a = generate_password();
        assert_eq!(a.len(), 20);
        assert_ne!(a, generate_password());
    }
}
