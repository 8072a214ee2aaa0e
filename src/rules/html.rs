//! HTML rendered to text the way SpamAssassin's `HTML.pm` renders it for body rules: text outside
//! `script`/`style`, entities decoded, whitespace runs collapsed, `br`/`div` as a newline, cells and
//! list items as a space, paragraphs and block quotes as a blank line. Also collects link targets.

use super::message::HtmlRender;

/// The per-part results HTML.pm hands to HTMLEval, for the tests Debian's rules use.
#[derive(Debug, Default, Clone)]
pub struct HtmlStats {
    /// `inside`: start tags minus end tags per lowercase tag name, floored at 0; a name is
    /// present once either was seen.
    pub inside: std::collections::HashMap<String, i64>,
    /// `length`: characters of HTML source.
    pub length: usize,
    /// `title`: the text of each `<title>`.
    pub title: Vec<Vec<u8>>,
    /// `anchor`: the text of each `<a>`, with `<img>\n` for each image inside it.
    pub anchor: Vec<Vec<u8>>,
    /// `comment`: each comment as written, `<!--` and `-->` included.
    pub comment: Vec<Vec<u8>>,
    /// The `href` of each `<a>` (whitespace trimmed, empty when none), in step with `anchor`:
    /// HTML.pm files each anchor text under its link.
    pub anchor_hrefs: Vec<Vec<u8>>,
    /// `charsets`: the charset of each `<meta http-equiv="Content-Type">`.
    pub charsets: Vec<String>,
    /// Start and end tags seen, and how many of them were known elements.
    pub tags: usize,
    pub elements: usize,
    /// Distinct tag names, and distinct known element names.
    pub tags_seen: usize,
    pub elements_seen: usize,
    /// `image_area`: width times height of each `<img>` giving both (percentages scaled, 200
    /// for a missing or zero size).
    pub image_area: u64,
    /// End tags with no open start tag.
    pub closed_extra: usize,
    /// `embeds`: an `<object>` or `<embed>`; `form_action_mailto`: a form posting to mailto:;
    /// `font_face_bad`: a `<font face>` that is not a plain list of font names.
    pub embeds: bool,
    pub form_action_mailto: bool,
    pub font_face_bad: bool,
    /// An `<iframe src>` gave a link target (`check_iframe_src`).
    pub iframe_src: bool,
    /// Text chunks that continue a word the previous chunk ended (`<b>V</b>iagra`); None
    /// until the first.
    pub obfuscation: Option<usize>,
}

/// HTML.pm's `%elements` (HTML 4 strict and loose, plus a few non-standard ones).
const ELEMENTS: &[&str] = &[
    "a", "abbr", "acronym", "address", "area", "b", "base", "bdo", "big", "blockquote", "body", "br", "button", "caption", "cite", "code", "col", "colgroup",
    "dd", "del", "dfn", "div", "dl", "dt", "em", "fieldset", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "html", "i", "img", "input", "ins",
    "kbd", "label", "legend", "li", "link", "map", "meta", "noscript", "object", "ol", "optgroup", "option", "p", "param", "pre", "q", "samp", "script",
    "select", "small", "span", "strong", "style", "sub", "sup", "table", "tbody", "td", "textarea", "tfoot", "th", "thead", "title", "tr", "tt", "ul", "var",
    "applet", "basefont", "center", "dir", "font", "frame", "frameset", "iframe", "isindex", "menu", "noframes", "s", "strike", "u", "nobr", "x-sigsep",
    "x-tab",
];

