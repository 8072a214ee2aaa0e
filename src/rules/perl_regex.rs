//! Perl regular expressions, as SpamAssassin writes them, matched over bytes.
//!
//! SpamAssassin matches byte strings with ASCII-only classes. Most patterns translate to
//! `regex::bytes` (a linear-time engine). The ones that need lookaround, backreferences or atomic
//! groups run on PCRE2: it is Perl-compatible backtracking, so it compiles the rule's own Perl
//! source with its flags rather than a translation, and its JIT runs these patterns about 25
//! times faster than fancy-regex's VM did (28% of scoring on the milter benchmark's messages).
//! PCRE2 runs in non-UTF, non-UCP mode with its built-in C-locale tables, which is Perl's
//! byte-string semantics: `\w\d\s` and case folding are ASCII only, `.` is any byte but `\n`
//! (the bundled build's newline is LF), `$` also matches before a final newline, `\1`..`\9` and
//! octal escapes, a bare `[` in a class, `{` that is not a quantifier, `\<`, `(?>`, possessive
//! quantifiers, `\z`/`\Z` all mean what they mean in Perl. Its limits: a match attempt takes at
//! most `BACKTRACK_LIMIT` steps (`(*LIMIT_MATCH)`, which also bounds the interpreter's depth) and
//! `BACKTRACK_HEAP_KIB` of heap, and the JIT gets a `JIT_STACK_SIZE` stack; over any of them the
//! attempt counts as no match.
//!
//! Perl traps handled for `regex` here: `$` (without `/m`) also matches before a final newline,
//! which header values always carry; a bare `[` inside a class is a literal; `\1`..`\9` are
//! backreferences only when that many groups exist, otherwise octal; `{` that does not start a
//! quantifier is a literal; `\<`/`\>` are literals in Perl but word boundaries in `regex`; `/x`
//! comments are stripped here because `regex`'s `x` mode also ignores whitespace inside classes.
//! The translation also decides what is unsupported (`\G`, `\K`, `\p`, wide characters, branch
//! reset, inline `(?x)`), for both engines.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::prefilter::{required_literals, required_literals_of};

/// Backtracking steps a single match attempt may take before it counts as no match.
pub const BACKTRACK_LIMIT: usize = 200_000;
/// Heap PCRE2's interpreter may use for one match attempt (the JIT, used whenever the platform
/// has it, uses its stack instead).
const BACKTRACK_HEAP_KIB: usize = 16 << 10;
/// The JIT's stack for one match attempt: PCRE2's default of 32 KiB is too small for a few of
/// Debian's rules over long lines; it is reserved per pattern and thread, and used on demand.
const JIT_STACK_SIZE: usize = 1 << 20;
/// Compiled-program size cap, so a hostile counted repetition cannot exhaust memory.
const SIZE_LIMIT: usize = 4 << 20;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RegexError {
    #[error("pattern is not delimited like /.../ or m{{...}}: {0}")]
    NotDelimited(String),
    #[error("unsupported perl regex feature {0}")]
    Unsupported(String),
    #[error("invalid regex: {0}")]
    Invalid(String),
}

/// A pattern parsed out of its Perl delimiters.
#[derive(Debug, Clone)]
pub struct PerlPattern {
    pub source: String,
    pub flags: String,
}

/// Splits `/pat/flags`, `m{pat}flags`, `m!pat!flags` into pattern and flags.
pub fn split_delimited(text: &str) -> Result<PerlPattern, RegexError> {
    let t = text.trim();
    let (open, rest) = if let Some(r) = t.strip_prefix('m') {
        match r.chars().next() {
            Some(c) if !c.is_alphanumeric() && !c.is_whitespace() => (c, &r[c.len_utf8()..]),
            _ => return Err(RegexError::NotDelimited(text.to_string())),
        }
    } else if let Some(r) = t.strip_prefix('/') {
        ('/', r)
    } else {
        return Err(RegexError::NotDelimited(text.to_string()));
    };
    let close = match open {
        '{' => '}',
        '(' => ')',
        '[' => ']',
        '<' => '>',
        c => c,
    };
    let end = rest.rfind(close).ok_or_else(|| RegexError::NotDelimited(text.to_string()))?;
    let flags = &rest[end + close.len_utf8()..];
    if !flags.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(RegexError::NotDelimited(text.to_string()));
    }
    let mut source = rest[..end].to_string();
    if open == close && open != '/' {
        // m!a\!b! : the escaped delimiter is a plain character in the pattern.
        source = source.replace(&format!("\\{open}"), &open.to_string());
    }
    Ok(PerlPattern { source, flags: flags.to_string() })
}

