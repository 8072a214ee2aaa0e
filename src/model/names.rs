//! Validation and normalisation of the names users type: domain names and mail addresses.
//!
//! Everything stored is in its canonical form: lowercase, IDN labels as punycode (`xn--`), so
//! that uniqueness in the store and lookups from Postfix/Dovecot compare plain bytes.

use std::fmt;

/// Why a name was refused; the message quotes the input so a CLI line is self-explanatory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("invalid domain name '{input}': {reason}")]
    Domain { input: String, reason: &'static str },
    #[error("invalid address '{input}': {reason}")]
    Address { input: String, reason: &'static str },
}

/// A validated domain name in canonical form (lowercase ASCII, punycode for IDN).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct DomainName(String);

impl DomainName {
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let err = |reason| NameError::Domain { input: printable(input), reason };
        let trimmed = input.trim().trim_end_matches('.');
        if trimmed.is_empty() {
            return Err(err("empty"));
        }
        if trimmed.len() > 1024 {
            return Err(err("longer than 253 characters"));
        }
        if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(err("contains whitespace or control characters"));
        }
        let ascii = if trimmed.is_ascii() {
            trimmed.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii(trimmed).map_err(|_| err("not a valid internationalised name"))?
        };
        if ascii.len() > 253 {
            return Err(err("longer than 253 characters"));
        }
        let labels: Vec<&str> = ascii.split('.').collect();
        if labels.len() < 2 {
            return Err(err("needs at least two labels, like example.org"));
        }
        for label in &labels {
            if label.is_empty() {
                return Err(err("has an empty label"));
            }
            if label.len() > 63 {
                return Err(err("has a label longer than 63 characters"));
            }
            if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(err("labels may hold only letters, digits and hyphens"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(err("a label starts or ends with a hyphen"));
            }
        }
        if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
            return Err(err("the top-level label is numeric"));
        }
        if ascii.starts_with("xn--") || ascii.contains(".xn--") {
            // Round-trip punycode so that a malformed `xn--` label is refused here, not by a
            // resolver later.
            let (_, result) = idna::domain_to_unicode(&ascii);
            if result.is_err() {
                return Err(err("has a malformed punycode label"));
            }
        }
        Ok(DomainName(ascii))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as users read it (Unicode for IDN).
    pub fn to_unicode(&self) -> String {
        idna::domain_to_unicode(&self.0).0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated mail address `local@domain`, local part lowercased, domain canonical.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let err = |reason| NameError::Address { input: printable(input), reason };
        let trimmed = input.trim();
        if trimmed.len() > 1024 {
            return Err(err("longer than 254 characters"));
        }
        let Some((local, domain)) = trimmed.rsplit_once('@') else {
            return Err(err("missing '@'"));
        };
        let local = parse_local_part(local).map_err(err)?;
        let domain = DomainName::parse(domain).map_err(|e| match e {
            NameError::Domain { reason, .. } => err(reason),
            other => other,
        })?;
        let full = format!("{local}@{domain}");
        if full.len() > 254 {
            return Err(err("longer than 254 characters"));
        }
        Ok(Address(full))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or("")
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Validates a local part (dot-atom, RFC 5322 atext), lowercased.
pub fn parse_local_part(local: &str) -> Result<String, &'static str> {
    if local.is_empty() {
        return Err("empty local part");
    }
    if local.len() > 64 {
        return Err("local part longer than 64 characters");
    }
    if !local.is_ascii() {
        return Err("non-ASCII local parts are not supported");
    }
    const SPECIALS: &[u8] = b"!#$%&'*+/=?^_`{|}~.-";
    if !local.bytes().all(|b| b.is_ascii_alphanumeric() || SPECIALS.contains(&b)) {
        return Err("local part holds a character outside letters, digits and !#$%&'*+/=?^_`{|}~.-");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("local part has a leading, trailing or double dot");
    }
    Ok(local.to_ascii_lowercase())
}

/// Input quoted in an error message: control characters escaped, long input shortened, so a
/// hostile name cannot forge extra lines in a terminal or a log.
pub fn printable(input: &str) -> String {
    let mut out: String = input.chars().take(80).flat_map(char::escape_debug).collect();
    if input.chars().count() > 80 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_canonical() {
        assert_eq!(DomainName::parse("Example.ORG.").unwrap().as_str(), "example.org");
        assert_eq!(DomainName::parse("bücher.example").unwrap().as_str(), "xn--bcher-kva.example");
        assert_eq!(DomainName::parse("xn--bcher-kva.example").unwrap().to_unicode(), "bücher.example");
    }

    #[test]
    fn bad_domains_name_the_problem() {
        for (input, reason) in [
            ("", "empty"),
            ("localhost", "needs at least two labels, like example.org"),
            ("a..b", "has an empty label"),
            ("-a.org", "a label starts or ends with a hyphen"),
            ("a_b.org", "labels may hold only letters, digits and hyphens"),
            ("example.123", "the top-level label is numeric"),
            ("ex ample.org", "contains whitespace or control characters"),
            ("ex\nample.org", "contains whitespace or control characters"),
        ] {
            let e = DomainName::parse(input).unwrap_err();
            assert_eq!(e, NameError::Domain { input: printable(input), reason }, "{input:?}");
        }
        let long_label = format!("{}.org", "a".repeat(64));
        assert!(DomainName::parse(&long_label).unwrap_err().to_string().contains("63"));
        let long = format!("{}org", "abcdefghi.".repeat(26));
        assert!(DomainName::parse(&long).unwrap_err().to_string().contains("253"));
    }

    #[test]
    fn addresses_are_canonical_and_checked() {
        let a = Address::parse("Alice.Smith@Example.org").unwrap();
        assert_eq!(a.as_str(), "alice.smith@example.org");
        assert_eq!(a.local_part(), "alice.smith");
        assert_eq!(a.domain(), "example.org");
        assert!(Address::parse("alice").unwrap_err().to_string().contains("missing '@'"));
        assert!(Address::parse("al ice@example.org").is_err());
        assert!(Address::parse("a..b@example.org").is_err());
        assert!(Address::parse(&format!("{}@example.org", "a".repeat(65))).is_err());
        assert!(Address::parse("\"quoted\"@example.org").is_err());
        assert!(Address::parse("jörg@example.org").unwrap_err().to_string().contains("non-ASCII"));
    }

    #[test]
    fn printable_escapes_control_characters() {
        assert_eq!(printable("a\nb"), "a\\nb");
        assert!(printable(&"x".repeat(200)).ends_with('…'));
    }
}