impl HtmlStats {
    /// `html_tag`'s counters, before `inside` is updated.
    fn count_tag(&mut self, name: &str) {
        let namespaced = name.split_once(':').is_some_and(|(ns, rest)| {
            (ns == "o" || (ns.len() == 3 && ns.starts_with("st") && ns.as_bytes()[2].is_ascii_digit()))
                && !rest.trim_end_matches('/').is_empty()
                && rest.trim_end_matches('/').bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        let new = !self.inside.contains_key(name);
        if ELEMENTS.contains(&name) || namespaced {
            self.elements += 1;
            self.elements_seen += usize::from(new);
        }
        self.tags += 1;
        self.tags_seen += usize::from(new);
    }

    /// `html_test` flags.
    pub fn flag(&self, test: &str) -> Option<bool> {
        Some(match test {
            "embeds" => self.embeds,
            "form_action_mailto" => self.form_action_mailto,
            "font_face_bad" => self.font_face_bad,
            _ => return None,
        })
    }

    /// `obfuscation_ratio`, `non_element_ratio` and the other numbers HTMLEval compares.
    pub fn number(&self, test: &str) -> Option<f64> {
        match test {
            "length" => Some(self.length as f64),
            "obfuscation_ratio" => self.obfuscation.filter(|_| self.tags > 0).map(|o| o as f64 / self.tags as f64),
            "bad_tag_ratio" => (self.elements > 0 && self.tags > 0).then(|| (self.tags - self.elements) as f64 / self.tags as f64),
            "closed_extra_ratio" => (self.tags > 0).then(|| self.closed_extra as f64 / self.tags as f64),
            "non_element_ratio" => (self.elements > 0 && self.tags_seen > 0).then(|| (self.tags_seen - self.elements_seen) as f64 / self.tags_seen as f64),
            _ => None,
        }
    }
}

/// One side of an image as `html_tests` reads it: `^(\d+)(%)?$`, a percentage times `scale`,
/// 200 when missing, malformed or zero.
fn image_side(v: &[u8], scale: u64) -> u64 {
    let digits = v.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = &v[digits..];
    let n: u64 = std::str::from_utf8(&v[..digits]).ok().and_then(|d| d.parse().ok()).unwrap_or(0);
    let n = match rest {
        b"" | b"\n" => n,
        b"%" | b"%\n" => n.saturating_mul(scale),
        _ => 0,
    };
    if n == 0 { 200 } else { n }
}

/// A byte that is neither whitespace nor ASCII punctuation: `[^\s\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]`.
fn is_wordish(b: u8) -> bool {
    !(matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) || (0x21..=0x2f).contains(&b) || (0x3a..=0x40).contains(&b) || (0x5b..=0x60).contains(&b) || (0x7b..=0x7e).contains(&b))
}

impl HtmlStats {
    fn tag(&mut self, name: &str, closing: bool) {
        let v = self.inside.entry(name.to_string()).or_insert(0);
        *v += if closing { -1 } else { 1 };
        if *v < 0 {
            *v = 0;
            self.closed_extra += 1;
        }
    }

    fn inside(&self, name: &str) -> bool {
        self.inside.get(name).is_some_and(|&n| n > 0)
    }

    fn text(&mut self, t: &[u8]) {
        if self.inside("a") {
            if let Some(a) = self.anchor.last_mut() {
                a.extend_from_slice(t);
            }
        }
        if self.inside("title") {
            if let Some(ti) = self.title.last_mut() {
                ti.extend_from_slice(t);
            }
        }
    }
}

/// Tags whose attributes HTML.pm's `html_uri` reads link targets from.
const URI_TAGS: &[&str] = &["body", "table", "tr", "td", "a", "area", "link", "img", "frame", "iframe", "embed", "script", "form", "base", "bgsound", "meta"];

struct Out {
    pieces: Vec<(Vec<u8>, bool)>,
}

impl Out {
    fn whitespace(&mut self, ws: &[u8]) {
        if let Some((last, is_ws)) = self.pieces.last_mut() {
            if !*is_ws && last.ends_with(b" ") {
                last.pop();
            }
        }
        self.pieces.push((ws.to_vec(), true));
    }

    fn text(&mut self, t: &[u8]) {
        let mut v = Vec::with_capacity(t.len());
        let mut i = 0;
        while i < t.len() {
            let b = t[i];
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c | 0x0b) || (b == 0xc2 && t.get(i + 1) == Some(&0xa0)) {
                let mut j = i;
                loop {
                    if j < t.len() && matches!(t[j], b' ' | b'\t' | b'\n' | b'\r' | 0x0c | 0x0b) {
                        j += 1;
                    } else if j + 1 < t.len() && t[j] == 0xc2 && t[j + 1] == 0xa0 {
                        j += 2;
                        // each NBSP is its own match in SpamAssassin's substitution
                        break;
                    } else {
                        break;
                    }
                }
                v.push(b' ');
                i = j.max(i + 1);
                continue;
            }
            v.push(b);
            i += 1;
        }
        if self.pieces.last().is_some_and(|(_, ws)| *ws) && v.first() == Some(&b' ') {
            v.remove(0);
        }
        self.pieces.push((v, false));
    }
}

