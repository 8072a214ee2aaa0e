//! MIMEEval and the body-shape checks: attachments, HTML parts, body length, parse flags.

use crate::rules::engine::RuleSet;
use crate::rules::message::MessageView;

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    Some(match function {
        "check_for_mime" => matches!(
            args.first().map(String::as_str),
            Some("mime_attachment" | "mime_base64_count" | "mime_qp_count" | "mime_qp_long_line" | "mime_base64_encoded_text" | "mime_bad_iso_charset" | "mimepart_limit_exceeded")
        ),
        "check_msg_parse_flags" => matches!(args.first().map(String::as_str), Some("missing_head_body_separator")),
        "check_body_length" | "check_for_mime_html" | "check_for_mime_html_only" => true,
        "check_for_ascii_text_illegal" | "check_ma_non_text" => args.is_empty(),
        "check_base64_length" => (args.len() == 1 || args.len() == 2) && args.iter().all(|a| a.parse::<f64>().is_ok()),
        // the plugin ignores a ratio not written like 0.05
        "check_abundant_unicode_ratio" => args.len() == 1,
        "check_mime_multipart_ratio" | "check_for_uppercase" => args.len() == 2 && args.iter().all(|a| a.parse::<f64>().is_ok()),
        _ => return None,
    })
}

pub(super) fn run(function: &str, args: &[String], text: &super::EvalText, view: &MessageView, _set: &RuleSet) -> Option<bool> {
    Some(match function {
        "check_for_mime" => match args[0].as_str() {
            "mime_attachment" => view.parts.iter().any(is_attachment),
            "mime_base64_count" => node_fields(view).iter().any(|n| n.cte.contains("base64")),
            "mime_qp_count" => qp_stats(view).count,
            "mime_qp_long_line" => qp_stats(view).long_line,
            "mime_base64_encoded_text" => node_fields(view).iter().any(base64_encoded_text),
            "mime_bad_iso_charset" => node_fields(view).iter().any(|n| bad_iso_charset(&n.charset)),
            // SpamAssassin 4.0.1 sets this flag on the message, where check_for_mime never looks
            "mimepart_limit_exceeded" => false,
            _ => false,
        },
        "check_body_length" => args.first().and_then(|a| a.parse::<f64>().ok()).is_some_and(|min| view.pristine_body.len() as f64 <= min),
        "check_for_mime_html" => mime_html(view).0,
        "check_for_mime_html_only" => mime_html(view).1,
        "check_msg_parse_flags" => view.missing_head_body_separator,
        "check_for_ascii_text_illegal" => text_stats(view).ascii_text_illegal,
        "check_abundant_unicode_ratio" => {
            static RATIO: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
            let ok = RATIO.get_or_init(|| regex::Regex::new(r"^\d{0,3}\.\d{1,3}$").expect("static regex")).is_match(&args[0]);
            ok && text_stats(view).unicode_ratio >= args[0].parse::<f64>().unwrap_or(f64::MAX)
        }
        "check_mime_multipart_ratio" => {
            let r = multipart_ratio(view);
            r >= args[0].parse::<f64>().unwrap_or(0.0) && r < args[1].parse::<f64>().unwrap_or(0.0)
        }
        "check_ma_non_text" => ma_non_text(view),
        "check_for_uppercase" => {
            let u = *view.eval_memo.uppercase[text.lines_index()].get_or_init(|| uppercase_percent(text.lines(view), view));
            u > args[0].parse::<f64>().unwrap_or(f64::MAX) && u <= args[1].parse::<f64>().unwrap_or(0.0)
        }
        "check_base64_length" => {
            // the longest raw line (newline included) of any base64 leaf but calendar invites
            let longest = view
                .parts
                .iter()
                .filter(|p| p.content_type != "application/ics" && last_cte(p) == "base64")
                .flat_map(|p| p.raw_body.split_inclusive(|&b| b == b'\n').map(<[u8]>::len))
                .max()
                .unwrap_or(0) as f64;
            let max = args.get(1).and_then(|m| m.parse::<f64>().ok());
            longest >= args[0].parse::<f64>().unwrap_or(f64::MAX) && max.is_none_or(|m| longest <= m)
        }
        _ => return None,
    })
}

