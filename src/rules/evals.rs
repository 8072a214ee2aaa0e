//! `eval:` functions implemented natively, with SpamAssassin's semantics. Any other function is
//! reported as unsupported at load time and never hits.

use super::engine::RuleSet;
use super::message::MessageView;

const SUPPORTED: &[&str] = &["check_body_length", "check_for_missing_to_header", "check_freemail_header", "check_for_mime", "check_for_mime_html", "check_for_mime_html_only"];

pub fn is_supported(function: &str, args: &[String]) -> bool {
    match function {
        "check_for_mime" => matches!(args.first().map(String::as_str), Some("mime_attachment")),
        // check_freemail_from also reads the envelope sender, which needs relay parsing
        "check_freemail_header" => args.len() == 1 && !args[0].eq_ignore_ascii_case("EnvelopeFrom"),
        f => SUPPORTED.contains(&f),
    }
}

pub fn run(function: &str, args: &[String], view: &MessageView, set: &RuleSet) -> f64 {
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    match function {
        "check_for_missing_to_header" => {
            let to = view.get("To").or_else(|| view.get("Apparently-To"));
            b(to.is_none_or(|v| v.is_empty()))
        }
        "check_freemail_header" => b(freemail_in(view, &args[0], set)),
        "check_for_mime" => b(view.parts.iter().any(is_attachment)),
        "check_body_length" => b(args.first().and_then(|a| a.parse::<f64>().ok()).is_some_and(|min| view.pristine_body.len() as f64 <= min)),
        "check_for_mime_html" => b(mime_html(view).0),
        "check_for_mime_html_only" => b(mime_html(view).1),
        _ => 0.0,
    }
}

fn is_attachment(p: &super::message::Part) -> bool {
    // MIMEEval counts parts whose Content-Disposition says attachment
    p.disposition.contains("attachment")
}

/// (has an HTML part, every text part is HTML).
fn mime_html(view: &MessageView) -> (bool, bool) {
    let html = view.parts.iter().any(|p| p.content_type == "text/html");
    let plain = view.parts.iter().any(|p| p.content_type.starts_with("text") && p.content_type != "text/html");
    (html, html && !plain)
}

fn freemail_in(view: &MessageView, header: &str, set: &RuleSet) -> bool {
    let Some(v) = view.get(&format!("{header}:addr")) else { return false };
    v.split(|b| *b == b'\n').any(|addr| {
        let a = String::from_utf8_lossy(addr).to_ascii_lowercase();
        is_freemail(&a, set)
    })
}

/// FreeMail's `_is_freemail`: listed domain or wildcard, minus welcomelists and role accounts.
fn is_freemail(email: &str, set: &RuleSet) -> bool {
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
    // wildcards: `*` is any run of non-dots, `?` one character, matched against the end of the address
    set.freemail_domains.iter().filter(|d| d.contains('*') || d.contains('?')).any(|d| {
        let mut pat = String::from("@(?:");
        for c in d.chars() {
            match c {
                '*' => pat.push_str("[^.]*"),
                '?' => pat.push('.'),
                c => pat.push_str(&regex::escape(&c.to_string())),
            }
        }
        pat.push_str(")$");
        regex::Regex::new(&pat).is_ok_and(|r| r.is_match(email))
    })
}