/// A compiled matcher over bytes.
///
/// Compiling SpamAssassin's ~1,500 fast patterns was most of the rule set's load time, and with
/// the literal prefilter many of them never run on a given stream of mail: a fast pattern is
/// parsed at load (so a syntax error is reported there, exactly as before) and compiled on its
/// first use. A pattern big enough that it might exceed the compiled-size limit has that limit
/// checked at load (see `fits_size_limit`), so it is still reported as a load diagnostic.
#[derive(Debug)]
pub struct Matcher {
    /// The pattern in `regex` syntax: the pattern itself, or a backtracking pattern's gate.
    fast_pattern: String,
    /// The fast pattern compiled on first use; None when it does not compile (a gate too big).
    fast: OnceLock<Option<regex::bytes::Regex>>,
    /// For a pattern that needs lookaround or backreferences: PCRE2. Its gate (`fast`, the same
    /// pattern with those removed) matches a superset of what the pattern matches, so where the
    /// gate does not match PCRE2 does not run. Measured with PCRE2's JIT: without the gate,
    /// scoring the milter benchmark's messages took 16% more instructions. The gate only answers
    /// yes or no: finding where its first match starts (to start PCRE2 there) needs a reverse
    /// scan, which for the large header patterns (`__TO_EQ_FROM_1`) cost more than PCRE2 itself.
    backtrack: Option<Backtracking>,
    /// Literals one of which every match contains (see `prefilter`), taken from the tree parsed
    /// here at load; None when the pattern has no usable set.
    literals: Option<Vec<Vec<u8>>>,
}

/// A backtracking pattern: PCRE2 checks the rule's Perl source at load (so its syntax errors and
/// bad backreferences are load diagnostics, at the cost of a compile without JIT) and compiles it
/// with its JIT on first use, which the gate keeps from ever happening for most of these
/// patterns on a given stream of mail.
#[derive(Debug)]
struct Backtracking {
    /// The Perl source behind PCRE2's limit settings.
    pattern: String,
    flags: String,
    compiled: OnceLock<Result<pcre2::bytes::Regex, String>>,
}

impl Backtracking {
    fn new(source: &str, flags: &str) -> Result<Backtracking, RegexError> {
        let pattern = limited(source);
        pcre2_builder(flags).build(&pattern).map_err(|e| RegexError::Invalid(e.to_string()))?;
        Ok(Backtracking { pattern, flags: flags.to_string(), compiled: OnceLock::new() })
    }

    fn compiled(&self) -> Result<&pcre2::bytes::Regex, &str> {
        self.compiled
            .get_or_init(|| pcre2_builder(&self.flags).jit_if_available(true).build(&self.pattern).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }
}

/// The pattern behind the settings that bound each of its match attempts.
fn limited(source: &str) -> String {
    // (*LF): `.` and `$` see only LF as a newline, as Perl does, whatever newline the PCRE2
    // library was built with
    format!("(*LIMIT_MATCH={BACKTRACK_LIMIT})(*LIMIT_HEAP={BACKTRACK_HEAP_KIB})(*LF){source}")
}

/// PCRE2 set up as Perl matches a byte string with these flags (see the module docs).
fn pcre2_builder(flags: &str) -> pcre2::bytes::RegexBuilder {
    let mut builder = pcre2::bytes::RegexBuilder::new();
    builder
        .caseless(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dotall(flags.contains('s'))
        .extended(flags.contains('x'))
        .max_jit_stack_size(Some(JIT_STACK_SIZE));
    builder
}

/// A Perl pattern that needs backtracking and captures, compiled now (with JIT): the
/// `redirector_pattern`s, whose group 1 is a redirect's target.
pub fn compile_backtracking(text: &str) -> Result<pcre2::bytes::Regex, RegexError> {
    let p = split_delimited(text)?;
    translate(&p.source, &p.flags)?; // what is unsupported here is unsupported there too
    pcre2_builder(&p.flags).jit_if_available(true).build(&limited(&p.source)).map_err(|e| RegexError::Invalid(e.to_string()))
}

impl Matcher {
    pub fn is_backtracking(&self) -> bool {
        self.backtrack.is_some()
    }

    /// Compiles whatever is still waiting for its first use, and says why it does not compile
    /// when it does not (a pattern that fails here never matches). `rules lint` calls this so that
    /// it reports every error; `serve` calls it in the background after a load, so the first
    /// messages do not pay for compilation.
    pub fn compile_now(&self) -> Result<(), RegexError> {
        match &self.backtrack {
            Some(b) => {
                b.compiled().map_err(|e| RegexError::Invalid(e.to_string()))?;
                let _ = self.fast(); // a gate that does not compile only means no gate
            }
            // the pattern itself: compiled once for its use, once more for the message
            None if self.fast().is_none() => return Err(RegexError::Invalid(build_fast(&self.fast_pattern).err().map(|e| e.to_string()).unwrap_or_default())),
            None => {}
        }
        Ok(())
    }

    /// The pattern in `regex` syntax (compiled as `build_fast` compiles it): the pattern itself, or
    /// a backtracking pattern's gate, which matches wherever the pattern does.
    pub fn fast_pattern(&self) -> &str {
        &self.fast_pattern
    }

    /// Lower-case literals one of which (in any ASCII case) every match contains.
    pub fn required_literals(&self) -> Option<&[Vec<u8>]> {
        self.literals.as_deref()
    }

    fn fast(&self) -> Option<&regex::bytes::Regex> {
        self.fast.get_or_init(|| build_fast(&self.fast_pattern).ok()).as_ref()
    }

    /// Whether the pattern matches. A backtracking pattern that exceeds its limits does not match.
    pub fn is_match(&self, hay: &[u8]) -> bool {
        match (&self.backtrack, self.fast()) {
            (None, Some(r)) => r.is_match(hay),
            (None, None) => false,
            (Some(b), gate) => {
                // every match of the pattern is a gate match: no gate match, no match
                if gate.is_some_and(|g| !g.is_match(hay)) {
                    return false;
                }
                b.compiled().is_ok_and(|r| r.is_match(hay).unwrap_or(false))
            }
        }
    }

    /// Number of non-overlapping matches, stopping at `max`.
    pub fn count(&self, hay: &[u8], max: usize) -> usize {
        match (&self.backtrack, self.fast()) {
            (None, Some(r)) => r.find_iter(hay).take(max).count(),
            (None, None) => 0,
            (Some(_), Some(gate)) if !gate.is_match(hay) => 0,
            (Some(b), _) => {
                let Ok(r) = b.compiled() else { return 0 };
                r.find_iter(hay).take(max).take_while(Result::is_ok).count()
            }
        }
    }
}

fn build_fast(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern).unicode(false).size_limit(SIZE_LIMIT).dfa_size_limit(SIZE_LIMIT).build()
}

/// Patterns whose expanded size (literal bytes and class ranges, counted repetitions multiplied
/// out, two per capture group) is above this have their compiled size checked at load, where the
/// size limit can reject them. SIZE_LIMIT is 4 MiB of compiled program; across Debian's rules the
/// larger of a pattern's two NFAs takes at most 45 bytes per unit of expanded size (measured on
/// its 52 patterns above 500 units), so a pattern below this stays under a quarter of the limit.
/// Should an estimate ever be wrong, the pattern fails when it is first compiled: it then never
/// matches, and `rules lint`, which compiles every pattern, reports it.
const LAZY_SIZE_LIMIT: u64 = 20_000;

fn expanded_size(hir: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(l) => l.0.len() as u64,
        HirKind::Class(Class::Bytes(c)) => c.ranges().len().max(1) as u64,
        HirKind::Class(Class::Unicode(c)) => c.ranges().len().max(1) as u64,
        HirKind::Repetition(r) => expanded_size(&r.sub).saturating_mul(u64::from(r.max.unwrap_or(r.min).max(r.min)) + 1),
        HirKind::Capture(c) => expanded_size(&c.sub).saturating_add(2),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().map(expanded_size).fold(0u64, u64::saturating_add),
    }
}

