//! The message as SpamAssassin's rules see it (`Mail::SpamAssassin::Message` and `PerMsgStatus`):
//! header values with folding removed and encoded words decoded, each instance ending in a newline;
//! `:raw` values with their leading space; the rendered body (Subject first, decoded text parts,
//! HTML rendered to text, one paragraph per line, lines cut at 2 KiB); the decoded raw body;
//! the full message; and the URIs. MIME splitting, transfer decoding and
//! rendering follow SpamAssassin's own rules so regexes see the same bytes.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use super::header_slots::{HeaderCache, HeaderRequests, HeaderSlot, MimeHeaderSlot};

const MAX_BODY_LINE_LENGTH: usize = 2048;
const BODY_PART_SCAN_SIZE: usize = 50_000;
const RAWBODY_PART_SCAN_SIZE: usize = 500_000;

#[derive(Debug, Clone)]
pub struct HeaderField {
    /// The name as written (case kept), without trailing whitespace.
    pub name: String,
    /// Everything after the colon, folding and final newline kept.
    pub raw: Vec<u8>,
}

/// One node of the MIME tree, containers included.
#[derive(Debug, Clone)]
pub struct MimeNode {
    pub headers: Vec<HeaderField>,
    /// 0 for the message itself.
    pub depth: usize,
    /// Lowercase `type/subtype`, as the node's `Part` has it.
    pub content_type: String,
    /// Index into `parts` when the node is a leaf.
    pub leaf: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Part {
    /// Lowercase `type/subtype`.
    pub content_type: String,
    pub charset: Option<String>,
    pub name: Option<String>,
    pub transfer_encoding: String,
    /// Lowercase Content-Disposition value.
    pub disposition: String,
    pub headers: Vec<HeaderField>,
    /// Transfer-decoded content.
    pub decoded: Vec<u8>,
    /// Body before transfer decoding.
    pub raw_body: Vec<u8>,
}

impl Part {
    /// `effective_type`: a `.html` attachment name makes a part HTML.
    pub fn effective_type(&self) -> &str {
        let n = self.name.as_deref().unwrap_or("").to_ascii_lowercase();
        if n.ends_with(".html") || n.ends_with(".htm") || n.ends_with(".shtml") || n.ends_with(".shtm") {
            "text/html"
        } else {
            &self.content_type
        }
    }
}

/// One message, parsed once, with each view computed on first use.
pub struct MessageView {
    pub full: Vec<u8>,
    pub headers: Vec<HeaderField>,
    /// Body bytes after the header/body separator.
    pub pristine_body: Vec<u8>,
    pub parts: Vec<Part>,
    /// Headers of every MIME node, containers included, in `find_parts(qr/./)` order (the
    /// message itself first, then depth first), for `mimeheader` rules.
    pub mime_nodes: Vec<MimeNode>,
    pub missing_head_body_separator: bool,
    rendered: OnceLock<Vec<Vec<u8>>>,
    decoded_lines: OnceLock<Vec<Vec<u8>>>,
    uris: OnceLock<Vec<Vec<u8>>>,
    html_parts: OnceLock<Vec<HtmlRender>>,
    /// The `originating_ip_headers` setting; the engine fills it in before the first rule runs.
    pub originating_ip_headers: Vec<String>,
    relays: OnceLock<super::relays::Relays>,
    /// What several evals derive from this message, derived once.
    pub(crate) eval_memo: super::evals::Memo,
    /// Header values by the rule set's request slots (`RuleSet::score` sets the requests; a
    /// view built alone answers every request through the keyed path).
    header_cache: HeaderCache,
    /// The rule set's TLD registry and redirector patterns, for the URI list and `:domain`;
    /// set by `RuleSet::score` (empty when a view is built alone, as in tests).
    pub uri_context: std::sync::Arc<super::uri::UriContext>,
}

#[derive(Debug, Default, Clone)]
pub struct HtmlRender {
    pub text: Vec<u8>,
    pub uris: Vec<Vec<u8>>,
    /// What HTMLEval reads (`html_tag_exists`, `html_text_match`...); `None` for a part that
    /// is not rendered as HTML.
    pub stats: Option<super::html::HtmlStats>,
}

fn split_header_block(data: &[u8]) -> (Vec<HeaderField>, usize, bool) {
    let mut fields: Vec<HeaderField> = Vec::new();
    let mut pos = 0;
    let mut errors = 0;
    let mut current: Option<Vec<u8>> = None;
    let flush = |cur: &mut Option<Vec<u8>>, fields: &mut Vec<HeaderField>| {
        if let Some(h) = cur.take() {
            if let Some(colon) = h.iter().position(|&b| b == b':') {
                let name = String::from_utf8_lossy(&h[..colon]).trim_end_matches([' ', '\t']).to_string();
                let mut raw = h[colon + 1..].to_vec();
                if raw.len() > 8192 {
                    raw.truncate(8192);
                }
                fields.push(HeaderField { name, raw });
            }
        }
    };
    // an mbox "From " separator line is not a header
    if data.starts_with(b"From ") && !data.starts_with(b"From :") {
        pos = data.iter().position(|&b| b == b'\n').map(|p| p + 1).unwrap_or(data.len());
    }
    loop {
        if pos >= data.len() {
            flush(&mut current, &mut fields);
            return (fields, data.len(), true);
        }
        let end = data[pos..].iter().position(|&b| b == b'\n').map(|p| pos + p + 1).unwrap_or(data.len());
        let line = &data[pos..end];
        if line[0] == b' ' || line[0] == b'\t' {
            current.get_or_insert_with(Vec::new).extend_from_slice(line);
            pos = end;
            continue;
        }
        flush(&mut current, &mut fields);
        if line == b"\n" || line == b"\r\n" {
            return (fields, end, false);
        }
        if line.starts_with(b"--") {
            return (fields, pos, true);
        }
        let valid = {
            let mut i = 0;
            while i < line.len() && (0x21..=0x7e).contains(&line[i]) && line[i] != b':' {
                i += 1;
            }
            let name_end = i;
            while i < line.len() && (line[i] == b' ' || line[i] == b'\t') {
                i += 1;
            }
            name_end > 0 && line.get(i) == Some(&b':')
        };
        if !valid {
            errors += 1;
            if errors > 3 {
                return (fields, pos, true);
            }
        }
        current = Some(line.to_vec());
        pos = end;
    }
}

/// Header value as `Node::header` decodes it (unfolded, trimmed, encoded words decoded).
pub fn decode_header_value(name: &str, raw: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(raw.len());
    let mut i = 0;
    // s/\n[ \t]+/ /gs
    while i < raw.len() {
        if raw[i] == b'\n' && raw.get(i + 1).is_some_and(|b| *b == b' ' || *b == b'\t') {
            v.push(b' ');
            i += 1;
            while i < raw.len() && (raw[i] == b' ' || raw[i] == b'\t') {
                i += 1;
            }
            continue;
        }
        v.push(raw[i]);
        i += 1;
    }
    let trimmed = trim_ascii_ws(&v).to_vec();
    let mut v: Vec<u8> = trimmed.into_iter().filter(|&b| b != b'\n' && b != b'\r').collect();
    // RFC 6532 allows UTF-8 in header fields; anything else 8-bit is guessed at as the body is
    if !v.is_ascii() {
        v = super::charset::normalize(&v, "UTF-8", false);
    }
    let lname = name.to_ascii_lowercase();
    let skip_mime = matches!(lname.as_str(), "received" | "message-id" | "resent-message-id" | "date" | "resent-date" | "mime-version" | "references" | "in-reply-to")
        || lname.starts_with("list-");
    if !skip_mime && v.windows(2).any(|w| w == b"=?") {
        v = decode_encoded_words(&v);
    }
    v
}

fn trim_ascii_ws(v: &[u8]) -> &[u8] {
    let s = v.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(v.len());
    let e = v.iter().rposition(|b| !b.is_ascii_whitespace()).map(|e| e + 1).unwrap_or(s);
    &v[s..e.max(s)]
}

/// `_decode_header`'s RFC 2047 pass: whitespace between encoded words goes, each word is
/// transfer-decoded, adjacent runs with the same charset are joined before the charset is
/// decoded (so a character split across two words survives), and plain text stays as it is.
fn decode_encoded_words(v: &[u8]) -> Vec<u8> {
    // (bytes, lowercase charset or "" for plain text)
    let mut sections: Vec<(Vec<u8>, String)> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let (bytes, charset, len) = match parse_encoded_word(&v[i..]) {
            Some((bytes, charset, mut len)) => {
                // s{(encoded-word)\s+(?=encoded-word)}{$1}
                let ws = v[i + len..].iter().take_while(|b| b.is_ascii_whitespace()).count();
                if ws > 0 && parse_encoded_word(&v[i + len + ws..]).is_some() {
                    len += ws;
                }
                (bytes, charset.to_ascii_lowercase(), len)
            }
            None => {
                // `[^=]+ | .`
                let run = if v[i] == b'=' { 1 } else { v[i..].iter().position(|&b| b == b'=').unwrap_or(v.len() - i) };
                (v[i..i + run].to_vec(), String::new(), run)
            }
        };
        match sections.last_mut() {
            Some((prev, prev_charset)) if *prev_charset == charset => prev.extend_from_slice(&bytes),
            _ => sections.push((bytes, charset)),
        }
        i += len;
    }
    let mut out = Vec::with_capacity(v.len());
    for (bytes, charset) in sections {
        if charset.is_empty() {
            out.extend_from_slice(&bytes);
        } else {
            // RFC 2231 language suffix: =?US-ASCII*EN?Q?...?=
            let charset = charset.split('*').next().unwrap_or("");
            out.extend_from_slice(&super::charset::normalize(&bytes, charset, true));
        }
    }
    out
}