fn is_attachment(p: &crate::rules::message::Part) -> bool {
    // MIMEEval counts parts whose Content-Disposition says attachment
    p.disposition.contains("attachment")
}

/// (has an HTML part, every text part is HTML).
fn mime_html(view: &MessageView) -> (bool, bool) {
    let html = view.parts.iter().any(|p| p.content_type == "text/html");
    let plain = view.parts.iter().any(|p| p.content_type.starts_with("text") && p.content_type != "text/html");
    (html, html && !plain)
}


/// `check_for_uppercase`: the percentage of capitals among letters and digits on body lines
/// with two words; 0 below 200 octets of such lines, or when a declared charset is one whose
/// text often reads as capitals.
fn uppercase_percent(lines: &[Vec<u8>], view: &MessageView) -> f64 {
    static BASE64: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    static SHIFT_JIS: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    static WORDS: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    if charset_likely_to_fp_as_caps(view) {
        return 0.0;
    }
    let base64 = BASE64.get_or_init(|| regex::bytes::Regex::new(r"^(?:[A-Za-z0-9+/=]{60,76} ){2}").expect("static regex"));
    let shift_jis = SHIFT_JIS.get_or_init(|| regex::bytes::Regex::new(r"(?s-u)\x1b\$B.*\x1b\(B").expect("static regex"));
    let words = WORDS.get_or_init(|| regex::bytes::Regex::new(r"(?-u)\S\s+\S").expect("static regex"));
    let (mut len, mut lower, mut upper) = (0usize, 0usize, 0usize);
    for line in lines.iter().filter(|l| words.is_match(l) && !base64.is_match(l)) {
        let line = shift_jis.replace_all(line, &b""[..]);
        len += line.len();
        // digits count as lower case, or "date|mail" would look shouted
        lower += line.iter().filter(|b| b.is_ascii_lowercase() || b.is_ascii_digit()).count();
        upper += line.iter().filter(|b| b.is_ascii_uppercase()).count();
    }
    if len < 200 || upper + lower == 0 {
        return 0.0;
    }
    upper as f64 / (upper + lower) as f64 * 100.0
}

/// `body_charset_is_likely_to_fp`: the message's Content-Type charset or any MIME node's is
/// a CJK, Cyrillic or Thai one.
fn charset_likely_to_fp_as_caps(view: &MessageView) -> bool {
    static RISKY: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let risky = RISKY.get_or_init(|| regex::Regex::new(r"(?i)^[-_a-z0-9]*(?:koi|jp|jis|euc|gb|big5|isoir|cp1251|windows-1251|georgianps|pt154|tis)[-_a-z0-9]*$").expect("static regex"));
    let mut charsets: Vec<String> = Vec::new();
    charsets.extend(view.get("Content-Type").and_then(|ct| charset_from_ct_line(&String::from_utf8_lossy(&ct))));
    charsets.extend(node_fields(view).iter().map(|n| &n.charset).filter(|c| c.bytes().any(|b| b.is_ascii_alphabetic())).flat_map(|c| c.split_whitespace().map(str::to_string)));
    charsets.iter().any(|c| risky.is_match(c))
}

