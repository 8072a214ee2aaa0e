//! URIs for `uri` rules: HTML link targets plus what looks like a URI in the rendered text,
//! each also in a `http://` form for schemeless `www.` hosts, as SpamAssassin lists them.

use super::message::{HtmlRender, MessageView};

pub fn extract(view: &MessageView, html: &[HtmlRender]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for h in html {
        out.extend(h.uris.iter().map(|u| u.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect()));
    }
    for (i, p) in view.parts.iter().enumerate() {
        let text: &[u8] = if p.effective_type() == "text/html" { &html[i].text } else if p.effective_type() == "text/plain" { &p.decoded } else { continue };
        for word in text.split(|b| b.is_ascii_whitespace() || *b == b'<' || *b == b'>' || *b == b'"') {
            let lower = word.to_ascii_lowercase();
            let word = trim_punct(word);
            if lower.starts_with(b"http://") || lower.starts_with(b"https://") || lower.starts_with(b"ftp://") || lower.starts_with(b"mailto:") {
                out.push(word.to_vec());
            } else if lower.starts_with(b"www.") && word.len() > 4 {
                let mut u = b"http://".to_vec();
                u.extend_from_slice(word);
                out.push(u);
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|u| !u.is_empty() && seen.insert(u.clone()));
    out
}

fn trim_punct(w: &[u8]) -> &[u8] {
    let mut e = w.len();
    while e > 0 && matches!(w[e - 1], b'.' | b',' | b')' | b';' | b'!' | b'?' | b'\'') {
        e -= 1;
    }
    &w[..e]
}
