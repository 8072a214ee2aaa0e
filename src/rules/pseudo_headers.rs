//! The pseudo-headers `PerMsgStatus::get` computes from the relay model: `X-Spam-Relays-Trusted`,
//! `-Untrusted`, `-Internal`, `-External` (the relays' `[ ip=... ]` strings), `ALL-TRUSTED`,
//! `ALL-UNTRUSTED`, `ALL-INTERNAL`, `ALL-EXTERNAL` (the header lines on one side of the trust or
//! internal boundary) and `EnvelopeFrom` (the SMTP sender, guessed as `get_envelope_from` does
//! when `envelope_sender_header` is not set).
//!
//! Invariant: answers come from the message alone; `envelope_sender_header` is not read.

use super::message::{MessageView, decode_header_value};

/// What a pseudo-header request yields.
pub enum Pseudo {
    /// `ALL-*`: the whole answer; SpamAssassin applies no modifiers to it. None when empty.
    Whole(Option<Vec<u8>>),
    /// Values that the `:addr`, `:first`... modifiers then apply to (empty: not present).
    Values(Vec<Vec<u8>>),
}

const RELAY_METADATA: [&str; 4] = ["X-Spam-Relays-Trusted", "X-Spam-Relays-Untrusted", "X-Spam-Relays-Internal", "X-Spam-Relays-External"];

/// Is `name` (without modifiers) a pseudo-header this module answers?
pub fn is_pseudo(name: &str) -> bool {
    matches!(name, "ALL-TRUSTED" | "ALL-UNTRUSTED" | "ALL-INTERNAL" | "ALL-EXTERNAL") || name.eq_ignore_ascii_case("EnvelopeFrom") || is_relay_metadata(name)
}

/// Is `name` one of the `X-Spam-Relays-*` headers SpamAssassin computes (and deletes from a message)?
pub fn is_relay_metadata(name: &str) -> bool {
    RELAY_METADATA.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// The answer for pseudo-header `name`, or None when `name` is an ordinary header.
pub fn values(view: &MessageView, name: &str, raw: bool) -> Option<Pseudo> {
    if !is_pseudo(name) {
        return None;
    }
    let r = view.relays();
    let one = |s: String| Pseudo::Values(vec![s.into_bytes()]);
    Some(match name.to_ascii_lowercase().as_str() {
        // '+1': the Received header at the boundary was written by a trusted host
        "all-trusted" => Pseudo::Whole(header_range(view, None, Some(r.last_trusted_index + 1), raw)),
        "all-internal" => Pseudo::Whole(header_range(view, None, Some(r.last_internal_index + 1), raw)),
        "all-untrusted" => Pseudo::Whole(header_range(view, Some(r.last_trusted_index + 1), None, raw)),
        "all-external" => Pseudo::Whole(header_range(view, Some(r.last_internal_index + 1), None, raw)),
        "envelopefrom" => Pseudo::Values(envelope_from(view).into_iter().map(String::into_bytes).collect()),
        "x-spam-relays-trusted" => one(r.trusted_str()),
        "x-spam-relays-untrusted" => one(r.untrusted_str()),
        "x-spam-relays-internal" => one(r.internal_str()),
        _ => one(r.external_str()),
    })
}

/// `get_all_hdrs_in_rcvd_index_range`: header lines from the `start`-th Received header (counting
/// from 0 at the top) to the `end`-th, both included; lines before the first Received count as
/// index -1.
fn header_range(view: &MessageView, start: Option<isize>, end: Option<isize>, raw: bool) -> Option<Vec<u8>> {
    if end.is_some_and(|e| e < 0) {
        return None;
    }
    let mut index: isize = -1;
    let mut out = Vec::new();
    for h in &view.headers {
        if h.name.eq_ignore_ascii_case("Received") {
            index += 1;
        }
        let in_range = start.is_none_or(|s| s <= index) && end.is_none_or(|e| index < e);
        let at_end = end == Some(index);
        if !in_range && !at_end {
            continue;
        }
        out.extend_from_slice(h.name.as_bytes());
        if raw {
            out.push(b':');
            out.extend_from_slice(&h.raw);
            if !h.raw.ends_with(b"\n") {
                out.push(b'\n');
            }
        } else {
            out.extend_from_slice(b": ");
            out.extend_from_slice(&decode_header_value(&h.name, &h.raw));
            out.push(b'\n');
        }
        if at_end {
            break;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The first address of `header`, as `get("Header:first:addr")` gives it.
fn first_addr(view: &MessageView, header: &str) -> Option<String> {
    let v = view.get(&format!("{header}:first:addr"))?;
    let first = v.split(|&b| b == b'\n').next().unwrap_or_default();
    Some(String::from_utf8_lossy(first).into_owned())
}

/// A Received header comes before a `header` header (a list may have replaced the sender since).
fn received_before(view: &MessageView, header: &str) -> bool {
    let first_received = view.headers.iter().position(|h| h.name.eq_ignore_ascii_case("Received"));
    let last = view.headers.iter().rposition(|h| h.name.eq_ignore_ascii_case(header));
    matches!((first_received, last), (Some(r), Some(l)) if r < l)
}

/// `PerMsgStatus::get_envelope_from` without `envelope_sender_header`: the envelope sender the
/// last untrusted relay (else the first trusted one) recorded, else X-Envelope-From,
/// Envelope-Sender or Return-Path when no Received header precedes them.
pub fn envelope_from(view: &MessageView) -> Option<String> {
    let r = view.relays();
    let usable = |e: &str| e.find('@').is_some_and(|i| i > 0) || e.is_empty();
    if let Some(hop) = r.untrusted.first().or(r.trusted.last())
        && let Some(e) = hop.envfrom.as_deref().filter(|e| usable(e))
    {
        return Some(e.to_string());
    }
    // fetchmail reuses a list's X-Sender as its own envelope sender: no header is reliable then
    if first_addr(view, "X-Sender").is_some_and(|x| x.contains('@')) && view.header_values("Received").iter().any(|v| v.windows(10).any(|w| w == b"(fetchmail"))
    {
        return None;
    }
    if let Some(e) = first_addr(view, "X-Envelope-From") {
        return (!received_before(view, "X-Envelope-From")).then_some(e);
    }
    for header in ["Envelope-Sender", "Return-Path"] {
        if let Some(e) = first_addr(view, header)
            && !received_before(view, header)
        {
            return Some(e);
        }
    }
    None
}
