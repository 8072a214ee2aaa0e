//! HeaderEval's date checks: how far the Date header is from the times the Received headers
//! record (`check_for_shifted_date`), with `Util::parse_rfc822_date`'s lenient date reading.
//!
//! Invariant: no clock is read; only header times are compared (SpamAssassin reads the clock for
//! fetchmail times, which this check does not use).

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;
use crate::rules::relays::{caps, is, re, subst};

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    let bound = |a: &String| a == "undef" || a.parse::<f64>().is_ok();
    Some(match function {
        "check_for_shifted_date" => args.len() == 2 && args.iter().all(bound),
        "check_outlook_message_id" => true,
        _ => return None,
    })
}

pub(super) fn run(function: &str, args: &[String], view: &MessageView, _set: &RuleSet) -> Option<bool> {
    Some(match function {
        "check_for_shifted_date" => {
            let diff = *view.eval_memo.date_diff.get_or_init(|| date_diff(view)) as f64;
            let within = |a: &String, f: &dyn Fn(f64) -> bool| a == "undef" || a.parse::<f64>().is_ok_and(|h| f(h * 3600.0));
            within(&args[0], &|min| diff >= min) && within(&args[1], &|max| diff < max)
        }
        "check_outlook_message_id" => outlook_message_id_mismatch(view),
        _ => return None,
    })
}

/// HeaderEval `check_outlook_message_id`: an Outlook-style Message-ID whose embedded timestamp
/// matches neither the Date header nor the Received dates.
fn outlook_message_id_mismatch(view: &MessageView) -> bool {
    let text = |h: &str| String::from_utf8_lossy(&view.get(h).unwrap_or_default()).into_owned();
    let Some(c) = caps(re!(r"^<[0-9a-f]{4}([0-9a-f]{8})\$[0-9a-f]{8}\$[0-9a-f]{8}\@"), &text("MESSAGEID")) else { return false };
    let Ok(token) = i64::from_str_radix(&c[1], 16) else { return false };
    // Outlook's clock: 0.0023283064365387 ticks per second since an epoch 27111902.83 ticks back
    let off_by = |time: i64| (token - (time as f64 * 0.002_328_306_436_538_7 + 27_111_902.832_984_9) as i64).abs() >= 250;
    // SpamAssassin parses the whole Received text: its first date-like run wins
    off_by(parse_rfc822_date(&text("Date")).unwrap_or(0)) && off_by(parse_rfc822_date(&text("Received")).unwrap_or(0))
}

/// `_check_date_diff`: Date minus the Received time closest to it, in seconds (0 when either is
/// missing). The oldest Received is left out when it agrees exactly, as SpamAssassin does.
fn date_diff(view: &MessageView) -> i64 {
    let Some(date) = date_header_time(view) else { return 0 };
    let mut diffs: Vec<i64> = received_times(view).into_iter().map(|t| date - t).collect();
    if diffs.len() > 1 && diffs.last() == Some(&0) {
        diffs.pop();
    }
    diffs.sort_by_key(|d| d.abs());
    diffs.first().copied().unwrap_or(0)
}

/// `_get_date_header_time`: the first Resent-Date, else Date, value that parses.
fn date_header_time(view: &MessageView) -> Option<i64> {
    ["Resent-Date", "Date"].iter().flat_map(|h| view.header_values(h)).find_map(|v| {
        let v = String::from_utf8_lossy(&v).trim_end_matches('\n').to_string();
        if v.is_empty() { None } else { parse_rfc822_date(&v) }
    })
}

/// `_get_received_header_times`: the date of each Received header, fetchmail's local handovers
/// at the top left out.
fn received_times(view: &MessageView) -> Vec<i64> {
    let mut received: Vec<String> = view
        .header_values("Received")
        .into_iter()
        .map(|v| String::from_utf8_lossy(&v).trim_end_matches('\n').to_string())
        .filter(|v| v.chars().any(|c| !c.is_whitespace()))
        .collect();
    let local_first =
        received.first().is_some_and(|r| is(re!(r"\bfrom (?:localhost\s|(?:\S+ ){1,2}\S*\b127\.0\.0\.1\b)"), r) || is(re!(r"qmail \d+ invoked by uid \d+"), r));
    if local_first {
        let first = received.remove(0);
        let fetched = received.first().is_some_and(|r| is(re!(r"\bby localhost with \w+ \(fetchmail-[\d.]+"), r));
        if fetched {
            received.remove(0);
        } else {
            received.insert(0, first);
        }
    } else if received.first().is_some_and(|r| is(re!(r"\bby localhost with \w+ \(fetchmail-[\d.]+"), r)) {
        received.remove(0);
    }
    received.iter().filter_map(|r| caps(re!(r"(\s.?\d+ \S\S\S \d+ \d+:\d+:\d+ \S+)"), r)).filter_map(|c| parse_rfc822_date(&c[1])).collect()
}

