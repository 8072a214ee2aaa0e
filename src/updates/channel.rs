//! Channel names, the DNS names sa-update asks, and the `<channel>.cf` / `<channel>.pre` files
//! that include an installed channel. Pure: strings in, strings out.

use std::fmt;

/// A channel name as sa-update accepts it (`[a-zA-Z0-9._-]+`), for example
/// `updates.spamassassin.org`. Invariant: validated on construction, so it is safe in a DNS
/// query and, through [`Channel::dir_name`], in a file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Channel(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChannelError {
    #[error("invalid channel name {0:?}: only letters, digits, '.', '_' and '-' are allowed")]
    InvalidName(String),
    #[error("invalid SpamAssassin version {0:?}: expected three numbers like 4.0.1")]
    InvalidVersion(String),
}

impl Channel {
    pub fn new(name: &str) -> Result<Self, ChannelError> {
        let name = name.trim();
        let valid = !name.is_empty()
            && name.len() <= 253
            && !name.starts_with('.')
            && !name.contains("..")
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid { Ok(Self(name.to_string())) } else { Err(ChannelError::InvalidName(name.to_string())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The directory and file stem sa-update uses: every non-alphanumeric character becomes `_`
    /// (`updates.spamassassin.org` -> `updates_spamassassin_org`).
    pub fn dir_name(&self) -> String {
        self.0.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
    }

    /// The TXT name that holds the newest rule version for one SpamAssassin version:
    /// `<reversed version>.<channel>` (4.0.1 -> `1.0.4.updates.spamassassin.org`).
    pub fn version_query(&self, sa: &SaVersion) -> String {
        format!("{}.{}", sa.reversed(), self.0)
    }

    /// The TXT name that holds the URL of the channel's `MIRRORED.BY` file.
    pub fn mirrors_query(&self) -> String {
        format!("mirrors.{}", self.0)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A SpamAssassin version as three numbers. sa-update reads Perl's `$VERSION` (`4.000001`)
/// and turns it into `4.0.1`; both spellings are accepted here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaVersion(pub u32, pub u32, pub u32);

impl SaVersion {
    /// The version this build targets: Debian's SpamAssassin 4.0.1.
    pub const DEFAULT: SaVersion = SaVersion(4, 0, 1);

    pub fn parse(text: &str) -> Result<Self, ChannelError> {
        let bad = || ChannelError::InvalidVersion(text.to_string());
        let text = text.trim();
        // Perl's x.yyyzzz form, as in Mail::SpamAssassin::VERSION.
        if let Some((major, rest)) = text.split_once('.')
            && rest.len() == 6
            && rest.bytes().all(|b| b.is_ascii_digit())
        {
            let major = major.parse().map_err(|_| bad())?;
            return Ok(Self(major, rest[..3].parse().map_err(|_| bad())?, rest[3..].parse().map_err(|_| bad())?));
        }
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() != 3 {
            return Err(bad());
        }
        let n = |s: &str| s.parse::<u32>().map_err(|_| bad());
        Ok(Self(n(parts[0])?, n(parts[1])?, n(parts[2])?))
    }

    pub fn reversed(&self) -> String {
        format!("{}.{}.{}", self.2, self.1, self.0)
    }

    /// Perl's spelling (`4.000001`), which sa-update substitutes for the `@@VERSION@@` macro.
    pub fn perl(&self) -> String {
        format!("{}.{:03}{:03}", self.0, self.1, self.2)
    }
}

impl fmt::Display for SaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The version in the `# UPDATE version N` header of an installed `<channel>.cf`. Like
/// sa-update, only the leading `# UPDATE` comment lines are metadata.
pub fn installed_version(channel_cf: &str) -> Option<u64> {
    let mut version = None;
    for line in channel_cf.lines() {
        let Some(rest) = line.strip_prefix("# UPDATE") else { break };
        let mut words = rest.split_whitespace();
        if words.next().is_some_and(|w| w.eq_ignore_ascii_case("version")) {
            version = words.next().and_then(leading_number);
        }
    }
    version
}

/// The version a TXT answer announces: its leading digits, as sa-update reads it.
pub fn announced_version(txt: &str) -> Option<u64> {
    leading_number(txt.trim())
}

fn leading_number(text: &str) -> Option<u64> {
    let digits: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// `<channel>.cf` and `<channel>.pre` for an installed channel, exactly as sa-update writes
/// them: the version header, then one sorted `include` line per `.cf` (or `.pre`) file.
pub fn include_files(channel: &Channel, version: u64, file_names: &[String]) -> (String, String) {
    let dir = channel.dir_name();
    let mut names: Vec<&String> = file_names.iter().collect();
    names.sort();
    let mut cf = format!("# UPDATE version {version}\n");
    let mut pre = String::new();
    for name in names {
        if name.ends_with(".cf") {
            cf.push_str(&format!("include {dir}/{name}\n"));
        } else if name.ends_with(".pre") {
            pre.push_str(&format!("include {dir}/{name}\n"));
        }
    }
    (cf, pre)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_query_reverses_the_spamassassin_version() {
        let ch = Channel::new("updates.spamassassin.org").unwrap();
        assert_eq!(ch.version_query(&SaVersion::parse("4.0.1").unwrap()), "1.0.4.updates.spamassassin.org");
        assert_eq!(ch.version_query(&SaVersion::parse("4.000001").unwrap()), "1.0.4.updates.spamassassin.org");
        assert_eq!(ch.version_query(&SaVersion::parse("3.004006").unwrap()), "6.4.3.updates.spamassassin.org");
        assert_eq!(ch.mirrors_query(), "mirrors.updates.spamassassin.org");
        assert_eq!(ch.dir_name(), "updates_spamassassin_org");
        assert_eq!(SaVersion(4, 0, 1).perl(), "4.000001");
    }

    #[test]
    fn hostile_channel_names_are_refused() {
        for bad in ["", "../etc", "a/b", "a b", ".hidden", "x..y", "ch\n.org", "ä.org"] {
            assert!(Channel::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(SaVersion::parse("4.0").is_err());
        assert!(SaVersion::parse("four").is_err());
    }

    #[test]
    fn installed_version_reads_only_the_header() {
        assert_eq!(installed_version("# UPDATE version 1905632\ninclude x/a.cf\n"), Some(1905632));
        assert_eq!(installed_version("include x/a.cf\n# UPDATE version 3\n"), None);
        assert_eq!(installed_version(""), None);
        assert_eq!(announced_version("1905632"), Some(1905632));
        assert_eq!(announced_version("abc"), None);
    }

    #[test]
    fn include_files_sort_cf_and_pre() {
        let ch = Channel::new("rules.example.net").unwrap();
        let (cf, pre) = include_files(&ch, 7, &["b.cf".into(), "a.cf".into(), "x.pre".into(), "notes.txt".into()]);
        assert_eq!(cf, "# UPDATE version 7\ninclude rules_example_net/a.cf\ninclude rules_example_net/b.cf\n");
        assert_eq!(pre, "include rules_example_net/x.pre\n");
    }
}