fn decode_entities(t: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        if t[i] == b'&' {
            let end = t[i + 1..].iter().take(12).position(|&b| b == b';').map(|p| i + 1 + p);
            let name_end = end.unwrap_or_else(|| {
                let mut j = i + 1;
                while j < t.len() && j - i < 12 && (t[j].is_ascii_alphanumeric() || t[j] == b'#') {
                    j += 1;
                }
                j
            });
            let name = std::str::from_utf8(&t[i + 1..name_end]).unwrap_or("");
            let ch: Option<char> = if let Some(num) = name.strip_prefix('#') {
                if let Some(hex) = num.strip_prefix(['x', 'X']) { u32::from_str_radix(hex, 16).ok() } else { num.parse().ok() }.and_then(char::from_u32)
            } else {
                match name {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some('\u{a0}'),
                    "copy" => Some('\u{a9}'),
                    "reg" => Some('\u{ae}'),
                    _ => None,
                }
            };
            if let Some(c) = ch {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i = if end.is_some() { name_end + 1 } else { name_end };
                continue;
            }
        }
        out.push(t[i]);
        i += 1;
    }
    out
}

/// A start tag's attributes as HTML::Parser reports them: names lowercased, values with
/// entities decoded, a bare attribute valued as its own name; the first of repeated names wins.
fn parse_attrs(tag: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    // skip the tag name
    let mut i = tag.iter().position(|b| b.is_ascii_whitespace() || *b == b'/').unwrap_or(tag.len());
    while i < tag.len() {
        while i < tag.len() && (tag[i].is_ascii_whitespace() || tag[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < tag.len() && !tag[i].is_ascii_whitespace() && tag[i] != b'=' && tag[i] != b'>' && !(tag[i] == b'/' && i > start && tag.get(i + 1).is_none()) {
            i += 1;
        }
        if i == start {
            i += 1;
            continue;
        }
        let name = String::from_utf8_lossy(&tag[start..i]).to_ascii_lowercase();
        let mut j = i;
        while j < tag.len() && tag[j].is_ascii_whitespace() {
            j += 1;
        }
        let value = if tag.get(j) == Some(&b'=') {
            j += 1;
            while j < tag.len() && tag[j].is_ascii_whitespace() {
                j += 1;
            }
            let (vs, ve, next) = match tag.get(j) {
                Some(&q) if q == b'"' || q == b'\'' => match tag[j + 1..].iter().position(|&b| b == q) {
                    Some(e) => (j + 1, j + 1 + e, j + 2 + e),
                    None => (j + 1, tag.len(), tag.len()),
                },
                _ => {
                    let e = tag[j..].iter().position(|b| b.is_ascii_whitespace()).map(|e| j + e).unwrap_or(tag.len());
                    (j, e, e)
                }
            };
            i = next;
            decode_entities(&tag[vs..ve])
        } else {
            name.clone().into_bytes()
        };
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, value));
        }
    }
    out
}

/// HTML.pm's `html_uri` for one start tag: pushes link targets (made absolute against
/// `base_href`) and updates `base_href` on `<base href>`.
fn collect_uris(tag: &str, attrs: &[(String, Vec<u8>)], base_href: &mut Option<Vec<u8>>, uris: &mut Vec<Vec<u8>>) {
    let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    // badly formatted HTML: `foo/href=` counts as `href=` (the last such attribute wins in Perl's hash walk)
    let get_slashed = |k: &str| {
        get(k).or_else(|| {
            attrs.iter().find(|(n, _)| n.split_once('/').is_some_and(|(w, a)| a.ends_with(k) && !w.is_empty())).map(|(_, v)| v.clone())
        })
    };
    let mut push = |u: Vec<u8>, base: &Option<Vec<u8>>| {
        let u = canon_uri(&u);
        if u.is_empty() {
            return;
        }
        let lower = u.to_ascii_lowercase();
        if [&b"data:"[..], b"mailto:", b"file:", b"cid:", b"tel:"].iter().any(|p| lower.starts_with(p)) {
            uris.push(u);
        } else {
            let t = super::uri::target_uri(base.as_deref().unwrap_or(b""), &u);
            if !t.is_empty() {
                uris.push(t);
            }
        }
    };
    match tag {
        "body" | "table" | "tr" | "td" => {
            if let Some(v) = get("background") {
                push(v, base_href);
            }
        }
        "a" | "area" | "link" => {
            if let Some(mut v) = get_slashed("href") {
                while let Some(p) = v.windows(3).position(|w| w == [0xef, 0xbb, 0xbf]) {
                    v.drain(p..p + 3);
                }
                push(v, base_href);
            }
            if let Some(v) = get("data-saferedirecturl") {
                push(v, base_href);
            }
        }
        "img" | "frame" | "iframe" | "embed" | "script" | "bgsound" => {
            if let Some(v) = get_slashed("src") {
                push(v, base_href);
            }
        }
        "form" => {
            if let Some(v) = get("action") {
                push(v, base_href);
            }
        }
        "base" => {
            let Some(v) = get("href").filter(|v| !v.is_empty() && v != b"0") else { return };
            let v = canon_uri(&v);
            push(v.clone(), base_href);
            static ABSOLUTE: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
            static FILENAME: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
            let absolute = ABSOLUTE.get_or_init(|| regex::bytes::Regex::new(r"(?i-u)^(?:https?|ftp):/{0,2}").expect("static regex"));
            if absolute.is_match(&v) {
                let filename = FILENAME.get_or_init(|| regex::bytes::Regex::new(r"(?is-u)^([a-z]+:/{0,2}[^/]+/.*?)[^/.]+\.[^/.]{2,4}$").expect("static regex"));
                let mut b = match filename.captures(&v) {
                    Some(c) => c[1].to_vec(),
                    None => v,
                };
                if !b.ends_with(b"/") {
                    b.push(b'/');
                }
                *base_href = Some(b);
            }
        }
        "meta" => {
            let (Some(equiv), Some(content)) = (get("http-equiv"), get("content")) else { return };
            static URL: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
            let url = URL.get_or_init(|| regex::bytes::Regex::new(r"(?i-u)\burl\s*=\s*").expect("static regex"));
            if !equiv.to_ascii_lowercase().windows(7).any(|w| w == b"refresh") {
                return;
            }
            // `s/^.*\burl\s*=\s*//i` is greedy: the last `url=` counts
            let Some(m) = url.find_iter(&content).last() else { return };
            let mut u = content[m.end()..].to_vec();
            if let Some(semi) = u.iter().position(|&b| b == b';') {
                u.truncate(semi);
                while u.last().is_some_and(|b| b.is_ascii_whitespace()) {
                    u.pop();
                }
            }
            push(u, base_href);
        }
        _ => {}
    }
}

