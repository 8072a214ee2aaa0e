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
        "check_for_forged_hotmail_received_headers" | "check_for_no_hotmail_received_headers" => true,
        "check_for_forged_juno_received_headers" | "check_for_forged_eudoramail_received_headers" => true,
        "check_for_fake_aol_relay_in_rcvd" | "check_for_forged_received_trail" | "check_for_forged_received_ip_helo" => true,
        "check_mailfrom_matches_rcvd" => true,
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
        "check_mailfrom_matches_rcvd" => mailfrom_matches_rcvd(view),
        "check_for_forged_gmail_received_headers" => forged_gmail(view),
        "check_for_forged_yahoo_received_headers" => forged_yahoo(view),
        "check_for_forged_hotmail_received_headers" => hotmail_verdict(view) == &Some(Hotmail::ForgedReceived),
        "check_for_no_hotmail_received_headers" => hotmail_verdict(view) == &Some(Hotmail::NoHotmailReceived),
        "check_for_forged_juno_received_headers" => forged_juno(view),
        "check_for_forged_eudoramail_received_headers" => forged_eudoramail(view),
        "check_for_fake_aol_relay_in_rcvd" => fake_aol_relay(view),
        "check_for_forged_received_trail" => forged_received(view).0 > 1,
        "check_for_forged_received_ip_helo" => forged_received(view).1 > 0,
        _ => return None,
    })
}

/// `$pms->get("Header:addr")` in scalar context: the first address, or empty.
/// WLBLEval `check_mailfrom_matches_rcvd`: the envelope sender's registered domain is the
/// registered domain of the first untrusted relay's rDNS (or, with no untrusted relay, of any
/// trusted one's).
fn mailfrom_matches_rcvd(view: &MessageView) -> bool {
    let sender = first_addr(view, "EnvelopeFrom");
    // `/ \@ ( [^\@]+ \. [^\@]+ ) \z/x`: the part after the last @, with a dot inside it
    let Some((_, domain)) = sender.rsplit_once('@') else { return false };
    let dotted = domain.char_indices().any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len());
    if !dotted {
        return false;
    }
    let relays = view.relays();
    let candidates: Vec<&crate::rules::relays::Relay> = match relays.untrusted.first() {
        Some(first) => vec![first],
        None => relays.trusted.iter().collect(),
    };
    let registry = &view.uri_context.registry;
    let (_, sender_domain) = registry.split_domain(&domain.to_lowercase());
    candidates.iter().filter(|r| !r.rdns.is_empty()).any(|r| registry.split_domain(&r.rdns.to_lowercase()).1 == sender_domain)
}

fn first_addr(view: &MessageView, header: &str) -> String {
    let v = view.get(&format!("{header}:addr")).unwrap_or_default();
    String::from_utf8_lossy(v.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned()
}

/// `$pms->get("Header")` in scalar context: every value joined, or empty.
fn text(view: &MessageView, header: &str) -> String {
    String::from_utf8_lossy(&view.get(header).unwrap_or_default()).into_owned()
}

fn is_public_ipv4(v: &str) -> bool {
    is(
        re!(
            r"^\b(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\b$"
        ),
        v,
    ) && !is(re!(r"^${IP_PRIVATE}$"), v)
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
            && is(
                re!(
                    r"(?i)(?:\.|^)(lycos\.com|lycos\.co\.uk|hotmail\.com|localhost\.com|excite\.com|caramail\.com|cs\.com|aol\.com|msn\.com|yahoo\.com|drizzle\.com)$"
                ),
                &relay.helo,
            );
    }
    flag
}

