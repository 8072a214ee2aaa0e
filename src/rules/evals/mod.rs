//! `eval:` functions implemented natively, with SpamAssassin's semantics, one file per family
//! (as SpamAssassin's plugins group them). Any other function is reported as unsupported at load
//! time and never hits.
//!
//! Each family answers `supports(function, args)` with `None` when the function is not its own,
//! and `run` with `None` likewise; a new family adds one line to each chain below.

mod addr_lists;
mod body;
mod dates;
pub mod freemail_body;
mod header;
mod html;
mod image;
mod locales;
mod mime;
mod ratware;
mod recipients;
mod relays;

use super::engine::RuleSet;
use super::message::MessageView;

pub fn is_supported(function: &str, args: &[String]) -> bool {
    header::supports(function, args)
        .or_else(|| mime::supports(function, args))
        .or_else(|| html::supports(function, args))
        .or_else(|| image::supports(function, args))
        .or_else(|| relays::supports(function, args))
        .or_else(|| dates::supports(function, args))
        .or_else(|| recipients::supports(function, args))
        .or_else(|| ratware::supports(function, args))
        .or_else(|| addr_lists::supports(function, args))
        .or_else(|| body::supports(function, args))
        .or_else(|| locales::supports(function, args))
        .unwrap_or(false)
}

pub fn run(function: &str, args: &[String], text: &EvalText, view: &MessageView, set: &RuleSet) -> f64 {
    let hit = header::run(function, args, view, set)
        .or_else(|| mime::run(function, args, text, view, set))
        .or_else(|| html::run(function, args, view, set))
        .or_else(|| image::run(function, args, text, view, set))
        .or_else(|| relays::run(function, args, view, set))
        .or_else(|| dates::run(function, args, view, set))
        .or_else(|| recipients::run(function, args, view, set))
        .or_else(|| ratware::run(function, args, view, set))
        .or_else(|| addr_lists::run(function, args, view, set))
        .or_else(|| body::run(function, args, text, view, set))
        .or_else(|| locales::run(function, args, text, view, set))
        .unwrap_or(false);
    if hit { 1.0 } else { 0.0 }
}

/// What decides the text array SpamAssassin hands an eval: the rule's keyword (a `body` eval
/// reads the rendered lines, a `rawbody` one the decoded lines) and, for `body`, whether
/// FreeMail's reply-to check rewrote those lines before the rule's priority.
pub struct EvalText<'a> {
    pub kind: &'a str,
    pub rewritten_body: Option<&'a [Vec<u8>]>,
}

impl<'a> EvalText<'a> {
    fn lines<'v>(&self, view: &'v MessageView) -> &'v [Vec<u8>]
    where
        'a: 'v,
    {
        match (self.kind, self.rewritten_body) {
            ("rawbody", _) => view.decoded_body(),
            (_, Some(lines)) => lines,
            _ => view.rendered_body(),
        }
    }
}

/// Test helper: whether `function(args)` hits a made-up message as a `body` rule.
#[cfg(test)]
fn hit(function: &str, args: &[&str], msg: &str) -> bool {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    assert!(is_supported(function, &args), "{function}{args:?}");
    let (set, _) = RuleSet::from_text("t.cf", "util_rb_tld com\n");
    let mut view = MessageView::parse(msg.as_bytes());
    view.uri_context = std::sync::Arc::clone(&set.uri_context);
    run(function, &args, &EvalText { kind: "body", rewritten_body: None }, &view, &set) == 1.0
}
