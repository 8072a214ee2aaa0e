//! Checksums of a downloaded tarball (`N.tar.gz.sha512` / `.sha256`). Pure. OpenPGP
//! signatures are in [`super::signature`].

use sha2::Digest as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Sha512,
    Sha256,
}

impl Algorithm {
    pub fn extension(self) -> &'static str {
        match self {
            Algorithm::Sha512 => "sha512",
            Algorithm::Sha256 => "sha256",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha512 => 128,
            Algorithm::Sha256 => 64,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("{file}: not a {algorithm} checksum file (expected {expected} hex digits first)")]
    Malformed { file: String, algorithm: &'static str, expected: usize },
    #[error("{file}: checksum mismatch: the tarball's {algorithm} is {actual}, the channel says {expected}")]
    Mismatch { file: String, algorithm: &'static str, expected: String, actual: String },
}

pub fn hex_digest(algorithm: Algorithm, bytes: &[u8]) -> String {
    let digest: Vec<u8> = match algorithm {
        Algorithm::Sha512 => sha2::Sha512::digest(bytes).to_vec(),
        Algorithm::Sha256 => sha2::Sha256::digest(bytes).to_vec(),
    };
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The checksum file as `sha512sum` writes it: `<hex>  <file name>`.
pub fn render_checksum(algorithm: Algorithm, bytes: &[u8], file_name: &str) -> String {
    format!("{}  {file_name}\n", hex_digest(algorithm, bytes))
}

/// Checks `tarball` against the checksum file's text. Like sa-update, only the leading hex
/// digits count; anything else on the line (the file name) is ignored.
pub fn check(algorithm: Algorithm, checksum_file: &str, tarball: &[u8], file: &str) -> Result<(), VerifyError> {
    let expected: String = checksum_file.trim_start().chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    let boundary_ok = checksum_file.trim_start()[expected.len()..].chars().next().is_none_or(|c| c.is_whitespace());
    if expected.len() != algorithm.hex_len() || !boundary_ok {
        return Err(VerifyError::Malformed { file: file.into(), algorithm: algorithm.extension(), expected: algorithm.hex_len() });
    }
    let expected = expected.to_ascii_lowercase();
    let actual = hex_digest(algorithm, tarball);
    if actual != expected {
        return Err(VerifyError::Mismatch { file: file.into(), algorithm: algorithm.extension(), expected, actual });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(hex_digest(Algorithm::Sha256, b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(hex_digest(Algorithm::Sha512, b"abc").starts_with("ddaf35a193617aba"));
    }

    #[test]
    fn check_accepts_sha512sum_output_and_refuses_the_rest() {
        let data = b"tarball bytes";
        for alg in [Algorithm::Sha512, Algorithm::Sha256] {
            let file = render_checksum(alg, data, "5.tar.gz");
            assert_eq!(check(alg, &file, data, "5.tar.gz.x"), Ok(()));
            assert_eq!(check(alg, &file.to_uppercase(), data, "f"), Ok(()));
            assert!(matches!(check(alg, &file, b"other bytes", "f"), Err(VerifyError::Mismatch { .. })));
            assert!(matches!(check(alg, "", data, "f"), Err(VerifyError::Malformed { .. })));
            assert!(matches!(check(alg, "<html>not found</html>", data, "f"), Err(VerifyError::Malformed { .. })));
            let too_long = format!("{}0", hex_digest(alg, data));
            assert!(matches!(check(alg, &too_long, data, "f"), Err(VerifyError::Malformed { .. })));
        }
    }
}
