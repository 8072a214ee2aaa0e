//! WLBLEval's named address lists (`enlist_addrlist`): is a sender or Reply-To address listed?

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    Some(match function {
        "check_from_in_list" | "check_replyto_in_list" => args.len() == 1,
        _ => return None,
    })
}

pub(super) fn run(function: &str, args: &[String], view: &MessageView, set: &RuleSet) -> Option<bool> {
    // SpamAssassin warns about an unknown list and does not hit
    let Some(list) = set.raw.addr_lists.get(&args[0]) else { return Some(false) };
    let listed = |addr: &str| {
        let addr = addr.to_lowercase();
        list.iter().any(|(key, re)| *key == addr || re.is_match(&addr))
    };
    Some(match function {
        "check_from_in_list" => super::header::all_from_addrs(view).iter().any(|a| listed(a)),
        "check_replyto_in_list" => {
            let v = view.get("Reply-To:addr").unwrap_or_default();
            let first = String::from_utf8_lossy(v.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned();
            !first.is_empty() && listed(&first)
        }
        _ => return None,
    })
}