/// `=?charset?[bq]?text?=` at the start of `s`: the transfer-decoded bytes, the charset as
/// written and the length of the word.
fn parse_encoded_word(s: &[u8]) -> Option<(Vec<u8>, &str, usize)> {
    let rest = s.strip_prefix(b"=?")?;
    let q1 = rest.iter().position(|&b| b == b'?')?;
    let charset = std::str::from_utf8(&rest[..q1]).ok()?;
    if charset.is_empty() || !charset.bytes().all(|b| b.is_ascii_alphanumeric() || b"*_-".contains(&b)) {
        return None;
    }
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let body_start = q1 + 3;
    let body_len = rest[body_start..].iter().position(|&b| b == b'?')?;
    if rest.get(body_start + body_len + 1) != Some(&b'=') {
        return None;
    }
    let body = &rest[body_start..body_start + body_len];
    let bytes = match enc.to_ascii_lowercase() {
        b'b' => base64_decode(body),
        // "_" is "=20", decoded after qp's trailing-space rule has run
        b'q' => qp_decode(&body.iter().flat_map(|&b| if b == b'_' { b"=20".to_vec() } else { vec![b] }).collect::<Vec<u8>>()),
        _ => return None,
    };
    Some((bytes, charset, 2 + body_start + body_len + 2))
}

