//! FreeMail's reply-to check (`check_freemail_replyto`) and the body it leaves behind.
//!
//! To collect the addresses in the body, SpamAssassin 4.0.1's `_parse_body` loops over the
//! rendered body lines with an aliased `$_` and rewrites them in place: URLs that carry an
//! address, and addresses in `<>` or before a "wrote:"-like word, become one space. Every body
//! rule that runs after the check (its priority and up: header evals run before body rules of
//! the same priority) sees the rewritten lines. This file says when the check gets that far,
//! does the same rewrite, and gives the check's verdict from the addresses it collected.
//!
//! Absent: when more than 20 HTML `mailto:` links qualify, Perl takes the first 20 in hash
//! order (random); here, in document order.

use std::collections::HashSet;

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;

/// The argument of `check_freemail_replyto`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplyToCheck {
    /// `('replyto')`, the default: Reply-To is a free-mail address.
    ReplyTo,
    /// `('reply')`: Reply-To, or From when there is no Reply-To, is a free-mail address.
    Reply,
}

impl ReplyToCheck {
    /// The check a rule's definition calls (`eval:check_freemail_replyto('reply')`), if any.
    pub fn from_definition(text: &str) -> Option<ReplyToCheck> {
        let call = text.trim().strip_prefix("eval:check_freemail_replyto")?.trim();
        let arg = call.strip_prefix('(')?.strip_suffix(')')?.trim().trim_matches(['\'', '"']);
        match arg {
            "" | "replyto" => Some(ReplyToCheck::ReplyTo),
            "reply" => Some(ReplyToCheck::Reply),
            _ => None,
        }
    }

    /// Whether the check reads (and so rewrites) the body on this message.
    pub fn reads_body(self, view: &MessageView, set: &RuleSet) -> bool {
        matches!(self.header_stage(view, set), Stage::ReadBody(_))
    }

    /// The check's verdict: different free-mail addresses in From and Reply-To, or a free-mail
    /// address in the body other than the reply address.
    pub fn hits(self, view: &MessageView, set: &RuleSet) -> bool {
        match self.header_stage(view, set) {
            Stage::Done(hit) => hit,
            Stage::ReadBody(reply_addrs) => {
                let found = set.address_stripper().scan(view, set);
                // too many addresses or free-mail addresses in the body: not judged
                let free: Vec<&String> = found.addresses.iter().filter(|a| super::header::is_freemail(a, set)).collect();
                if found.addresses.len() >= MAX_BODY_EMAILS || free.len() >= MAX_BODY_FREEMAILS {
                    return false;
                }
                free.iter().any(|b| reply_addrs.iter().any(|r| *b != r))
            }
        }
    }

    /// What the check decides from the headers alone.
    fn header_stage(self, view: &MessageView, set: &RuleSet) -> Stage {
        if set.freemail_domains.is_empty() && set.freemail_wildcards.is_none() {
            return Stage::Done(false); // the plugin disables itself
        }
        let envelope_from = view.get("EnvelopeFrom").unwrap_or_default();
        let envelope_from = envelope_from.split(|&b| b == b'\n').next().unwrap_or_default();
        if !envelope_from.is_empty() && bulk_sender().is_match(envelope_from) {
            return Stage::Done(false);
        }
        let addrs = |request: &str| -> Vec<String> {
            let v = view.get(request).unwrap_or_default();
            v.split(|&b| b == b'\n').filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).to_lowercase()).collect()
        };
        let (from, reply_to) = (addrs("From:addr"), addrs("Reply-To:addr"));
        let from_free = from.iter().any(|a| super::header::is_freemail(a, set));
        let reply_to_free = reply_to.iter().any(|a| super::header::is_freemail(a, set));
        let from_not_in_reply_to = !from.iter().any(|a| reply_to.contains(a));
        if from_free && reply_to_free && from_not_in_reply_to {
            return Stage::Done(true);
        }
        let reads = match self {
            ReplyToCheck::ReplyTo => reply_to_free,
            ReplyToCheck::Reply => (reply_to.is_empty() || reply_to_free) && from_free,
        };
        match (reads, self) {
            (false, _) => Stage::Done(false),
            (true, ReplyToCheck::Reply) if !reply_to_free => Stage::ReadBody(from),
            (true, _) => Stage::ReadBody(reply_to),
        }
    }
}

enum Stage {
    Done(bool),
    /// The body is read and compared with these reply addresses.
    ReadBody(Vec<String>),
}

/// `freemail_max_body_emails` and `freemail_max_body_freemails` (defaults; with
/// `freemail_skip_when_over_max`, reaching either skips the body comparison).
const MAX_BODY_EMAILS: usize = 5;
const MAX_BODY_FREEMAILS: usize = 3;

