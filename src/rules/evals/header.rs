//! HeaderEval and FreeMail: header counts, illegal characters, all-caps subjects, missing To,
//! free-mail senders, unresolved templates, the recipient in the Subject, ratware and Outlook
//! Message-IDs, gateways that strip Received headers.

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    Some(match function {
        "check_header_count_range" | "check_illegal_chars" => args.len() == 3 && args[1].parse::<f64>().is_ok() && args[2].parse::<f64>().is_ok(),
        // check_freemail_from also reads the envelope sender, which needs relay parsing
        "check_freemail_header" => args.len() == 1 && !args[0].eq_ignore_ascii_case("EnvelopeFrom"),
        "subject_is_all_caps" | "check_for_missing_to_header" => true,
        "check_unresolved_template" | "check_outlook_message_id" | "gated_through_received_hdr_remover" | "check_ratware_name_id" => args.is_empty(),
        "sorted_recipients" => args.is_empty(),
        "similar_recipients" => args.len() == 2 && args.iter().all(|a| a == "undef" || a.parse::<f64>().is_ok()),
        "check_for_to_in_subject" => args.len() == 1 && (args[0] == "user" || args[0] == "address"),
        _ => return None,
    })
}

pub(super) fn run(function: &str, args: &[String], view: &MessageView, set: &RuleSet) -> Option<bool> {
    Some(match function {
        "check_for_missing_to_header" => {
            let to = view.get("To").or_else(|| view.get("Apparently-To"));
            to.is_none_or(|v| v.is_empty())
        }
        "check_freemail_header" => freemail_in(view, &args[0], set),
        "check_header_count_range" => {
            // distinct decoded values, as HeaderEval counts them
            let values: std::collections::HashSet<Vec<u8>> = view
                .header_values(&args[0])
                .into_iter()
                .map(|mut v| {
                    v.pop();
                    v
                })
                .collect();
            let n = values.len() as f64;
            let (min, max) = (args[1].parse::<f64>().unwrap_or(0.0), args[2].parse::<f64>().unwrap_or(0.0));
            n >= min && n <= max
        }
        "check_illegal_chars" => illegal_chars(view, &args[0], args[1].parse().unwrap_or(1.0), args[2].parse().unwrap_or(1.0)),
        "subject_is_all_caps" => subject_is_all_caps(view),
        "check_unresolved_template" => unresolved_template(view),
        "check_for_to_in_subject" => to_in_subject(view, &args[0]),
        "check_outlook_message_id" => outlook_message_id(view),
        "gated_through_received_hdr_remover" => gated_through_received_hdr_remover(view),
        "check_ratware_name_id" => ratware_name_id(view),
        "sorted_recipients" => recipients(view).0,
        "similar_recipients" => {
            let similar = recipients(view).1;
            let bound = |a: &String| a.parse::<f64>().ok();
            bound(&args[0]).is_none_or(|min| similar >= min) && bound(&args[1]).is_none_or(|max| similar < max)
        }
        _ => return None,
    })
}

