//! `$pms->get()` for header rules: pseudo-headers (`ALL`, `ToCc`, `MESSAGEID`) and the
//! `:raw :addr :name :first :last :host :domain :ip :revip` modifiers (the last four with the
//! rule set's TLD registry; `:ip` finds IPv4 addresses only); the relay pseudo-headers come from
//! `pseudo_headers`. Unknown modifiers are refused at load time (see `header_request_support`).

use super::message::MessageView;

#[derive(Debug, Default, Clone, Copy)]
struct Mods {
    raw: bool,
    addr: bool,
    name: bool,
    first: bool,
    last: bool,
    host: bool,
    domain: bool,
    ip: bool,
    revip: bool,
}

/// Why a header request is unsupported, or None when the engine answers it like SpamAssassin.
pub fn header_request_support(request: &str) -> Option<String> {
    // every header name is answered (plain, `ALL`, `ToCc`, `MESSAGEID` or a relay pseudo-header)
    for m in request.split(':').skip(1) {
        match m {
            "raw" | "addr" | "name" | "first" | "last" | "host" | "domain" | "ip" | "revip" | "" => {}
            other => return Some(format!("unknown header modifier :{other}")),
        }
    }
    // the relay pseudo-headers (`pseudo_headers.rs`) are answered; other names are plain headers
    None
}