pub fn base64_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

pub fn qp_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c == b'=' {
            let h = |b: u8| (b as char).to_digit(16);
            if let (Some(a), Some(b)) = (input.get(i + 1).and_then(|b| h(*b)), input.get(i + 2).and_then(|b| h(*b))) {
                out.push((a * 16 + b) as u8);
                i += 3;
                continue;
            }
            // soft line break: "=" then optional whitespace then newline
            let mut j = i + 1;
            while j < input.len() && (input[j] == b' ' || input[j] == b'\t') {
                j += 1;
            }
            if input.get(j) == Some(&b'\r') {
                j += 1;
            }
            if input.get(j) == Some(&b'\n') {
                i = j + 1;
                continue;
            }
            if j >= input.len() {
                i = j;
                continue;
            }
        }
        // trailing whitespace before a newline is removed
        if c == b' ' || c == b'\t' {
            let mut j = i;
            while j < input.len() && (input[j] == b' ' || input[j] == b'\t') {
                j += 1;
            }
            if j < input.len() && (input[j] == b'\n' || input[j] == b'\r') || j == input.len() {
                i = j;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

pub(crate) fn header_param(value: &str, param: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let mut search = 0;
    while let Some(idx) = lower[search..].find(param).map(|i| i + search) {
        let before_ok = idx == 0 || matches!(lower.as_bytes()[idx - 1], b';' | b' ' | b'\t');
        let after = lower[idx + param.len()..].trim_start();
        if before_ok && after.starts_with('=') {
            let v_start = value.len() - after.len() + 1;
            let v = value[v_start..].trim_start();
            let val = if let Some(stripped) = v.strip_prefix('"') {
                stripped.split('"').next().unwrap_or("").to_string()
            } else {
                v.split([';', ' ', '\t']).next().unwrap_or("").to_string()
            };
            return Some(val);
        }
        search = idx + param.len();
    }
    None
}

/// The last instance, as `Node::header` returns in scalar context.
fn first_header<'h>(headers: &'h [HeaderField], name: &str) -> Option<&'h HeaderField> {
    headers.iter().rev().find(|h| h.name.eq_ignore_ascii_case(name))
}

