//! RelayEval and the HeaderEval checks that read Received headers or the relay model: trusted
//! paths, unparseable relays, HELO/IP mismatches, forged free-mail trails, envelope senders.

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;
use crate::rules::relays::{caps, is, re};

pub(super) fn supports(function: &str, _args: &[String]) -> Option<bool> {
    Some(match function {
        "check_all_trusted" | "check_no_relays" | "check_relays_unparseable" | "helo_ip_mismatch" | "check_for_no_rdns_dotcom_helo" => true,
        "check_for_matching_env_and_hdr_from" | "gated_through_received_hdr_remover" => true,
        "check_for_forged_gmail_received_headers" | "check_for_forged_yahoo_received_headers" => true,
        _ => return None,
    })
}

pub(super) fn run(function: &str, _args: &[String], view: &MessageView, _set: &RuleSet) -> Option<bool> {
    let r = view.relays();
    Some(match function {
        "check_all_trusted" => !r.trusted.is_empty() && r.untrusted.is_empty() && r.unparseable == 0,
        "check_no_relays" => r.trusted.is_empty() && r.untrusted.is_empty() && r.unparseable == 0,
        "check_relays_unparseable" => r.unparseable > 0,
        "helo_ip_mismatch" => helo_ip_mismatch(view),
        "check_for_no_rdns_dotcom_helo" => no_rdns_dotcom_helo(view),
        "check_for_matching_env_and_hdr_from" => first_addr(view, "EnvelopeFrom").to_lowercase() == first_addr(view, "From").to_lowercase(),
        "gated_through_received_hdr_remover" => gated_through_received_hdr_remover(view),
        "check_for_forged_gmail_received_headers" => forged_gmail(view),
        "check_for_forged_yahoo_received_headers" => forged_yahoo(view),
        _ => return None,
    })
}