/// Whether `regex` will compile this (big) pattern under SIZE_LIMIT: the only size check it makes
/// that fails a build is on its two Thompson NFAs (forward with captures, reverse without), and
/// building just those from the tree already parsed costs a fraction of the whole regex (its DFAs
/// and literal strategies; the 25 big patterns of Debian's rules were a quarter of load time).
/// False sends the caller to a real build, which decides (a pure-literal pattern that `regex`
/// serves without an NFA compiles even when its NFA would be too big).
fn fits_size_limit(hir: &regex_syntax::hir::Hir, limit: usize) -> bool {
    use regex_automata::nfa::thompson::{Compiler, Config, WhichCaptures};
    let config = Config::new().utf8(false).nfa_size_limit(Some(limit)).shrink(false);
    Compiler::new().configure(config.clone().which_captures(WhichCaptures::All)).build_from_hir(hir).is_ok()
        && Compiler::new().configure(config.which_captures(WhichCaptures::None).reverse(true)).build_from_hir(hir).is_ok()
}

/// Latin-1 view of bytes: byte N becomes char U+00NN, so char offsets equal byte offsets.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Compiles a delimited Perl pattern.
pub fn compile(text: &str) -> Result<Matcher, RegexError> {
    let p = split_delimited(text)?;
    compile_parts(&p.source, &p.flags)
}

pub fn compile_parts(source: &str, flags: &str) -> Result<Matcher, RegexError> {
    let fast = translate(source, flags)?;
    // what the prefilter reads (see `prefilter`)
    let cased = case_sensitive_pattern(source, flags, &fast)?;
    if !fast.needs_backtracking {
        // the syntax `regex` parses with (`regex::bytes`, Unicode off)
        let parse = |p: &str| regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(p);
        let lazy = |literals| Matcher { fast_pattern: fast.pattern.clone(), fast: OnceLock::new(), backtrack: None, literals };
        match parse(&cased) {
            Ok(cased_hir) => {
                // a case-insensitive letter is a class of two bytes where this tree has one byte,
                // so the pattern `regex` compiles is at most twice the size of this one: checking
                // this one against half the limit spares parsing the pattern a second time
                let (factor, nfa_limit) = if cased == fast.pattern { (1, SIZE_LIMIT) } else { (2, SIZE_LIMIT / 2) };
                if expanded_size(&cased_hir).saturating_mul(factor) <= LAZY_SIZE_LIMIT || fits_size_limit(&cased_hir, nfa_limit) {
                    return Ok(lazy(required_literals_of(&cased_hir)));
                }
                // too big by these estimates: `regex` itself decides
                match build_fast(&fast.pattern) {
                    Ok(r) => return Ok(Matcher { fast_pattern: fast.pattern, fast: OnceLock::from(Some(r)), backtrack: None, literals: required_literals_of(&cased_hir) }),
                    Err(regex::Error::CompiledTooBig(_)) => {
                        return Err(RegexError::Invalid("compiled pattern exceeds the size limit".into()));
                    }
                    Err(_) => {}
                }
            }
            Err(_) => {} // fall through: the backtracking engine accepts more syntax
        }
    }
    let backtrack = Backtracking::new(source, flags)?;
    let literals = required_literals(&superset_pattern(&cased));
    Ok(Matcher { fast_pattern: superset_pattern(&fast.pattern), fast: OnceLock::new(), backtrack: Some(backtrack), literals })
}