/// `get_charset_from_ct_line`: the charset parameter, quoted or not; the plugin tries the
/// three forms in turn, each anywhere in the value.
pub(super) fn charset_from_ct_line(ct: &str) -> Option<String> {
    static FORMS: std::sync::OnceLock<[regex::Regex; 3]> = std::sync::OnceLock::new();
    let forms = FORMS.get_or_init(|| [r#"(?i)charset="([^"]+)""#, r"(?i)charset='([^']+)'", r"(?i)charset=(\S+)"].map(|p| regex::Regex::new(p).expect("static regex")));
    forms.iter().find_map(|re| re.captures(ct).map(|c| c[1].to_string()))
}

/// What `_check_attachments` reads from each MIME node's headers (lowercased, last instance).
#[derive(Debug)]
pub(super) struct NodeFields {
    ctype: String,
    cte: String,
    cd: String,
    charset: String,
}

fn node_fields(view: &MessageView) -> &[NodeFields] {
    view.eval_memo.node_fields.get_or_init(|| read_node_fields(view))
}

fn read_node_fields(view: &MessageView) -> Vec<NodeFields> {
    use crate::rules::message::{decode_header_value, header_param};
    view.mime_nodes
        .iter()
        .map(|node| {
            let headers = &node.headers;
            let last = |name: &str| {
                headers.iter().rev().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| String::from_utf8_lossy(&decode_header_value(&h.name, &h.raw)).into_owned()).unwrap_or_default()
            };
            let ct = last("Content-Type");
            NodeFields {
                ctype: ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase(),
                cte: last("Content-Transfer-Encoding").trim_end_matches('\n').to_ascii_lowercase(),
                cd: last("Content-Disposition").trim_end_matches('\n').to_ascii_lowercase(),
                charset: header_param(&ct, "charset").unwrap_or_default().to_ascii_lowercase(),
            }
        })
        .collect()
}

/// `mime_base64_encoded_text`: a text part in base64 with an ASCII (or no) charset, not
/// marked as an attachment or inline.
fn base64_encoded_text(n: &NodeFields) -> bool {
    const ASCII: &[&str] = &["us-ascii", "ansi_x3.4-1968", "iso-ir-6", "ansi_x3.4-1986", "iso_646.irv:1991", "ascii", "iso646-us", "us", "ibm367", "cp367", "csascii"];
    n.ctype.starts_with("text")
        && n.cte.contains("base64")
        && (n.charset.is_empty() || ASCII.iter().any(|a| n.charset.contains(a)))
        && !(n.cd.starts_with("attachment") || n.cd.starts_with("inline"))
}

/// `mime_bad_iso_charset`: `iso-X-Y` other than iso-8859-N and iso-2022-jp/kr.
fn bad_iso_charset(charset: &str) -> bool {
    static BAD: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static GOOD: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let bad = BAD.get_or_init(|| regex::Regex::new(r"(?i)iso-\S+-\S+\b").expect("static regex"));
    let good = GOOD.get_or_init(|| regex::Regex::new(r"iso-(?:8859-\d{1,2}|2022-(?:jp|kr))\b").expect("static regex"));
    bad.is_match(charset) && !good.is_match(charset)
}

#[derive(Debug)]
pub(super) struct QpStats {
    /// `mime_qp_count` ends non-zero.
    count: bool,
    long_line: bool,
}

/// The quoted-printable figures of `_check_attachments`: a QP part counts as such, but once any
/// QP line was read, the count becomes the number of encoded printable characters.
fn qp_stats(view: &MessageView) -> &QpStats {
    view.eval_memo.qp_stats.get_or_init(|| read_qp_stats(view))
}

fn read_qp_stats(view: &MessageView) -> QpStats {
    static ENCODED: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    static TRAILING: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    let encoded = ENCODED.get_or_init(|| regex::bytes::Regex::new(r"=(?:09|3[0-9ABCEF]|[2456][0-9A-F]|7[0-9A-E])").expect("static regex"));
    let trailing = TRAILING.get_or_init(|| regex::bytes::Regex::new(r"(?-u)((?:=09|=20)+)\s*\n?$").expect("static regex"));
    let qp_parts = node_fields(view).iter().filter(|n| n.cte.contains("quoted-printable")).count();
    let (mut bytes, mut count, mut long_line) = (0usize, 0f64, false);
    for p in view.parts.iter().filter(|p| last_cte(p) == "quoted-printable") {
        for line in p.raw_body.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b"SPAM: ") {
                continue;
            }
            long_line |= line.len() > 79;
            bytes += line.len();
            let n = encoded.find_iter(line).count();
            if n > 0 {
                count += n as f64;
                if let Some(t) = trailing.captures(line) {
                    count -= t[1].len() as f64 / 3.0;
                }
            }
        }
    }
    QpStats { count: if bytes > 0 { count != 0.0 } else { qp_parts > 0 }, long_line }
}