/// What `_parse_body` leaves: the rewritten body lines and the distinct addresses it found.
pub struct BodyScan {
    pub lines: Vec<Vec<u8>>,
    pub addresses: Vec<String>,
}

/// `$skip_replyto_envfrom`: envelope senders of lists and bounces, whose mail is not checked.
fn bulk_sender() -> &'static regex::bytes::Regex {
    static RE: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::bytes::RegexBuilder::new(
            r"(?:^(?:post|host|domain)master|^double-bounce|^(?:sentto|owner|return|(?:gr)?bounced?)-.+|-(?:request|bounces?|admin|owner)|\b(?:do[._-t]?)?no[._-t]?repl(?:y|ies)|.+=.+)@",
        )
        .case_insensitive(true)
        .unicode(false)
        .build()
        .expect("static regex")
    })
}

/// `_parse_body`'s two substitutions, compiled for one rule set's TLDs.
#[derive(Debug)]
pub struct AddressStripper {
    urls_with_address: fancy_regex::Regex,
    quoted_addresses: fancy_regex::Regex,
    address: fancy_regex::Regex,
}

/// After this many distinct addresses `_parse_body` stops, leaving the later lines alone.
const MAX_BODY_ADDRESSES: usize = 40;
/// At most this many come from HTML `mailto:` links.
const MAX_MAILTO_ADDRESSES: usize = 20;