fn part_from(headers: Vec<HeaderField>, raw_body: &[u8], default_type: &str) -> Part {
    let ct = first_header(&headers, "content-type").map(|h| String::from_utf8_lossy(&decode_header_value("content-type", &h.raw)).to_string());
    let mut content_type = ct
        .as_deref()
        .and_then(|v| v.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| t.contains('/'))
        .unwrap_or_else(|| default_type.to_string());
    content_type.retain(|c| !c.is_whitespace());
    let charset = ct.as_deref().and_then(|v| header_param(v, "charset"));
    let disp = first_header(&headers, "content-disposition").map(|h| String::from_utf8_lossy(&decode_header_value("content-disposition", &h.raw)).to_string());
    let name = ct.as_deref().and_then(|v| header_param(v, "name")).or_else(|| disp.as_deref().and_then(|v| header_param(v, "filename")));
    let cte = first_header(&headers, "content-transfer-encoding")
        .map(|h| String::from_utf8_lossy(&decode_header_value("content-transfer-encoding", &h.raw)).trim().to_ascii_lowercase())
        .unwrap_or_default();
    let decoded = if cte.contains("quoted-printable") {
        qp_decode(raw_body)
    } else if cte.contains("base64") {
        base64_decode(raw_body)
    } else {
        raw_body.to_vec()
    };
    let disposition = disp.unwrap_or_default().to_ascii_lowercase();
    Part { content_type, charset, name, transfer_encoding: cte, disposition, headers, decoded, raw_body: raw_body.to_vec() }
}

/// Splits a multipart body and appends its leaves (depth-first, as `find_parts` returns them).
fn collect_parts(headers: Vec<HeaderField>, body: &[u8], default_type: &str, out: &mut Vec<Part>, nodes: &mut Vec<MimeNode>, depth: usize) {
    let node = nodes.len();
    nodes.push(MimeNode { headers: headers.clone(), depth, content_type: String::new(), leaf: None });
    let part = part_from(headers, body, default_type);
    nodes[node].content_type = part.content_type.clone();
    if depth > 20 || out.len() > 1000 {
        nodes[node].leaf = Some(out.len());
        out.push(part);
        return;
    }
    if part.content_type.starts_with("multipart/") {
        let ct = first_header(&part.headers, "content-type").map(|h| String::from_utf8_lossy(&decode_header_value("content-type", &h.raw)).to_string()).unwrap_or_default();
        if let Some(boundary) = header_param(&ct, "boundary") {
            let child_default = if part.content_type == "multipart/digest" { "message/rfc822" } else { "text/plain" };
            // Mail::SpamAssassin::Message::_parse_multipart: skip to the first boundary line (or
            // keep everything when there is none), then cut a part at every boundary line and at
            // the end of the body.
            let delim = format!("--{boundary}");
            let is_boundary = |line: &[u8]| -> Option<bool> {
                let rest = line.strip_prefix(delim.as_bytes())?;
                let (closing, rest) = match rest.strip_prefix(b"--") {
                    Some(r) => (true, r),
                    None => (false, rest),
                };
                rest.iter().all(|b| b.is_ascii_whitespace()).then_some(closing)
            };
            let lines: Vec<&[u8]> = body.split_inclusive(|&b| b == b'\n').collect();
            let first = lines.iter().position(|l| is_boundary(l) == Some(false)).map(|p| p + 1).unwrap_or(0);
            let mut sections: Vec<Vec<u8>> = Vec::new();
            let mut current: Vec<u8> = Vec::new();
            let total = lines.len();
            for (n, line) in lines.iter().enumerate().skip(first) {
                let boundary = is_boundary(line);
                if boundary.is_none() {
                    current.extend_from_slice(line);
                }
                if n + 1 == total || boundary.is_some() {
                    if boundary.is_some() {
                        // the newline before a boundary belongs to the boundary
                        if current.ends_with(b"\n") {
                            current.pop();
                        }
                    }
                    sections.push(std::mem::take(&mut current));
                    if boundary == Some(true) {
                        break;
                    }
                }
            }
            if sections.is_empty() {
                return;
            }
            for sec in sections {
                let (h, body_at, _) = split_header_block(&sec);
                collect_parts(h, &sec[body_at.min(sec.len())..], child_default, out, nodes, depth + 1);
            }
            return;
        }
    }
    if part.content_type == "message/rfc822" {
        let inner = part.decoded.clone();
        let (h, body_at, _) = split_header_block(&inner);
        collect_parts(h, &inner[body_at.min(inner.len())..], "text/plain", out, nodes, depth + 1);
        return;
    }
    nodes[node].leaf = Some(out.len());
    out.push(part);
}

