//! Domain registry boundaries, as SpamAssassin's `RegistryBoundaries.pm` draws them: which TLDs
//! are valid (`util_rb_tld`), which second- and third-level names are public suffixes
//! (`util_rb_2tld`, `util_rb_3tld`, plus the US state rules written into the Perl), and so
//! where a host name's registered domain starts.
//!
//! Absent on purpose: IDN conversion. SpamAssassin converts non-ASCII labels with libidn; here
//! host names are lowercased bytes, so a Unicode host is simply not a known domain.

use std::collections::HashSet;

#[derive(Debug, Default, Clone)]
pub struct Registry {
    pub tlds: HashSet<String>,
    pub two_level: HashSet<String>,
    pub three_level: HashSet<String>,
}

const US_STATES: &[&str] = &[
    "ak", "al", "ar", "az", "ca", "co", "ct", "dc", "de", "fl", "ga", "gu", "hi", "ia", "id", "il", "in", "ks", "ky", "la", "ma", "md", "me", "mi", "mn", "mo",
    "ms", "mt", "nc", "nd", "ne", "nh", "nj", "nm", "nv", "ny", "oh", "ok", "or", "pa", "pr", "ri", "sc", "sd", "tn", "tx", "ut", "va", "vi", "vt", "wa", "wi",
    "wv", "wy",
];

impl Registry {
    /// `split_domain`: (host part, registered domain) of a host name, lowercased.
    pub fn split_domain(&self, fqdn: &str) -> (String, String) {
        let lower = fqdn.to_ascii_lowercase();
        let mut squeezed = String::with_capacity(lower.len());
        for c in lower.chars() {
            if !(c == '.' && squeezed.ends_with('.')) {
                squeezed.push(c);
            }
        }
        let trimmed = squeezed.trim_matches('.');
        if trimmed.is_empty() {
            return (String::new(), trimmed.to_string());
        }
        let mut parts: Vec<&str> = trimmed.split('.').collect();
        let mut host: Vec<&str> = Vec::new();
        while parts.len() > 1 {
            let stop = match parts.len() {
                2 => self.two_level.contains(&parts.join(".")),
                3 if parts[2] == "us" => US_STATES.contains(&parts[1]),
                3 => self.three_level.contains(&parts.join(".")),
                4 => parts[3] == "us" && ((parts[0] == "pvt" && parts[1] == "k12") || parts[0] == "ci" || parts[0] == "co") && US_STATES.contains(&parts[2]),
                _ => false,
            };
            if stop {
                break;
            }
            host.push(parts.remove(0));
        }
        if let Some(last) = host.pop() {
            parts.insert(0, last);
        }
        (host.join("."), parts.join("."))
    }

    /// `trim_domain`: the registered domain of a host name (`www.foo.co.uk` -> `foo.co.uk`).
    pub fn trim_domain(&self, fqdn: &str) -> String {
        self.split_domain(fqdn).1
    }

    /// `is_domain_valid`: the name ends in a known TLD (nothing else is checked).
    pub fn is_domain_valid(&self, dom: &str) -> bool {
        let dom = dom.to_ascii_lowercase();
        if dom.chars().any(char::is_whitespace) {
            return false;
        }
        match dom.rsplit_once('.') {
            Some((_, tld)) => !tld.is_empty() && self.tlds.contains(tld),
            None => false,
        }
    }

    /// `uri_to_domain`: (registered domain, host) of a URI, or None when it has no valid host.
    pub fn uri_to_domain(&self, uri: &str) -> Option<(String, String)> {
        let mut u = uri.to_ascii_lowercase();
        if u.starts_with("javascript:") || u.starts_with("cid:") || u.starts_with("file:") {
            return None;
        }
        if let Some(rest) = u.strip_prefix("mailto:") {
            let rest = rest.split('?').next().unwrap_or("");
            if rest.matches('@').count() > 1 {
                return None;
            }
            u = rest.rsplit_once('@')?.1.to_string();
        } else {
            let scheme_len = u.bytes().take_while(u8::is_ascii_lowercase).count();
            if scheme_len > 0 && u.as_bytes().get(scheme_len) == Some(&b':') {
                let after = &u[scheme_len + 1..];
                let slashes = after.bytes().take(2).take_while(|&b| b == b'/').count();
                u = after[slashes..].to_string();
            }
            if let Some(p) = u.find(['/', '?', '#']) {
                u.truncate(p);
            }
            if let Some(p) = u.rfind('@') {
                u = u[p + 1..].to_string();
            }
            if let Some(p) = u.rfind(':') {
                if u[p + 1..].bytes().all(|b| b.is_ascii_digit()) {
                    u.truncate(p);
                }
            }
        }
        if has_encoded_printable(&u) {
            return None;
        }
        if is_ipv4(&u) {
            return Some((u.clone(), u));
        }
        if !is_fqdn_valid(&u) || !self.is_domain_valid(&u) {
            return None;
        }
        Some((self.trim_domain(&u), u))
    }
}

