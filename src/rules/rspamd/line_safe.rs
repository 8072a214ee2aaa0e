//! Rspamd's spamassassin module reads a rule line by splitting it on whitespace, dropping every
//! word from one that starts with `#`, joining the rest with single spaces, and first putting
//! spaces around any `=~`/`!~`. A pattern that contains a run of whitespace, a tab, a `#` after
//! whitespace or `=~`/`!~` would reach PCRE changed; this writes those characters as `\x`
//! escapes, which match the same bytes (inside classes too).

use std::borrow::Cow;

/// The pattern with the characters the line reader would mangle escaped. Under `/x` whitespace
/// is not part of the pattern, so only `#` and `~` are escaped there.
pub fn escape(pattern: &str, extended: bool) -> Cow<'_, str> {
    let b = pattern.as_bytes();
    let needs = b.windows(2).any(|w| (w[0].is_ascii_whitespace() && (w[1].is_ascii_whitespace() || w[1] == b'#')) || (matches!(w[0], b'=' | b'!') && w[1] == b'~'))
        || (!extended && b.iter().any(|&c| c.is_ascii_whitespace() && c != b' '));
    if !needs {
        return Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut prev = '\0';
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(n) = chars.next() {
                    match n {
                        // `\ ` and `\#` are literals: keep them literal without the raw byte.
                        ' ' | '\t' | '#' | '~' => {
                            out.pop();
                            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\x{:02x}", n as u32));
                        }
                        _ => out.push(n),
                    }
                    prev = n;
                    continue;
                }
            }
            ' ' | '\t' | '\r' | '\n' | '\x0b' | '\x0c' if !extended => {
                let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\x{:02x}", c as u32));
            }
            '#' => out.push_str("\\x23"),
            '~' if matches!(prev, '=' | '!') => out.push_str("\\x7e"),
            _ => out.push(c),
        }
        prev = c;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_spaces_are_left_alone() {
        assert_eq!(escape("a b c", false), "a b c");
    }

    #[test]
    fn space_runs_hash_and_match_operator_are_escaped() {
        assert_eq!(escape("attachment  *removed", false), r"attachment\x20\x20*removed");
        assert_eq!(escape(r"[ =~\/] #x", false), r"[\x20=\x7e\/]\x20\x23x");
        assert_eq!(escape(r"a\  b", false), r"a\x20\x20b");
    }

    #[test]
    fn extended_patterns_keep_their_whitespace() {
        assert_eq!(escape("^ [^<]*  > ", true), "^ [^<]*  > ");
    }
}