pub fn get(view: &MessageView, request: &str) -> Option<Vec<u8>> {
    let mut parts = request.split(':');
    let name = parts.next().unwrap_or("");
    let mut m = Mods::default();
    for p in parts {
        match p {
            "raw" => m.raw = true,
            "addr" => m.addr = true,
            "name" => m.name = true,
            "first" => m.first = true,
            "last" => m.last = true,
            "host" => m.host = true,
            "domain" => (m.host, m.domain) = (true, true),
            "ip" => m.ip = true,
            "revip" => (m.ip, m.revip) = (true, true),
            _ => {}
        }
    }
    let fetch = |n: &str| if m.raw || m.addr || m.name { raw_values(view, n, m.raw) } else { view.header_values(n) };
    let mut results: Vec<Vec<u8>> = if name == "ALL" {
        return Some(if m.raw {
            let end = view.full.len() - view.pristine_body.len();
            let hdr = &view.full[..end];
            let mut s = hdr.to_vec();
            if s.ends_with(b"\n\n") {
                s.pop();
            }
            s
        } else {
            let mut out = Vec::new();
            for h in &view.headers {
                out.extend_from_slice(h.name.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(&super::message::decode_header_value(&h.name, &h.raw));
                out.push(b'\n');
            }
            out
        });
    } else if let Some(p) = super::pseudo_headers::values(view, name, m.raw) {
        match p {
            super::pseudo_headers::Pseudo::Whole(v) => return v,
            super::pseudo_headers::Pseudo::Values(v) => v,
        }
    } else if name.eq_ignore_ascii_case("ToCc") {
        let mut v = fetch("To");
        v.extend(fetch("Cc"));
        v
    } else if name == "MESSAGEID" {
        let mut v = Vec::new();
        for n in ["X-Message-Id", "Resent-Message-Id", "X-Original-Message-ID", "Message-Id"] {
            v.extend(fetch(n).into_iter().filter(|x| !x.is_empty()));
        }
        v
    } else {
        fetch(name)
    };
    if results.is_empty() {
        return None;
    }
    if m.first {
        results.truncate(1);
    } else if m.last {
        let l = results.pop();
        results = l.into_iter().collect();
    }
    if m.addr || m.name {
        let mut out = Vec::new();
        for line in &results {
            for (phrase, addr) in parse_addresses(line) {
                if m.addr {
                    if let Some(a) = addr {
                        out.push(a);
                    }
                } else if let Some(p) = phrase {
                    if m.raw {
                        out.push(p);
                    } else {
                        let mut d = super::message::decode_header_value("PMS:get", &p);
                        if d.iter().any(|b| !b.is_ascii_whitespace()) {
                            d = collapse_ws(&d);
                            if d.len() >= 2 && d[0] == b'\'' && d[d.len() - 1] == b'\'' {
                                d = d[1..d.len() - 1].to_vec();
                            }
                        }
                        out.push(d);
                    }
                }
            }
        }
        results = out;
        if results.is_empty() {
            return None;
        }
        if m.host || m.ip {
            return host_or_ip(view, &results, &m);
        }
        // values without a trailing newline are joined with one (Bug 8121)
        return Some(results.join(&b'\n'));
    }
    if m.host || m.ip {
        return host_or_ip(view, &results, &m);
    }
    let sep: &[u8] = if results[0].ends_with(b"\n") { b"" } else { b"\n" };
    Some(results.join(sep))
}

/// `:host`, `:domain`, `:ip`, `:revip`: the first value found, as `get` returns it in scalar
/// context (no trailing newline).
fn host_or_ip(view: &MessageView, lines: &[Vec<u8>], m: &Mods) -> Option<Vec<u8>> {
    let registry = &view.uri_context.registry;
    lines.iter().find_map(|line| {
        if m.host {
            let host = if m.addr {
                // `.*\@(\S+)`: whatever follows the last @
                let at = line.iter().rposition(|&b| b == b'@')?;
                let n = line[at + 1..].iter().take_while(|b| !b.is_ascii_whitespace()).count();
                (n > 0).then(|| line[at + 1..at + 1 + n].to_vec())?
            } else {
                let valid = |h: &[u8]| super::registry::is_fqdn_valid(&String::from_utf8_lossy(h));
                // an e-mail or message-id domain first (after the last @ that has one), then
                // the first valid host anywhere
                let after_at = (0..line.len()).rev().filter(|&i| line[i] == b'@').find_map(|i| host_at(line, i + 1, registry).map(|e| line[i + 1..e].to_vec()));
                match after_at.filter(|h| valid(h)) {
                    Some(h) => h,
                    None => {
                        let mut p = 0;
                        let mut found = None;
                        while p < line.len() {
                            match host_at(line, p, registry) {
                                Some(e) if valid(&line[p..e]) => {
                                    found = Some(line[p..e].to_vec());
                                    break;
                                }
                                Some(e) => p = e,
                                None => p += 1,
                            }
                        }
                        found?
                    }
                }
            };
            Some(if m.domain { registry.trim_domain(&String::from_utf8_lossy(&host)).into_bytes() } else { host })
        } else {
            let ip = first_ipv4(line)?;
            Some(if m.revip { ip.rsplit('.').collect::<Vec<_>>().join(".").into_bytes() } else { ip.into_bytes() })
        }
    })
}

/// `(?<![._-])(\S{1,251}\.TLD)(?![._-])` anchored at `p`: the end of the longest host there.
fn host_at(s: &[u8], p: usize, registry: &super::registry::Registry) -> Option<usize> {
    if p >= s.len() || (p > 0 && matches!(s[p - 1], b'.' | b'_' | b'-')) {
        return None;
    }
    let run = s[p..].iter().take_while(|b| !b.is_ascii_whitespace()).count();
    let label = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    (1..=run.min(251)).rev().find_map(|k| {
        let dot = p + k;
        if s.get(dot) != Some(&b'.') {
            return None;
        }
        let tld_len = s[dot + 1..].iter().take_while(|&&b| label(b)).count();
        let end = dot + 1 + tld_len;
        let tld = String::from_utf8_lossy(&s[dot + 1..end]).to_ascii_lowercase();
        let next_ok = match s.get(end) {
            None => true,
            Some(b'.') | Some(b'_') => false,
            Some(_) => true,
        };
        (tld_len > 0 && registry.tlds.contains(&tld) && next_ok).then_some(end)
    })
}

/// The first dotted-quad IPv4 address not inside a longer dotted run (`IPV4_ADDRESS` with
/// `(?<!\.)\b...\b(?!\.)`).
fn first_ipv4(s: &[u8]) -> Option<String> {
    static IP: std::sync::OnceLock<fancy_regex::Regex> = std::sync::OnceLock::new();
    let ip = IP.get_or_init(|| {
        let octet = r"(?:1[0-9][0-9]|2[0-4][0-9]|25[0-5]|[1-9][0-9]|[0-9])";
        let w = "[A-Za-z0-9_]";
        fancy_regex::Regex::new(&format!(r"(?<![.])(?<!{w})(?={w}){octet}\.{octet}\.{octet}\.{octet}(?!{w})(?![.])")).expect("static regex")
    });
    let text = super::perl_regex::latin1(s);
    ip.find(&text).ok().flatten().map(|m| m.as_str().to_string())
}

fn raw_values(view: &MessageView, name: &str, keep_raw: bool) -> Vec<Vec<u8>> {
    if keep_raw {
        view.raw_header_values(name)
    } else {
        // :addr and :name parse the raw (undecoded) value
        view.headers.iter().filter(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.raw.clone()).collect()
    }
}

fn collapse_ws(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ws = false;
    for &b in v {
        if b.is_ascii_whitespace() {
            ws = true;
        } else {
            if ws && !out.is_empty() {
                out.push(b' ');
            }
            ws = false;
            out.push(b);
        }
    }
    out
}

/// A small RFC 5322 address-list reader: (display phrase, address) per mailbox.
pub fn parse_addresses(line: &[u8]) -> Vec<(Option<Vec<u8>>, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut items: Vec<Vec<u8>> = Vec::new();
    let mut cur = Vec::new();
    let (mut quote, mut angle, mut paren) = (false, false, 0);
    let mut comments: Vec<Vec<u8>> = Vec::new();
    let mut comment = Vec::new();
    let mut item_comments: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        if paren > 0 {
            match c {
                b'(' => paren += 1,
                b')' => {
                    paren -= 1;
                    if paren == 0 {
                        comments.push(std::mem::take(&mut comment));
                        i += 1;
                        continue;
                    }
                }
                b'\\' => {
                    i += 1;
                }
                _ => {}
            }
            if let Some(&ch) = line.get(i) {
                comment.push(ch);
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => {
                quote = !quote;
                cur.push(c);
            }
            b'\\' if quote => {
                cur.push(c);
                if let Some(&n) = line.get(i + 1) {
                    cur.push(n);
                    i += 1;
                }
            }
            b'(' if !quote => paren = 1,
            b'<' if !quote => {
                angle = true;
                cur.push(c);
            }
            b'>' if !quote => {
                angle = false;
                cur.push(c);
            }
            b',' | b';' if !quote && !angle => {
                items.push(std::mem::take(&mut cur));
                item_comments.push(std::mem::take(&mut comments));
            }
            b':' if !quote && !angle => {
                // group name: drop what came before
                cur.clear();
            }
            _ => cur.push(c),
        }
        i += 1;
    }
    items.push(cur);
    item_comments.push(comments);
    for (item, cmts) in items.into_iter().zip(item_comments) {
        let t = trim(&item);
        if t.is_empty() {
            continue;
        }
        if let (Some(s), Some(e)) = (t.iter().position(|&b| b == b'<'), t.iter().rposition(|&b| b == b'>')) {
            if s < e {
                let addr = trim(&t[s + 1..e]).to_vec();
                let mut phrase = trim(&t[..s]).to_vec();
                if phrase.len() >= 2 && phrase[0] == b'"' && phrase[phrase.len() - 1] == b'"' {
                    phrase = unquote(&phrase[1..phrase.len() - 1]);
                }
                let phrase = if phrase.is_empty() { cmts.first().cloned() } else { Some(phrase) };
                out.push((phrase, (!addr.is_empty() && addr.contains(&b'@')).then_some(addr)));
                continue;
            }
        }
        let addr: Vec<u8> = t.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
        if addr.contains(&b'@') {
            out.push((cmts.first().cloned().map(|c| trim(&c).to_vec()), Some(addr)));
        } else {
            out.push((Some(t.to_vec()), None));
        }
    }
    out
}

fn unquote(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\\' && i + 1 < v.len() {
            i += 1;
        }
        out.push(v[i]);
        i += 1;
    }
    out
}