/// HTML.pm's `canon_uri`: no leading or trailing whitespace (NBSP included), at most 8192 bytes.
fn canon_uri(u: &[u8]) -> Vec<u8> {
    let ws = |b: &u8| b.is_ascii_whitespace() || *b == 0x0b || *b == 0xa0;
    let s = u.iter().position(|b| !ws(b)).unwrap_or(u.len());
    let e = u.iter().rposition(|b| !ws(b)).map(|e| e + 1).unwrap_or(s);
    let mut v = u[s..e.max(s)].to_vec();
    v.truncate(super::uri::MAX_URI_LENGTH);
    v
}

/// Position of an ASCII-lowercase `needle` in `hay`, ignoring ASCII case, without copying `hay`.
fn find_ignore_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub fn render(html: &[u8]) -> HtmlRender {
    let mut out = Out { pieces: Vec::new() };
    let mut uris = Vec::new();
    let mut base_href: Option<Vec<u8>> = None;
    let mut stats = HtmlStats { length: std::str::from_utf8(html).map(|t| t.chars().count()).unwrap_or(html.len()), ..HtmlStats::default() };
    let mut i = 0;
    let mut skip_until: Option<&'static [u8]> = None;
    while i < html.len() {
        if let Some(end_tag) = skip_until {
            match find_ignore_case(&html[i..], end_tag) {
                Some(p) => {
                    i += p;
                    skip_until = None;
                }
                None => break,
            }
        }
        if html[i] == b'<' {
            if html[i..].starts_with(b"<!--") {
                let end = find(&html[i + 4..], b"-->").map(|p| i + 4 + p + 3).unwrap_or(html.len());
                stats.comment.push(html[i..end].to_vec());
                i = end;
                continue;
            }
            let next = html.get(i + 1).copied().unwrap_or(b' ');
            if next.is_ascii_alphabetic() || next == b'/' || next == b'!' || next == b'?' {
                let end = html[i..].iter().position(|&b| b == b'>').map(|p| i + p).unwrap_or(html.len());
                let tag = &html[i + 1..end];
                let closing = tag.first() == Some(&b'/');
                let name: Vec<u8> = tag[usize::from(closing)..].iter().take_while(|b| b.is_ascii_alphanumeric()).map(|b| b.to_ascii_lowercase()).collect();
                let name = String::from_utf8_lossy(&name).to_string();
                // HTML::Parser's tag name runs to whitespace, `/` or `>` (`o:p` is one name)
                let full_name: Vec<u8> = tag[usize::from(closing)..].iter().take_while(|b| !b.is_ascii_whitespace() && **b != b'/' && **b != b'>').map(|b| b.to_ascii_lowercase()).collect();
                if tag.len() >= 8 && tag[..8].eq_ignore_ascii_case(b"!doctype") {
                    stats.elements += 1;
                    stats.tags += 1;
                    stats.inside.insert("!doctype".to_string(), 0);
                }
                if next.is_ascii_alphabetic() || (closing && tag.get(1).is_some_and(u8::is_ascii_alphabetic)) {
                    let full_name = String::from_utf8_lossy(&full_name);
                    stats.count_tag(&full_name);
                    stats.tag(&full_name, closing);
                    if !closing {
                        match full_name.as_ref() {
                            "a" => {
                                stats.anchor.push(Vec::new());
                                let href = parse_attrs(tag).into_iter().find(|(n, _)| n == "href").map(|(_, v)| canon_uri(&v));
                                stats.anchor_hrefs.push(href.unwrap_or_default());
                            }
                            "title" => stats.title.push(Vec::new()),
                            "meta" => {
                                static CHARSET: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
                                let charset = CHARSET.get_or_init(|| regex::bytes::Regex::new(r#"(?i-u)\bcharset\s*=\s*["']?([^"']+)"#).expect("static regex"));
                                let attrs = parse_attrs(tag);
                                let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v);
                                if let (Some(equiv), Some(content)) = (get("http-equiv"), get("content")) {
                                    if find_ignore_case(equiv, b"content-type").is_some() {
                                        stats.charsets.extend(charset.captures(content).map(|c| String::from_utf8_lossy(&c[1]).into_owned()));
                                    }
                                }
                            }
                            "object" | "embed" => stats.embeds = true,
                            "form" => {
                                let action = parse_attrs(tag).into_iter().find(|(n, _)| n == "action").map(|(_, v)| v);
                                stats.form_action_mailto |= action.is_some_and(|a| find_ignore_case(&a, b"mailto:").is_some());
                            }
                            "font" => {
                                static FACE: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
                                let face_ok = FACE.get_or_init(|| {
                                    regex::bytes::Regex::new(r#"(?i-u)^\s*["'.]?[a-z ][a-z -]*[a-z]\d?["']?(?:,\s*["']?[a-z][a-z -]*[a-z]\d?["']?)*;?\n?$"#).expect("static regex")
                                });
                                if let Some((_, face)) = parse_attrs(tag).into_iter().find(|(n, _)| n == "face") {
                                    stats.font_face_bad |= !face_ok.is_match(&face);
                                }
                            }
                            "img" => {
                                let attrs = parse_attrs(tag);
                                let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                                if let (Some(w), Some(h)) = (get("width"), get("height")) {
                                    stats.image_area += image_side(&w, 8) * image_side(&h, 6);
                                }
                                if stats.inside("a") {
                                    if let Some(a) = stats.anchor.last_mut() {
                                        a.extend_from_slice(b"<img>\n");
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                match name.as_str() {
                    "br" | "div" => out.whitespace(b"\n"),
                    "li" | "th" | "td" | "dt" | "dd" | "embed" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => out.whitespace(b" "),
                    "p" | "hr" | "blockquote" | "pre" | "listing" | "plaintext" | "xmp" | "title" => out.whitespace(b"\n\n"),
                    _ => {}
                }
                if !closing {
                    if URI_TAGS.contains(&name.as_str()) {
                        let before = uris.len();
                        collect_uris(&name, &parse_attrs(tag), &mut base_href, &mut uris);
                        stats.iframe_src |= name == "iframe" && uris.len() > before;
                    }
                    if name == "script" {
                        skip_until = Some(b"</script");
                    } else if name == "style" {
                        skip_until = Some(b"</style");
                    }
                }
                i = end + 1;
                continue;
            }
        }
        let end = html[i + 1..].iter().position(|&b| b == b'<').map(|p| i + 1 + p).unwrap_or(html.len());
        let text = decode_entities(&html[i..end]);
        stats.text(&text);
        let continues_word = text.first().is_some_and(|&b| is_wordish(b)) && out.pieces.last().and_then(|(t, _)| t.last()).is_some_and(|&b| is_wordish(b));
        if continues_word {
            *stats.obfuscation.get_or_insert(0) += 1;
        }
        out.text(&text);
        i = end;
    }
    // HTML.pm closes a `<style>` or `<script>` left open
    for t in ["style", "script"] {
        if let Some(n) = stats.inside.get_mut(t) {
            *n = 0;
        }
    }
    HtmlRender { text: out.pieces.into_iter().flat_map(|(t, _)| t).collect(), uris, stats: Some(stats) }
}