impl MessageView {
    pub fn parse(data: &[u8]) -> MessageView {
        let data: Vec<u8> = if data.is_empty() { b"\n".to_vec() } else { data.to_vec() };
        // SpamAssassin squashes CRLF to LF everywhere but the pristine copies when the first or
        // last line ends in CRLF.
        let first_line_end = data.iter().position(|&b| b == b'\n');
        let last_line_start = data[..data.len() - 1].iter().rposition(|&b| b == b'\n').map(|p| p + 1).unwrap_or(0);
        let crlf = first_line_end.is_some_and(|p| p > 0 && data[p - 1] == b'\r') || data[last_line_start..].windows(2).any(|w| w == b"\r\n");
        let pristine = split_header_block(&data);
        let pristine_body_at = pristine.1;
        // without CRLF squashing the working copy is the data itself, and so is its header block
        let (work, (mut headers, body_at, missing_sep)): (Cow<'_, [u8]>, _) = if crlf {
            let mut v = Vec::with_capacity(data.len());
            for (i, &b) in data.iter().enumerate() {
                if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
                    continue;
                }
                v.push(b);
            }
            let split = split_header_block(&v);
            (Cow::Owned(v), split)
        } else {
            (Cow::Borrowed(&data[..]), pristine)
        };
        // SpamAssassin replaces X-Spam-Relays-* headers a message arrives with by its own metadata
        // (only the pristine text, `ALL:raw`, keeps them)
        headers.retain(|h| !super::pseudo_headers::is_relay_metadata(&h.name));
        let pristine_body = data[pristine_body_at.min(data.len())..].to_vec();
        let mut body = work[body_at.min(work.len())..].to_vec();
        drop(work);
        {
            // bug 6845: a multipart body that starts with neither a blank line nor its boundary
            // gets a blank line, so leading MIME headers are not taken as part headers
            let ct = first_header(&headers, "content-type").map(|h| String::from_utf8_lossy(&decode_header_value("content-type", &h.raw)).to_string()).unwrap_or_default();
            let is_multi = ct.trim_start().to_ascii_lowercase().starts_with("multipart/");
            let first_line = body.split(|&b| b == b'\n').next().unwrap_or(&[]);
            let multi_line = body.iter().filter(|&&b| b == b'\n').count() >= 1;
            if is_multi && multi_line && first_line.iter().any(|b| !b.is_ascii_whitespace()) {
                let starts_with_boundary = header_param(&ct, "boundary").is_some_and(|bd| first_line.starts_with(format!("--{bd}").as_bytes()));
                if !starts_with_boundary {
                    body.insert(0, b'\n');
                }
            }
        }
        let body = &body[..];
        let mut parts = Vec::new();
        let mut mime_nodes = Vec::new();
        collect_parts(headers.clone(), body, "text/plain", &mut parts, &mut mime_nodes, 0);
        MessageView {
            full: data,
            headers,
            pristine_body,
            parts,
            mime_nodes,
            missing_head_body_separator: missing_sep,
            rendered: OnceLock::new(),
            decoded_lines: OnceLock::new(),
            uris: OnceLock::new(),
            html_parts: OnceLock::new(),
            originating_ip_headers: Vec::new(),
            relays: OnceLock::new(),
            eval_memo: super::evals::Memo::default(),
            header_cache: HeaderCache::default(),
            uri_context: std::sync::Arc::default(),
        }
    }

    /// Decoded values of every instance of `name` (each with a trailing newline).
    pub fn header_values(&self, name: &str) -> Vec<Vec<u8>> {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| {
                let mut v = decode_header_value(&h.name, &h.raw);
                v.push(b'\n');
                v
            })
            .collect()
    }

    /// Raw values (`:raw`): folding newlines replaced by a space, leading space and final newline kept.
    pub fn raw_header_values(&self, name: &str) -> Vec<Vec<u8>> {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| unfold_raw(&h.raw))
            .collect()
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.name.eq_ignore_ascii_case(name))
    }

    /// Answers the rule set's header requests through their slots from now on.
    pub fn use_header_requests(&mut self, requests: Arc<HeaderRequests>) {
        self.header_cache = HeaderCache::new(requests);
    }

    /// `$pms->get(name)` joined as header rules see it; None when absent. A request the rule set
    /// registered is borrowed from its slot; any other is answered once per message and copied.
    pub fn get(&self, request: &str) -> Option<Cow<'_, [u8]>> {
        match self.header_cache.find(request) {
            Some(slot) => self.header(slot).map(Cow::Borrowed),
            None => self.header_cache.unregistered(request, |r| super::header_get::get(self, r)).map(Cow::Owned),
        }
    }

    /// [`MessageView::get`] for a request numbered at load.
    pub fn header(&self, slot: HeaderSlot) -> Option<&[u8]> {
        self.header_cache.slot(slot, |r| super::header_get::get(self, r))
    }

    /// `mime_header::node_values` for a `mimeheader` request numbered at load.
    pub fn mime_header(&self, slot: MimeHeaderSlot) -> &[Option<Vec<u8>>] {
        self.header_cache.mime_slot(slot, |r| super::mime_header::node_values(self, r))
    }

    /// The relays of the Received headers, parsed on first use.
    pub fn relays(&self) -> &super::relays::Relays {
        self.relays.get_or_init(|| {
            let strip = |mut v: Vec<u8>| {
                v.pop();
                String::from_utf8_lossy(&v).into_owned()
            };
            let received: Vec<String> = self.header_values("Received").into_iter().map(strip).collect();
            // each setting names one header; SpamAssassin reads its last instance
            let originating: Vec<String> = self.originating_ip_headers.iter().filter_map(|h| self.header_values(h).pop()).map(strip).collect();
            super::relays::parse_relays(&received, &originating)
        })
    }

    /// One entry per part, in `parts` order; non-HTML parts give an empty render.
    pub fn html_renders(&self) -> &Vec<HtmlRender> {
        self.html_parts.get_or_init(|| {
            self.parts
                .iter()
                .map(|p| if p.effective_type() == "text/html" && !p.decoded.is_empty() { super::html::render(&normalize_charset(&p.decoded, p.charset.as_deref())) } else { HtmlRender::default() })
                .collect()
        })
    }

    /// The body lines body rules match, Subject first.
    pub fn rendered_body(&self) -> &Vec<Vec<u8>> {
        self.rendered.get_or_init(|| {
            if self.parts.is_empty() {
                // SpamAssassin renders nothing, not even the Subject, for a message without parts
                return Vec::new();
            }
            let renders = self.html_renders();
            let mut subject = self.header_values("subject").pop().unwrap_or_else(|| b"\n".to_vec());
            if subject.is_empty() {
                subject = b"\n".to_vec();
            }
            let mut text: Vec<u8> = Vec::new();
            for (i, p) in self.parts.iter().enumerate() {
                if !text.is_empty() {
                    text.push(b'\n');
                }
                let et = p.effective_type();
                let mut rnd = match et {
                    "text/html" => renders[i].text.clone(),
                    "text/plain" => normalize_charset(&p.decoded, p.charset.as_deref()),
                    _ => continue,
                };
                if rnd.len() > BODY_PART_SCAN_SIZE {
                    truncate_scan(&mut rnd, BODY_PART_SCAN_SIZE, false);
                }
                text.extend_from_slice(&rnd);
            }
            let text = normalize_paragraphs(&text);
            let mut all = subject;
            all.extend_from_slice(&text);
            split_short_lines(&all)
        })
    }

    /// Decoded text parts, as rawbody rules match them.
    pub fn decoded_body(&self) -> &Vec<Vec<u8>> {
        self.decoded_lines.get_or_init(|| {
            let mut out = Vec::new();
            for p in &self.parts {
                let et = p.effective_type();
                if !(et.starts_with("text") || et.starts_with("message")) || p.content_type == "text/calendar" {
                    continue;
                }
                let mut raw = p.decoded.clone();
                if raw.len() > RAWBODY_PART_SCAN_SIZE {
                    truncate_scan(&mut raw, RAWBODY_PART_SCAN_SIZE, true);
                }
                out.extend(split_short_paragraphs(&raw));
            }
            out
        })
    }

    pub fn uris(&self) -> &Vec<Vec<u8>> {
        self.uris.get_or_init(|| super::uri::extract(self, self.html_renders(), &self.uri_context))
    }
}