/// HeaderEval `gated_through_received_hdr_remover`: an ezmlm list or MSN Groups removed the
/// Received trail, or there is none.
fn gated_through_received_hdr_remover(view: &MessageView) -> bool {
    if let Some(list) = view.get("Mailing-List")
        && is(re!(r"(?m)^contact \S+\@\S+; run by ezmlm$"), &String::from_utf8_lossy(&list))
        && is(re!(r"(?m)^mailing list \S+\@\S+"), &text(view, "Delivered-To"))
        && is(re!(r"qmail \d+ invoked (?:from network|by .{3,20})\); \d+ ... \d+"), &text(view, "Received"))
    {
        return true;
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

/// `$pms->get("Received")` with whitespace runs squeezed to one space.
fn received_squeezed(view: &MessageView) -> String {
    text(view, "Received").split_whitespace().collect::<Vec<_>>().join(" ") + if view.has_header("Received") { " " } else { "" }
}

/// What `_check_for_forged_hotmail_received_headers` concludes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Hotmail {
    /// A hop HELOed as hotmail.com without Hotmail's own Received shapes.
    ForgedReceived,
    /// From claims hotmail.com but no Received header mentions it.
    NoHotmailReceived,
}

fn hotmail_verdict(view: &MessageView) -> &Option<Hotmail> {
    view.eval_memo.hotmail.get_or_init(|| forged_hotmail(view))
}

/// HeaderEval's Hotmail checks; None when the trail looks like Hotmail's (or is not about it).
fn forged_hotmail(view: &MessageView) -> Option<Hotmail> {
    let rcvd = received_squeezed(view);
    if rcvd.contains("from mail pickup service by hotmail.com with Microsoft SMTPSVC;") || msn_groups(view) {
        return None;
    }
    let ip = view.get("X-Originating-Ip").is_some_and(|v| is(re!(r"$IP_ADDRESS"), &String::from_utf8_lossy(&v)));
    let orig = view.get("X-OriginatorOrg").is_some_and(|v| is(re!(r"hotmail\.com|msonline\-outlook"), &String::from_utf8_lossy(&v)));
    if gated_through_received_hdr_remover(view) {
        return None;
    }
    let genuine = (ip && is(re!(r"from (?:\S*\.)?hotmail.com \(\S+\.hotmail(?:\.msn)?\.com[ \)]"), &rcvd))
        || (orig && is(re!(r"from \S*\.outbound\.protection\.outlook\.com \(\S+\.outbound\.protection\.outlook\.com[ \)]"), &rcvd))
        || (orig && is(re!(r"from \S*\.(?:eur|nam)prd\d+\.prod\.outlook\.com \($IP_ADDRESS\)"), &rcvd))
        || (ip && is(re!(r"from \S*\.hotmail.com \(\[$IP_ADDRESS\][ \):]"), &rcvd))
        || (ip && is(re!(r"from \S+ by \S+\.hotmail(?:\.msn)?\.com with HTTP;"), &rcvd))
        || (ip && is(re!(r"from \[66\.218.\S+\] by \S+\.yahoo\.com"), &rcvd));
    if genuine {
        None
    } else if is(re!(r"(?:from |HELO |helo=)\S*hotmail\.com\b"), &rcvd) {
        Some(Hotmail::ForgedReceived)
    } else if is(re!(r"(?i)\bhotmail\.com$"), &first_addr(view, "From")) {
        Some(Hotmail::NoHotmailReceived)
    } else {
        None
    }
}

/// HeaderEval `check_for_msn_groups_headers`: a message from an MSN Groups list.
fn msn_groups(view: &MessageView) -> bool {
    let Some(c) = caps(re!(r"(?i)<(\S+)\@groups\.msn\.com>"), &text(view, "To")) else { return false };
    let list = &c[1];
    let Some(server) = caps(re!(r"from mail pickup service by ((?:p\d\d\.)groups\.msn\.com)\b"), &text(view, "Received")) else { return false };
    let message_id = text(view, "Message-Id");
    let matches = |pattern: String| fancy_regex::Regex::new(&pattern).is_ok_and(|re| is(&re, &message_id));
    if list == "notifications" {
        return matches(format!(r"^<\S+\@{}>", server[1]));
    }
    matches(format!(r"^<{list}-\S+\@groups\.msn\.com>"))
        && fancy_regex::Regex::new(&format!(r"{list}-bounce\@groups\.msn\.com")).is_ok_and(|re| is(&re, &first_addr(view, "EnvelopeFrom")))
}

/// HeaderEval `check_for_forged_juno_received_headers`.
fn forged_juno(view: &MessageView) -> bool {
    if !is(re!(r"(?i)\bjuno\.com$"), &first_addr(view, "From")) || gated_through_received_hdr_remover(view) {
        return false;
    }
    let xorig = text(view, "X-Originating-IP");
    let xmailer = text(view, "X-Mailer");
    let rcvd = text(view, "Received");
    if !xorig.is_empty() {
        if !is(re!(r"from.*\b(?:juno|untd)\.com.*[\[\(]$IP_ADDRESS[\]\)].*by"), &rcvd) && !is(re!(r" cookie\.(?:juno|untd)\.com "), &rcvd) {
            return true;
        }
        return !xmailer.contains("Juno ");
    }
    if is(re!(r"from.*\bmail\.com.*\[$IP_ADDRESS\].*by"), &rcvd) {
        if !is(re!(r"\bmail\.com"), &xmailer) {
            return true;
        }
    } else if is(re!(r"from (webmail\S+\.untd\.com) \(\1 \[$IP_ADDRESS\]\) by"), &rcvd) {
        if !is(re!(r"^Webmail Version \d"), &xmailer) {
            return true;
        }
    } else {
        return true;
    }
    !is(re!(r"$IP_ADDRESS"), &xorig)
}

/// HeaderEval `check_for_forged_eudoramail_received_headers`.
fn forged_eudoramail(view: &MessageView) -> bool {
    if !is(re!(r"(?i)\beudoramail\.com$"), &first_addr(view, "From")) || gated_through_received_hdr_remover(view) {
        return false;
    }
    let ip = view.get("X-Sender-Ip").is_some_and(|v| is(re!(r"$IP_ADDRESS"), &String::from_utf8_lossy(&v)));
    !(ip && is(re!(r"by \S*whowhere.com;"), &received_squeezed(view)))
}

/// HeaderEval `check_for_fake_aol_relay_in_rcvd`: AOL's relay host names outside AOL's relays.
fn fake_aol_relay(view: &MessageView) -> bool {
    let rcvd = received_squeezed(view);
    is(re!(r"(?i) rly-[a-z][a-z]\d\d\."), &rcvd) && !is(re!(r"/AOL-\d+\.\d+\.\d+\)"), &rcvd) && !is(re!(r"ESMTP id (?:RELAY|MAILRELAY|MAILIN)"), &rcvd)
}

/// RelayEval's `hostname_to_domain`: the last two labels (three under a two-letter ccTLD other
/// than ie, fr, de); IP addresses unchanged.
fn hostname_to_domain(host: &str) -> String {
    if !host.chars().any(|c| c.is_ascii_alphabetic()) {
        return host.to_string();
    }
    let parts: Vec<&str> = host.split('.').collect();
    let last = parts.last().copied().unwrap_or_default();
    if parts.len() > 1 && is(re!(r"(?:\S{3,}|ie|fr|de)"), last) {
        parts[parts.len() - 2..].join(".")
    } else if parts.len() > 2 {
        parts[parts.len() - 3..].join(".")
    } else {
        host.to_string()
    }
}

/// RelayEval `_check_for_forged_received`: (hops whose `by` differs from the previous hop's
/// rDNS domain, hops HELOing with an IP address in another /16).
fn forged_received(view: &MessageView) -> (usize, usize) {
    let untrusted = &view.relays().untrusted;
    let by: Vec<String> = untrusted.iter().map(|r| hostname_to_domain(&r.by.to_lowercase())).collect();
    let mut from: Vec<Option<String>> = untrusted.iter().map(|r| Some(hostname_to_domain(&r.rdns.to_lowercase()))).collect();
    let helo: Vec<String> = untrusted.iter().map(|r| hostname_to_domain(&r.helo.to_lowercase())).collect();
    let host_like = re!(r"^\w+(?:[\w.-]+\.)+\w+$");
    let (mut mismatch_from, mut mismatch_ip_helo) = (0, 0);
    for (i, relay) in untrusted.iter().enumerate() {
        if !is(host_like, &by[i]) {
            continue;
        }
        if from[i].as_deref().is_some_and(|f| is(re!(r"^localhost(?:\.localdomain)?$"), f)) && relay.ip == "127.0.0.1" {
            from[i] = None;
        }
        let (hlo, fip) = (&helo[i], &relay.ip);
        let dotted = re!(r"^(\d+\.\d+)\.\d+\.\d+$");
        if let (Some(h), Some(f)) = (caps(dotted, hlo), caps(dotted, fip))
            && fip != hlo
            && h[1] != f[1]
            && !is(re!(r"^${IP_PRIVATE}$"), hlo)
        {
            mismatch_ip_helo += 1;
        }
        // Perl's $from[$i-1] at i = 0 is the last element, but the `$i > 0` test excludes it
        if i > 0
            && let Some(prev) = from[i - 1].as_deref()
            && is(host_like, prev)
            && by[i] != prev
            && !(by[i] == "msn.com" && prev == "hotmail.com")
        {
            mismatch_from += 1;
        }
    }
    (mismatch_from, mismatch_ip_helo)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_pattern_compiles() {
        assert!(crate::rules::relays::compile_patterns_in(include_str!("relays.rs")) > 10);
    }
}