/// A pattern (in the fast engine's syntax) that matches wherever `pattern` matches: lookaround
/// groups are dropped (they only constrain), atomic groups become plain groups, and a
/// backreference becomes "any text". When the result does not compile (a quantifier left on a
/// dropped lookaround, say), the caller simply has no gate.
pub fn superset_pattern(pattern: &str) -> String {
    let b = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() => {
                if (b'1'..=b'9').contains(&b[i + 1]) {
                    // a backreference, all its digits (the translation groups it: `(?:\12)`)
                    out.push_str("(?s:.*?)");
                    i += 2;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    continue;
                }
                out.push_str(&pattern[i..i + 2]);
                i += 2;
            }
            b'[' => {
                let end = class_end(b, i);
                out.push_str(&pattern[i..end]);
                i = end;
            }
            b'(' if pattern[i..].starts_with("(?=") || pattern[i..].starts_with("(?!") || pattern[i..].starts_with("(?<=") || pattern[i..].starts_with("(?<!") => {
                i = group_end(b, i);
            }
            b'(' if pattern[i..].starts_with("(?>") => {
                out.push_str("(?:");
                i += 3;
            }
            _ => {
                let ch = pattern[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// The index just past the character class opening at `start` (nested classes, escapes, and a
/// leading `]` taken literally).
fn class_end(b: &[u8], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => {
                depth += 1;
                i += 1;
                if b.get(i) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i) == Some(&b']') {
                    i += 1;
                }
                continue;
            }
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// The index just past the group opening at `start`.
fn group_end(b: &[u8], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => {
                i = class_end(b, i);
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

pub struct Translated {
    pub pattern: String,
    pub needs_backtracking: bool,
}

fn count_groups(src: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    let mut in_class = false;
    while i < src.len() {
        match src[i] {
            b'\\' => i += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            b'(' if !in_class => {
                if src.get(i + 1) != Some(&b'?') {
                    n += 1;
                } else if src.get(i + 2) == Some(&b'<') && !matches!(src.get(i + 3), Some(b'=') | Some(b'!'))
                    || src.get(i + 2) == Some(&b'P') && src.get(i + 3) == Some(&b'<')
                    || src.get(i + 2) == Some(&b'\'')
                {
                    n += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    n
}

fn is_quantifier_brace(src: &[u8], i: usize) -> Option<usize> {
    // src[i] == b'{'; returns the index of the closing brace if this is {n}, {n,}, {n,m} or {,m}.
    let mut j = i + 1;
    let start = j;
    while j < src.len() && src[j].is_ascii_digit() {
        j += 1;
    }
    let had_min = j > start;
    if j < src.len() && src[j] == b'}' {
        return had_min.then_some(j);
    }
    if j < src.len() && src[j] == b',' {
        j += 1;
        let s2 = j;
        while j < src.len() && src[j].is_ascii_digit() {
            j += 1;
        }
        if j < src.len() && src[j] == b'}' && (had_min || j > s2) {
            return Some(j);
        }
    }
    None
}

fn push_byte(out: &mut String, b: u8) {
    if b.is_ascii_alphanumeric() || b == b'_' || b == b' ' {
        out.push(b as char);
    } else {
        out.push_str(&format!("\\x{b:02X}"));
    }
}

/// Translates Perl syntax to `regex` syntax; `needs_backtracking` says the result is only a
/// pattern's gate (see `superset_pattern`), the pattern itself running on PCRE2.
pub fn translate(source: &str, flags: &str) -> Result<Translated, RegexError> {
    translate_with(source, flags, true)
}

/// The fast engine's translation with every case-insensitive flag (`/i`, `(?i)`, `(?i:...)`)
/// left out: what the literal prefilter analyses (see `prefilter::required_literals`).
pub fn translate_case_sensitive(source: &str, flags: &str) -> Result<Translated, RegexError> {
    translate_with(source, flags, false)
}

/// `translate_case_sensitive`, given the fast translation already made: for a pattern without
/// inline flags the only flag group is the one `translate_with` writes first, `(?ims)` in that
/// order, so dropping its `i` is the whole difference and the pattern is not translated again.
fn case_sensitive_pattern(source: &str, flags: &str, fast: &Translated) -> Result<String, RegexError> {
    let inline_flags = source.as_bytes().windows(3).any(|w| w[0] == b'(' && w[1] == b'?' && b"imsx-".contains(&w[2]));
    if inline_flags {
        return Ok(translate_case_sensitive(source, flags)?.pattern);
    }
    Ok(match fast.pattern.strip_prefix("(?i") {
        Some(rest) => rest.strip_prefix(')').map(str::to_string).unwrap_or_else(|| format!("(?{rest}")),
        None => fast.pattern.clone(),
    })
}

/// Perl's `$` without `/m`, and `\Z`: the end, or before a final newline.
const PERL_END: &str = "(?:\\n?\\z)";

fn translate_with(source: &str, flags: &str, ignore_case: bool) -> Result<Translated, RegexError> {
    let src = source.as_bytes();
    let groups = count_groups(src);
    let extended = flags.contains('x');
    let multiline = flags.contains('m');
    let mut out = String::with_capacity(src.len() + 16);
    let mut needs = false;
    let mut inline = String::new();
    if ignore_case && flags.contains('i') {
        inline.push('i');
    }
    if multiline {
        inline.push('m');
    }
    if flags.contains('s') {
        inline.push('s');
    }
    if !inline.is_empty() {
        out.push_str(&format!("(?{inline})"));
    }
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = 0usize;
    let mut quote = false;
    let mut prev_dash = false;
    // After an atom, `+` directly following a quantifier makes it possessive.
    while i < src.len() {
        let c = src[i];
        if quote {
            if c == b'\\' && src.get(i + 1) == Some(&b'E') {
                quote = false;
                i += 2;
                continue;
            }
            push_byte(&mut out, c);
            i += 1;
            continue;
        }
        if in_class {
            let at_start = i == class_start;
            match c {
                b']' if !at_start => {
                    in_class = false;
                    out.push(']');
                }
                b']' => out.push_str("\\]"),
                b'[' if src.get(i + 1) == Some(&b':') => {
                    // POSIX class [:alpha:]
                    if let Some(end) = source[i..].find(":]") {
                        out.push_str(&source[i..i + end + 2]);
                        i += end + 2;
                        prev_dash = false;
                        continue;
                    }
                    out.push_str("\\[");
                }
                b'[' => out.push_str("\\["),
                b'&' | b'~' => out.push_str(&format!("\\{}", c as char)),
                b'-' if prev_dash => out.push_str("\\-"),
                b'-' => out.push('-'),
                b'\\' => {
                    i += 1;
                    let Some(&e) = src.get(i) else {
                        return Err(RegexError::Invalid("trailing backslash".into()));
                    };
                    i = escape(src, i, e, true, groups, &mut out, &mut needs)?;
                    prev_dash = false;
                    continue;
                }
                b'^' if at_start => out.push('^'),
                _ => push_byte(&mut out, c),
            }
            prev_dash = c == b'-';
            if c == b'^' && at_start {
                class_start = i + 1;
            }
            i += 1;
            continue;
        }
        match c {
            b'\\' => {
                i += 1;
                let Some(&e) = src.get(i) else {
                    return Err(RegexError::Invalid("trailing backslash".into()));
                };
                if e == b'Q' {
                    quote = true;
                    i += 1;
                    continue;
                }
                if e == b'E' {
                    i += 1;
                    continue;
                }
                i = escape(src, i, e, false, groups, &mut out, &mut needs)?;
                continue;
            }
            b'[' => {
                in_class = true;
                class_start = i + 1;
                prev_dash = false;
                out.push('[');
            }
            b'$' => {
                if multiline {
                    out.push_str("(?m:$)");
                } else {
                    out.push_str(PERL_END);
                }
            }
            b'{' => match is_quantifier_brace(src, i) {
                Some(end) => {
                    let q = &source[i..=end];
                    if q.starts_with("{,") {
                        out.push_str(&format!("{{0{}", &q[1..]));
                    } else {
                        out.push_str(q);
                    }
                    i = end + 1;
                    if src.get(i) == Some(&b'+') {
                        needs = true;
                        i += 1; // possessive: the greedy form matches a superset (a gate)
                    }
                    continue;
                }
                None => out.push_str("\\{"),
            },
            b'}' => out.push_str("\\}"),
            b'(' if src.get(i + 1) == Some(&b'?') => {
                let rest = &src[i + 2..];
                if rest.first() == Some(&b'#') {
                    // (?# comment )
                    let close = source[i..].find(')').map(|e| i + e).unwrap_or(src.len() - 1);
                    i = close + 1;
                    continue;
                }
                if let Some(prefix) = [&b"<="[..], b"<!", b"=", b"!", b">"].into_iter().find(|p| rest.starts_with(p)) {
                    needs = true;
                    out.push_str("(?");
                    out.push_str(std::str::from_utf8(prefix).unwrap_or(""));
                    i += 2 + prefix.len();
                    continue;
                }
                if rest.starts_with(b"<") || rest.starts_with(b"P<") {
                    let name_start = i + 2 + if rest[0] == b'P' { 2 } else { 1 };
                    let Some(len) = src[name_start..].iter().position(|&b| b == b'>') else {
                        return Err(RegexError::Invalid("unterminated group name".into()));
                    };
                    out.push_str("(?P<");
                    out.push_str(&source[name_start..name_start + len]);
                    out.push('>');
                    i = name_start + len + 1;
                    continue;
                }
                if rest.starts_with(b"^") {
                    out.push_str("(?");
                    i += 3;
                    continue;
                }
                if rest.starts_with(b"|") {
                    return Err(RegexError::Unsupported("branch reset (?|...)".into()));
                }
                // inline flags (?i) (?i-m:...) (?:...): keep only flags regex knows
                let mut j = i + 2;
                let mut fl = String::new();
                while j < src.len() && (src[j].is_ascii_alphabetic() || src[j] == b'-') {
                    if b"imsx-".contains(&src[j]) {
                        if src[j] == b'x' {
                            return Err(RegexError::Unsupported("inline (?x)".into()));
                        }
                        if ignore_case || src[j] != b'i' {
                            fl.push(src[j] as char);
                        }
                    }
                    j += 1;
                }
                let fl = fl.trim_end_matches('-');
                match src.get(j) {
                    // `(?)` is not a group `regex` accepts; with no flag left it says nothing
                    Some(b')') if fl.is_empty() => i = j + 1,
                    Some(b':') | Some(b')') => {
                        out.push_str("(?");
                        out.push_str(fl);
                        out.push(src[j] as char);
                        i = j + 1;
                    }
                    _ => return Err(RegexError::Invalid("malformed group".into())),
                }
                continue;
            }
            b'*' | b'+' | b'?' => {
                out.push(c as char);
                if src.get(i + 1) == Some(&b'+') {
                    needs = true;
                    i += 1; // possessive: the greedy form matches a superset (a gate)
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' if extended => {}
            b'#' if extended => {
                while i < src.len() && src[i] != b'\n' {
                    i += 1;
                }
            }
            b'.' | b'^' | b'|' | b'(' | b')' => out.push(c as char),
            _ => push_byte(&mut out, c),
        }
        i += 1;
    }
    if in_class {
        return Err(RegexError::Invalid("unterminated character class".into()));
    }
    Ok(Translated { pattern: out, needs_backtracking: needs })
}

/// Handles the escape whose letter is `src[i]`; returns the index after it.
fn escape(
    src: &[u8],
    mut i: usize,
    e: u8,
    in_class: bool,
    groups: usize,
    out: &mut String,
    needs: &mut bool,
) -> Result<usize, RegexError> {
    let ascii_class = |neg: bool, set: &str| -> Cow<'static, str> {
        if in_class {
            if neg {
                // a negated class inside a class cannot be spelled as ranges; keep the escape
                Cow::Owned(String::new())
            } else {
                Cow::Owned(set.to_string())
            }
        } else if neg {
            Cow::Owned(format!("[^{set}]"))
        } else {
            Cow::Owned(format!("[{set}]"))
        }
    };
    i += 1;
    match e {
        b'd' | b'w' | b's' | b'D' | b'W' | b'S' => {
            let set = match e.to_ascii_lowercase() {
                b'd' => "0-9",
                b'w' => "0-9A-Za-z_",
                _ => "\\t\\n\\x0B\\x0C\\r ",
            };
            let spelled = ascii_class(e.is_ascii_uppercase(), set);
            if spelled.is_empty() {
                out.push('\\');
                out.push(e as char);
            } else {
                out.push_str(&spelled);
            }
        }
        // unlike \s, Perl's \h and \v ignore the charset rules: on a byte string \h also takes
        // NBSP (0xA0) and \v NEL (0x85), as PCRE2 in 8-bit mode does
        b'h' | b'H' => out.push_str(&ascii_class(e == b'H', "\\t \\xA0")),
        b'v' | b'V' => out.push_str(&ascii_class(e == b'V', "\\n\\x0B\\x0C\\r\\x85")),
        b'R' if !in_class => out.push_str("(?:\\r\\n|[\\n\\x0B\\x0C\\r\\x85])"),
        b'N' if !in_class => out.push_str("[^\\n]"),
        b'n' => out.push_str("\\n"),
        b't' => out.push_str("\\t"),
        b'r' => out.push_str("\\r"),
        b'f' => out.push_str("\\x0C"),
        b'e' => out.push_str("\\x1B"),
        b'a' => out.push_str("\\x07"),
        b'b' if in_class => out.push_str("\\x08"),
        b'b' | b'B' | b'A' | b'z' => {
            out.push('\\');
            out.push(e as char);
        }
        b'Z' => out.push_str(PERL_END),
        b'G' | b'K' | b'X' | b'C' | b'l' | b'u' | b'L' | b'U' | b'p' | b'P' | b'g' | b'k' => {
            if e == b'g' || e == b'k' {
                *needs = true;
            }
            return Err(RegexError::Unsupported(format!("\\{}", e as char)));
        }
        b'c' => {
            let Some(&ch) = src.get(i) else {
                return Err(RegexError::Invalid("\\c at end".into()));
            };
            push_byte(out, ch.to_ascii_uppercase() ^ 0x40);
            i += 1;
        }
        b'x' => {
            let value = if src.get(i) == Some(&b'{') {
                let end = src[i..].iter().position(|&b| b == b'}').ok_or_else(|| RegexError::Invalid("unterminated \\x{".into()))?;
                let hex = std::str::from_utf8(&src[i + 1..i + end]).unwrap_or("").trim();
                i += end + 1;
                u32::from_str_radix(if hex.is_empty() { "0" } else { hex }, 16).map_err(|_| RegexError::Invalid(format!("bad hex escape {hex}")))?
            } else {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 && src.get(i).is_some_and(|b| b.is_ascii_hexdigit()) {
                    v = v * 16 + (src[i] as char).to_digit(16).unwrap_or(0);
                    i += 1;
                    n += 1;
                }
                v
            };
            if value > 0xFF {
                return Err(RegexError::Unsupported("wide character escape above \\xFF".into()));
            }
            push_byte(out, value as u8);
        }
        b'0'..=b'9' => {
            // Perl: \0dd is octal; \N (N <= groups, or N < 10) is a backreference; else octal.
            let start = i - 1;
            let mut j = start;
            while j < src.len() && src[j].is_ascii_digit() && j - start < 3 {
                j += 1;
            }
            let digits = std::str::from_utf8(&src[start..j]).unwrap_or("0");
            let number: usize = digits.parse().unwrap_or(0);
            if e != b'0' && !in_class && (number <= groups || (number < 10 && digits.len() == 1)) {
                // \12 refers to group 12 when there are that many, else it is \1 then "2"
                let (d, end) = if digits.len() > 1 && number <= groups { (number, j) } else { ((e - b'0') as usize, start + 1) };
                *needs = true;
                if d > groups {
                    return Err(RegexError::Invalid(format!("reference to missing group \\{d}")));
                }
                // grouped, so a literal digit after it never reads as part of its number
                out.push_str(&format!("(?:\\{d})"));
                return Ok(end);
            }
            let mut k = start;
            let mut v = 0u32;
            while k < src.len() && k - start < 3 && (b'0'..=b'7').contains(&src[k]) {
                v = v * 8 + (src[k] - b'0') as u32;
                k += 1;
            }
            push_byte(out, (v & 0xFF) as u8);
            return Ok(k.max(start + 1));
        }
        _ if e.is_ascii_alphanumeric() => {
            return Err(RegexError::Unsupported(format!("\\{}", e as char)));
        }
        _ => push_byte(out, e),
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pat: &str, hay: &str) -> bool {
        let r = compile(pat).unwrap();
        r.is_match(hay.as_bytes())
    }

    #[test]
    fn dollar_matches_before_trailing_newline() {
        assert!(m("/foo$/", "foo\n"));
        assert!(!m("/foo$/", "foo\nbar\n"));
        assert!(m("/foo$/m", "foo\nbar\n"));
    }

    #[test]
    fn bare_bracket_in_class_and_octal_and_braces() {
        assert!(m("/[[]x/", "[x"));
        assert!(m("/a\\040b/", "a b"));
        assert!(m("/a{b/", "a{b"));
        assert!(m("/a{2}/", "aa"));
        assert!(m("m{foo}i", "FOO"));
        assert!(m("/\\<b\\>/", "<b>"));
    }

    #[test]
    fn classes_are_ascii_only() {
        assert!(!m("/^\\w$/", "\u{e9}"));
        assert!(m("/\\xe9/", "\u{e9}") == false);
        let r = compile("/\\xe9/").unwrap();
        assert!(r.is_match(&[0xE9]));
    }

    #[test]
    fn lookaround_and_backrefs_use_backtracking() {
        let r = compile("/(a)\\1(?!c)/").unwrap();
        assert!(r.is_backtracking());
        assert!(m("/(a)\\1(?!c)/", "aab"));
        assert!(!m("/(a)\\1(?!c)/", "aac"));
        assert!(m("/foo(?=bar)$/", "foobar") == false);
    }

    #[test]
    fn oversized_pattern_is_refused_at_load_though_compilation_is_lazy() {
        assert_eq!(compile("/(?:a{1000}){1000}/").unwrap_err(), RegexError::Invalid("compiled pattern exceeds the size limit".into()));
        let big_but_fine = compile("/x{3000}/").unwrap();
        assert!(big_but_fine.is_match(&[b'x'; 3000]));
        assert!(!big_but_fine.is_match(&[b'x'; 2999]), "compiled on first use from its size-checked tree");
    }

    #[test]
    fn backtracking_pattern_is_checked_at_load_and_compiles_on_first_use() {
        let bad_backref = compile("/(a)\\2(?=b)/");
        assert!(matches!(bad_backref, Err(RegexError::Invalid(_))), "checked at load: {bad_backref:?}");
        let too_big = compile("/(a)\\1(?:(?:b|c){1000}){1000}/");
        assert!(matches!(too_big, Err(RegexError::Invalid(ref e)) if e.contains("too large")), "PCRE2's size limit, at load: {too_big:?}");
        let fine = compile("/(a)\\1(?!c)/").unwrap();
        assert!(fine.is_backtracking());
        assert_eq!(fine.compile_now(), Ok(()));
        assert!(fine.is_match(b"aab"));
    }

    #[test]
    fn backtracking_runs_the_perl_source_with_perl_byte_semantics() {
        check_backtracking(&[
            // `$` before a final newline, `\Z`, `\z`
            ("/(a)\\1$/", "aa\n", true),
            ("/(a)\\1\\Z/", "aa\n", true),
            ("/(a)\\1\\z/", "aa\n", false),
            // ASCII-only classes and case folding over bytes; `.` any byte but a newline
            ("/(\\w)\\1/", "\u{e9}\u{e9}", false),
            ("/(?<=x)\\xc3\\xa9/i", "x\u{c9}", false),
            ("/(?<=x)\\xc3\\xa9/i", "x\u{e9}", true),
            ("/(a)(?=.b)/", "a\rb", true),
            ("/(a)(?=.b)/", "a\nb", false),
            ("/(a)(?=.b)/s", "a\nb", true),
            // a bare `[` in a class, octal, a literal `{`, `\<`, atomic groups, possessive
            ("/(?=[[]x)/", "[x", true),
            ("/(a)\\040(?=b)/", "a b", true),
            ("/(a)\\1{b/", "aa{b", true),
            ("/(?<=\\<)b\\>/", "<b>", true),
            ("/(?>a+)a/", "aaa", false),
            ("/a++b(?=c)/", "aabc", true),
            // `/x` comments and class spaces, `/m`
            ("/(a) \\1 # two\n (?=c)/x", "aac", true),
            ("/(a)[ ]\\1/x", "a a", true),
            ("/^(b)\\1/m", "a\nbb", true),
        ]);
    }

    /// Each pattern needs backtracking, and matches the text or not as expected.
    pub(super) fn check_backtracking(cases: &[(&str, &str, bool)]) {
        for &(pat, hay, expected) in cases {
            let m = compile(pat).unwrap();
            assert!(m.is_backtracking(), "{pat}");
            assert_eq!(m.is_match(hay.as_bytes()), expected, "{pat} on {hay:?}");
        }
    }

    #[test]
    fn case_sensitive_shortcut_equals_the_full_translation() {
        for (source, flags) in [("viagra", "i"), ("viagra", "im"), ("vi(?:a)gra", "is"), ("via$", "ims"), ("(?i)viagra", ""), ("(?i:via)gra", "m"), ("plain", "")] {
            let fast = translate(source, flags).unwrap();
            assert_eq!(case_sensitive_pattern(source, flags, &fast).unwrap(), translate_case_sensitive(source, flags).unwrap().pattern, "/{source}/{flags}");
        }
    }

    #[test]
    fn extended_mode_strips_comments_but_not_class_spaces() {
        assert!(m("/a b # comment\n c/x", "abc"));
        assert!(m("/a[ ]b/x", "a b"));
    }
}

#[cfg(test)]
mod byte_tests {
    use super::*;

    #[test]
    fn hex_escapes_match_utf8_bytes() {
        let r = compile("/caf\\xc3\\xa9 ok/").unwrap();
        let hay = "caf\u{e9} ok".as_bytes();
        assert!(r.is_match(hay), "{r:?} {}", translate("caf\\xc3\\xa9 ok", "").unwrap().pattern);
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[test]
    fn superset_gate_drops_only_constraints() {
        assert_eq!(superset_pattern("foo(?=bar)"), "foo");
        assert_eq!(superset_pattern("(?<!x)abc(?!d(e)f)"), "abc");
        assert_eq!(superset_pattern("(a)\\1"), "(a)(?s:.*?)");
        assert_eq!(superset_pattern("[(?=]x"), "[(?=]x");
        assert_eq!(superset_pattern("[]a](?=[)])z"), "[]a]z");
        assert_eq!(superset_pattern("(?>ab)c"), "(?:ab)c");
        assert_eq!(superset_pattern("a\\(?=b"), "a\\(?=b");
        assert_eq!(superset_pattern("(?:\\12)3"), "(?:(?s:.*?))3", "every digit of a backreference goes");
    }

    #[test]
    fn gate_agrees_with_pcre2_on_perl_byte_semantics() {
        // \h takes NBSP and \v NEL on a byte string in Perl and PCRE2: the gate must too
        let m = compile("/a\\hb(?=c)/").unwrap();
        assert!(m.is_backtracking());
        assert!(m.is_match(b"a\xA0bc"), "NBSP is horizontal space");
        assert!(m.is_match(b"a bc"));
        let m = compile("/a\\vb(?!x)/").unwrap();
        assert!(m.is_match(b"a\x85bc"), "NEL is vertical space");
        // with twelve groups \12 is group 12, not \1 then "2"
        let twelve = "/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)-\\12/";
        let m = compile(twelve).unwrap();
        assert!(m.is_match(b"abcdefghijkl-l"));
        assert!(!m.is_match(b"abcdefghijkl-a2"));
        let m = compile("/(a)-\\12/").unwrap();
        assert!(!m.is_match(b"a-a2"), "with one group \\12 is octal: a newline");
        assert!(m.is_match(b"a-\n"));
    }

    #[test]
    fn gated_backtracking_patterns_still_match_where_they_should() {
        super::tests::check_backtracking(&[
            ("/foo(?=bar)/", "xfoobar", true),
            ("/foo(?=bar)/", "foobaz", false),
            ("/(\\w)\\1/", "book", true),
            ("/(\\w)\\1/", "abc", false),
            ("/(?<![a-z])cat/", " cat", true),
            ("/(?<![a-z])cat/", "bobcat", false),
            // lookbehind sees the bytes before the gate's start
            ("/(?<=a)b(?=c)/", "abc", true),
            ("/(?<=x)b(?=c)/", "abc", false),
            // the match starts at a later gate start, and one inside an earlier gate match
            ("/a.c(?=d)/", "abcx abce abcd", true),
            ("/ab(?=ab!)/", "abab!", true),
            ("/ab(?=ab!)/", "abab?", false),
            // a gate start after 8-bit bytes, past many gate starts where the pattern fails
            ("/^caf\\xc3\\xa9 (?=ok)/m", "caf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} ok", true),
            ("/^caf\\xc3\\xa9 (?=ok)/m", "caf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} no\ncaf\u{e9} ko", false),
        ]);
        // a backreference far from its group (the gate's stand-in for it reaches far)
        let m = compile("/(x+)y.{300}\\1z/s").unwrap();
        let filler = "-".repeat(300);
        for (hay, expected) in [(format!("xxy{filler}xxz"), true), (format!("xy{filler}qz"), false)] {
            assert_eq!(m.is_match(hay.as_bytes()), expected);
        }
    }
}