/// Text as SpamAssassin 4 renders it (`normalize_charset`): UTF-8 octets, from the declared
/// charset when it decodes and from a Windows-1252 reading when it does not.
pub fn normalize_charset(bytes: &[u8], charset: Option<&str>) -> Vec<u8> {
    super::charset::normalize(bytes, charset.unwrap_or("us-ascii"), false)
}

/// Length of a Unicode whitespace character (UTF-8 encoded, beyond ASCII) starting at `t[i]`.
fn unicode_space_len(t: &[u8], i: usize) -> usize {
    match (t.get(i), t.get(i + 1), t.get(i + 2)) {
        (Some(0xC2), Some(0x85 | 0xA0), _) => 2,
        (Some(0xE1), Some(0x9A), Some(0x80)) => 3,
        (Some(0xE2), Some(0x80), Some(0x80..=0x8A | 0xA8 | 0xA9 | 0xAF)) => 3,
        (Some(0xE2), Some(0x81), Some(0x9F)) => 3,
        (Some(0xE3), Some(0x80), Some(0x80)) => 3,
        _ => 0,
    }
}

fn unfold_raw(raw: &[u8]) -> Vec<u8> {
    // s/\015?\012\s+/ /gs
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let nl = if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            2
        } else if raw[i] == b'\n' {
            1
        } else {
            0
        };
        if nl > 0 && raw.get(i + nl).is_some_and(|b| b.is_ascii_whitespace()) {
            out.push(b' ');
            i += nl;
            while i < raw.len() && raw[i].is_ascii_whitespace() {
                i += 1;
            }
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

fn truncate_scan(v: &mut Vec<u8>, size: usize, try_gt: bool) {
    let find = |b: u8| v[size..].iter().position(|&c| c == b).filter(|p| *p <= 1024).map(|p| size + p);
    let cut = find(b'\n').or_else(|| if try_gt { find(b'>') } else { None }).or_else(|| find(b' ')).map(|i| i + 1).unwrap_or(size);
    v.truncate(cut);
}

/// Paragraph normalisation: blank-line runs become one newline, other whitespace runs one space.
fn normalize_paragraphs(text: &[u8]) -> Vec<u8> {
    let is_ws = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    // s/\n+\s*\n+/\x00/gs
    let mut step = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\n' {
            // find the longest \n+\s*\n+ starting here
            let mut j = i;
            while j < text.len() && text[j] == b'\n' {
                j += 1;
            }
            let mut k = j;
            while k < text.len() && is_ws(text[k]) {
                k += 1;
            }
            // backtrack k to just after the last \n within [i, k)
            let last_nl = text[i..k].iter().rposition(|&b| b == b'\n').map(|p| i + p);
            if let Some(l) = last_nl.filter(|l| *l > i || j > i + 1) {
                // need at least two newlines in total
                let count = text[i..=l].iter().filter(|&&b| b == b'\n').count();
                if count >= 2 {
                    step.push(0);
                    i = l + 1;
                    continue;
                }
            }
        }
        step.push(text[i]);
        i += 1;
    }
    // s/\s+/ /gs then tr/\x00/\n/
    let mut out = Vec::with_capacity(step.len());
    let mut in_ws = false;
    let mut i = 0;
    while i < step.len() {
        let b = step[i];
        let uni = if b >= 0x80 { unicode_space_len(&step, i) } else { 0 };
        if is_ws(b) || uni > 0 {
            if !in_ws {
                out.push(b' ');
            }
            in_ws = true;
            i += uni.max(1);
        } else {
            in_ws = false;
            out.push(if b == 0 { b'\n' } else { b });
            i += 1;
        }
    }
    out
}

