//! WLBLEval: named address lists (`enlist_addrlist`), the welcome and block lists
//! (`welcomelist_from`, `blocklist_from`) and the relay-checked welcome lists
//! (`welcomelist_from_rcvd`, `def_welcomelist_from_rcvd`); WelcomeListSubject's subject lists.

use core::net::IpAddr;

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;
use crate::rules::parse::{GlobList, RcvdListEntry};
use crate::rules::relays::{Relay, caps, is, re};

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    Some(match function {
        "check_from_in_list" | "check_replyto_in_list" => args.len() == 1,
        "check_from_in_blocklist" | "check_from_in_blacklist" | "check_from_in_welcomelist" | "check_from_in_whitelist" => true,
        "check_from_in_default_welcomelist" | "check_from_in_default_whitelist" => true,
        "check_to_in_welcomelist" | "check_to_in_whitelist" | "check_to_in_blocklist" | "check_to_in_blacklist" => true,
        "check_to_in_more_spam" | "check_to_in_all_spam" | "check_to_in_list" => true,
        "check_subject_in_welcomelist" | "check_subject_in_whitelist" | "check_subject_in_blocklist" | "check_subject_in_blacklist" => true,
        _ => return None,
    })
}

pub(super) fn run(function: &str, args: &[String], view: &MessageView, set: &RuleSet) -> Option<bool> {
    let lists = &set.raw.addr_lists;
    let from = || super::header::all_from_addrs(view);
    let rcvd = |list: &str| set.raw.rcvd_lists.get(list).map(Vec::as_slice).unwrap_or_default();
    Some(match function {
        // SpamAssassin warns about an unknown list and does not hit
        "check_from_in_list" => from().iter().any(|a| listed(lists.get(&args[0]), a)),
        "check_replyto_in_list" => {
            let v = view.get("Reply-To:addr").unwrap_or_default();
            let first = String::from_utf8_lossy(v.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned();
            !first.is_empty() && listed(lists.get(&args[0]), &first)
        }
        "check_from_in_blocklist" | "check_from_in_blacklist" => from().iter().any(|a| listed(lists.get("blocklist_from"), a)),
        "check_from_in_welcomelist" | "check_from_in_whitelist" => {
            from().iter().any(|a| listed(lists.get("welcomelist_from"), a) || arrived_through_listed_relay(view, rcvd("welcomelist_from_rcvd"), a))
        }
        "check_from_in_default_welcomelist" | "check_from_in_default_whitelist" => {
            from().iter().any(|a| arrived_through_listed_relay(view, rcvd("def_welcomelist_from_rcvd"), a))
        }
        "check_to_in_welcomelist" | "check_to_in_whitelist" => to_listed(view, lists.get("welcomelist_to")),
        "check_to_in_blocklist" | "check_to_in_blacklist" => to_listed(view, lists.get("blocklist_to")),
        "check_to_in_more_spam" => to_listed(view, lists.get("more_spam_to")),
        "check_to_in_all_spam" => to_listed(view, lists.get("all_spam_to")),
        "check_to_in_list" => args.first().is_some_and(|l| to_listed(view, lists.get(l))),
        "check_subject_in_welcomelist" | "check_subject_in_whitelist" => subject_listed(view, lists.get("welcomelist_subject")),
        "check_subject_in_blocklist" | "check_subject_in_blacklist" => subject_listed(view, lists.get("blocklist_subject")),
        _ => return None,
    })
}

/// WelcomeListSubject: the lowercased Subject contains one of the list's patterns.
fn subject_listed(view: &MessageView, list: Option<&GlobList>) -> bool {
    let subject = String::from_utf8_lossy(&view.get("Subject").unwrap_or_default()).to_lowercase();
    !subject.is_empty() && list.is_some_and(|l| l.matches(&subject))
}

fn to_listed(view: &MessageView, list: Option<&GlobList>) -> bool {
    list.is_some_and(|l| !l.is_empty()) && all_to_addrs(view).iter().any(|a| listed(list, a))
}

/// `PerMsgStatus::all_to_addrs`: the first Resent-To and Resent-Cc's addresses, else the `for`
/// address of the three newest Received headers and every To-like header's addresses, in order,
/// without repeats.
fn all_to_addrs(view: &MessageView) -> Vec<String> {
    let addrs = |request: &str| -> Vec<String> {
        let v = view.get(request).unwrap_or_default();
        v.split(|&b| b == b'\n').filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
    };
    let mut all: Vec<String> = addrs("Resent-To:first:addr").into_iter().chain(addrs("Resent-Cc:first:addr")).collect();
    if all.is_empty() {
        for line in view.header_values("Received").into_iter().take(3) {
            if let Some(c) = caps(re!(r" for <?(\S+\@(\S+?))>?;"), &String::from_utf8_lossy(&line))
                && is_fqdn_valid(&c[2])
            {
                all.push(c[1].clone());
            }
        }
        let headers = [
            "To",
            "Apparently-To",
            "Delivered-To",
            "Envelope-Recipients",
            "Apparently-Resent-To",
            "X-Envelope-To",
            "Envelope-To",
            "X-Delivered-To",
            "X-Original-To",
            "X-Rcpt-To",
            "X-Real-To",
            "Cc",
        ];
        for h in headers {
            all.extend(addrs(&format!("{h}:addr")));
        }
    }
    let mut seen = std::collections::HashSet::new();
    all.retain(|a| seen.insert(a.clone()));
    all
}

/// `Util::is_fqdn_valid` for an ASCII name: at least two labels of letters, digits, `-` inside
/// and `_` (not in the last two labels), 253 characters at most.
fn is_fqdn_valid(host: &str) -> bool {
    let host = host.to_lowercase();
    let host = host.trim_end_matches('.');
    let labels: Vec<&str> = host.split('.').collect();
    if host.len() > 253 || labels.len() < 2 {
        return false;
    }
    labels.iter().enumerate().all(|(i, l)| {
        let from_end = labels.len() - i;
        (1..=63).contains(&l.len()) && is(re!(r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$"), l) && (from_end > 2 || !l.contains('_'))
    })
}

/// `_check_welcomelist`: the address, lowercased, is a list key or matches one of its globs.
fn listed(list: Option<&GlobList>, addr: &str) -> bool {
    list.is_some_and(|l| l.matches(&addr.to_lowercase()))
}

/// `_check_welcomelist_rcvd` (the hit half): a listed address that came through one of its
/// relays, judged on the first untrusted relay, or on every trusted one when all are trusted.
fn arrived_through_listed_relay(view: &MessageView, list: &[RcvdListEntry], addr: &str) -> bool {
    let r = view.relays();
    let relays: &[Relay] = if r.untrusted.is_empty() { &r.trusted } else { &r.untrusted[..1] };
    let addr = addr.to_lowercase();
    list.iter().filter(|e| e.re.is_match(&addr)).any(|e| e.domains.iter().any(|d| relays.iter().any(|relay| relay_matches(relay, d))))
}

/// Does `relay` match a list's second field: `[IP]`, `[IP]/len`, `[a.b.c]` (a classful prefix)
/// or a domain that its reverse DNS ends with?
fn relay_matches(relay: &Relay, domain: &str) -> bool {
    let Some(inner) = domain.strip_prefix('[') else {
        let rdns = relay.rdns.to_lowercase();
        return rdns == domain || rdns.ends_with(&format!(".{domain}"));
    };
    let Some((ip, rest)) = inner.split_once(']') else { return false };
    let wanted = format!("{ip}{rest}");
    if relay.ip.is_empty()
        || !(rest.is_empty() || rest.strip_prefix('/').is_some_and(|n| !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit())))
    {
        return false;
    }
    let dotted = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if dotted(&wanted) && wanted.split('.').count() == 4 && wanted.split('.').all(|p| !p.is_empty()) {
        return wanted == relay.ip;
    }
    if dotted(&wanted) {
        // a classful subnet: "10.1" or "10.1." covers 10.1.*
        return relay.ip.starts_with(&format!("{}.", wanted.trim_end_matches('.')));
    }
    let (net, len) = match wanted.split_once('/') {
        Some((n, l)) => (n, l.parse::<u32>().ok()),
        None => (wanted.as_str(), None),
    };
    match (net.parse::<IpAddr>(), relay.ip.parse::<IpAddr>()) {
        (Ok(IpAddr::V4(n)), Ok(IpAddr::V4(a))) => within(u128::from(u32::from(n)), u128::from(u32::from(a)), len.unwrap_or(32).min(32), 32),
        (Ok(IpAddr::V6(n)), Ok(IpAddr::V6(a))) => within(u128::from(n), u128::from(a), len.unwrap_or(128).min(128), 128),
        _ => false,
    }
}

/// Are the first `len` of `bits` bits of `net` and `addr` equal?
fn within(net: u128, addr: u128, len: u32, bits: u32) -> bool {
    len == 0 || (net ^ addr) >> (bits - len) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert!(crate::rules::relays::compile_patterns_in(include_str!("addr_lists.rs")) >= 2);
    }

    #[test]
    fn relay_list_entries_match_like_spamassassin() {
        let relay = Relay { ip: "203.0.113.77".into(), rdns: "Out-3.Mail.Example.com".into(), ..Relay::default() };
        for (entry, want) in [
            ("example.com", true),
            ("mail.example.com", true),
            ("ample.com", false),
            ("[203.0.113.77]", true),
            ("[203.0.113.78]", false),
            ("[203.0.113]", true),
            ("[203.0.11]", false),
            ("[203.0.113.0]/24", true),
            ("[203.0.112.0]/24", false),
            ("[2001:db8::1]", false),
        ] {
            assert_eq!(relay_matches(&relay, entry), want, "{entry}");
        }
    }
}
