//! OpenPGP detached signatures (`N.tar.gz.asc`) over channel tarballs, with rPGP. Pure: keys,
//! signatures and data come in as bytes; the keyring directory is read by the caller.

use pgp::composed::{Deserializable as _, DetachedSignature, SignedPublicKey, SignedSecretKey};
use pgp::types::KeyDetails as _;
use std::io::Cursor;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("not an OpenPGP public key: {0}")]
    BadKey(String),
    #[error("not an OpenPGP secret key: {0}")]
    BadSecretKey(String),
    #[error("no trusted OpenPGP key: import the channel's public key with --import")]
    NoTrustedKeys,
    #[error("{0}: no signature file (the channel is not signed; --nogpg trusts the checksums instead)")]
    Missing(String),
    #[error("{file}: not an OpenPGP signature: {reason}")]
    Malformed { file: String, reason: String },
    #[error("{file}: signed by unknown key {issuer}: import it with --import, or trust it with --gpgkey")]
    UnknownKey { file: String, issuer: String },
    #[error("{file}: BAD signature from key {key}: the tarball was changed after signing")]
    Bad { file: String, key: String },
    #[error("cannot sign: {0}")]
    Sign(String),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The fingerprint of a key as 40 (v4) or 64 (v6) upper-case hex digits.
pub fn fingerprint(key: &SignedPublicKey) -> String {
    hex(key.primary_key.fingerprint().as_ref())
}

/// Public keys, armored or binary; a file may hold several.
pub fn parse_public_keys(bytes: &[u8]) -> Result<Vec<SignedPublicKey>, SignatureError> {
    // Key files often carry a note before the armor (Debian's copy of the ASF key does).
    let armor_start = bytes.windows(14).position(|w| w == b"-----BEGIN PGP");
    let keys: Vec<SignedPublicKey> = if let Some(start) = armor_start {
        let text = std::str::from_utf8(&bytes[start..]).map_err(|e| SignatureError::BadKey(e.to_string()))?;
        let (iter, _) = SignedPublicKey::from_string_many(text).map_err(|e| SignatureError::BadKey(e.to_string()))?;
        iter.collect::<Result<_, _>>().map_err(|e| SignatureError::BadKey(e.to_string()))?
    } else {
        SignedPublicKey::from_bytes_many(Cursor::new(bytes))
            .map_err(|e| SignatureError::BadKey(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| SignatureError::BadKey(e.to_string()))?
    };
    if keys.is_empty() {
        return Err(SignatureError::BadKey("no key in the file".into()));
    }
    for key in &keys {
        verify_bindings(key).map_err(|e| SignatureError::BadKey(format!("{}: {e}", fingerprint(key))))?;
    }
    Ok(keys)
}

/// The key's self-signatures and subkey bindings. Unlike rPGP's `verify_bindings`, a signing
/// subkey without the embedded back-signature is accepted when its binding by the primary key
/// is valid, as GnuPG (and so sa-update) accepts it: the ASF release key from 2005 has one.
/// The back-signature guards against someone attaching another person's subkey to their own
/// key; here the administrator picks the trusted key explicitly, which makes that moot.
fn verify_bindings(key: &SignedPublicKey) -> pgp::errors::Result<()> {
    key.details.verify_bindings(&key.primary_key)?;
    for subkey in &key.public_subkeys {
        if subkey.signatures.is_empty() {
            return Err(pgp::errors::Error::Message { message: "subkey without binding signature".into(), backtrace: None });
        }
        for sig in &subkey.signatures {
            sig.verify_subkey_binding(&key.primary_key, &subkey.key)?;
            if let Some(backsig) = sig.embedded_signature() {
                backsig.verify_primary_key_binding(&subkey.key, &key.primary_key)?;
            }
        }
    }
    Ok(())
}

/// The armored form of a public key, as stored in the keyring directory.
pub fn armored_public_key(key: &SignedPublicKey) -> Result<String, SignatureError> {
    key.to_armored_string(Default::default()).map_err(|e| SignatureError::BadKey(e.to_string()))
}

/// Whether `id` (8 or 16 hex digits of key id, or a full fingerprint, any case, optional `0x`)
/// names `key` or one of its subkeys.
pub fn key_matches(key: &SignedPublicKey, id: &str) -> bool {
    let id = id.trim().trim_start_matches("0x").to_ascii_uppercase();
    if !(id.len() >= 8 && id.bytes().all(|b| b.is_ascii_hexdigit())) {
        return false;
    }
    let mut fingerprints = vec![fingerprint(key)];
    fingerprints.extend(key.public_subkeys.iter().map(|s| hex(s.key.fingerprint().as_ref())));
    let mut ids = vec![hex(key.primary_key.legacy_key_id().as_ref())];
    ids.extend(key.public_subkeys.iter().map(|s| hex(s.key.legacy_key_id().as_ref())));
    fingerprints.contains(&id) || ids.iter().any(|k| k.ends_with(&id))
}

/// Checks the detached signature `asc` over `data` against `trusted`. Returns the fingerprint
/// of the key that made it.
pub fn verify_detached(trusted: &[SignedPublicKey], asc: &[u8], data: &[u8], file: &str) -> Result<String, SignatureError> {
    if trusted.is_empty() {
        return Err(SignatureError::NoTrustedKeys);
    }
    let malformed = |reason: String| SignatureError::Malformed { file: file.to_string(), reason };
    let signature = if asc.trim_ascii_start().starts_with(b"-----BEGIN") {
        DetachedSignature::from_armor_single(Cursor::new(asc)).map(|(s, _)| s)
    } else {
        DetachedSignature::from_bytes(Cursor::new(asc))
    }
    .map_err(|e| malformed(e.to_string()))?;
    let mut issuers: Vec<String> = signature.signature.issuer_fingerprint().iter().map(|f| hex(f.as_ref())).collect();
    issuers.extend(signature.signature.issuer_key_id().iter().map(|k| hex(k.as_ref())));
    if issuers.is_empty() {
        return Err(malformed("no issuer in the signature".into()));
    }
    let signer = trusted.iter().find(|key| issuers.iter().any(|i| key_matches(key, i)));
    let Some(signer) = signer else {
        return Err(SignatureError::UnknownKey { file: file.to_string(), issuer: issuers[0].clone() });
    };
    let by_primary = signature.verify(&signer.primary_key, data).is_ok();
    let by_subkey = || signer.public_subkeys.iter().any(|s| signature.verify(&s.key, data).is_ok());
    if by_primary || by_subkey() {
        Ok(fingerprint(signer))
    } else {
        Err(SignatureError::Bad { file: file.to_string(), key: fingerprint(signer) })
    }
}

/// Signs `data` with the primary key of an (unprotected) armored secret key. Returns the
/// armored signature and the armored public key to publish beside it.
pub fn sign_detached(secret_key: &[u8], data: &[u8]) -> Result<(String, String), SignatureError> {
    let (key, _) = SignedSecretKey::from_armor_single(Cursor::new(secret_key)).map_err(|e| SignatureError::BadSecretKey(e.to_string()))?;
    let signature = DetachedSignature::sign_binary_data(
        rand::thread_rng(),
        &key.primary_key,
        &pgp::types::Password::empty(),
        pgp::crypto::hash::HashAlgorithm::Sha512,
        data,
    )
    .map_err(|e| SignatureError::Sign(e.to_string()))?;
    let armored = signature.to_armored_string(Default::default()).map_err(|e| SignatureError::Sign(e.to_string()))?;
    let public = armored_public_key(&key.to_public_key())?;
    Ok((armored, public))
}
