//! BodyEval's text measures: spaced-out words, blank lines, stock-tip labels, and how much of a
//! multipart/alternative's HTML the text part leaves out.

use std::collections::HashMap;

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    let numbers = |n: std::ops::RangeInclusive<usize>| n.contains(&args.len()) && args.iter().all(|a| a.parse::<f64>().is_ok());
    Some(match function {
        "tvd_vertical_words" | "multipart_alternative_difference_count" => numbers(2..=2),
        // `max` may be the word "undef"
        "multipart_alternative_difference" => args.len() == 2 && args[0].parse::<f64>().is_ok() && (args[1] == "undef" || args[1].parse::<f64>().is_ok()),
        "check_blank_line_ratio" => numbers(2..=3),
        "check_stock_info" => numbers(1..=1),
        _ => return None,
    })
}

pub(super) fn run(function: &str, args: &[String], text: &super::EvalText, view: &MessageView, _set: &RuleSet) -> Option<bool> {
    let arg = |i: usize| args.get(i).and_then(|a| a.parse::<f64>().ok()).unwrap_or(0.0);
    Some(match function {
        "tvd_vertical_words" => {
            // "klugy", says the plugin: a maximum of 100 or more lets 100 itself through
            let max = if arg(1) >= 100.0 { 101.0 } else { arg(1) };
            let v = vertical_words(text.lines(view));
            v >= arg(0) && v < max
        }
        "check_blank_line_ratio" => {
            let r = blank_line_ratio(view.decoded_body(), arg(2).max(1.0));
            (arg(0) == 0.0 && r <= arg(1)) || (r > arg(0) && r <= arg(1))
        }
        "check_stock_info" => arg(0) == 0.0 || stock_info(view) as f64 >= arg(0),
        "multipart_alternative_difference" => {
            let d = alternative_difference(view).diff;
            (arg(0) == 0.0 || d > arg(0)) && (args[1] == "undef" || d <= arg(1))
        }
        "multipart_alternative_difference_count" => {
            let d = alternative_difference(view);
            d.html_words as f64 > arg(1) && d.text_words as f64 / d.html_words as f64 > arg(0)
        }
        _ => return None,
    })
}

/// The highest percentage of spaces to other characters on any body line longer than five
/// octets (newline included), 100 when spaces are the majority; -1 without such a line.
fn vertical_words(lines: &[Vec<u8>]) -> f64 {
    let mut best = -1.0f64;
    for line in lines.iter().filter(|l| l.len() > 5) {
        let spaces = line.iter().filter(|&&b| b == b' ').count();
        let other = line.len() - spaces;
        let pct = if spaces > other || other == 0 { 100.0 } else { (100 * spaces / other) as f64 };
        best = best.max(pct);
    }
    best
}

/// Percentage of decoded body lines without a non-space, or -1 below `min_lines` lines.
fn blank_line_ratio(chunks: &[Vec<u8>], min_lines: f64) -> f64 {
    let (mut lines, mut blank) = (0usize, 0usize);
    for line in chunks.iter().flat_map(|c| c.split_inclusive(|&b| b == b'\n')) {
        lines += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            blank += 1;
        }
    }
    if (lines as f64) < min_lines { -1.0 } else { 100.0 * blank as f64 / lines as f64 }
}

/// Distinct stock-tip labels (`Symbol:`, `Target price:`, ...) in the first text/plain part.
fn stock_info(view: &MessageView) -> usize {
    static LABEL: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static STOCK: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let label = LABEL.get_or_init(|| regex::Regex::new(r"(?m)^\s*([^:\s][^:\n]{2,29})\s*:\s*\S").expect("static regex"));
    let stock = STOCK.get_or_init(|| {
        regex::Regex::new(
            r"(^trad(?:e|ing)date|company(?:name)?|s[a-z]?(?:t[a-z]?o[a-z]?c[a-z]?k|y[a-z]?m(?:[a-z]?b[a-z]?o[a-z]?l)?)|t(?:arget|icker)|(?:opening|current)p(?:rice)?|p(?:rojected|osition)|expectations|weeks?high|marketperformance|(?:year|week|month|day|price)(?:target|estimates?)|sector|r(?:ecommendation|ating))$",
        )
        .expect("static regex")
    });
    // the first part declared text/plain, rendered as its effective type says
    let Some(i) = view.parts.iter().position(|p| p.content_type == "text/plain") else { return 0 };
    let part = &view.parts[i];
    let text = if part.effective_type() == "text/html" {
        view.html_renders()[i].text.clone()
    } else {
        crate::rules::message::normalize_charset(&part.decoded, part.charset.as_deref())
    };
    let mut hits = std::collections::HashSet::new();
    // the rendered text is characters: lengths and spaces are counted as such
    for chunk in crate::rules::message::split_short_paragraphs(&text) {
        for c in label.captures_iter(&String::from_utf8_lossy(&chunk)) {
            let letters: String = c[1].to_lowercase().chars().filter(char::is_ascii_lowercase).collect();
            if let Some(m) = stock.captures(&letters) {
                hits.insert(m[1].to_string());
            }
        }
    }
    hits.len()
}

