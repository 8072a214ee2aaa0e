//! HTMLEval over each HTML part's results: tags seen and their balance, source length, and the
//! text of titles, anchors and comments.
//!
//! Absent on purpose: what HTML.pm derives from text styling and layout (image areas, invisible
//! text, font sizes), which needs its full style tracking.

use crate::rules::engine::RuleSet;
use crate::rules::html::HtmlStats;
use crate::rules::message::MessageView;
use crate::rules::perl_regex::latin1;
use super::ArgPattern;
use crate::rules::relays::{caps, is, re};

/// The `html_eval`/`html_range` tests HTML.pm's results answer here.
const NUMERIC_TESTS: &[&str] = &["length", "obfuscation_ratio", "non_element_ratio", "bad_tag_ratio", "closed_extra_ratio"];
const FLAG_TESTS: &[&str] = &["html", "embeds", "form_action_mailto", "font_face_bad"];
const TEXT_TESTS: &[&str] = &["title", "anchor", "comment"];

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    Some(match function {
        "html_test" => args.len() == 1 && FLAG_TESTS.contains(&args[0].as_str()),
        "html_tag_exists" => args.len() == 1,
        "html_tag_balance" => args.len() == 2 && parse_comparison(&args[1]).is_some(),
        "html_eval" => args.len() == 2 && NUMERIC_TESTS.contains(&args[0].as_str()) && parse_comparison(&args[1]).is_some(),
        "html_range" => (args.len() == 2 || args.len() == 3) && NUMERIC_TESTS.contains(&args[0].as_str()) && args[1].parse::<f64>().is_ok(),
        // the pattern is compiled with the rule (`compile_arg_pattern`)
        "html_text_match" => args.len() == 2 && TEXT_TESTS.contains(&args[0].as_str()),
        "html_title_subject_ratio" => args.len() == 1 && args[0].parse::<f64>().is_ok(),
        "check_iframe_src" | "check_https_ip_mismatch" => args.is_empty(),
        "check_https_http_mismatch" => args.len() <= 2 && args.iter().all(|a| a.parse::<f64>().is_ok()),
        "html_image_only" | "html_image_ratio" => args.len() == 2 && args.iter().all(|a| a.parse::<f64>().is_ok()),
        _ => return None,
    })
}

pub(super) fn run(function: &str, args: &[String], pattern: Option<&ArgPattern>, view: &MessageView, _set: &RuleSet) -> Option<bool> {
    let renders = view.html_renders();
    let parts: Vec<&HtmlStats> = renders.iter().filter_map(|r| r.stats.as_ref()).collect();
    Some(match function {
        "html_test" => parts.iter().any(|h| args[0] == "html" || h.flag(&args[0]) == Some(true)),
        "html_tag_exists" => parts.iter().any(|h| h.inside.contains_key(&args[0])),
        "html_tag_balance" => {
            let Some((op, rhs)) = parse_comparison(&args[1]) else { return Some(false) };
            parts.iter().any(|h| h.inside.get(&args[0]).is_some_and(|&v| compare(v as f64, op, rhs)))
        }
        "html_eval" => {
            let Some((op, rhs)) = parse_comparison(&args[1]) else { return Some(false) };
            parts.iter().any(|h| h.number(&args[0]).is_some_and(|v| compare(v, op, rhs)))
        }
        "html_range" => {
            let min: f64 = args[1].parse().unwrap_or(0.0);
            let max = args.get(2).filter(|m| *m != "inf").and_then(|m| m.parse::<f64>().ok());
            parts.iter().any(|h| h.number(&args[0]).is_some_and(|v| v > min && max.is_none_or(|max| v <= max)))
        }
        "html_text_match" => {
            if parts.is_empty() {
                return Some(false);
            }
            let Some(ArgPattern::Perl(re)) = pattern else { return Some(false) };
            parts.iter().any(|h| texts(h, &args[0]).iter().any(|t| re.is_match(t)))
        }
        "html_title_subject_ratio" => {
            let subject = view.get("Subject").unwrap_or_default();
            if subject.is_empty() {
                return Some(false);
            }
            let ratio: f64 = args[0].parse().unwrap_or(0.0);
            parts.iter().any(|h| h.title.iter().map(|t| t.len() as f64 / subject.len() as f64).fold(0.0, f64::max) > ratio)
        }
        "check_iframe_src" => parts.iter().any(|h| h.iframe_src),
        "check_https_http_mismatch" => {
            let min = args.first().and_then(|a| a.parse::<f64>().ok()).filter(|m| *m != 0.0).unwrap_or(1.0);
            let max = args.get(1).and_then(|a| a.parse::<f64>().ok());
            let registry = &view.uri_context.registry;
            parts.iter().any(|h| {
                let (hit, anchors) = https_http_mismatch(&anchor_texts(h), registry);
                hit && anchors as f64 >= min && max.is_none_or(|max| (anchors as f64) < max)
            })
        }
        "check_https_ip_mismatch" => parts.iter().any(|h| {
            anchor_texts(h).iter().any(|(href, texts)| {
                is(re!(r"(?i)^https?:/*(?:[^@/]+@)?\d+\.\d+\.\d+\.\d+"), href)
                    && texts.iter().any(|t| !is(re!(r"(?i)^https:/*(?:[^@/]+@)?\d+\.\d+\.\d+\.\d+"), t) && is(re!(r"(?i)https:"), t))
            })
        }),
        "html_image_ratio" => {
            // non-space characters of the rendered text per pixel of declared image area
            let (min, max): (f64, f64) = (args[0].parse().unwrap_or(0.0), args[1].parse().unwrap_or(0.0));
            renders.iter().filter_map(|r| r.stats.as_ref().map(|s| (r, s))).any(|(r, s)| {
                if s.image_area == 0 {
                    return false;
                }
                let non_space = String::from_utf8_lossy(&r.text).chars().filter(|c| !c.is_whitespace()).count();
                let ratio = non_space as f64 / s.image_area as f64;
                ratio > min && ratio <= max
            })
        }
        "html_image_only" => {
            let (min, max): (f64, f64) = (args[0].parse().unwrap_or(0.0), args[1].parse().unwrap_or(0.0));
            parts.iter().any(|h| h.inside.contains_key("img") && h.length as f64 > min && h.length as f64 <= max)
        }
        _ => return None,
    })
}

