//! HeaderEval's bulk-mailer signatures: unresolved template variables, Message-IDs built from
//! the sender's name, envelope senders built from the recipient's address, and envelope
//! senders in another domain than From.

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;
use crate::rules::relays::{caps, is, re};

pub(super) fn supports(function: &str, _args: &[String]) -> Option<bool> {
    Some(match function {
        "check_unresolved_template" | "check_ratware_name_id" => true,
        "check_ratware_envelope_from" | "check_equal_from_domains" => _args.is_empty(),
        _ => return None,
    })
}

pub(super) fn run(function: &str, _args: &[String], view: &MessageView, _set: &RuleSet) -> Option<bool> {
    let text = |h: &str| String::from_utf8_lossy(&view.get(h).unwrap_or_default()).into_owned();
    Some(match function {
        // a `%VARIABLE` left in a header where it cannot be part of an address or an ID
        "check_unresolved_template" => text("ALL").split('\n').any(|h| {
            is(re!(r"%[A-Z][A-Z_-]"), h)
                && !is(re!(r"(?i)^(?:X-VMS-To|X-UIDL|X-Face|To|Cc|From|Subject|References|In-Reply-To|(?:X-|Resent-|X-Original-)?Message-Id):"), h)
        }),
        // `<28 CAPITALS.name>` as Message-ID with `"..." <name>` as From
        "check_ratware_name_id" => caps(re!(r"<[A-Z]{28}\.([^>]+?)>"), &text("MESSAGEID"))
            .is_some_and(|c| fancy_regex::Regex::new(&format!(r#""[^"]+"\s*<{}>"#, fancy_regex::escape(&c[1]))).is_ok_and(|re| is(&re, &text("From")))),
        "check_ratware_envelope_from" => ratware_envelope_from(view),
        "check_equal_from_domains" => {
            let (from, envelope) = (second_level_domain(&first_addr(view, "From:addr")), second_level_domain(&first_addr(view, "EnvelopeFrom:addr")));
            !from.is_empty() && !envelope.is_empty() && from.to_lowercase() != envelope.to_lowercase()
        }
        _ => return None,
    })
}

/// `$pms->get("...:addr")` in scalar context: the first address.
fn first_addr(view: &MessageView, request: &str) -> String {
    let v = view.get(request).unwrap_or_default();
    String::from_utf8_lossy(v.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned()
}

/// The last two labels of an address's domain (everything after its last `@`), the way
/// `check_equal_from_domains` cuts them: no registry, so `a.co.uk` gives `co.uk`.
fn second_level_domain(addr: &str) -> String {
    let Some((_, domain)) = addr.rsplit_once('@') else { return String::new() };
    caps(re!(r"^.+\.([^.]+\.[^.]+)$"), domain).map_or(domain.to_string(), |c| c[1].to_string())
}

/// An envelope sender `<registered domain of To><any character><To's user>@`, as list-bombing
/// ratware writes it; SRS-rewritten senders excepted.
fn ratware_envelope_from(view: &MessageView) -> bool {
    let (to, from) = (first_addr(view, "To:addr"), first_addr(view, "EnvelopeFrom:addr"));
    if to.is_empty() || from.is_empty() || is(re!(r"(?i)^SRS\d[=+-]"), &from) {
        return false;
    }
    let Some(c) = caps(re!(r"^([^@]+)@(.+)$"), &to) else { return false };
    let registry = &view.uri_context.registry;
    let domain = registry.trim_domain(&c[2]);
    if !registry.is_domain_valid(&domain) {
        return false;
    }
    fancy_regex::Regex::new(&format!(r"(?i)\b{}.{}@", fancy_regex::escape(&domain), fancy_regex::escape(&c[1]))).is_ok_and(|re| is(&re, &from))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_pattern_compiles() {
        assert!(crate::rules::relays::compile_patterns_in(include_str!("ratware.rs")) >= 6);
    }

    fn hit(function: &str, msg: &str) -> bool {
        let (set, _) = crate::rules::engine::RuleSet::from_text("t.cf", "util_rb_tld com\nutil_rb_2tld co.uk\n");
        let mut view = crate::rules::message::MessageView::parse(msg.as_bytes());
        view.uri_context = std::sync::Arc::clone(&set.uri_context);
        assert_eq!(super::supports(function, &[]), Some(true));
        super::run(function, &[], &view, &set).unwrap()
    }

    #[test]
    fn envelope_sender_made_of_the_recipient() {
        let msg = |env: &str| format!("Return-Path: <{env}>\nFrom: a@b.com\nTo: joe@mail.example.com\n\nhi\n");
        assert!(hit("check_ratware_envelope_from", &msg("example.com-joe@bulk.com")));
        assert!(!hit("check_ratware_envelope_from", &msg("SRS0=x=example.com-joe@bulk.com")));
        assert!(!hit("check_ratware_envelope_from", &msg("other@bulk.com")));
    }

    #[test]
    fn from_and_envelope_in_different_domains() {
        let msg = |env: &str| format!("Return-Path: <{env}>\nFrom: a@News.Example.com\nTo: joe@example.com\n\nhi\n");
        assert!(!hit("check_equal_from_domains", &msg("bounce@mx.example.COM")));
        assert!(hit("check_equal_from_domains", &msg("bounce@example.net")));
        assert!(!hit("check_equal_from_domains", "From: a@example.com\n\nno envelope\n"));
    }
}
