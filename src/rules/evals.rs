//! `eval:` functions implemented natively, with SpamAssassin's semantics. Any other function is
//! reported as unsupported at load time and never hits.

use super::engine::RuleSet;
use super::message::MessageView;

const SUPPORTED: &[&str] = &["check_body_length", "check_for_missing_to_header", "check_freemail_from", "check_freemail_header", "check_for_mime", "check_for_mime_html", "check_for_mime_html_only"];

pub fn is_supported(function: &str, args: &[String]) -> bool {
    match function {
        "check_for_mime" => matches!(args.first().map(String::as_str), Some("mime_attachment")),
        "check_freemail_header" => args.len() == 1,
        "check_freemail_from" => args.is_empty(),
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
        "check_freemail_from" => b(freemail_in(view, "From", set)),
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
        let Some((_, domain)) = a.rsplit_once('@') else { return false };
        if set.freemail_welcomelist.contains(&a) || set.freemail_welcomelist.contains(domain) {
            return false;
        }
        set.freemail_domains.contains(domain) || set.freemail_domains.iter().any(|d| d.starts_with("*.") && domain.ends_with(&d[1..]))
    })
}
