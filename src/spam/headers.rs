//! Reading the `X-Spam-*` headers that SpamAssassin, amavis and Rspamd write.
//!
//! The three scanners say the same things in different shapes:
//! - SpamAssassin: `X-Spam-Status: Yes, score=7.0 required=5.0 tests=GTUBE,NO_RELAYS
//!   autolearn=no version=4.0.1`, the points of each test only in `X-Spam-Report` lines
//!   (` 1000 GTUBE  BODY: Generic Test ...`);
//! - amavis: `X-Spam-Status: Yes, score=7.039 tagged_above=3 required=5 tests=[BAYES_50=0.8,
//!   DKIM_VALID=-0.1] autolearn=no`, plus `X-Spam-Score`, `X-Spam-Level`, `X-Spam-Flag`;
//! - Rspamd: `X-Spamd-Result: default: True [16.40 / 15.00]; GTUBE(0.00)[]; ...` and
//!   `X-Spam: Yes`.
//!
//! Parsing never fails: what cannot be read becomes a [`Diagnostic`] next to whatever could.
//! The topmost header of a name wins (it was added last, by the nearest scanner); later copies
//! are reported, because a second status usually means an upstream or forged one.

use serde::Serialize;

/// One test (SpamAssassin rule or Rspamd symbol) named in a header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestScore {
    pub name: String,
    /// `None` when the header lists the name only (SpamAssassin's `tests=A,B` without a report).
    pub score: Option<f64>,
    /// Decimal places the score was written with, to know how closely sums must agree.
    #[serde(skip)]
    pub decimals: u32,
}

/// Which scanner's format the status came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderFormat {
    SpamAssassin,
    Amavis,
    Rspamd,
}

/// Everything the spam headers of one message say.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SpamHeaders {
    pub format: Option<HeaderFormat>,
    /// `X-Spam-Flag: YES`, `X-Spam: Yes`, or the Yes/No of the status line.
    pub is_spam: Option<bool>,
    /// The reported total: `X-Spam-Score`, else the status line's `score=`.
    pub score: Option<f64>,
    /// `required=` (SpamAssassin/amavis) or the threshold after `/` (Rspamd).
    pub required: Option<f64>,
    /// amavis's `tagged_above=`.
    pub tagged_above: Option<f64>,
    /// Number of stars in `X-Spam-Level`.
    pub level_stars: Option<usize>,
    pub tests: Vec<TestScore>,
    pub autolearn: Option<String>,
    /// Rspamd's action (`default: True` has none; `reject`, `add header` come from
    /// `X-Rspamd-Action`).
    pub action: Option<String>,
    pub diagnostics: Vec<String>,
}

/// The header section of a message (or a bare list of headers), unfolded: (name, value).
/// Stops at the first empty line; lines that are not headers are skipped.
pub fn header_fields(message: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(message);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            if !name.is_empty() && !name.contains(char::is_whitespace) {
                fields.push((name.to_string(), value.trim().to_string()));
            }
        }
    }
    fields
}

/// Parses the spam headers of `message` (a whole message or just its headers).
pub fn parse_spam_headers(message: &[u8]) -> SpamHeaders {
    parse_fields(&header_fields(message))
}

/// Same as [`parse_spam_headers`] on already split headers (the milter collects them one by one).
pub fn parse_fields(fields: &[(String, String)]) -> SpamHeaders {
    let mut out = SpamHeaders::default();
    let mut seen: Vec<String> = Vec::new();
    let mut report_tests: Vec<TestScore> = Vec::new();
    for (name, value) in fields {
        let lname = name.to_ascii_lowercase();
        if !lname.starts_with("x-spam") && lname != "x-rspamd-action" {
            continue;
        }
        if seen.contains(&lname) {
            if matches!(lname.as_str(), "x-spam-status" | "x-spam-score" | "x-spamd-result" | "x-spam-flag") {
                out.diagnostics.push(format!("more than one {name} header: the first one is used"));
            }
            continue;
        }
        seen.push(lname.clone());
        match lname.as_str() {
            "x-spam-flag" | "x-spam" => match yes_no(value) {
                Some(flag) => {
                    out.is_spam.get_or_insert(flag);
                }
                None => out.diagnostics.push(format!("{name}: expected YES or NO, found {:?}", clip(value))),
            },
            "x-spam-score" => match parse_number(value.trim()) {
                Some((n, _)) => out.score = Some(n),
                None => out.diagnostics.push(format!("{name}: not a number: {:?}", clip(value))),
            },
            "x-spam-level" => {
                let v = value.trim();
                if v.chars().all(|c| c == '*' || c == '+') {
                    out.level_stars = Some(v.chars().count());
                } else {
                    out.diagnostics.push(format!("{name}: expected stars, found {:?}", clip(value)));
                }
            }
            "x-spam-status" => parse_status(value, &mut out),
            "x-spamd-result" => parse_rspamd_result(value, &mut out),
            "x-spam-report" => report_tests = parse_report(value),
            "x-rspamd-action" => out.action = Some(value.trim().to_string()),
            _ => {}
        }
    }
    // SpamAssassin's status names tests without points; its report has the points.
    if !report_tests.is_empty() && out.tests.iter().all(|t| t.score.is_none()) {
        if out.tests.is_empty() {
            out.tests = report_tests;
        } else {
            for t in &mut out.tests {
                if let Some(r) = report_tests.iter().find(|r| r.name == t.name) {
                    t.score = r.score;
                    t.decimals = r.decimals;
                }
            }
        }
    }
    if let (Some(score), Some(stars)) = (out.score, out.level_stars) {
        let expected = stars_for(score);
        // Scanners cap the stars (amavis and we at 50, SpamAssassin at 50 too).
        if stars != expected && !(stars == 50 && expected > 50) {
            out.diagnostics.push(format!("X-Spam-Level has {stars} stars but the score {score} gives {expected}"));
        }
    }
    out
}

