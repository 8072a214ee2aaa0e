//! HeaderEval's recipient-list checks: sorted and similar To/Cc addresses (address-list spam).

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;

/// SpamAssassin's experimentally derived thresholds.
const SORTED_COUNT: usize = 7;
const SIMILAR_COUNT: usize = 5;
const SIMILAR_LENGTH: usize = 2;

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    let bound = |a: &String| a == "undef" || a.parse::<f64>().is_ok();
    Some(match function {
        "sorted_recipients" => true,
        "similar_recipients" => args.len() == 2 && args.iter().all(bound),
        _ => return None,
    })
}

pub(super) fn run(function: &str, args: &[String], view: &MessageView, _set: &RuleSet) -> Option<bool> {
    Some(match function {
        "sorted_recipients" => {
            let a = recipients(view);
            a.len() >= SORTED_COUNT && a.windows(2).all(|w| w[0] <= w[1])
        }
        "similar_recipients" => {
            let s = similarity(&recipients(view));
            let bound = |a: &String, f: &dyn Fn(f64) -> bool| a == "undef" || a.parse::<f64>().is_ok_and(f);
            bound(&args[0], &|min| s >= min) && bound(&args[1], &|max| s < max)
        }
        _ => return None,
    })
}

/// `_check_recipients`' address list: To and Cc (then Bcc while fewer than five), neighbours that
/// differ only in case merged, at most 256.
fn recipients(view: &MessageView) -> Vec<String> {
    let mut inputs: Vec<String> = Vec::new();
    for request in ["ToCc:addr", "Bcc:addr"] {
        let v = view.get(request).unwrap_or_default();
        inputs.extend(v.split(|&b| b == b'\n').filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()));
        if inputs.len() >= SIMILAR_COUNT {
            break;
        }
    }
    let mut out: Vec<String> = Vec::new();
    for a in inputs {
        // Perl's `while (my $current = shift @inputs)` stops at a false value
        if a == "0" {
            break;
        }
        if out.last().is_none_or(|p| p.to_lowercase() != a.to_lowercase()) {
            out.push(a);
        }
        if out.len() == 256 {
            break;
        }
    }
    out
}

/// Share of address pairs with the same first two characters of local part or of (different)
/// host names; 0 under five addresses.
fn similarity(addresses: &[String]) -> f64 {
    if addresses.len() < SIMILAR_COUNT {
        return 0.0;
    }
    let prefix = |s: &str| s.chars().take(SIMILAR_LENGTH).collect::<String>();
    let fqhn: Vec<&str> = addresses.iter().map(|a| a.split_once('@').map(|(_, h)| h).unwrap_or_default()).collect();
    let user: Vec<String> = addresses.iter().map(|a| prefix(a)).collect();
    let host: Vec<String> = fqhn.iter().map(|h| prefix(h)).collect();
    let (mut hits, mut combinations) = (0usize, 0usize);
    for i in 0..addresses.len() {
        for j in i + 1..addresses.len() {
            hits += usize::from(user[i] == user[j]);
            hits += usize::from(host[i] == host[j] && fqhn[i] != fqhn[j]);
            combinations += 1;
        }
    }
    hits as f64 / combinations as f64
}