/// Time-zone names `parse_rfc822_date` knows; any other name counts as -0000.
const TZ: &[(&str, &str)] = &[
    ("UT", "+0000"),
    ("UTC", "+0000"),
    ("NDT", "-0230"),
    ("AST", "-0400"),
    ("ADT", "-0300"),
    ("NST", "-0330"),
    ("EST", "-0500"),
    ("EDT", "-0400"),
    ("CST", "-0600"),
    ("CDT", "-0500"),
    ("MST", "-0700"),
    ("MDT", "-0600"),
    ("PST", "-0800"),
    ("PDT", "-0700"),
    ("HST", "-1000"),
    ("AKST", "-0900"),
    ("AKDT", "-0800"),
    ("HADT", "-0900"),
    ("HAST", "-1000"),
    ("GMT", "+0000"),
    ("BST", "+0100"),
    ("IST", "+0100"),
    ("WET", "+0000"),
    ("WEST", "+0100"),
    ("CET", "+0100"),
    ("CEST", "+0200"),
    ("EET", "+0200"),
    ("EEST", "+0300"),
    ("MSK", "+0300"),
    ("MSD", "+0400"),
    ("MET", "+0100"),
    ("MEZ", "+0100"),
    ("MEST", "+0200"),
    ("MESZ", "+0200"),
    ("BRST", "-0200"),
    ("BRT", "-0300"),
    ("AEST", "+1000"),
    ("AEDT", "+1100"),
    ("ACST", "+0930"),
    ("ACDT", "+1030"),
    ("AWST", "+0800"),
    ("NZST", "+1200"),
    ("NZDT", "+1300"),
    ("JST", "+0900"),
    ("KST", "+0900"),
    ("HKT", "+0800"),
    ("SGT", "+0800"),
    ("PHT", "+0800"),
    ("IDT", "+0300"),
];

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// `Util::parse_rfc822_date`: seconds since the epoch, with SpamAssassin's repairs (two-digit
/// years, out-of-range fields clamped or rolled over, years kept within 1970..=2037).
pub(crate) fn parse_rfc822_date(date: &str) -> Option<i64> {
    let mut s = format!(" {date} ");
    s = s.replace(',', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    s = format!(" {s} ");
    let (day, mon, year) = if let Some(c) = subst(re!(r"(?i) (\d+) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "), &mut s, " ") {
        (c[1].clone(), c[2].clone(), c[3].clone())
    } else if let Some(c) = subst(re!(r"(?i) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d+) \d+:\d+:\d+ (\d{4}) "), &mut s, " ") {
        (c[2].clone(), c[1].clone(), c[3].clone())
    } else if let Some(c) = subst(re!(r"(?i) (\d+) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{2,3}) "), &mut s, " ") {
        (c[1].clone(), c[2].clone(), c[3].clone())
    } else {
        return None;
    };
    let mut yyyy: i64 = year.parse().ok()?;
    if year.len() == 2 && yyyy < 50 {
        yyyy += 2000;
    } else if year.len() != 4 {
        yyyy += 1900;
    }
    let (mut hh, mut mm, mut ss) = (0i64, 0i64, 0i64);
    if let Some(c) = subst(re!(r" (\d?\d):(\d\d)(:(\d\d))? "), &mut s, " ") {
        hh = c[1].parse().unwrap_or(0);
        mm = c[2].parse().unwrap_or(0);
        ss = c[4].parse().unwrap_or(0);
    }
    let tz = if let Some(c) = subst(re!(r" ([-+]\d{4}) "), &mut s, " ") {
        c[1].clone()
    } else if let Some(c) = subst(re!(r"\b([A-Z]{2,4}(?:-DST)?)\b"), &mut s, " ") {
        TZ.iter().find(|(n, _)| *n == c[1]).map(|(_, o)| o.to_string()).unwrap_or_else(|| "-0000".into())
    } else {
        "-0000".into()
    };
    let mut month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(&mon)).map(|i| i as i64 + 1).unwrap_or(0);
    let mut dd: i64 = day.parse().unwrap_or(i64::MAX);
    ss = ss.min(59);
    mm = mm.min(59);
    hh = hh.min(23);
    let max_dd = match month {
        4 | 6 | 9 | 11 => 30,
        2 if yyyy % 4 == 0 && (yyyy % 100 != 0 || yyyy % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    };
    if dd > max_dd {
        dd = 1;
        month += 1;
        if month > 12 {
            month = 1;
            yyyy += 1;
        }
    }
    yyyy = yyyy.clamp(1970, 2037);
    // Time::Local refuses day 0
    if dd < 1 {
        return None;
    }
    let mut time = days_from_civil(yyyy, month, dd) * 86_400 + hh * 3600 + mm * 60 + ss;
    if let Some(c) = caps(re!(r"([-+])(\d\d)(\d\d)$"), &tz) {
        let off = (c[2].parse::<i64>().unwrap_or(0) * 60 + c[3].parse::<i64>().unwrap_or(0)) * 60;
        if c[1] == "-" {
            time += off;
        } else if time < off {
            time = 0;
        } else {
            time -= off;
        }
    }
    Some(time)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_rfc822_date;

    #[test]
    fn every_pattern_compiles() {
        assert!(crate::rules::relays::compile_patterns_in(include_str!("dates.rs")) >= 8);
    }

    /// Expected values from `perl -MMail::SpamAssassin::Util=parse_rfc822_date`.
    #[test]
    fn dates_parse_as_spamassassin_parses_them() {
        for (date, want) in [
            ("Tue, 5 Nov 2024 10:00:00 +0100", Some(1_730_797_200)),
            ("Thu, 02 Dec 2004 10:55:50 -0500", Some(1_102_002_950)),
            ("2 Dec 04 10:55:50 EST", Some(1_102_002_950)),
            ("Wed Dec  1 23:59:61 2004", Some(1_101_859_200)),
            ("31 Feb 2023 12:00:00 GMT", Some(1_677_672_000)),
            ("1 Jan 2099 00:00:00 +0000", Some(2_114_380_800)),
            ("Sat, 0 Jan 2000 00:00:00 +0000", None),
            ("no date here", None),
            ("Mon, 3 Mar 2003 25:61:00 MEZ", Some(1_046_732_340)),
            ("14 Mar 103 07:24:34 -0000", Some(1_047_626_674)),
        ] {
            assert_eq!(parse_rfc822_date(date), want, "{date}");
        }
    }
}
