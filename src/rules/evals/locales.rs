//! The "faraway charset" checks of MIMEEval, HeaderEval and HTMLEval: a charset declared in the
//! message, its headers or its HTML that none of the `ok_locales` allow. With `ok_locales all`
//! (the default) none of them can hit.
//!
//! Absent on purpose: SpamAssassin also allows the locale of its own process environment
//! (LC_ALL, LANG, ...); a daemon's environment says nothing about its users' mail.

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;
use crate::rules::relays::{caps, re};

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    Some(match function {
        "check_for_faraway_charset" | "check_for_faraway_charset_in_headers" | "html_charset_faraway" => args.is_empty(),
        _ => return None,
    })
}

pub(super) fn run(function: &str, _args: &[String], text: &super::EvalText, view: &MessageView, set: &RuleSet) -> Option<bool> {
    let locales = &set.ok_locales;
    if !matches!(function, "check_for_faraway_charset" | "check_for_faraway_charset_in_headers" | "html_charset_faraway") {
        return None;
    }
    if locales.iter().any(|l| l == "all") {
        return Some(false);
    }
    Some(match function {
        "check_for_faraway_charset" => {
            let ct = view.get("Content-Type").map(|v| String::from_utf8_lossy(&v).into_owned());
            let Some(charset) = ct.as_deref().and_then(super::mime::charset_from_ct_line) else { return Some(false) };
            // koi8-r and the like include ASCII: only text mostly in 8-bit counts
            !is_charset_ok(&charset, locales) && more_high_bits_set(text.lines(view))
        }
        "check_for_faraway_charset_in_headers" => ["From:raw", "Subject:raw"].iter().any(|h| {
            view.get(h).is_some_and(|v| {
                let v = String::from_utf8_lossy(&v).into_owned();
                let mut rest = v.as_str();
                while let Some(c) = caps(re!(r"=\?(.+?)\?.\?.*?\?="), rest) {
                    if !is_charset_ok(&c[1], locales) {
                        return true;
                    }
                    // continue after this encoded word
                    let end = rest.find(&c[0]).map_or(rest.len(), |p| p + c[0].len());
                    rest = &rest[end..];
                }
                false
            })
        }),
        _ => view.html_renders().iter().filter_map(|r| r.stats.as_ref()).any(|h| {
            let (ok, bad) = h.charsets.iter().flat_map(|c| c.split_whitespace()).fold((0, 0), |(ok, bad), c| if is_charset_ok(c, locales) { (ok + 1, bad) } else { (ok, bad + 1) });
            bad > 0 && bad >= ok
        }),
    })
}

/// At least as many 8-bit octets as 7-bit ones, and more than three.
fn more_high_bits_set(lines: &[Vec<u8>]) -> bool {
    // the plugin joins the lines with "\n"
    let len = lines.iter().map(Vec::len).sum::<usize>() + lines.len().saturating_sub(1);
    let high = lines.iter().flatten().filter(|&&b| b >= 0x80).count();
    len - high <= high && high > 3
}

/// The charsets each locale reads besides the always-allowed Western ones (`Locales.pm`).
const CHARSETS_FOR_LOCALE: &[(&str, &str)] = &[
    ("ja", "EUCJP JISX020119760 JISX020819830 JISX020819900 JISX020819970 JISX021219900 JISX021320001 JISX021320002 SHIFT_JIS SHIFTJIS ISO2022JP SJIS JIS7 JISX0201 JISX0208 JISX0212"),
    ("ko", "EUCKR KSC56011987"),
    ("ru", CYRILLIC),
    ("ka", CYRILLIC),
    ("tg", CYRILLIC),
    ("be", CYRILLIC),
    ("uk", CYRILLIC),
    ("bg", CYRILLIC),
    ("th", "TIS620"),
    ("zh", "GB1988 GB2312 GB231219800 GB18030 GBK BIG5HKSCS BIG5 EUCTW ISO2022CN"),
];
const CYRILLIC: &str = "KOI8R KOI8U KOI8T ISOIR111 CP1251 GEORGIANPS CP1251 PT154 CP866";

/// `Locales::is_charset_ok_for_locales`.
fn is_charset_ok(charset: &str, locales: &[String]) -> bool {
    let mut cs: String = charset.to_uppercase().chars().filter(char::is_ascii_alphanumeric).collect();
    if let Some(rest) = cs.strip_prefix("3D") {
        cs = rest.to_string(); // left over from quoted-printable
    }
    let always = ["USASCII", "ASCII", "IBM852", "XUNKNOWN", "ISO"].contains(&cs.as_str())
        || ["ISO8859", "ISO10646", "UTF", "UCS", "CP125", "WINDOWS", "UNICODE11UTF7", "UNICODE11UTF8"].iter().any(|p| cs.starts_with(p));
    if always {
        return true;
    }
    locales.iter().any(|l| {
        let l = if l == "C" { "en" } else { l.as_str() };
        // zh_TW and the like: the first two letters when they are lower case
        let key = if l.len() >= 2 && l.as_bytes()[..2].iter().all(u8::is_ascii_lowercase) { &l[..2] } else { l };
        CHARSETS_FOR_LOCALE.iter().find(|(k, _)| *k == key).is_some_and(|(_, list)| list.split(' ').any(|c| c == cs))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(function: &str, locales: &str, msg: &str) -> bool {
        let (set, _) = RuleSet::from_text("t.cf", &format!("ok_locales {locales}\n"));
        assert_eq!(supports(function, &[]), Some(true));
        run(function, &[], &crate::rules::evals::EvalText { kind: "body", rewritten_body: None }, &MessageView::parse(msg.as_bytes()), &set).unwrap()
    }

    #[test]
    fn charsets_no_allowed_locale_reads() {
        let header = "From: =?koi8-r?B?8NLJ1w==?= <a@example.com>\nSubject: hi\n\nbody\n";
        assert!(hit("check_for_faraway_charset_in_headers", "en", header));
        assert!(!hit("check_for_faraway_charset_in_headers", "en ru", header));
        assert!(!hit("check_for_faraway_charset_in_headers", "all", header));
        assert!(!hit("check_for_faraway_charset_in_headers", "en", "Subject: =?iso-8859-1?Q?caf=E9?=\n\nx\n"));
        let body = "Subject: x\nContent-Type: text/plain; charset=\"koi8-r\"\n\n\u{444}\u{444}\u{444}\u{444}\n";
        assert!(hit("check_for_faraway_charset", "en", body));
        assert!(!hit("check_for_faraway_charset", "en ru", body));
        assert!(!hit("check_for_faraway_charset", "en", "Subject: x\nContent-Type: text/plain; charset=koi8-r\n\nmostly ascii text\n"));
        let html = "Subject: x\nContent-Type: text/html\n\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=big5\"><p>x</p>\n";
        assert!(hit("html_charset_faraway", "en", html));
        assert!(!hit("html_charset_faraway", "zh_TW", html));
        assert!(!hit("html_charset_faraway", "all", html));
    }
}
