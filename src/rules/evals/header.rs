//! HeaderEval and FreeMail: header counts, illegal characters, all-caps subjects, missing To,
//! free-mail senders (header and envelope) and reply addresses (`freemail_body.rs`).

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;
use super::ArgPattern;

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    Some(match function {
        "check_header_count_range" | "check_illegal_chars" => args.len() == 3 && args[1].parse::<f64>().is_ok() && args[2].parse::<f64>().is_ok(),
        // a second argument, the pattern, is compiled with the rule (`compile_arg_pattern`)
        "check_freemail_header" => args.len() == 1 || args.len() == 2,
        "check_for_to_in_subject" => matches!(args.first().map(String::as_str), Some("user" | "address")),
        // the optional regex argument is not used by Debian's rules
        "check_freemail_from" => args.is_empty(),
        "subject_is_all_caps" | "check_for_missing_to_header" => true,
        "check_freemail_replyto" => replyto_check(args).is_some(),
        _ => return None,
    })
}

pub(super) fn run(function: &str, args: &[String], pattern: Option<&ArgPattern>, view: &MessageView, set: &RuleSet) -> Option<bool> {
    Some(match function {
        "check_for_missing_to_header" => {
            let to = view.get("To").or_else(|| view.get("Apparently-To"));
            to.is_none_or(|v| v.is_empty())
        }
        "check_freemail_header" => {
            let regex = match pattern {
                Some(ArgPattern::Plain(re)) => Some(re),
                _ => None,
            };
            freemail_in(view, &args[0], regex, set)
        }
        "check_for_to_in_subject" => to_in_subject(view, &args[0]),
        "check_freemail_from" => all_from_addrs(view).iter().any(|a| is_freemail(&a.to_lowercase(), set)),
        "check_header_count_range" => {
            // distinct decoded values, as HeaderEval counts them
            let values: std::collections::HashSet<Vec<u8>> = view
                .header_values(&args[0])
                .into_iter()
                .map(|mut v| {
                    v.pop();
                    v
                })
                .collect();
            let n = values.len() as f64;
            let (min, max) = (args[1].parse::<f64>().unwrap_or(0.0), args[2].parse::<f64>().unwrap_or(0.0));
            n >= min && n <= max
        }
        "check_illegal_chars" => illegal_chars(view, &args[0], args[1].parse().unwrap_or(1.0), args[2].parse().unwrap_or(1.0)),
        "subject_is_all_caps" => subject_is_all_caps(view),
        "check_freemail_replyto" => replyto_check(args).is_some_and(|c| c.hits(view, set)),
        _ => return None,
    })
}

/// The argument of `check_freemail_replyto`: `replyto` (the default) or `reply`.
fn replyto_check(args: &[String]) -> Option<super::freemail_body::ReplyToCheck> {
    use super::freemail_body::ReplyToCheck;
    match args {
        [] => Some(ReplyToCheck::ReplyTo),
        [a] if a == "replyto" => Some(ReplyToCheck::ReplyTo),
        [a] if a == "reply" => Some(ReplyToCheck::Reply),
        _ => None,
    }
}

/// FreeMail `check_freemail_header`: a free-mail address in `header`, matching `regex` if given.
fn freemail_in(view: &MessageView, header: &str, regex: Option<&fancy_regex::Regex>, set: &RuleSet) -> bool {
    let Some(v) = view.get(&format!("{header}:addr")) else { return false };
    v.split(|b| *b == b'\n').any(|addr| {
        let a = String::from_utf8_lossy(addr).to_ascii_lowercase();
        is_freemail(&a, set) && regex.is_none_or(|re| re.is_match(&a).unwrap_or(false))
    })
}

/// HeaderEval `check_for_to_in_subject`: the recipient's address ("address") or local part
/// ("user") used as the Subject or as its salutation.
fn to_in_subject(view: &MessageView, test: &str) -> bool {
    let to = String::from_utf8_lossy(&view.get("To:addr").unwrap_or_default()).lines().next().unwrap_or_default().to_string();
    if to.is_empty() {
        return false;
    }
    // Perl's `$` also matches before the final newline of the joined values
    let subject = String::from_utf8_lossy(&view.get("Subject").unwrap_or_default()).into_owned();
    let subject = subject.strip_suffix('\n').unwrap_or(&subject);
    // Every alternative below contains the address or user name: without it in the subject there
    // is no match, and building the (Unicode, case-insensitive) regex per message was an eighth
    // of all scoring time. On ASCII text Unicode case folding is ASCII's, so the check is exact.
    let needle = if test == "address" { to.as_str() } else { to.split('@').next().unwrap_or_default() };
    if subject.is_ascii() && needle.is_ascii() && !contains_ignore_ascii_case(subject.as_bytes(), needle.as_bytes()) {
        return false;
    }
    let pattern = if test == "address" {
        format!(r"(?i)\b{}\b", regex::escape(&to))
    } else {
        let user = regex::escape(to.split('@').next().unwrap_or_default());
        format!(r"(?i)^(?:(?:re|fw):\s*(?:\w+\s+)?{user}\z|(?-i:{user})\s*[,:;!?-](?:\z|\s)|{user}\z|,\s*{user}[,:;!?-]\z)")
    };
    regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(subject))
}

fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// `PerMsgStatus::all_from_addrs`: the first Resent-From's addresses, else those of From,
/// Envelope-Sender, Resent-Sender, X-Envelope-From and the envelope sender, dots squeezed.
pub(super) fn all_from_addrs(view: &MessageView) -> &[String] {
    view.eval_memo.from_addrs.get_or_init(|| from_addrs(view))
}

fn from_addrs(view: &MessageView) -> Vec<String> {
    let addrs = |request: &str| -> Vec<String> {
        let v = view.get(request).unwrap_or_default();
        v.split(|&b| b == b'\n').filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
    };
    let resent = addrs("Resent-From:first:addr");
    if !resent.is_empty() {
        return resent;
    }
    let mut out: Vec<String> = Vec::new();
    for h in ["From", "Envelope-Sender", "Resent-Sender", "X-Envelope-From", "EnvelopeFrom"] {
        for a in addrs(&format!("{h}:addr")) {
            let mut squeezed = String::with_capacity(a.len());
            for c in a.chars() {
                if !(c == '.' && squeezed.ends_with('.')) {
                    squeezed.push(c);
                }
            }
            if !out.contains(&squeezed) {
                out.push(squeezed);
            }
        }
    }
    out
}

/// FreeMail's `_is_freemail`: listed domain or wildcard, minus welcomelists and role accounts.
pub(super) fn is_freemail(email: &str, set: &RuleSet) -> bool {
    if email.is_empty() {
        return false;
    }
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or(email);
    if set.freemail_welcomelist.contains(email) || set.freemail_welcomelist.contains(domain) {
        return false;
    }
    static ROLE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let role = ROLE.get_or_init(|| {
        regex::Regex::new(r"(?i)^(?:abuse|support|sales|info|helpdesk|contact|kontakt|(?:post|host|domain)master|undisclosed.*|request-[a-f0-9]{16}|bounced?-|[a-f0-9]{8}(?:\.[a-f0-9]{8}|-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})|.+=.+=.+)@").expect("static regex")
    });
    if role.is_match(email) {
        return false;
    }
    if set.freemail_domains.contains(domain) {
        return true;
    }
    set.freemail_wildcards.as_ref().is_some_and(|w| w.is_match(email))
}

/// HeaderEval `check_illegal_chars`: control and 8-bit bytes in a raw header (valid UTF-8 excepted).
fn illegal_chars(view: &MessageView, header: &str, ratio: f64, count: f64) -> bool {
    let request = if header.ends_with(":raw") { header.to_string() } else { format!("{header}:raw") };
    let Some(s) = view.get(&request) else { return false };
    if !s.iter().any(|b| !b.is_ascii_whitespace()) {
        return false;
    }
    let is_control = |b: u8| matches!(b, 0x00..=0x08 | 0x0b | 0x0c | 0x0e..=0x1f);
    if !s.is_ascii() && std::str::from_utf8(&s).is_ok() && !s.iter().any(|&b| is_control(b)) {
        return false;
    }
    let mut illegal = s.iter().filter(|&&b| is_control(b) || b >= 0x7f).count() as f64;
    if illegal > 0.0 && request.eq_ignore_ascii_case("subject:raw") && s.iter().filter(|&&b| matches!(b, 0xa2 | 0xa3 | 0xae)).count() == 1 {
        illegal -= 1.0;
    }
    illegal / s.len() as f64 >= ratio && illegal >= count
}

/// HeaderEval `subject_is_all_caps`.
fn subject_is_all_caps(view: &MessageView) -> bool {
    let subject = view.get("Subject").unwrap_or_default();
    let text = String::from_utf8_lossy(&subject);
    let mut t = text.trim();
    loop {
        let lower = t.to_ascii_lowercase();
        let prefix = ["re", "fwd", "fw", "aw", "antwort", "wg", "sv", "vb", "vs", "vl"].iter().find(|p| {
            lower.starts_with(*p) && lower[p.len()..].trim_start_matches(' ').starts_with(':')
        });
        let Some(p) = prefix else { break };
        let rest = &t[p.len()..];
        let rest = rest.trim_start_matches(' ');
        t = rest[1..].trim_start();
    }
    if !t.chars().any(char::is_whitespace) || t.len() < 10 {
        return false;
    }
    let letters: String = t.chars().filter(char::is_ascii_alphabetic).collect();
    let raw = view.get("Subject:raw").unwrap_or_default().to_ascii_lowercase();
    let raw = String::from_utf8_lossy(&raw);
    let risky = ["koi", "jp", "jis", "euc", "gb", "big5", "isoir", "cp1251", "windows-1251", "georgianps", "pt154", "tis"];
    if raw.split("=?").skip(1).any(|w| w.split('?').next().is_some_and(|cs| risky.iter().any(|r| cs.contains(r)))) {
        return false;
    }
    !letters.is_empty() && letters == letters.to_ascii_uppercase()
}