fn trim(v: &[u8]) -> &[u8] {
    let s = v.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(v.len());
    let e = v.iter().rposition(|b| !b.is_ascii_whitespace()).map(|e| e + 1).unwrap_or(s);
    &v[s..e.max(s)]
}

#[cfg(test)]
mod tests {
    use crate::rules::{NetworkFacts, RuleSet};

    #[test]
    fn host_domain_ip_modifiers_agree_with_spamassassin() {
        // each rule below hits in SpamAssassin 4.0.1 on this message (checked with `spamassassin -t
        // --cf`, one rule at a time: :host keeps the case, only :domain lowercases)
        let rules = "util_rb_tld com uk net org\nutil_rb_2tld co.uk\n\
            header T_A From:addr:host =~ /^mail\\.Example\\.co\\.uk$/\n\
            header T_B From:addr:domain =~ /^example\\.co\\.uk$/\n\
            header T_C Subject:host =~ /^www\\.shop\\.example\\.com$/\n\
            header T_D Subject:domain =~ /^example\\.com$/\n\
            header T_E X-Originating-IP:ip =~ /^192\\.0\\.2\\.45$/\n\
            header T_F X-Originating-IP:revip =~ /^45\\.2\\.0\\.192$/\n\
            header T_G Message-ID:host =~ /^host\\.example\\.net$/\n\
            header T_H From:host =~ /^mail\\.Example\\.co\\.uk$/\n";
        let msg = "From: \"Joe\" <joe@mail.Example.co.uk>\nTo: x@y.example.org\nSubject: visit www.shop.example.com today\nX-Originating-IP: [192.0.2.45]\nMessage-ID: <abc.def@host.example.net>\n\nhello\n";
        let (set, diags) = RuleSet::from_text("t.cf", rules);
        assert!(diags.iter().all(|d| d.severity != crate::rules::Severity::Error), "{diags:?}");
        let hits: Vec<String> = set.score(msg.as_bytes(), &NetworkFacts::default()).hits.into_iter().map(|h| h.name).collect();
        assert_eq!(hits, vec!["T_A", "T_B", "T_C", "T_D", "T_E", "T_F", "T_G", "T_H"]);
    }
}