/// `%XX` encoding a printable character other than space: SpamAssassin refuses such hosts.
fn has_encoded_printable(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3).any(|w| {
        w[0] == b'%'
            && match (w[1], w[2]) {
                (b'2', c) => matches!(c, b'1'..=b'9' | b'a'..=b'f'),
                (b'3'..=b'6', c) => c.is_ascii_digit() || matches!(c, b'a'..=b'f'),
                (b'7', c) => c.is_ascii_digit() || matches!(c, b'a'..=b'e'),
                _ => false,
            }
    })
}

/// Util's `is_fqdn_valid` for an ASCII name: at least two labels of 1-63 `[a-z0-9_-]`, no
/// leading or trailing `-`, no `_` in the last two labels.
pub fn is_fqdn_valid(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    if host.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let n = labels.len();
    labels.iter().enumerate().all(|(i, l)| {
        let ok_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
        let b = l.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && ok_char(b[0])
            && ok_char(b[b.len() - 1])
            && b.iter().all(|&c| ok_char(c) || c == b'-')
            && (i + 2 < n || !l.contains('_'))
    })
}

/// A dotted-quad IPv4 address with each octet 0-255 (SpamAssassin's `IS_IPV4_ADDRESS`).
pub fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) && !(p.len() > 1 && p.starts_with('0')) && p.parse::<u16>().is_ok_and(|v| v <= 255))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry {
            tlds: ["com", "uk", "us", "org", "im"].iter().map(|s| s.to_string()).collect(),
            two_level: ["co.uk"].iter().map(|s| s.to_string()).collect(),
            three_level: ["plc.co.im"].iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn trim_domain_stops_at_registry_boundaries() {
        let r = registry();
        for (host, domain) in [
            ("www.foo.com", "foo.com"),
            ("www.foo.co.uk", "foo.co.uk"),
            ("a.b.plc.co.im", "b.plc.co.im"),
            ("x.y.ca.us", "x.y.ca.us"),
            ("a.x.y.ca.us", "x.y.ca.us"),
            ("a.b.pvt.k12.ny.us", "b.pvt.k12.ny.us"),
            ("WWW..Foo.COM.", "foo.com"),
            ("com", "com"),
        ] {
            assert_eq!(r.trim_domain(host), domain, "{host}");
        }
        assert_eq!(r.split_domain("a.b.foo.com"), ("a.b".to_string(), "foo.com".to_string()));
    }

    #[test]
    fn domain_validity_is_the_tld() {
        let r = registry();
        assert!(r.is_domain_valid("foo.COM"));
        assert!(!r.is_domain_valid("foo.invalidtld"));
        assert!(!r.is_domain_valid("com"));
        assert!(!r.is_domain_valid("foo bar.com"));
    }

    #[test]
    fn uri_to_domain_strips_scheme_userinfo_and_port() {
        let r = registry();
        assert_eq!(r.uri_to_domain("http://user:pw@WWW.Foo.co.uk:8080/x?y"), Some(("foo.co.uk".into(), "www.foo.co.uk".into())));
        assert_eq!(r.uri_to_domain("mailto:a@b.example.com?subject=x"), Some(("example.com".into(), "b.example.com".into())));
        assert_eq!(r.uri_to_domain("http://10.1.2.3/"), Some(("10.1.2.3".into(), "10.1.2.3".into())));
        assert_eq!(r.uri_to_domain("http://foo.nosuchtld/"), None);
        assert_eq!(r.uri_to_domain("http://foo%2ecom/"), None);
        assert_eq!(r.uri_to_domain("cid:part1@foo.com"), None);
    }

    #[test]
    fn fqdn_validity() {
        assert!(is_fqdn_valid("a_b.foo.com"));
        assert!(!is_fqdn_valid("foo_b.com"));
        assert!(!is_fqdn_valid("-foo.com"));
        assert!(!is_fqdn_valid("localhost"));
        assert!(is_ipv4("1.2.3.4") && !is_ipv4("1.2.3.256") && !is_ipv4("01.2.3.4"));
    }
}
