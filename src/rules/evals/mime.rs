//! MIMEEval and the body-shape checks: attachments, HTML parts, body length, parse flags.

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    Some(match function {
        "check_for_mime" => matches!(args.first().map(String::as_str), Some("mime_attachment")),
        "check_msg_parse_flags" => matches!(args.first().map(String::as_str), Some("missing_head_body_separator")),
        "check_body_length" | "check_for_mime_html" | "check_for_mime_html_only" => true,
        _ => return None,
    })
}

pub(super) fn run(function: &str, args: &[String], view: &MessageView, _set: &RuleSet) -> Option<bool> {
    Some(match function {
        "check_for_mime" => view.parts.iter().any(is_attachment),
        "check_body_length" => args.first().and_then(|a| a.parse::<f64>().ok()).is_some_and(|min| view.pristine_body.len() as f64 <= min),
        "check_for_mime_html" => mime_html(view).0,
        "check_for_mime_html_only" => mime_html(view).1,
        "check_msg_parse_flags" => view.missing_head_body_separator,
        _ => return None,
    })
}

fn is_attachment(p: &crate::rules::message::Part) -> bool {
    // MIMEEval counts parts whose Content-Disposition says attachment
    p.disposition.contains("attachment")
}

/// (has an HTML part, every text part is HTML).
fn mime_html(view: &MessageView) -> (bool, bool) {
    let html = view.parts.iter().any(|p| p.content_type == "text/html");
    let plain = view.parts.iter().any(|p| p.content_type.starts_with("text") && p.content_type != "text/html");
    (html, html && !plain)
}