impl AddressStripper {
    pub fn new(tlds: &HashSet<String>) -> AddressStripper {
        // `\s` and `\S` of Perl on octets: ASCII whitespace only
        const S: &str = r"[\t\n\x0B\x0C\r ]";
        const NOT_S: &str = r"[^\t\n\x0B\x0C\r ]";
        let mut tlds: Vec<&str> = tlds.iter().map(String::as_str).collect();
        tlds.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        let tld_alternatives = if tlds.is_empty() { "no_tlds_defined".to_string() } else { tlds.iter().map(|t| fancy_regex::escape(t)).collect::<Vec<_>>().join("|") };
        let local = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]";
        let email = format!(
            r"(?=.{{0,64}}@)(?<!{local})({local}+(?:\.{local}+)*@(?:[a-z0-9](?:[a-z0-9-]{{0,59}}[a-z0-9])?\.){{1,4}}(?<![a-zA-Z0-9-])(?:{tld_alternatives})(?!(?:[a-zA-Z0-9-]|\.[a-zA-Z0-9])))"
        );
        let build = |p: &str| fancy_regex::RegexBuilder::new(&format!("(?i){p}")).build().expect("address pattern compiles");
        AddressStripper {
            urls_with_address: build(&format!(r"<?https?://{NOT_S}{{0,255}}(?:@|%40){NOT_S}{{0,255}}")),
            quoted_addresses: build(&format!(r"<?(?<!mailto:){email}(?:>|{S}{{1,10}}(?!(?:fa(?:x|csi)|tel|phone|e?-?mail))[a-z]{{2,11}}:)")),
            address: build(&email),
        }
    }

    /// `_parse_body` over a message: first the addresses of HTML `<a href="mailto:...">` links
    /// that the text does not show as a link too, then the rendered lines.
    pub fn scan(&self, view: &MessageView, set: &RuleSet) -> BodyScan {
        let parsed = crate::rules::uri::text_uri_keys(view, &set.uri_context);
        let mut addresses: Vec<String> = Vec::new();
        let links = view.html_renders().iter().filter_map(|r| r.stats.as_ref()).flat_map(|s| s.anchor_hrefs.iter());
        for link in links.filter(|l| !parsed.contains(*l)) {
            let text = super::super::perl_regex::latin1(link);
            let Some(rest) = text.get(..7).filter(|p| p.eq_ignore_ascii_case("mailto:")).map(|_| &text[7..]) else { continue };
            let Some(a) = self.address.captures(rest).ok().flatten().filter(|c| c.get(0).is_some_and(|m| m.start() == 0)).and_then(|c| c.get(1)) else { continue };
            let a = a.as_str().to_lowercase();
            if !addresses.contains(&a) {
                addresses.push(a);
            }
            if addresses.len() >= MAX_MAILTO_ADDRESSES {
                break;
            }
        }
        let lines = self.strip(view.rendered_body(), &mut addresses);
        BodyScan { lines, addresses }
    }

    /// The lines as `_parse_body` leaves them; the addresses found are added to `seen`.
    fn strip(&self, lines: &[Vec<u8>], seen: &mut Vec<String>) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(lines.len());
        for line in lines {
            let has_address = line.windows(3).any(|w| w == b"%40") || line.contains(&b'@');
            if seen.len() >= MAX_BODY_ADDRESSES || !has_address {
                out.push(line.clone());
                continue;
            }
            let text = super::super::perl_regex::latin1(line);
            // a pattern that runs out of backtracking steps leaves the text as it was
            let text = self.urls_with_address.try_replacen(&text, 0, " ").map_or(text.clone(), |t| t.into_owned());
            let text = self.quoted_addresses.try_replacen(&text, 0, " ").map_or(text.clone(), |t| t.into_owned());
            for m in self.address.captures_iter(text.as_str()).filter_map(Result::ok) {
                if let Some(a) = m.get(1).map(|a| a.as_str().to_lowercase()) {
                    if !seen.contains(&a) {
                        seen.push(a);
                    }
                }
                if seen.len() >= MAX_BODY_ADDRESSES {
                    break;
                }
            }
            // Latin-1 back to the original octets
            out.push(text.chars().map(|c| c as u32 as u8).collect());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripper() -> AddressStripper {
        AddressStripper::new(&["com".to_string(), "org".to_string()].into_iter().collect())
    }

    #[test]
    fn quoted_addresses_and_address_urls_become_a_space() {
        let lines = vec![
            b"From: \"a user\" <user@example.com>\n".to_vec(),
            b"see http://x.example.org/?u=me%40example.org now\n".to_vec(),
            b"mail joe@example.com wrote: hi, fax: joe@example.org fax: 1\n".to_vec(),
            b"plain user@example.com and user@example.invalid stay\n".to_vec(),
        ];
        let mut seen = Vec::new();
        let got: Vec<String> = stripper().strip(&lines, &mut seen).into_iter().map(|l| String::from_utf8(l).unwrap()).collect();
        assert_eq!(seen, vec!["joe@example.org", "user@example.com"]);
        assert_eq!(got, vec![
            "From: \"a user\"  \n",
            "see   now\n",
            "mail   hi, fax: joe@example.org fax: 1\n",
            "plain user@example.com and user@example.invalid stay\n",
        ]);
    }

    #[test]
    fn reply_addresses_are_compared_with_body_free_mail() {
        let (set, _) = RuleSet::from_text("t.cf", "util_rb_tld com\nfreemail_domains free.com\n");
        let msg = |from: &str, reply_to: &str, body: &str| {
            let reply_to = if reply_to.is_empty() { String::new() } else { format!("Reply-To: {reply_to}\n") };
            let mut view = MessageView::parse(format!("From: {from}\n{reply_to}Subject: x\n{body}").as_bytes());
            view.uri_context = std::sync::Arc::clone(&set.uri_context);
            view
        };
        let check = |view: &MessageView| (ReplyToCheck::ReplyTo.hits(view, &set), ReplyToCheck::Reply.hits(view, &set));
        // two different free-mail addresses: decided from the headers
        assert_eq!(check(&msg("a@free.com", "b@free.com", "\nhi\n")), (true, true));
        // "reply" wants a free-mail From
        assert_eq!(check(&msg("a@corp.com", "x@free.com", "\nwrite to y@free.com now\n")), (true, false));
        // and compares it with the body when there is no Reply-To
        assert_eq!(check(&msg("a@free.com", "", "\nwrite to y@free.com now\n")), (false, true));
        assert_eq!(check(&msg("a@free.com", "", "\nwrite to a@free.com now\n")), (false, false));
        assert_eq!(check(&msg("a@corp.com", "x@free.com", "\nwrite to x@free.com now\n")), (false, false));
        // an address in <> is stripped before the search
        assert_eq!(check(&msg("a@corp.com", "x@free.com", "\nwrite to <y@free.com>\n")), (false, false));
        // five addresses in the body: not judged
        assert_eq!(check(&msg("a@corp.com", "x@free.com", "\ny@free.com b@c.com c@c.com d@c.com e@c.com\n")), (false, false));
        // a Reply-To that is not free mail stops both forms
        assert_eq!(check(&msg("a@free.com", "r@corp.com", "\nwrite to y@free.com now\n")), (false, false));
        // an HTML mailto: link counts even when its text does not show the address
        let html = "Content-Type: text/html\n\n<a href=\"mailto:y@free.com\">write</a>\n";
        assert_eq!(check(&msg("a@corp.com", "x@free.com", html)), (true, false));
    }

    #[test]
    fn the_check_argument_is_read_from_the_definition() {
        assert_eq!(ReplyToCheck::from_definition("eval:check_freemail_replyto('reply')"), Some(ReplyToCheck::Reply));
        assert_eq!(ReplyToCheck::from_definition("eval:check_freemail_replyto()"), Some(ReplyToCheck::ReplyTo));
        assert_eq!(ReplyToCheck::from_definition("eval:check_freemail_from()"), None);
    }
}