/// Each link's anchor texts, links in order of first appearance (Latin-1, for the patterns).
fn anchor_texts(h: &HtmlStats) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (href, text) in h.anchor_hrefs.iter().zip(&h.anchor) {
        let (href, text) = (latin1(href), latin1(text));
        match out.iter_mut().find(|(h, _)| *h == href) {
            Some((_, texts)) => texts.push(text),
            None => out.push((href, vec![text])),
        }
    }
    out
}

/// HTTPSMismatch: whether an http(s) link to a valid domain shows an `https://` address of
/// another registered domain (or an IP), and how many such links there are.
fn https_http_mismatch(links: &[(String, Vec<String>)], registry: &crate::rules::registry::Registry) -> (bool, usize) {
    let (mut hit, mut anchors) = (false, 0);
    for (href, texts) in links {
        let Some(c) = caps(re!(r"(?i)^https?://([^/:?#]+)"), href) else { continue };
        // links to IPs have their own rule
        if crate::rules::registry::is_ipv4(&c[1]) {
            continue;
        }
        let domain = registry.trim_domain(&c[1]);
        if !registry.uri_to_domain(&domain).is_some_and(|(d, _)| registry.is_domain_valid(&d)) {
            continue;
        }
        anchors += 1;
        hit |= texts.iter().any(|t| {
            let Some(c) = caps(re!(r"(?i)https://([^\s/:?#]+)"), t) else { return false };
            let shown = if crate::rules::registry::is_ipv4(&c[1]) { c[1].clone() } else { registry.trim_domain(&c[1]) };
            let valid = crate::rules::registry::is_ipv4(&c[1]) || registry.is_domain_valid(&shown);
            valid && !shown.is_empty() && shown != domain
        });
    }
    (hit, anchors)
}

fn texts<'h>(h: &'h HtmlStats, test: &str) -> &'h [Vec<u8>] {
    match test {
        "title" => &h.title,
        "anchor" => &h.anchor,
        _ => &h.comment,
    }
}

/// The Perl expression tail `'< 512'`, `'!= 0'`, `'>= 3'`: (operator, number).
fn parse_comparison(expr: &str) -> Option<(&'static str, f64)> {
    let e = expr.trim();
    let op = ["<=", ">=", "==", "!=", "<", ">"].into_iter().find(|op| e.starts_with(op))?;
    Some((op, e[op.len()..].trim().parse().ok()?))
}

