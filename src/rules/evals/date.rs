//! HeaderEval's date checks: `check_for_shifted_date`, the Date header against the times in
//! the Received headers, with Util's `parse_rfc822_date`.

use regex::bytes::Regex;
use std::sync::OnceLock;

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    Some(match function {
        "check_for_shifted_date" => args.len() == 2 && args.iter().all(|a| a == "undef" || a.parse::<f64>().is_ok()),
        _ => return None,
    })
}

pub(super) fn run(function: &str, args: &[String], view: &MessageView, _set: &RuleSet) -> Option<bool> {
    Some(match function {
        "check_for_shifted_date" => {
            let diff = date_diff(view) as f64;
            let bound = |a: &String| a.parse::<f64>().ok().map(|h| h * 3600.0);
            bound(&args[0]).is_none_or(|min| diff >= min) && bound(&args[1]).is_none_or(|max| diff < max)
        }
        _ => return None,
    })
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("static regex"))
}

/// `_check_date_diff`: Date minus the Received time closest to it (0 when either is missing).
fn date_diff(view: &MessageView) -> i64 {
    let Some(date) = date_header_time(view) else { return 0 };
    let times = received_header_times(view);
    let mut diffs: Vec<i64> = times.iter().map(|t| date - t).collect();
    if diffs.len() > 1 && diffs.last() == Some(&0) {
        diffs.pop();
    }
    // a stable sort by absolute value, as Perl's sort keeps ties in order
    diffs.sort_by_key(|d| d.abs());
    diffs.first().copied().unwrap_or(0)
}

/// `_get_date_header_time`: the first parseable Resent-Date, else Date.
fn date_header_time(view: &MessageView) -> Option<i64> {
    for name in ["Resent-Date", "Date"] {
        for v in view.header_values(name) {
            let v = v.strip_suffix(b"\n").unwrap_or(&v);
            if !v.is_empty() {
                if let Some(t) = parse_rfc822_date(&String::from_utf8_lossy(v)) {
                    return Some(t);
                }
            }
        }
    }
    None
}

/// `_get_received_header_times`: the time in each Received header, a first local or fetchmail
/// hop set aside.
fn received_header_times(view: &MessageView) -> Vec<i64> {
    static LOCAL: OnceLock<Regex> = OnceLock::new();
    static QMAIL: OnceLock<Regex> = OnceLock::new();
    static FETCHMAIL: OnceLock<Regex> = OnceLock::new();
    static DATE: OnceLock<Regex> = OnceLock::new();
    let all = view.get("Received").unwrap_or_default();
    let mut received: Vec<&[u8]> = all.split(|&b| b == b'\n').filter(|l| l.iter().any(|b| !b.is_ascii_whitespace())).collect();
    if received.is_empty() {
        return Vec::new();
    }
    let mut local = Vec::new();
    if re(&LOCAL, r"(?-u)\bfrom (?:localhost\s|(?:\S+ ){1,2}\S*\b127\.0\.0\.1\b)").is_match(received[0]) || re(&QMAIL, r"(?-u)qmail \d+ invoked by uid \d+").is_match(received[0]) {
        local.push(received.remove(0));
    }
    if !received.is_empty() && re(&FETCHMAIL, r"(?-u)\bby localhost with \w+ \(fetchmail-[\d.]+").is_match(received[0]) {
        received.remove(0);
    } else if let Some(l) = local.pop() {
        received.insert(0, l);
    }
    let date = re(&DATE, r"(?-u)(\s.?\d+ \S\S\S \d+ \d+:\d+:\d+ \S+)");
    received.iter().filter_map(|r| date.captures(r).and_then(|c| parse_rfc822_date(&String::from_utf8_lossy(&c[1])))).collect()
}

