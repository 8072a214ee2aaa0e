//! HTML rendered to text the way SpamAssassin's `HTML.pm` renders it for body rules: text outside
//! `script`/`style`, entities decoded, whitespace runs collapsed, `br`/`div` as a newline, cells and
//! list items as a space, paragraphs and block quotes as a blank line. Also collects link targets.

use super::message::HtmlRender;

const URI_ATTRS: &[(&str, &str)] = &[
    ("a", "href"), ("area", "href"), ("link", "href"), ("base", "href"), ("img", "src"), ("frame", "src"),
    ("iframe", "src"), ("embed", "src"), ("script", "src"), ("form", "action"), ("bgsound", "src"),
    ("body", "background"), ("table", "background"), ("td", "background"), ("tr", "background"),
];

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

fn attr_value(tag: &[u8], attr: &str) -> Option<Vec<u8>> {
    let lower: Vec<u8> = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(p) = find(&lower[from..], attr.as_bytes()).map(|p| p + from) {
        let before_ok = p > 0 && lower[p - 1].is_ascii_whitespace();
        let mut j = p + attr.len();
        while j < tag.len() && tag[j].is_ascii_whitespace() {
            j += 1;
        }
        if before_ok && tag.get(j) == Some(&b'=') {
            j += 1;
            while j < tag.len() && tag[j].is_ascii_whitespace() {
                j += 1;
            }
            let (start, end) = match tag.get(j) {
                Some(b'"') | Some(b'\'') => {
                    let q = tag[j];
                    let e = tag[j + 1..].iter().position(|&b| b == q).map(|e| j + 1 + e).unwrap_or(tag.len());
                    (j + 1, e)
                }
                _ => {
                    let e = tag[j..].iter().position(|b| b.is_ascii_whitespace() || *b == b'>').map(|e| j + e).unwrap_or(tag.len());
                    (j, e)
                }
            };
            return Some(decode_entities(&tag[start..end]));
        }
        from = p + attr.len();
    }
    None
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
                i = find(&html[i + 4..], b"-->").map(|p| i + 4 + p + 3).unwrap_or(html.len());
                continue;
            }
            let next = html.get(i + 1).copied().unwrap_or(b' ');
            if next.is_ascii_alphabetic() || next == b'/' || next == b'!' || next == b'?' {
                let end = html[i..].iter().position(|&b| b == b'>').map(|p| i + p).unwrap_or(html.len());
                let tag = &html[i + 1..end];
                let closing = tag.first() == Some(&b'/');
                let name: Vec<u8> = tag[usize::from(closing)..].iter().take_while(|b| b.is_ascii_alphanumeric()).map(|b| b.to_ascii_lowercase()).collect();
                let name = String::from_utf8_lossy(&name).to_string();
                match name.as_str() {
                    "br" | "div" => out.whitespace(b"\n"),
                    "li" | "th" | "td" | "dt" | "dd" | "embed" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => out.whitespace(b" "),
                    "p" | "hr" | "blockquote" | "pre" | "listing" | "plaintext" | "xmp" | "title" => out.whitespace(b"\n\n"),
                    _ => {}
                }
                if !closing {
                    for (t, a) in URI_ATTRS {
                        if *t == name {
                            if let Some(v) = attr_value(tag, a) {
                                uris.push(v);
                            }
                        }
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
        out.text(&decode_entities(&html[i..end]));
        i = end;
    }
    HtmlRender { text: out.pieces.into_iter().flat_map(|(t, _)| t).collect(), uris }
}