/// `$pms->get("Header:addr")` in scalar context: the first address, or empty.
fn first_addr(view: &MessageView, header: &str) -> String {
    let v = view.get(&format!("{header}:addr")).unwrap_or_default();
    String::from_utf8_lossy(v.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned()
}

/// `$pms->get("Header")` in scalar context: every value joined, or empty.
fn text(view: &MessageView, header: &str) -> String {
    String::from_utf8_lossy(&view.get(header).unwrap_or_default()).into_owned()
}

fn is_public_ipv4(v: &str) -> bool {
    is(re!(r"^\b(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\b$"), v)
        && !is(re!(r"^${IP_PRIVATE}$"), v)
}

/// RelayEval `helo_ip_mismatch`: an untrusted relay HELOed with a public IPv4 address outside the
/// /24 of the address it connected from.
fn helo_ip_mismatch(view: &MessageView) -> bool {
    view.relays().untrusted.iter().any(|relay| {
        is_public_ipv4(&relay.helo)
            && is_public_ipv4(&relay.ip)
            && relay.helo != relay.ip
            && caps(re!(r"^(\d+\.\d+\.\d+\.)"), &relay.helo).is_some_and(|c| !relay.ip.starts_with(&c[1]))
    })
}

/// RelayEval `check_for_no_rdns_dotcom_helo`: a big free-mail name as HELO from a host without
/// reverse DNS. As in SpamAssassin, only the oldest public untrusted relay decides: the flag is
/// reset for every relay examined.
fn no_rdns_dotcom_helo(view: &MessageView) -> bool {
    let mut flag = false;
    for relay in view.relays().untrusted.iter().filter(|r| !r.ip_private) {
        flag = relay.no_reverse_dns
            && is(re!(r"(?i)(?:\.|^)(lycos\.com|lycos\.co\.uk|hotmail\.com|localhost\.com|excite\.com|caramail\.com|cs\.com|aol\.com|msn\.com|yahoo\.com|drizzle\.com)$"), &relay.helo);
    }
    flag
}

/// HeaderEval `gated_through_received_hdr_remover`: an ezmlm list or MSN Groups removed the
/// Received trail, or there is none.
fn gated_through_received_hdr_remover(view: &MessageView) -> bool {
    if let Some(list) = view.get("Mailing-List") {
        if is(re!(r"(?m)^contact \S+\@\S+; run by ezmlm$"), &String::from_utf8_lossy(&list))
            && is(re!(r"(?m)^mailing list \S+\@\S+"), &text(view, "Delivered-To"))
            && is(re!(r"qmail \d+ invoked (?:from network|by .{3,20})\); \d+ ... \d+"), &text(view, "Received"))
        {
            return true;
        }
    }
    let Some(rcvd) = view.get("Received") else { return true };
    is(re!(r"from groups\.msn\.com \(\S+\.msn\.com "), &String::from_utf8_lossy(&rcvd))
}

/// HeaderEval `check_for_forged_gmail_received_headers`: a gmail.com sender without Google's
/// X-Received / X-Gm-Message-State / X-Google-Smtp-Source trail.
fn forged_gmail(view: &MessageView) -> bool {
    if !is(re!(r"(?i)\bgmail\.com$"), &first_addr(view, "From")) {
        return false;
    }
    let xreceived = text(view, "X-Received");
    if is(re!(r"by 10\.\S+ with SMTP id \S+"), &xreceived) || is(re!(r"by 2002:a\d\d:\w+:\S+ with SMTP id \S+"), &xreceived) {
        return false;
    }
    if is(re!(r"by smtp\.googlemail\.com with ESMTPSA id \S+"), &text(view, "Received")) {
        return false;
    }
    // lengths as Perl counts them, trailing newline included
    !(text(view, "X-Gm-Message-State").len() >= 60 && text(view, "X-Google-Smtp-Source").len() >= 60)
}

/// HeaderEval `check_for_forged_yahoo_received_headers`: a yahoo.com sender whose Received trail
/// shows none of Yahoo's own hosts.
fn forged_yahoo(view: &MessageView) -> bool {
    let from = first_addr(view, "From");
    if !is(re!(r"(?i)\byahoo\.com$"), &from) {
        return false;
    }
    let mut rcvd = text(view, "Received");
    if !text(view, "Resent-From").is_empty() && !text(view, "Resent-To").is_empty() {
        let x = text(view, "X-Received");
        if !x.is_empty() {
            rcvd = x;
        }
    }
    let rcvd = rcvd.split_whitespace().collect::<Vec<_>>().join(" ");
    if gated_through_received_hdr_remover(view) {
        return false;
    }
    let r = view.relays();
    if is(re!(r" rdns=\S+\.yahoo\.com "), &r.trusted_str()) || is(re!(r"^[^\]]+ rdns=\S+\.yahoo\.com "), &r.untrusted_str()) {
        return false;
    }
    let yahoo_hops = [
        re!(r"by web\S+\.mail\S*\.yahoo\.com via HTTP"),
        re!(r"by sonic\S+\.consmr\.mail\S*\.yahoo\.com with HTTP"),
        re!(r"by smtp\S+\.yahoo\.com with SMTP"),
        re!(r"from \[$IP_ADDRESS\] by \S+\.(?:groups|scd|dcn)\.yahoo\.com with NNFMP"),
    ];
    if yahoo_hops.iter().any(|p| is(p, &rcvd)) {
        return false;
    }
    if is(re!(r"\bmailer\d+\.bulk\.scd\.yahoo\.com\b"), &rcvd) && is(re!(r"(?i)\@reply\.yahoo\.com$"), &from) {
        return false;
    }
    // "mail this story to a friend"
    !is(re!(r"by \w+\.\w+\.yahoo\.com \(\d+\.\d+\.\d+/\d+\.\d+\.\d+\)(?: with ESMTP)? id \w+"), &rcvd)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_pattern_compiles() {
        assert!(crate::rules::relays::compile_patterns_in(include_str!("relays.rs")) > 10);
    }
}