#[derive(Default)]
struct AlternativeDifference {
    /// The highest percentage of a multipart/alternative's HTML words its text parts lack.
    diff: f64,
    /// Distinct words of the HTML and of the text, in the last alternative with HTML words.
    html_words: usize,
    text_words: usize,
}

fn alternative_difference(view: &MessageView) -> AlternativeDifference {
    let mut out = AlternativeDifference::default();
    let nodes = &view.mime_nodes;
    // Exchange meeting requests (text/html and text/calendar alternatives) are left alone
    let types: Vec<&str> = nodes.iter().map(|n| n.content_type.as_str()).collect();
    if types == ["multipart/alternative", "text/html", "text/calendar"] && nodes[1].depth == 1 && nodes[2].depth == 1 {
        return out;
    }
    let renders = view.html_renders();
    for (i, alt) in nodes.iter().enumerate().filter(|(_, n)| n.content_type.starts_with("multipart/alternative")) {
        let (mut html, mut text): (HashMap<String, i64>, HashMap<String, i64>) = Default::default();
        let subtree = nodes[i..].iter().take_while(|n| n.depth > alt.depth || std::ptr::eq(*n, alt));
        for leaf in subtree.filter(|n| n.content_type.starts_with("text")).filter_map(|n| n.leaf) {
            let part = &view.parts[leaf];
            match part.effective_type() {
                "text/html" if !part.decoded.is_empty() => {
                    count_words(&renders[leaf].text, &mut html);
                    // an HTML part of images alone still counts, as one word no text has
                    if html.is_empty() && renders[leaf].stats.as_ref().is_some_and(|s| s.inside.contains_key("img")) {
                        html.insert("\n".to_string(), 1);
                    }
                }
                "text/plain" => count_words(&crate::rules::message::normalize_charset(&part.decoded, part.charset.as_deref()), &mut text),
                _ => {}
            }
        }
        let orig = html.len();
        if orig == 0 {
            continue;
        }
        out.html_words = orig;
        out.text_words = text.len();
        html.retain(|w, n| text.get(w).is_none_or(|t| *n - t >= 1));
        out.diff = out.diff.max(html.len() as f64 / orig as f64 * 100.0);
    }
    out
}

/// Whitespace-separated tokens with a word character: bullets and rules are left out.
fn count_words(text: &[u8], into: &mut HashMap<String, i64>) {
    for w in String::from_utf8_lossy(text).split(char::is_whitespace).filter(|w| w.chars().any(|c| c.is_alphanumeric() || c == '_')) {
        *into.entry(w.to_string()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::hit;

    #[test]
    fn spaced_out_words_are_measured_per_line() {
        let spaced = "Subject: hi\n\nV I A G R A\nnormal words here\n";
        assert!(hit("tvd_vertical_words", &["0", "100"], spaced));
        assert!(!hit("tvd_vertical_words", &["0", "10"], spaced));
        assert!(hit("tvd_vertical_words", &["0", "10"], "Subject: hi\n\nnowordsseparated\n"));
    }

    #[test]
    fn blank_lines_count_against_all_decoded_lines() {
        assert!(hit("check_blank_line_ratio", &["80", "90", "4"], "Subject: x\n\na\n\n\n\n\n\n\n\n\n\n"));
        assert!(!hit("check_blank_line_ratio", &["80", "90", "4"], "Subject: x\n\na\nb\n\n\n"));
        // under the minimum line count the ratio is -1, which only a zero minimum accepts
        assert!(hit("check_blank_line_ratio", &["0", "0", "4"], "Subject: x\n\na\n"));
    }

    #[test]
    fn stock_labels_are_counted_once_each() {
        let tip = "Subject: x\n\nCompany Name: Acme\nSymbol: ACME\nSymbol: ACME\nTarget: $5\nhello: there\n";
        assert!(hit("check_stock_info", &["3"], tip));
        assert!(!hit("check_stock_info", &["4"], tip));
    }

    const ALT: &str = "Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nhello there\n--b\nContent-Type: text/html\n\n<p>hello there friend, buy now</p>\n--b--\n";

    #[test]
    fn html_words_missing_from_the_text_part() {
        // 5 HTML words, 2 of them in the text part: 60% missing
        assert!(hit("multipart_alternative_difference", &["59", "60"], ALT));
        assert!(!hit("multipart_alternative_difference", &["99", "100"], ALT));
        assert!(hit("multipart_alternative_difference_count", &["0.3", "1"], ALT));
        assert!(!hit("multipart_alternative_difference_count", &["0.5", "1"], ALT));
        // no alternatives: a difference of 0, which a zero minimum accepts
        assert!(hit("multipart_alternative_difference", &["0", "undef"], "Subject: x\n\nplain\n"));
    }
}
