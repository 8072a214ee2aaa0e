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
use super::perl_regex::Matcher;

/// The header requests evals make by name that Debian's rules do not make themselves, numbered
/// with the rules' own so they are answered through slots too (a request missing here is still
/// answered, through the keyed path).
pub const HEADER_REQUESTS: &[&str] = &[
    "Bcc:addr",
    "Disposition-Notification-To:addr",
    "Envelope-Sender:addr",
    "Envelope-Sender:first:addr",
    "EnvelopeFrom:addr",
    "Mail-Reply-To:addr",
    "Reply-To:addr:addr",
    "Resent-From:first:addr",
    "Resent-Sender:addr",
    "Return-Path:first:addr",
    "X-Envelope-From:first:addr",
    "X-Originating-Ip",
    "X-OriginatorOrg",
    "X-Sender:first:addr",
];

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

/// An eval's regex argument, compiled when the rule set is built: per message (or in a cache
/// shared by every scoring thread and outliving reloads) it cost more than the eval itself.
#[derive(Debug)]
pub enum ArgPattern {
    /// `html_text_match`'s pattern, a Perl regex.
    Perl(Matcher),
    /// `check_freemail_header`'s, which FreeMail compiles as written.
    Plain(fancy_regex::Regex),
}

/// Why an eval's regex argument cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ArgPatternError {
    /// A Perl feature the engine does not translate: the rule is not run, as any unsupported one.
    #[error("regex argument uses {0}")]
    Unsupported(String),
    /// The pattern does not compile: a load error.
    #[error("{0}")]
    Invalid(String),
}

/// The compiled regex argument of a supported `function(args)`, None when it takes none.
pub fn compile_arg_pattern(function: &str, args: &[String]) -> Result<Option<ArgPattern>, ArgPatternError> {
    match (function, args) {
        ("html_text_match", [_, source]) => match super::perl_regex::compile_parts(source, "") {
            Ok(m) => Ok(Some(ArgPattern::Perl(m))),
            Err(super::perl_regex::RegexError::Unsupported(what)) => Err(ArgPatternError::Unsupported(what)),
            Err(e) => Err(ArgPatternError::Invalid(e.to_string())),
        },
        ("check_freemail_header", [_, source]) => fancy_regex::Regex::new(source).map(|r| Some(ArgPattern::Plain(r))).map_err(|e| ArgPatternError::Invalid(e.to_string())),
        _ => Ok(None),
    }
}

/// Runs `function(args)`; `pattern` is its argument compiled by `compile_arg_pattern`.
pub fn run(function: &str, args: &[String], pattern: Option<&ArgPattern>, text: &EvalText, view: &MessageView, set: &RuleSet) -> f64 {
    let hit = header::run(function, args, pattern, view, set)
        .or_else(|| mime::run(function, args, text, view, set))
        .or_else(|| html::run(function, args, pattern, view, set))
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
    /// Which of the three line arrays `lines` gives, for memos kept per array.
    fn lines_index(&self) -> usize {
        match (self.kind, self.rewritten_body) {
            ("rawbody", _) => 0,
            (_, Some(_)) => 1,
            _ => 2,
        }
    }

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

/// What several eval rules derive from the same message, derived once per message (each
/// message's view holds one).
#[derive(Debug, Default)]
pub struct Memo {
    /// `check_for_uppercase`'s percentage (three rules), per line array (`lines_index`).
    uppercase: [std::sync::OnceLock<f64>; 3],
    /// `all_from_addrs` (FreeMail's and WLBLEval's From checks).
    from_addrs: std::sync::OnceLock<Vec<String>>,
    /// MIMEEval's per-node header fields (five `check_for_mime` tests and the uppercase check).
    node_fields: std::sync::OnceLock<Vec<mime::NodeFields>>,
    qp_stats: std::sync::OnceLock<mime::QpStats>,
    text_stats: std::sync::OnceLock<mime::TextStats>,
    /// The Hotmail verdict two rules read.
    hotmail: std::sync::OnceLock<Option<relays::Hotmail>>,
    /// Date minus the closest Received time (`check_for_shifted_date`): about ten rules ask for
    /// it, and it parses every Received header.
    date_diff: std::sync::OnceLock<i64>,
}

/// Test helper: whether `function(args)` hits a made-up message as a `body` rule.
#[cfg(test)]
fn hit(function: &str, args: &[&str], msg: &str) -> bool {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    assert!(is_supported(function, &args), "{function}{args:?}");
    let (set, _) = RuleSet::from_text("t.cf", "util_rb_tld com\n");
    let mut view = MessageView::parse(msg.as_bytes());
    view.uri_context = std::sync::Arc::clone(&set.uri_context);
    let pattern = compile_arg_pattern(function, &args).expect("test patterns compile");
    run(function, &args, pattern.as_ref(), &EvalText { kind: "body", rewritten_body: None }, &view, &set) == 1.0
}