#[derive(Debug)]
pub(super) struct TextStats {
    /// A us-ascii (or unlabelled) text/plain line with NUL, CR or 8-bit bytes.
    ascii_text_illegal: bool,
    /// `&#xNNNN;` entities per remaining character in unencoded text/plain parts.
    unicode_ratio: f64,
}

fn text_stats(view: &MessageView) -> &TextStats {
    view.eval_memo.text_stats.get_or_init(|| read_text_stats(view))
}

fn read_text_stats(view: &MessageView) -> TextStats {
    static ENTITY: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    let entity = ENTITY.get_or_init(|| regex::bytes::Regex::new(r"&#x[0-9A-F]{4};").expect("static regex"));
    let (mut illegal, mut normal, mut unicode) = (false, 0usize, 0usize);
    for p in view.parts.iter().filter(|p| p.content_type == "text/plain") {
        let cte = last_cte(p);
        let ascii = p.charset.as_deref().is_none_or(|c| c.eq_ignore_ascii_case("us-ascii"));
        for line in p.raw_body.split_inclusive(|&b| b == b'\n') {
            illegal |= ascii && line.iter().any(|&b| b == 0 || b == b'\r' || b >= 0x80);
            if matches!(cte.as_str(), "" | "7bit" | "8bit") {
                let subs = entity.find_iter(line).count();
                normal += line.len() - subs * 8;
                unicode += subs;
            }
        }
    }
    TextStats { ascii_text_illegal: illegal, unicode_ratio: if normal > 0 { unicode as f64 / normal as f64 } else { 0.0 } }
}

/// `mime_multipart_ratio`: bytes of the last text/plain part over the last text/html part, once
/// a multipart/alternative was seen (1.0 otherwise). Attachments do not count.
fn multipart_ratio(view: &MessageView) -> f64 {
    let mut alternative = false;
    // (type, bytes) per leaf; None for attachments
    let mut leaves: Vec<(&str, Option<usize>)> = Vec::new();
    for node in &view.mime_nodes {
        alternative |= node.content_type == "multipart/alternative";
        let Some(i) = node.leaf else { continue };
        let p = &view.parts[i];
        let attachment = p.disposition.contains("attachment");
        let counted = alternative && !attachment && (p.content_type == "text/plain" || p.content_type == "text/html");
        let bytes = if counted { p.raw_body.len() } else { 0 };
        leaves.push((p.content_type.as_str(), (!attachment).then_some(bytes)));
    }
    if !alternative {
        return 1.0;
    }
    let last = |t: &str| leaves.iter().rev().find(|(ty, b)| *ty == t && b.is_some()).and_then(|(_, b)| *b);
    match (last("text/plain"), last("text/html")) {
        (Some(text), Some(html)) if html > 0 => text as f64 / html as f64,
        _ => 1.0,
    }
}

/// A direct child of a multipart/alternative that is neither text nor RTF.
fn ma_non_text(view: &MessageView) -> bool {
    let nodes = &view.mime_nodes;
    nodes.iter().enumerate().filter(|(_, n)| n.content_type == "multipart/alternative").any(|(i, ma)| {
        nodes[i + 1..].iter().take_while(|n| n.depth > ma.depth).filter(|n| n.depth == ma.depth + 1 && n.leaf.is_some()).any(|n| {
            n.content_type != "multipart/related" && n.content_type != "application/rtf" && !n.content_type.starts_with("text/")
        })
    })
}