/// Stars of `X-Spam-Level` for a score: its integer part, none below 1, at most 50.
pub fn stars_for(score: f64) -> usize {
    if score < 1.0 { 0 } else { (score.floor() as usize).min(50) }
}

fn clip(value: &str) -> String {
    value.chars().take(60).collect()
}

fn yes_no(value: &str) -> Option<bool> {
    let first = value.trim().split([',', ' ', ';']).next().unwrap_or("");
    match first.to_ascii_lowercase().as_str() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

/// A decimal number and how many digits follow its point.
fn parse_number(s: &str) -> Option<(f64, u32)> {
    let s = s.trim().trim_end_matches([',', ';']);
    if s.is_empty() || s.len() > 32 || !s.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+')) {
        return None;
    }
    let n: f64 = s.parse().ok()?;
    if !n.is_finite() {
        return None;
    }
    let decimals = s.split_once('.').map(|(_, d)| d.len() as u32).unwrap_or(0);
    Some((n, decimals))
}

fn parse_status(value: &str, out: &mut SpamHeaders) {
    let (verdict, rest) = match value.split_once(',') {
        Some((v, r)) => (v, r),
        None => (value, ""),
    };
    match yes_no(verdict) {
        Some(flag) => {
            out.is_spam.get_or_insert(flag);
        }
        None => out.diagnostics.push(format!("X-Spam-Status: expected Yes or No first, found {:?}", clip(verdict))),
    }
    let mut format = HeaderFormat::SpamAssassin;
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            out.diagnostics.push(format!("X-Spam-Status: cannot read {:?}", clip(rest)));
            break;
        };
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        // The value runs to the next space, except amavis's bracketed test list.
        let (val, next) = if key == "tests" && after.starts_with('[') {
            format = HeaderFormat::Amavis;
            match after.find(']') {
                Some(end) => (&after[..=end], &after[end + 1..]),
                None => {
                    out.diagnostics.push("X-Spam-Status: tests=[ is not closed".to_string());
                    (after, "")
                }
            }
        } else if key == "tests" {
            // Folded SpamAssassin lists come back as "A,B, C": join until a `key=`.
            let mut end = after.len();
            for (i, _) in after.match_indices(' ') {
                let word = after[i + 1..].split(' ').next().unwrap_or("");
                if word.contains('=') {
                    end = i;
                    break;
                }
            }
            (&after[..end], &after[end..])
        } else {
            match after.find([' ', ',']) {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            }
        };
        rest = next.trim_start_matches([' ', ',']).trim();
        match key.as_str() {
            "score" | "hits" => match parse_number(val) {
                Some((n, _)) => {
                    out.score.get_or_insert(n);
                }
                None => out.diagnostics.push(format!("X-Spam-Status: score is not a number: {:?}", clip(val))),
            },
            "required" => match parse_number(val) {
                Some((n, _)) => out.required = Some(n),
                None => out.diagnostics.push(format!("X-Spam-Status: required is not a number: {:?}", clip(val))),
            },
            "tagged_above" => {
                format = HeaderFormat::Amavis;
                match parse_number(val) {
                    Some((n, _)) => out.tagged_above = Some(n),
                    None => out.diagnostics.push(format!("X-Spam-Status: tagged_above is not a number: {:?}", clip(val))),
                }
            }
            "tests" => out.tests = parse_tests(val, &mut out.diagnostics),
            "autolearn" => out.autolearn = Some(val.to_string()),
            _ => {}
        }
    }
    if out.format.is_none() {
        out.format = Some(format);
    }
}