fn static_re(cell: &'static std::sync::OnceLock<regex::bytes::Regex>, pattern: &str) -> &'static regex::bytes::Regex {
    cell.get_or_init(|| regex::bytes::Regex::new(pattern).expect("static regex"))
}

/// `$pms->get(name)` in scalar context: '' when absent.
fn get_or_empty(view: &MessageView, request: &str) -> Vec<u8> {
    view.get(request).unwrap_or_default()
}

/// A header line with `%VARIABLE` left in it by a broken mail merge.
fn unresolved_template(view: &MessageView) -> bool {
    static VAR: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    static EXEMPT: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    let var = static_re(&VAR, r"%[A-Z][A-Z_-]");
    let exempt = static_re(&EXEMPT, r"(?i)^(?:X-VMS-To|X-UIDL|X-Face|To|Cc|From|Subject|References|In-Reply-To|(?:X-|Resent-|X-Original-)?Message-Id):");
    get_or_empty(view, "ALL").split(|&b| b == b'\n').any(|h| var.is_match(h) && !exempt.is_match(h))
}

/// The recipient's address (or its local part, with `user`) in the Subject.
fn to_in_subject(view: &MessageView, test: &str) -> bool {
    // scalar get of :addr is the first address
    let full_to = get_or_empty(view, "To:addr");
    let full_to = full_to.split(|&b| b == b'\n').next().unwrap_or(&[]);
    if full_to.is_empty() {
        return false;
    }
    let subject = get_or_empty(view, "Subject");
    let esc = |v: &[u8]| regex::escape(&String::from_utf8_lossy(v));
    // Perl's `$` without /m: the end, or before a final newline
    let pattern = if test == "address" {
        format!(r"(?i-u)\b{}\b", esc(full_to))
    } else {
        let to = esc(full_to.split(|&b| b == b'@').next().unwrap_or(&[]));
        format!(r"(?i-u)^(?:(?:re|fw):\s*(?:\w+\s+)?{to}\n?\z|(?-i:{to})\s*[,:;!?-](?:\n?\z|\s)|{to}\n?\z|,\s*{to}[,:;!?-]\n?\z)")
    };
    regex::bytes::Regex::new(&pattern).is_ok_and(|r| r.is_match(&subject))
}

/// An Outlook-style Message-ID whose embedded time is far from both the Date and the
/// Received time.
fn outlook_message_id(view: &MessageView) -> bool {
    static ID: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    let id = get_or_empty(view, "MESSAGEID");
    let Some(c) = static_re(&ID, r"^<[0-9a-f]{4}([0-9a-f]{8})\$[0-9a-f]{8}\$[0-9a-f]{8}@").captures(&id) else { return false };
    let token = i64::from_str_radix(&String::from_utf8_lossy(&c[1]), 16).unwrap_or(0);
    let far = |header: &str| {
        let t = super::date::parse_rfc822_date(&String::from_utf8_lossy(&get_or_empty(view, header))).unwrap_or(0);
        let expected = (t as f64 * 0.0023283064365387 + 27111902.8329849) as i64;
        (token - expected).abs() >= 250
    };
    // SpamAssassin matches a date in the Received headers but then parses all of them
    far("Date") && far("Received")
}

/// A mailing list or gateway that strips Received headers (ezmlm, MSN groups), or none at all.
fn gated_through_received_hdr_remover(view: &MessageView) -> bool {
    static EZMLM: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    static DLTO: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    static QMAIL: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    static MSN: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    if let Some(list) = view.get("Mailing-List") {
        if static_re(&EZMLM, r"(?m-u)^contact \S+@\S+; run by ezmlm$").is_match(&list)
            && static_re(&DLTO, r"(?m-u)^mailing list \S+@\S+").is_match(&get_or_empty(view, "Delivered-To"))
            && static_re(&QMAIL, r"(?-u)qmail \d+ invoked (?:from network|by .{3,20})\); \d+ ... \d+").is_match(&get_or_empty(view, "Received"))
        {
            return true;
        }
    }
    match view.get("Received") {
        None => true,
        Some(r) => static_re(&MSN, r"(?-u)from groups\.msn\.com \(\S+\.msn\.com ").is_match(&r),
    }
}

/// `_check_recipients`: (at least 7 recipients in sorted order, share of recipient pairs with
/// the same two-letter user or host prefix).
fn recipients(view: &MessageView) -> (bool, f64) {
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for request in ["ToCc:addr", "Bcc:addr"] {
        inputs.extend(view.get(request).unwrap_or_default().split(|&b| b == b'\n').filter(|a| !a.is_empty()).map(<[u8]>::to_vec));
        if inputs.len() >= 5 {
            break;
        }
    }
    let mut address: Vec<Vec<u8>> = Vec::new();
    for current in inputs {
        // Perl's `while (my $current = shift @inputs)` stops at a "0"
        if current == b"0" {
            break;
        }
        if address.last().is_none_or(|p| !p.eq_ignore_ascii_case(&current)) {
            address.push(current);
        }
        if address.len() == 256 {
            break;
        }
    }
    let mut sorted = address.clone();
    sorted.sort();
    let is_sorted = address.len() >= 7 && address == sorted;
    if address.len() < 5 {
        return (is_sorted, 0.0);
    }
    let prefix = |v: &[u8]| v[..v.len().min(2)].to_vec();
    let user: Vec<Vec<u8>> = address.iter().map(|a| prefix(a)).collect();
    // addresses without an @ give no host, which shifts the later hosts (as Perl's map does)
    let fqhn: Vec<Vec<u8>> = address.iter().filter_map(|a| a.iter().position(|&b| b == b'@').map(|p| a[p + 1..].to_vec())).collect();
    let host: Vec<Vec<u8>> = fqhn.iter().map(|h| prefix(h)).collect();
    let at = |v: &Vec<Vec<u8>>, i: usize| v.get(i).cloned().unwrap_or_default();
    let (mut hits, mut combinations) = (0usize, 0usize);
    for i in 0..address.len() {
        for j in i + 1..address.len() {
            hits += usize::from(user[i] == user[j]);
            hits += usize::from(at(&host, i) == at(&host, j) && at(&fqhn, i) != at(&fqhn, j));
            combinations += 1;
        }
    }
    (is_sorted, hits as f64 / combinations as f64)
}

/// Ratware's Message-ID: 28 capitals, a dot, and the quoted-name From address.
fn ratware_name_id(view: &MessageView) -> bool {
    static MID: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    let mid = get_or_empty(view, "MESSAGEID");
    let Some(c) = static_re(&MID, r"(?-u)<[A-Z]{28}\.([^>]+?)>").captures(&mid) else { return false };
    let pattern = format!(r#"(?-u)"[^"]+"\s*<{}>"#, regex::escape(&String::from_utf8_lossy(&c[1])));
    regex::bytes::Regex::new(&pattern).is_ok_and(|r| r.is_match(&get_or_empty(view, "From")))
}

fn freemail_in(view: &MessageView, header: &str, set: &RuleSet) -> bool {
    let Some(v) = view.get(&format!("{header}:addr")) else { return false };
    v.split(|b| *b == b'\n').any(|addr| {
        let a = String::from_utf8_lossy(addr).to_ascii_lowercase();
        is_freemail(&a, set)
    })
}

/// FreeMail's `_is_freemail`: listed domain or wildcard, minus welcomelists and role accounts.
fn is_freemail(email: &str, set: &RuleSet) -> bool {
    if email.is_empty() {
        return false;
    }
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or(email);
    if set.freemail_welcomelist.contains(email) || set.freemail_welcomelist.contains(domain) {
        return false;
    }
    static ROLE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let role = ROLE.get_or_init(|| {
        regex::Regex::new(r"(?i)^(?:abuse|support|sales|info|helpdesk|contact|kontakt|(?:post|host|domain)master|undisclosed.*|request-[a-f0-9]{16}|bounced?-|[a-f0-9]{8}(?:\.[a-f0-9]{8}|-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})|.+=.+=.+)@").expect("static regex")
    });
    if role.is_match(email) {
        return false;
    }
    if set.freemail_domains.contains(domain) {
        return true;
    }
    // wildcards: `*` is any run of non-dots, `?` one character, matched against the end of the address
    set.freemail_domains.iter().filter(|d| d.contains('*') || d.contains('?')).any(|d| {
        let mut pat = String::from("@(?:");
        for c in d.chars() {
            match c {
                '*' => pat.push_str("[^.]*"),
                '?' => pat.push('.'),
                c => pat.push_str(&regex::escape(&c.to_string())),
            }
        }
        pat.push_str(")$");
        regex::Regex::new(&pat).is_ok_and(|r| r.is_match(email))
    })
}

/// HeaderEval `check_illegal_chars`: control and 8-bit bytes in a raw header (valid UTF-8 excepted).
fn illegal_chars(view: &MessageView, header: &str, ratio: f64, count: f64) -> bool {
    let request = if header.ends_with(":raw") { header.to_string() } else { format!("{header}:raw") };
    let Some(s) = view.get(&request) else { return false };
    if !s.iter().any(|b| !b.is_ascii_whitespace()) {
        return false;
    }
    let is_control = |b: u8| matches!(b, 0x00..=0x08 | 0x0b | 0x0c | 0x0e..=0x1f);
    if !s.is_ascii() && std::str::from_utf8(&s).is_ok() && !s.iter().any(|&b| is_control(b)) {
        return false;
    }
    let mut illegal = s.iter().filter(|&&b| is_control(b) || b >= 0x7f).count() as f64;
    if illegal > 0.0 && request.eq_ignore_ascii_case("subject:raw") && s.iter().filter(|&&b| matches!(b, 0xa2 | 0xa3 | 0xae)).count() == 1 {
        illegal -= 1.0;
    }
    illegal / s.len() as f64 >= ratio && illegal >= count
}

/// HeaderEval `subject_is_all_caps`.
fn subject_is_all_caps(view: &MessageView) -> bool {
    let subject = view.get("Subject").unwrap_or_default();
    let text = String::from_utf8_lossy(&subject);
    let mut t = text.trim();
    loop {
        let lower = t.to_ascii_lowercase();
        let prefix = ["re", "fwd", "fw", "aw", "antwort", "wg", "sv", "vb", "vs", "vl"].iter().find(|p| {
            lower.starts_with(*p) && lower[p.len()..].trim_start_matches(' ').starts_with(':')
        });
        let Some(p) = prefix else { break };
        let rest = &t[p.len()..];
        let rest = rest.trim_start_matches(' ');
        t = rest[1..].trim_start();
    }
    if !t.chars().any(char::is_whitespace) || t.len() < 10 {
        return false;
    }
    let letters: String = t.chars().filter(char::is_ascii_alphabetic).collect();
    let raw = view.get("Subject:raw").unwrap_or_default().to_ascii_lowercase();
    let raw = String::from_utf8_lossy(&raw);
    let risky = ["koi", "jp", "jis", "euc", "gb", "big5", "isoir", "cp1251", "windows-1251", "georgianps", "pt154", "tis"];
    if raw.split("=?").skip(1).any(|w| w.split('?').next().is_some_and(|cs| risky.iter().any(|r| cs.contains(r)))) {
        return false;
    }
    !letters.is_empty() && letters == letters.to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks_agree_with_spamassassin() {
        // hits checked with `spamassassin -t --cf` on the same message: all but the Outlook check
        let msg = "From: \"Bob Smith\" <bob@example.com>\nTo: joe@example.org\nSubject: joe, your order\nMessage-ID: <ABCDEFGHIJKLMNOPQRSTUVWXYZAB.bob@example.com>\nX-Mailer: %MAILER_NAME\nDate: Sun, 20 Feb 2000 13:07:29 +0000\n\nhello\n";
        let view = MessageView::parse(msg.as_bytes());
        let (set, _) = RuleSet::from_text("t.cf", "");
        let hit = |f: &str, a: &[&str]| {
            let args: Vec<String> = a.iter().map(|s| s.to_string()).collect();
            assert_eq!(supports(f, &args), Some(true));
            run(f, &args, &view, &set).unwrap()
        };
        assert!(hit("check_unresolved_template", &[]));
        assert!(hit("check_for_to_in_subject", &["user"]));
        assert!(hit("gated_through_received_hdr_remover", &[]));
        assert!(hit("check_ratware_name_id", &[]));
        assert!(!hit("check_outlook_message_id", &[]));
        let received = MessageView::parse(b"Received: from a by b; Sun, 20 Feb 2000 13:07:29 +0000\nSubject: hello joe\nTo: joe@example.org\n\nx\n");
        assert_eq!(run("gated_through_received_hdr_remover", &[], &received, &set), Some(false));
        let many = MessageView::parse(b"To: aa@x.example, ab@y.example, ac@z.example, ad@w.example, ae@v.example, af@u.example, ag@t.example\n\nx\n");
        assert_eq!(run("sorted_recipients", &[], &many, &set), Some(true));
        // the two-letter user and host prefixes all differ: no similar pairs
        assert_eq!(run("similar_recipients", &["0.65".to_string(), "undef".to_string()], &many, &set), Some(false));
        let similar = MessageView::parse(b"To: jo1@mail.example, jo2@mail.example, jo3@maile.example, jo4@mai.example, jo5@mail.example\n\nx\n");
        assert_eq!(run("similar_recipients", &["0.65".to_string(), "undef".to_string()], &similar, &set), Some(true));
        // every alternative is anchored at the start of the Subject
        assert_eq!(run("check_for_to_in_subject", &["user".to_string()], &received, &set), Some(false));
    }
}