fn split_short_lines(text: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for line in text.split_inclusive(|&b| b == b'\n') {
        let mut line = line;
        while line.len() > MAX_BODY_LINE_LENGTH {
            let len = line[..MAX_BODY_LINE_LENGTH].iter().rposition(|&b| b == b' ').map(|p| p + 1).unwrap_or(MAX_BODY_LINE_LENGTH);
            out.push(line[..len].to_vec());
            line = &line[len..];
        }
        out.push(line.to_vec());
    }
    out
}

pub(crate) fn split_short_paragraphs(text: &[u8]) -> Vec<Vec<u8>> {
    let m = MAX_BODY_LINE_LENGTH;
    if text.len() <= m {
        return vec![text.to_vec()];
    }
    let mut out = Vec::new();
    let mut ofs = 0;
    let find = |b: u8, from: usize| text.get(from..).and_then(|s| s.iter().position(|&c| c == b)).map(|p| from + p);
    while text.len() - ofs > 2 * m {
        let ok = |j: Option<usize>| j.filter(|j| j - ofs < 2 * m);
        let j = ok(find(b'\n', ofs + m)).or_else(|| ok(find(b'>', ofs + m))).or_else(|| ok(find(b' ', ofs + m))).unwrap_or(ofs + m);
        out.push(text[ofs..=j].to_vec());
        ofs = j + 1;
    }
    if ofs < text.len() {
        out.push(text[ofs..].to_vec());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_unfolded_decoded_and_newline_terminated() {
        let m = MessageView::parse(b"Subject: =?utf-8?q?caf=C3=A9?= =?utf-8?b?IQ==?=\n\tmore\nTo: a@b\n\nbody\n");
        assert_eq!(m.header_values("subject"), vec![b"caf\xc3\xa9! more\n".to_vec()]);
        assert_eq!(m.raw_header_values("subject")[0], b" =?utf-8?q?caf=C3=A9?= =?utf-8?b?IQ==?= more\n".to_vec());
    }

    #[test]
    fn body_is_subject_then_paragraph_lines() {
        let m = MessageView::parse(b"Subject: hi\n\nline one\nline two\n\n\npara  two\n");
        let lines: Vec<String> = m.rendered_body().iter().map(|l| String::from_utf8_lossy(l).to_string()).collect();
        assert_eq!(lines, vec!["hi\n", "line one line two\n", "para two "]);
    }

    fn body_text(m: &MessageView) -> Vec<String> {
        m.rendered_body().iter().map(|l| String::from_utf8(l.clone()).unwrap()).collect()
    }

    #[test]
    fn gb2312_body_is_decoded_and_a_failed_decode_reads_as_windows_1252() {
        let m = MessageView::parse(b"Subject: s\nContent-Type: text/plain; charset=gb2312\n\n\xc4\xe3\xba\xc3 15\"/\xcb\xae\xc6\xbd\n");
        assert_eq!(body_text(&m), vec!["s\n", "\u{4f60}\u{597d} 15\"/\u{6c34}\u{5e73} "]);
        // 0x81 0x40 is GBK, not GB2312
        let m = MessageView::parse(b"Subject: s\nContent-Type: text/plain; charset=gb2312\n\n\xc4\xe3\x81\x40\n");
        assert_eq!(body_text(&m), vec!["s\n", "\u{c4}\u{e3}\u{fffd}@ "]);
    }

    #[test]
    fn iso_2022_jp_body_with_8bit_bytes_renders_only_what_comes_before_them() {
        let m = MessageView::parse(b"Subject: s\nContent-Type: text/plain; charset=iso-2022-jp\n\n> \xa4\xa2 see http://example.com/ on Sunday\n");
        assert_eq!(body_text(&m), vec!["s\n", "> "]);
        assert!(m.uris().is_empty());
        assert_eq!(m.decoded_body().concat(), b"> \xa4\xa2 see http://example.com/ on Sunday\n");
    }

    #[test]
    fn eight_bit_headers_are_kept_as_utf8_or_read_as_windows_1252() {
        let m = MessageView::parse(b"Subject: caf\xc3\xa9\nX-A: caf\xe9 \x93q\x94\n\nbody\n");
        assert_eq!(m.header_values("subject"), vec!["caf\u{e9}\n".as_bytes().to_vec()]);
        assert_eq!(m.header_values("x-a"), vec!["caf\u{e9} \u{201c}q\u{201d}\n".as_bytes().to_vec()]);
    }

    #[test]
    fn encoded_words_of_one_charset_are_joined_before_charset_decoding() {
        // U+00E9 split across two words; the plain text between other words stays
        let m = MessageView::parse(b"Subject: =?utf-8?b?w6k=?= x =?utf-8?q?caf=C3?= =?utf-8?q?=A9_?=!\n\nbody\n");
        assert_eq!(m.header_values("subject"), vec!["\u{e9} x caf\u{e9} !\n".as_bytes().to_vec()]);
    }

    #[test]
    fn utf16_encoded_word_with_a_byte_order_mark_reads_as_windows_1252() {
        // SpamAssassin's UTF-16 detection gives up on a BOM, so the bytes fall back to Windows-1252
        let m = MessageView::parse(b"From: =?UTF-16?B?//492Enc?= test <a@example.com>\n\nbody\n");
        assert_eq!(m.get("From:name").as_deref(), Some("\u{ff}\u{fe}=\u{d8}I\u{dc} test".as_bytes()));
    }

    #[test]
    fn multipart_leaves_are_decoded() {
        let m = MessageView::parse(b"Content-Type: multipart/alternative; boundary=\"b\"\n\n--b\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n--b\nContent-Type: text/html\n\n<p>hi&amp;bye</p>\n--b--\n");
        assert_eq!(m.parts.len(), 2);
        assert_eq!(m.parts[0].decoded, b"hello");
        assert_eq!(m.parts[1].content_type, "text/html");
    }
}