fn parse_tests(val: &str, diagnostics: &mut Vec<String>) -> Vec<TestScore> {
    let inner = val.trim().trim_start_matches('[').trim_end_matches(']');
    let mut tests = Vec::new();
    for item in inner.split(',') {
        let item = item.trim();
        if item.is_empty() || item == "none" {
            continue;
        }
        let (name, score) = match item.split_once('=') {
            Some((n, s)) => match parse_number(s) {
                Some(v) => (n.trim(), Some(v)),
                None => {
                    diagnostics.push(format!("X-Spam-Status: test {n} has no readable score: {:?}", clip(s)));
                    (n.trim(), None)
                }
            },
            None => (item, None),
        };
        if !is_test_name(name) {
            diagnostics.push(format!("X-Spam-Status: {:?} is not a test name", clip(name)));
            continue;
        }
        tests.push(TestScore { name: name.to_string(), score: score.map(|s| s.0), decimals: score.map_or(0, |s| s.1) });
    }
    tests
}

fn is_test_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 128 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// `default: False [3.40 / 15.00]; SYM(0.00)[opt, opt]; SYM2(-1.00)[]`
fn parse_rspamd_result(value: &str, out: &mut SpamHeaders) {
    out.format = Some(HeaderFormat::Rspamd);
    let mut parts = value.split(';');
    let head = parts.next().unwrap_or("");
    // `default: False [3.40 / 15.00]`
    let after_colon = head.split_once(':').map(|(_, r)| r).unwrap_or(head).trim();
    let verdict = after_colon.split_whitespace().next().unwrap_or("");
    match yes_no(verdict) {
        Some(flag) => {
            out.is_spam.get_or_insert(flag);
        }
        None => out.diagnostics.push(format!("X-Spamd-Result: expected True or False, found {:?}", clip(verdict))),
    }
    match (after_colon.find('['), after_colon.find(']')) {
        (Some(a), Some(b)) if a < b => {
            let inside = &after_colon[a + 1..b];
            let mut nums = inside.split('/').map(|s| parse_number(s.trim()));
            match (nums.next().flatten(), nums.next().flatten()) {
                (Some(score), Some(required)) => {
                    out.score.get_or_insert(score.0);
                    out.required = Some(required.0);
                }
                _ => out.diagnostics.push(format!("X-Spamd-Result: cannot read [score / required] from {:?}", clip(inside))),
            }
        }
        _ => out.diagnostics.push("X-Spamd-Result: no [score / required]".to_string()),
    }
    // Symbol options may contain ';' only inside brackets; rejoin such pieces.
    let mut pending = String::new();
    for part in parts {
        if !pending.is_empty() {
            pending.push(';');
        }
        pending.push_str(part);
        if pending.matches('[').count() > pending.matches(']').count() {
            continue;
        }
        let sym = std::mem::take(&mut pending);
        let sym = sym.trim();
        if sym.is_empty() {
            continue;
        }
        let Some(open) = sym.find('(') else {
            out.diagnostics.push(format!("X-Spamd-Result: symbol without score: {:?}", clip(sym)));
            continue;
        };
        let name = sym[..open].trim();
        let close = sym[open..].find(')').map(|i| i + open);
        let score = close.and_then(|c| parse_number(&sym[open + 1..c]));
        if !is_test_name(name) || score.is_none() {
            out.diagnostics.push(format!("X-Spamd-Result: cannot read symbol {:?}", clip(sym)));
            continue;
        }
        out.tests.push(TestScore { name: name.to_string(), score: score.map(|s| s.0), decimals: score.map_or(0, |s| s.1) });
    }
}

/// SpamAssassin's report table: lines like ` 1.0 GTUBE   BODY: Generic Test for ...`.
fn parse_report(value: &str) -> Vec<TestScore> {
    let mut tests = Vec::new();
    // The unfolded report is one long line; entries start with a number followed by a name.
    let words: Vec<&str> = value.split_whitespace().collect();
    for pair in words.windows(2) {
        if let Some((score, decimals)) = parse_number(pair[0]) {
            let name = pair[1];
            if is_test_name(name) && name.chars().any(|c| c.is_ascii_uppercase()) && name.chars().all(|c| !c.is_ascii_lowercase()) {
                tests.push(TestScore { name: name.to_string(), score: Some(score), decimals });
            }
        }
    }
    tests
}
