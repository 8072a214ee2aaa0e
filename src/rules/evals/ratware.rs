//! HeaderEval's bulk-mailer signatures: unresolved template variables and Message-IDs built
//! from the sender's name.

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;
use crate::rules::relays::{caps, is, re};

pub(super) fn supports(function: &str, _args: &[String]) -> Option<bool> {
    Some(match function {
        "check_unresolved_template" | "check_ratware_name_id" => true,
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
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_pattern_compiles() {
        assert!(crate::rules::relays::compile_patterns_in(include_str!("ratware.rs")) >= 3);
    }
}