fn compare(v: f64, op: &str, rhs: f64) -> bool {
    match op {
        "<=" => v <= rhs,
        ">=" => v >= rhs,
        "==" => v == rhs,
        "!=" => v != rhs,
        "<" => v < rhs,
        _ => v > rhs,
    }
}

#[cfg(test)]
mod tests {
    use super::super::hit;

    const HTML: &str = "Subject: hi\nContent-Type: text/html\n\n<html><head><title>A rather long title</title></head><body><!-- note --><a href=\"http://x.example/\">click <img src=\"a.gif\"></a><center>x</body></html>\n";

    #[test]
    fn html_results_answer_htmleval() {
        assert!(hit("html_test", &["html"], HTML));
        assert!(!hit("html_test", &["html"], "Subject: hi\n\nplain\n"));
        assert!(hit("html_tag_exists", &["center"], HTML));
        assert!(!hit("html_tag_exists", &["script"], HTML));
        assert!(hit("html_tag_balance", &["center", "!= 0"], HTML));
        assert!(!hit("html_tag_balance", &["body", "!= 0"], HTML));
        assert!(hit("html_eval", &["length", "< 512"], HTML));
        assert!(hit("html_range", &["length", "100", "200"], HTML));
        assert!(hit("html_text_match", &["anchor", "<img>"], HTML));
        assert!(hit("html_text_match", &["comment", "<!.*?>"], HTML));
        assert!(!hit("html_text_match", &["title", ".{120}"], HTML));
        assert!(hit("html_title_subject_ratio", &["3.5"], HTML));
        assert!(hit("html_image_only", &["100", "200"], HTML));
        let odd = "Subject: x\nContent-Type: text/html\n\n</b><font face=\"Arial, Helvetica\">a</font><font face=\"{x}\">b</font><form action=\"MailTo:x@example.com\"></form><embed src=x>\n";
        assert!(hit("html_test", &["font_face_bad"], odd));
        assert!(hit("html_test", &["form_action_mailto"], odd));
        assert!(hit("html_test", &["embeds"], odd));
        assert!(!hit("html_test", &["embeds"], HTML));
        assert!(!hit("check_iframe_src", &[], HTML));
        assert!(hit("check_iframe_src", &[], "Subject: x\nContent-Type: text/html\n\n<iframe src=\"http://x.example/\"></iframe>\n"));
        assert!(!hit("check_iframe_src", &[], "Subject: x\nContent-Type: text/html\n\n<iframe src=\" \"></iframe>\n"));
        let links = |a: &str| format!("Subject: x\nContent-Type: text/html\n\n{a}\n");
        assert!(hit("check_https_http_mismatch", &["1", "10"], &links("<a href=\"http://evil.com/x\">https://www.bank.com/login</a>")));
        assert!(!hit("check_https_http_mismatch", &["1", "10"], &links("<a href=\"http://www.bank.com/x\">https://secure.bank.com/login</a>")));
        assert!(!hit("check_https_http_mismatch", &["1", "10"], &links("<a href=\"http://1.2.3.4/x\">https://www.bank.com/login</a>")));
        assert!(hit("check_https_ip_mismatch", &[], &links("<a href=\"http://1.2.3.4/x\">https://www.bank.com/login</a>")));
        assert!(!hit("check_https_ip_mismatch", &[], &links("<a href=\"http://1.2.3.4/x\">https://1.2.3.4/login</a>")));
        // 8 tags, one end tag closing nothing, one not an element (embed)
        assert!(hit("html_range", &["closed_extra_ratio", "0.09", "inf"], odd));
        assert!(hit("html_range", &["bad_tag_ratio", "0.1", "0.2"], odd));
        // no image declares both width and height: no area, no ratio
        assert!(!hit("html_image_ratio", &["0.000", "1"], HTML));
        let sized = "Subject: x\nContent-Type: text/html\n\n<p>see this</p><img src=a.gif width=100 height=50%>\n";
        // 7 non-space characters over 100 x 300 pixels
        assert!(hit("html_image_ratio", &["0.0002", "0.0004"], sized));
        // 10 tags; <b>V</b>i<i>agra</i> continues a word twice
        let obfu = "Subject: x\nContent-Type: text/html\n\n<html><body><b>V</b>i<i>agra</i> <foo>x</foo></body></html>\n";
        assert!(hit("html_range", &["obfuscation_ratio", "0.1", "0.2"], obfu));
        // 5 distinct names, one (foo) not an element
        assert!(hit("html_range", &["non_element_ratio", "0.1", "0.2"], obfu));
    }
}