/// The leaf's Content-Transfer-Encoding as `_check_attachments` compares it: lowercased, only
/// the final newline removed.
fn last_cte(p: &crate::rules::message::Part) -> String {
    p.headers
        .iter()
        .rev()
        .find(|h| h.name.eq_ignore_ascii_case("Content-Transfer-Encoding"))
        .map(|h| String::from_utf8_lossy(&crate::rules::message::decode_header_value(&h.name, &h.raw)).trim_start().trim_end_matches('\n').to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(test: &str, msg: &str) -> bool {
        let args = vec![test.to_string()];
        assert_eq!(supports("check_for_mime", &args), Some(true));
        let (set, _) = RuleSet::from_text("t.cf", "");
        run("check_for_mime", &args, &crate::rules::evals::EvalText { kind: "rawbody", rewritten_body: None }, &MessageView::parse(msg.as_bytes()), &set).unwrap()
    }

    #[test]
    fn mime_flags_from_part_headers_and_raw_lines() {
        let qp = format!("Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\na=41b caf=E9 {}\n", "x".repeat(80));
        assert!(check("mime_qp_count", &qp));
        assert!(check("mime_qp_long_line", &qp));
        assert!(!check("mime_base64_count", &qp));
        // QP lines without an encoded printable character leave the count at zero
        assert!(!check("mime_qp_count", "Content-Transfer-Encoding: quoted-printable\n\nplain=\n"));
        let b64 = "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGk=\n";
        assert!(check("mime_base64_count", b64));
        assert!(check("mime_base64_encoded_text", b64));
        assert!(!check("mime_base64_encoded_text", "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\naGk=\n"));
        assert!(check("mime_bad_iso_charset", "Content-Type: text/plain; charset=iso-2022-cn\n\nx\n"));
        assert!(!check("mime_bad_iso_charset", "Content-Type: text/plain; charset=iso-8859-15\n\nx\n"));
        assert!(!check("mimepart_limit_exceeded", b64));
    }

    fn eval(function: &str, args: &[&str], msg: &str) -> bool {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        assert_eq!(supports(function, &args), Some(true));
        let (set, _) = RuleSet::from_text("t.cf", "");
        run(function, &args, &crate::rules::evals::EvalText { kind: "body", rewritten_body: None }, &MessageView::parse(msg.as_bytes()), &set).unwrap()
    }

    #[test]
    fn shouting_is_measured_on_lines_with_two_words() {
        let shout = |charset: &str, line: &str| format!("Subject: x\nContent-Type: text/plain; charset={charset}\n\n{}", format!("{line}\n").repeat(8));
        // 6 capitals to 5 lower-case letters or digits per line: 54.5%
        let mixed = shout("us-ascii", "BUY ABC now, x1 ...........................");
        assert!(eval("check_for_uppercase", &["50", "75"], &mixed));
        assert!(!eval("check_for_uppercase", &["75", "100"], &mixed));
        // charsets whose text reads as capitals are not measured
        assert!(!eval("check_for_uppercase", &["50", "75"], &shout("koi8-r", "BUY AB now, x1 ...........................")));
        // under 200 octets of such lines nothing is measured
        assert!(!eval("check_for_uppercase", &["50", "100"], "Subject: x\n\nBUY NOW\n"));
    }

    #[test]
    fn text_part_and_alternative_checks() {
        assert!(eval("check_for_ascii_text_illegal", &[], "Content-Type: text/plain\n\ncaf\u{e9}\n"));
        assert!(!eval("check_for_ascii_text_illegal", &[], "Content-Type: text/plain; charset=utf-8\n\ncaf\u{e9}\n"));
        assert!(eval("check_abundant_unicode_ratio", &["0.05"], "Content-Type: text/plain\n\n&#x0041;&#x0042; hi\n"));
        assert!(!eval("check_abundant_unicode_ratio", &["0.05"], "Content-Type: text/plain\n\nplain text only\n"));
        let alt = |inner: &str| format!("Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n--b\n{inner}\n--b--\n");
        let html = alt(&format!("Content-Type: text/html\n\n<p>{}</p>", "y".repeat(200)));
        assert!(eval("check_mime_multipart_ratio", &["0.00", "0.01"], &html));
        assert!(!eval("check_ma_non_text", &[], &html));
        assert!(eval("check_ma_non_text", &[], &alt("Content-Type: image/gif\n\nGIF")));
        let b64 = |line: usize| format!("Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n{}\naGk=\n", "A".repeat(line));
        assert!(eval("check_base64_length", &["78", "79"], &b64(77)));
        assert!(!eval("check_base64_length", &["79"], &b64(77)));
        assert!(eval("check_base64_length", &["79"], &b64(80)));
    }
}