const TZ: &[(&str, &str)] = &[
    ("UT", "+0000"), ("UTC", "+0000"), ("NDT", "-0230"), ("AST", "-0400"), ("ADT", "-0300"), ("NST", "-0330"), ("EST", "-0500"), ("EDT", "-0400"),
    ("CST", "-0600"), ("CDT", "-0500"), ("MST", "-0700"), ("MDT", "-0600"), ("PST", "-0800"), ("PDT", "-0700"), ("HST", "-1000"), ("AKST", "-0900"),
    ("AKDT", "-0800"), ("HADT", "-0900"), ("HAST", "-1000"), ("GMT", "+0000"), ("BST", "+0100"), ("IST", "+0100"), ("WET", "+0000"), ("WEST", "+0100"),
    ("CET", "+0100"), ("CEST", "+0200"), ("EET", "+0200"), ("EEST", "+0300"), ("MSK", "+0300"), ("MSD", "+0400"), ("MET", "+0100"), ("MEZ", "+0100"),
    ("MEST", "+0200"), ("MESZ", "+0200"), ("BRST", "-0200"), ("BRT", "-0300"), ("AEST", "+1000"), ("AEDT", "+1100"), ("ACST", "+0930"), ("ACDT", "+1030"),
    ("AWST", "+0800"), ("NZST", "+1200"), ("NZDT", "+1300"), ("JST", "+0900"), ("KST", "+0900"), ("HKT", "+0800"), ("SGT", "+0800"), ("PHT", "+0800"),
    ("IDT", "+0300"),
];

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// Util's `parse_rfc822_date`: seconds since the epoch, or None when no day, month and year
/// are found. Out-of-range fields are clamped the way SpamAssassin clamps them.
pub(super) fn parse_rfc822_date(date: &str) -> Option<i64> {
    static COMMA: OnceLock<regex::Regex> = OnceLock::new();
    static SPACE: OnceLock<regex::Regex> = OnceLock::new();
    static D1: OnceLock<regex::Regex> = OnceLock::new();
    static D2: OnceLock<regex::Regex> = OnceLock::new();
    static D3: OnceLock<regex::Regex> = OnceLock::new();
    static TIME: OnceLock<regex::Regex> = OnceLock::new();
    static OFFSET: OnceLock<regex::Regex> = OnceLock::new();
    static ZONE: OnceLock<regex::Regex> = OnceLock::new();
    let r = |cell: &'static OnceLock<regex::Regex>, p: &str| cell.get_or_init(|| regex::Regex::new(p).expect("static regex"));
    let s = format!(" {date} ");
    let s = r(&COMMA, r", *").replace_all(&s, " ");
    let mut s = r(&SPACE, r"\s+").replace_all(&s, " ").into_owned();
    const MON: &str = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
    let (dd, mon, yyyy): (i64, String, String);
    let take = |s: &mut String, m: regex::Match<'_>| s.replace_range(m.range(), " ");
    if let Some(c) = r(&D1, &format!(r"(?i) (\d+) {MON} (\d{{4}}) ")).captures(&s.clone()) {
        (dd, mon, yyyy) = (c[1].parse().unwrap_or(i64::MAX), c[2].to_ascii_lowercase(), c[3].to_string());
        take(&mut s, c.get(0)?);
    } else if let Some(c) = r(&D2, &format!(r"(?i) {MON} +(\d+) \d+:\d+:\d+ (\d{{4}}) ")).captures(&s.clone()) {
        (dd, mon, yyyy) = (c[2].parse().unwrap_or(i64::MAX), c[1].to_ascii_lowercase(), c[3].to_string());
        take(&mut s, c.get(0)?);
    } else if let Some(c) = r(&D3, &format!(r"(?i) (\d+) {MON} (\d{{2,3}}) ")).captures(&s.clone()) {
        (dd, mon, yyyy) = (c[1].parse().unwrap_or(i64::MAX), c[2].to_ascii_lowercase(), c[3].to_string());
        take(&mut s, c.get(0)?);
    } else {
        return None;
    }
    let mut year: i64 = yyyy.parse().ok()?;
    if yyyy.len() == 2 && year < 50 {
        year += 2000;
    } else if yyyy.len() != 4 {
        year += 1900;
    }
    let (mut hh, mut mm, mut ss) = (0i64, 0i64, 0i64);
    if let Some(c) = r(&TIME, r" (\d?\d):(\d\d)(:(\d\d))? ").captures(&s.clone()) {
        hh = c[1].parse().unwrap_or(0);
        mm = c[2].parse().unwrap_or(0);
        ss = c.get(4).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
        take(&mut s, c.get(0)?);
    }
    let mut tzoff: Option<String> = None;
    if let Some(c) = r(&OFFSET, r" ([-+]\d{4}) ").captures(&s.clone()) {
        tzoff = Some(c[1].to_string());
    } else if let Some(c) = r(&ZONE, r"\b([A-Z]{2,4}(?:-DST)?)\b").captures(&s.clone()) {
        tzoff = TZ.iter().find(|(z, _)| *z == &c[1]).map(|(_, o)| o.to_string());
    }
    let mut month = MONTHS.iter().position(|m| *m == mon).map(|p| p as i64 + 1).unwrap_or(0);
    ss = ss.min(59);
    mm = mm.min(59);
    hh = hh.min(23);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let max_dd = match month {
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 31,
    };
    let mut day = dd;
    if day > max_dd {
        day = 1;
        month += 1;
        if month > 12 {
            month = 1;
            year += 1;
        }
    }
    year = year.clamp(1970, 2037);
    // Time::Local croaks on a day 0: no time
    let m = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let d = time::Date::from_calendar_date(i32::try_from(year).ok()?, m, u8::try_from(day).ok()?).ok()?;
    let mut t = d.midnight().assume_utc().unix_timestamp() + hh * 3600 + mm * 60 + ss;
    let off = tzoff.unwrap_or_else(|| "-0000".to_string());
    let ob = off.as_bytes();
    let secs = (i64::from(ob[1] - b'0') * 10 + i64::from(ob[2] - b'0')) * 3600 + (i64::from(ob[3] - b'0') * 10 + i64::from(ob[4] - b'0')) * 60;
    if ob[0] == b'-' {
        t += secs;
    } else if t < secs {
        t = 0;
    } else {
        t -= secs;
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc822_dates_parse_like_spamassassin() {
        // expected values from Mail::SpamAssassin::Util::parse_rfc822_date itself
        for (date, want) in [
            ("Sun, 20 Feb 2000 22:07:29 +0900 (JST)", Some(951_052_049)),
            ("Sun, 20 Feb 2000 13:07:29 GMT", Some(951_052_049)),
            ("20 Feb 00 13:07:29", Some(951_052_049)),
            ("Feb 20 13:07:29 2000", Some(951_004_800)),
            ("31 Feb 2001 00:00:00 +0000", Some(983_404_800)),
            ("no date here", None),
        ] {
            assert_eq!(parse_rfc822_date(date), want, "{date}");
        }
    }

    #[test]
    fn shifted_date_compares_date_with_received() {
        let (set, _) = RuleSet::from_text("t.cf", "");
        let msg = b"Received: from a.example (a.example [192.0.2.1]) by b.example; Sun, 20 Feb 2000 13:07:29 +0000\nDate: Sun, 20 Feb 2000 08:07:29 +0000\nSubject: x\n\nbody\n";
        let view = MessageView::parse(msg);
        let args = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        assert_eq!(run("check_for_shifted_date", &args("-6", "-3"), &view, &set), Some(true));
        assert_eq!(run("check_for_shifted_date", &args("-3", "3"), &view, &set), Some(false));
        let no_received = MessageView::parse(b"Date: Sun, 20 Feb 2000 08:07:29 +0000\n\nx\n");
        assert_eq!(run("check_for_shifted_date", &args("-3", "3"), &no_received, &set), Some(true));
    }
}
