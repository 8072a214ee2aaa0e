//! The URI list `uri` rules match, built as SpamAssassin 4.0's `PerMsgStatus::get_uri_list`
//! builds it: URIs found in the rendered text (the Thunderbird-style scanner of `_tbirdurire`:
//! schemes, `www.`/`ftp.` prefixes, e-mail addresses, and schemeless hosts ending in a known
//! TLD) and link targets from the HTML parts (`html.rs`), each put through
//! `Util::uri_list_canonicalize` (decoding, redirector targets, userinfo and port removal,
//! numeric hosts), and the union of every variant taken.
//!
//! Absent on purpose: DKIM `d=` URIs (`parse_dkim_uris` is off by default) and IDN conversion of
//! hosts (see `registry.rs`). Everything here is pure; the TLD registry and the
//! `redirector_pattern`s come from the rule set.

use std::collections::HashSet;

use super::message::{HtmlRender, MessageView};
use super::registry::{self, Registry};
use super::{Diagnostic, Location, Severity};

/// SpamAssassin's `MAX_URI_LENGTH`.
pub const MAX_URI_LENGTH: usize = 8192;

/// What URI extraction needs from the rule set.
#[derive(Debug, Default)]
pub struct UriContext {
    pub registry: Registry,
    /// `redirector_pattern`s: capture group 1 is the redirect target.
    pub redirectors: Vec<pcre2::bytes::Regex>,
}

impl UriContext {
    pub fn new(registry: Registry, patterns: &[(String, Location)], diags: &mut Vec<Diagnostic>) -> UriContext {
        let mut redirectors = Vec::new();
        for (text, at) in patterns {
            match super::perl_regex::compile_backtracking(text) {
                Ok(r) => redirectors.push(r),
                Err(e) => diags.push(Diagnostic { location: at.clone(), severity: Severity::Error, message: format!("invalid redirector_pattern: {e}") }),
            }
        }
        UriContext { registry, redirectors }
    }
}

/// `get_uri_list`: every cleaned URI of the message, each once.
pub fn extract(view: &MessageView, html: &[HtmlRender], ctx: &UriContext) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut add = |cleaned: Vec<Vec<u8>>| {
        for u in cleaned {
            if seen.insert(u.clone()) {
                out.push(u);
            }
        }
    };
    let mut seen_raw: HashSet<Vec<u8>> = HashSet::new();
    for line in view.rendered_body() {
        for uri in text_uris(line, ctx, &mut seen_raw) {
            // text URIs are kept only when one of their variants has a valid domain
            let cleaned = canonicalize(&uri, ctx);
            if cleaned.iter().any(|c| ctx.registry.uri_to_domain(&String::from_utf8_lossy(c)).is_some()) {
                add(cleaned);
            }
        }
    }
    for h in html {
        for uri in &h.uris {
            add(canonicalize(uri, ctx));
        }
    }
    out
}

/// The URIs `_process_text_uri_list` finds in the rendered text (type `parsed`), as written
/// there: a link in the HTML with one of these targets is also a text link.
pub fn text_uri_keys(view: &MessageView, ctx: &UriContext) -> HashSet<Vec<u8>> {
    let mut seen_raw: HashSet<Vec<u8>> = HashSet::new();
    let mut keys = HashSet::new();
    for line in view.rendered_body() {
        for uri in text_uris(line, ctx, &mut seen_raw) {
            if canonicalize(&uri, ctx).iter().any(|c| ctx.registry.uri_to_domain(&String::from_utf8_lossy(c)).is_some()) {
                keys.insert(uri);
            }
        }
    }
    keys
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_end_delim(b: u8) -> bool {
    matches!(b, b'>' | b'<' | b'"' | b'`' | b'}' | b']' | b'{' | b'[' | b'|' | 0x1b | 0xa0) || is_space(b)
}

fn is_start_delim(b: u8) -> bool {
    matches!(b, b'>' | b'<' | b'"' | b'\'' | b'`' | b',' | b'{' | b'[' | b'(' | b'|' | 0x1b | 0xa0) || is_space(b)
}

fn is_end_delim_email(b: u8) -> bool {
    is_end_delim(b) || matches!(b, b',' | b'(' | b'\'') || b >= 0x80
}

fn is_schemeless_start_delim(b: u8) -> bool {
    b"!\"#$&'()*+,/:;<=>?@[\\]^`{|}~\x1b\xa0".contains(&b) || is_space(b)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Length of the longest run (at most `max`) of bytes passing `ok` from `at`.
fn run(s: &[u8], at: usize, max: usize, ok: impl Fn(u8) -> bool) -> usize {
    s[at..].iter().take(max).take_while(|&&b| ok(b)).count()
}

/// `_tbirdurire` alternative 1: `https?://`, `ftp://`, `www\d{0,2}.` or `ftp.` and the rest.
fn match_known_scheme(s: &[u8], p: usize) -> Option<usize> {
    let rest = &s[p..];
    // called at every word boundary of every rendered line: compared in place, no copies
    let starts = |prefix: &[u8]| rest.get(..prefix.len()).is_some_and(|r| r.eq_ignore_ascii_case(prefix));
    let prefix = if starts(b"http://") {
        7
    } else if starts(b"https://") {
        8
    } else if starts(b"ftp://") {
        6
    } else if starts(b"ftp.") {
        4
    } else if starts(b"www") {
        let digits = run(s, p + 3, 2, |b| b.is_ascii_digit());
        if s.get(p + 3 + digits) == Some(&b'.') { 4 + digits } else { return None }
    } else {
        return None;
    };
    let n = run(s, p + prefix, 2048, |b| !is_end_delim(b));
    let end = p + prefix + n;
    (n >= 1 && (end == s.len() || is_end_delim(s[end]))).then_some(end)
}

/// Alternative 2: `mailto:...` or `local@domain`.
fn match_mail(s: &[u8], p: usize) -> Option<usize> {
    let ends_ok = |end: usize| end == s.len() || is_end_delim_email(s[end]);
    if s[p..].iter().take(7).map(u8::to_ascii_lowercase).eq(b"mailto:".iter().copied()) {
        let n = run(s, p + 7, 2048, |b| !is_end_delim_email(b));
        if n >= 1 && ends_ok(p + 7 + n) {
            return Some(p + 7 + n);
        }
    }
    let local = run(s, p, 251, |b| !is_end_delim_email(b) && b != b'@');
    if local == 0 || s.get(p + local) != Some(&b'@') {
        return None;
    }
    let at = p + local + 1;
    let n = run(s, at, 251, |b| !is_end_delim_email(b));
    (n >= 1 && ends_ok(at + n)).then_some(at + n)
}

/// Alternative 3: a host ending in a known TLD, optional port and path. Returns (end, host end).
fn match_schemeless(s: &[u8], p: usize, reg: &Registry) -> Option<(usize, usize)> {
    let host_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if !s[p].is_ascii_alphanumeric() {
        return None;
    }
    let greedy = 1 + run(s, p + 1, 251, host_char);
    let label_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    // try each `.` from the right, as the regex backtracks
    for dot in (p + 1..p + greedy).rev() {
        if s[dot] != b'.' {
            continue;
        }
        let tld_len = run(s, dot + 1, usize::MAX, label_char);
        let tld_end = dot + 1 + tld_len;
        if tld_len == 0 || tld_end > p + greedy + 1 + tld_len {
            continue;
        }
        let tld = String::from_utf8_lossy(&s[dot + 1..tld_end]).to_ascii_lowercase();
        if !reg.tlds.contains(&tld) {
            continue;
        }
        if s.get(tld_end) == Some(&b'.') && s.get(tld_end + 1).is_some_and(u8::is_ascii_alphanumeric) {
            continue;
        }
        // `\.?(?::\d{1,5})?(?:/[^delim]{1,2048})?` then an end delimiter, backtracking over the options
        let dot_opts: &[usize] = if s.get(tld_end) == Some(&b'.') { &[1, 0] } else { &[0] };
        for &d in dot_opts {
            let mut e = tld_end + d;
            let mut port_opts = vec![];
            if s.get(e) == Some(&b':') {
                let digits = run(s, e + 1, 5, |b| b.is_ascii_digit());
                if digits > 0 {
                    port_opts.push(1 + digits);
                }
            }
            port_opts.push(0);
            for port in port_opts {
                e = tld_end + d + port;
                let mut ends = vec![];
                if s.get(e) == Some(&b'/') {
                    let n = run(s, e + 1, 2048, |b| !is_end_delim(b));
                    if n > 0 {
                        ends.push(e + 1 + n);
                    }
                }
                ends.push(e);
                for end in ends {
                    if end == s.len() || is_end_delim(s[end]) {
                        return Some((end, tld_end));
                    }
                }
            }
        }
    }
    None
}

/// The raw URIs `_process_text_uri_list` finds in one rendered line, with a scheme added where
/// SpamAssassin adds one; e-mail addresses become `mailto:`. `seen` spans the whole message.
pub fn text_uris(s: &[u8], ctx: &UriContext, seen: &mut HashSet<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < s.len() {
        let before = p.checked_sub(1).map(|i| s[i]);
        let boundary = is_word(s[p]) != before.is_some_and(is_word);
        let iso_shift = p >= 3 && s[p - 3] == 0x1b && s[p - 2] == b'(';
        if !(boundary || iso_shift || before.is_some_and(is_start_delim)) {
            p += 1;
            continue;
        }
        let (raw_end, kind, host_end) = if let Some(e) = match_known_scheme(s, p) {
            (e, 's', None)
        } else if let Some(e) = match_mail(s, p) {
            (e, 'm', None)
        } else if before.is_none_or(is_schemeless_start_delim) {
            match match_schemeless(s, p, &ctx.registry) {
                Some((e, h)) => (e, 'h', Some(h)),
                None => {
                    p += 1;
                    continue;
                }
            }
        } else {
            p += 1;
            continue;
        };
        let start = p;
        p = raw_end;
        let mut raw = s[start..raw_end].to_vec();
        // `)` ends the URI when no `(` precedes it; then trailing punctuation Thunderbird ignores
        let first_open = raw.iter().position(|&b| b == b'(').unwrap_or(raw.len());
        if let Some(close) = raw[..first_open].iter().rposition(|&b| b == b')') {
            raw.truncate(close);
        }
        while raw.last().is_some_and(|b| b"-~!@#^&*()_+=:;'?,.".contains(b)) {
            raw.pop();
        }
        if !seen.insert(raw.clone()) {
            continue;
        }
        if kind == 'm' && !raw.contains(&b'@') {
            continue;
        }
        if let Some(h) = host_end {
            if !registry::is_fqdn_valid(&String::from_utf8_lossy(&s[start..h])) {
                continue;
            }
        }
        let lower = raw.to_ascii_lowercase();
        if lower.starts_with(b"cid:") || lower.starts_with(b"mid:") {
            continue;
        }
        if let Some(colon) = lower.iter().position(|&b| b == b':') {
            let scheme_ok = colon > 0 && lower[..colon].iter().copied().all(is_word);
            if scheme_ok && lower[colon + 1..].iter().all(|&b| b == b'/') && lower.len() - colon - 1 <= 2 {
                continue;
            }
        }
        let mut uri = raw.clone();
        let has_scheme = [&b"http:"[..], b"https:", b"ftp:", b"mailto:"].iter().any(|p| lower.starts_with(p));
        if !has_scheme {
            let www = lower.starts_with(b"www") && {
                let d = lower[3..].iter().take(2).take_while(|b| b.is_ascii_digit()).count();
                lower.get(3 + d) == Some(&b'.')
            };
            let slash_then_at = lower.iter().position(|&b| b == b'/').is_some_and(|sl| lower[sl + 1..].iter().skip(1).any(|&b| b == b'@'));
            if lower.starts_with(b"ftp.") {
                uri = [&b"ftp://"[..], &raw].concat();
            } else if www || slash_then_at {
                uri = [&b"http://"[..], &raw].concat();
            } else if let Some(at) = raw.iter().position(|&b| b == b'@') {
                // quick skip for crap like Vi@gra: a dot must follow the @ (not right after it)
                if !raw[at + 1..].iter().skip(1).any(|&b| b == b'.') || find(&raw, b"&nbsp;").is_some() {
                    continue;
                }
                let stripped = strip_mail_prefix(&raw);
                uri = [&b"mailto:"[..], stripped].concat();
            } else {
                if !raw.contains(&b'.') {
                    continue;
                }
                uri = [&b"http://"[..], &raw].concat();
            }
        }
        if uri.to_ascii_lowercase().starts_with(b"mailto:") {
            if has_percent_hex(&uri) {
                uri = url_decode(&uri);
            }
            let Some(at) = uri.iter().position(|&b| b == b'@') else { continue };
            let host_len = uri[at + 1..].iter().take_while(|&&b| !matches!(b, b'?' | b'&' | b'>')).count();
            let mut host = &uri[at + 1..at + 1 + host_len];
            while host.ends_with(b"%20") {
                host = &host[..host.len() - 3];
            }
            if !ctx.registry.is_domain_valid(&String::from_utf8_lossy(host)) {
                continue;
            }
        }
        out.push(uri);
    }
    out
}

/// `s/^(?:skype|e?-?mail)?:+//i`
fn strip_mail_prefix(raw: &[u8]) -> &[u8] {
    let lower = raw.to_ascii_lowercase();
    for p in [&b"skype"[..], b"e-mail", b"email", b"-mail", b"mail", b""] {
        if lower.starts_with(p) && lower.get(p.len()) == Some(&b':') {
            let colons = lower[p.len()..].iter().take_while(|&&b| b == b':').count();
            return &raw[p.len() + colons..];
        }
    }
    raw
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn has_percent_hex(s: &[u8]) -> bool {
    s.windows(3).any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// Util's (misnamed) `url_encode`: decodes `%XX` for printable characters other than space,
/// and percent-encodes control, space, 8-bit, `"`, `%`, `<` and `>` bytes outside `%XX` escapes.
pub fn url_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() + 0 && s[i + 1].is_ascii_hexdigit() && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit) {
            let hi = s[i + 1].to_ascii_lowercase();
            let code = u8::from_str_radix(std::str::from_utf8(&s[i + 1..i + 3]).unwrap_or("00"), 16).unwrap_or(0);
            let preserve = code == 0x20 || code == 0x7f || matches!(hi, b'0' | b'1' | b'8' | b'9' | b'a'..=b'f');
            if preserve {
                out.extend_from_slice(&s[i..i + 3]);
            } else {
                out.push(code);
            }
            i += 3;
            continue;
        }
        let b = s[i];
        if b <= 0x20 || b >= 0x7f || matches!(b, b'"' | b'%' | b'<' | b'>') {
            out.extend_from_slice(format!("%{b:02x}").as_bytes());
        } else {
            out.push(b);
        }
        i += 1;
    }
    out
}

/// `uri_list_canonicalize` for one URI: the URI itself plus every variant SpamAssassin derives.
pub fn canonicalize(uri: &[u8], ctx: &UriContext) -> Vec<Vec<u8>> {
    let mut uris: Vec<Vec<u8>> = vec![uri.to_vec()];
    let mut nuris: Vec<Vec<u8>> = Vec::new();
    let mut k = 0;
    while k < uris.len() && k < 64 {
        let mut u: Vec<u8> = uris[k].iter().copied().filter(|&b| b != b'\n' && b != b'\r').collect();
        let s = u.iter().position(|&b| !is_space(b)).unwrap_or(u.len());
        let e = u.iter().rposition(|&b| !is_space(b)).map(|e| e + 1).unwrap_or(s);
        u = u[s..e.max(s)].to_vec();
        uris[k] = u.clone();
        k += 1;
        canonicalize_one(&u, ctx, &mut uris, &mut nuris);
    }
    let mut seen = HashSet::new();
    uris.into_iter()
        .chain(nuris)
        .map(|mut u| {
            u.truncate(MAX_URI_LENGTH);
            u
        })
        .filter(|u| seen.insert(u.clone()))
        .collect()
}

fn canonicalize_one(uri: &[u8], ctx: &UriContext, uris: &mut Vec<Vec<u8>>, nuris: &mut Vec<Vec<u8>>) {
    if uri.len() <= 1 || matches!(uri[0], b'#' | b'?' | b'&') || (uri[0] == b'/' && uri.get(1) != Some(&b'/')) {
        return;
    }
    let lower = uri.to_ascii_lowercase();
    let before_colon = uri.iter().position(|&b| b == b':').unwrap_or(uri.len());
    if lower.starts_with(b"mailto:") || uri[..before_colon].contains(&b'@') {
        mail_variants(uri, nuris);
        return;
    }
    let mut n: Vec<u8> = uri.iter().map(|&b| if b == b'\\' { b'/' } else { b }).collect();
    // http:www.foo.biz -> http://www.foo.biz
    let nl = n.to_ascii_lowercase();
    let scheme = if nl.starts_with(b"https:") { 6 } else if nl.starts_with(b"http:") { 5 } else { 0 };
    if scheme > 0 {
        let slashes = n[scheme..].iter().take(2).take_while(|&&b| b == b'/').count();
        n.splice(scheme..scheme + slashes, *b"//");
    }
    if has_percent_hex(&n) {
        n = url_decode(&n);
    }
    let has_scheme = {
        let c = n.iter().position(|&b| b == b':');
        c.is_some_and(|c| c > 0 && n[..c].iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    };
    if !has_scheme {
        let prefix: &[u8] = if n.starts_with(b"ftp.") { b"ftp://" } else { b"http://" };
        n = [prefix, &n].concat();
    }
    // http://www.foo.biz?id=3 -> http://www.foo.biz/?id=3
    let nl = n.to_ascii_lowercase();
    let after_scheme = if nl.starts_with(b"http://") { 7 } else if nl.starts_with(b"https://") { 8 } else { 0 };
    if after_scheme > 0 {
        let host_len = n[after_scheme..].iter().take_while(|&&b| !matches!(b, b'/' | b'?' | b'#')).count();
        let at = after_scheme + host_len;
        if host_len > 0 && matches!(n.get(at), Some(b'?') | Some(b'#')) {
            n.insert(at, b'/');
        }
    }
    n = decode_char_refs(&n);
    if n != uri {
        nuris.push(n.clone());
    }
    let Some((proto, auth, host, rest, port)) = split_http(&n) else { return };
    let mut host = host;
    let mut rest_noport: Option<Vec<u8>> = None;
    let port_num: Vec<u8> = match port {
        None => if proto == b"http://" { b"80".to_vec() } else { b"443".to_vec() },
        Some(p) => {
            let mut r = rest.clone();
            let (default, proto_is_http) = if proto == b"http://" { (&b":80"[..], true) } else { (&b":443"[..], false) };
            let _ = proto_is_http;
            if r.starts_with(default) && !r.get(default.len()).is_some_and(|&b| is_word(b)) {
                r.drain(..default.len());
                nuris.push([&proto[..], &host, &r].concat());
            }
            rest_noport = Some(r);
            p
        }
    };
    let nhost = host.to_ascii_lowercase();
    if nhost != host.to_ascii_lowercase() {
        // idn_to_ascii only lowercases ASCII hosts; no IDN conversion here (see module docs)
    }
    // bug 4146: control characters and spaces in the host are dropped
    if host.iter().any(|&b| b <= 0x20) {
        host.retain(|&b| b > 0x20);
        nuris.push([&proto[..], &host, &rest].concat());
    }
    let full = [&proto[..], &host, &rest].concat();
    let mut found = false;
    for re in &ctx.redirectors {
        if let Ok(Some(c)) = re.captures(&full) {
            if let Some(m) = c.get(1).filter(|m| m.as_bytes().contains(&b'.')) {
                uris.push(m.as_bytes().to_vec());
                found = true;
                break;
            }
        }
    }
    if !found {
        if let Some(target) = generic_redirect(&rest) {
            uris.push(target);
        }
    }
    if let Some(p) = host.iter().position(|&b| b == b'@').filter(|&p| p > 0) {
        host = host[p + 1..].to_vec();
        nuris.push([&proto[..], &host, &rest].concat());
    }
    let trail = host.iter().rev().take_while(|b| !b.is_ascii_alphanumeric()).count();
    if trail > 0 {
        host.truncate(host.len() - trail);
        nuris.push([&proto[..], &host, &rest].concat());
    }
    if let Some(ip) = numeric_host(&host) {
        nuris.push([&proto[..], ip.as_bytes(), &rest].concat());
    } else if proto == b"http://" && auth.is_empty() && nhost != b"localhost" && port_num == b"80" {
        // http://foobar -> http://www.foobar.com as Firefox does (bug 6596)
        let bare = nhost.strip_prefix(b"www.").unwrap_or(&nhost);
        if !bare.is_empty() && !bare.contains(&b'.') && !ctx.registry.is_domain_valid(&String::from_utf8_lossy(&nhost)) {
            nuris.push([&proto[..], b"www.", bare, b".com", &rest].concat());
        }
    }
    let _ = rest_noport;
}

/// The e-mail branch of `uri_list_canonicalize`.
fn mail_variants(n: &[u8], nuris: &mut Vec<Vec<u8>>) {
    let Some(at) = n.iter().position(|&b| b == b'@') else { return };
    if at > 0 {
        // /^([^\@]+\@[^?]+)\?/ and /^([^\@]+\@[^?&]+)\&/
        let q = n[at + 1..].iter().position(|&b| b == b'?').map(|p| at + 1 + p);
        if let Some(q) = q.filter(|&q| q > at + 1) {
            nuris.push(n[..q].to_vec());
        }
        let amp = n[at + 1..].iter().position(|&b| b == b'?' || b == b'&').map(|p| at + 1 + p);
        if let Some(a) = amp.filter(|&a| a > at + 1 && n[a] == b'&') {
            nuris.push(n[..a].to_vec());
        }
    }
    if find(n, b"%20").is_some() {
        let mut i = if n.starts_with(b"mailto:") { 7 } else { 0 };
        while n[i..].starts_with(b"%20") {
            i += 3;
        }
        let local = n[i..].iter().take_while(|&&b| b != b'@').count();
        if local > 0 && n.get(i + local) == Some(&b'@') {
            let d = n[i + local + 1..].iter().take_while(|&&b| !matches!(b, b'?' | b'&' | b'%')).count();
            if d > 0 {
                nuris.push([&b"mailto:"[..], &n[i..i + local + 1 + d]].concat());
            }
        }
    }
    // mailto:"Foo%20Bar"%20<foo.bar@example.com>
    let head = n.iter().take_while(|&&b| b != b'?' && b != b'&').count();
    for lt in (0..head).rev().filter(|&i| n[i] == b'<') {
        let local = n[lt + 1..].iter().take_while(|&&b| b != b'@' && b != b'>').count();
        if local > 0 && n.get(lt + 1 + local) == Some(&b'@') {
            let d = n[lt + 2 + local..].iter().take_while(|&&b| b != b'>').count();
            if d > 0 && n.get(lt + 2 + local + d) == Some(&b'>') {
                nuris.push([&b"mailto:"[..], &n[lt + 1..lt + 2 + local + d]].concat());
                break;
            }
        }
    }
}

/// `&#NN;` and `&#xNN;` for printable ASCII, and the Unicode full stops, decoded.
fn decode_char_refs(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'&' && s.get(i + 1) == Some(&b'#') {
            if let Some(semi) = s[i + 2..].iter().take(12).position(|&b| b == b';') {
                let body = std::str::from_utf8(&s[i + 2..i + 2 + semi]).unwrap_or("");
                let lower = body.to_ascii_lowercase();
                let value = if let Some(hex) = lower.strip_prefix('x') {
                    (!hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| u32::from_str_radix(hex, 16).ok()).flatten()
                } else {
                    (!lower.is_empty() && lower.bytes().all(|b| b.is_ascii_digit())).then(|| lower.parse::<u32>().ok()).flatten()
                };
                let dots = ["x2e", "12290", "x3002", "65294", "xff0e", "65377", "xff61"];
                // decimal 33-126 (leading zeros allowed), hex 21-7e (with leading zeros)
                let printable = value.filter(|v| (33..=126).contains(v) && !(lower.starts_with('x') && *v == 0x7f));
                if let Some(v) = printable {
                    out.push(v as u8);
                    i += 3 + semi;
                    continue;
                }
                if dots.contains(&lower.as_str()) {
                    out.push(b'.');
                    i += 3 + semi;
                    continue;
                }
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// `^(https?://)([^\@/?#]*\@)?([^/?#:]+)((?::(\d*))?.*)$`: (proto, userinfo, host, rest, port).
#[allow(clippy::type_complexity)]
fn split_http(n: &[u8]) -> Option<(Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Option<Vec<u8>>)> {
    let lower = n.to_ascii_lowercase();
    let plen = if lower.starts_with(b"http://") { 7 } else if lower.starts_with(b"https://") { 8 } else { return None };
    if n.contains(&b'\n') {
        return None;
    }
    let proto = n[..plen].to_vec();
    let after = &n[plen..];
    // userinfo: the longest [^@/?#]* followed by @ (greedy: the last @ before any / ? #)
    let span = after.iter().take_while(|&&b| !matches!(b, b'/' | b'?' | b'#')).count();
    // userinfo: `[^\@/?#]*\@`, up to the first @
    let (auth, host_from) = match after[..span].iter().position(|&b| b == b'@') {
        Some(a) => (after[..=a].to_vec(), a + 1),
        None => (Vec::new(), 0),
    };
    let host_len = after[host_from..].iter().take_while(|&&b| !matches!(b, b'/' | b'?' | b'#' | b':')).count();
    if host_len == 0 {
        return None;
    }
    let host = after[host_from..host_from + host_len].to_vec();
    let rest = after[host_from + host_len..].to_vec();
    let port = rest.strip_prefix(b":").map(|r| r.iter().take_while(|b| b.is_ascii_digit()).copied().collect::<Vec<u8>>());
    let port = port.filter(|p| !p.is_empty());
    Some((proto, auth, host, rest, port))
}

/// A redirect inside the path or query: `https?:/{0,2}[^&#]+` containing a dot (bug 3308).
fn generic_redirect(rest: &[u8]) -> Option<Vec<u8>> {
    let lower = rest.to_ascii_lowercase();
    let mut from = 0;
    while let Some(p) = find(&lower[from..], b"http").map(|p| p + from) {
        let mut i = p + 4;
        if lower.get(i) == Some(&b's') {
            i += 1;
        }
        if lower.get(i) == Some(&b':') {
            // `/{0,2}[^&#]+`: slashes are in `[^&#]` too, so the run after the colon is the match
            let tail = rest[i + 1..].iter().take_while(|&&b| b != b'&' && b != b'#').count();
            if tail > 0 {
                let m = &rest[p..i + 1 + tail];
                return m.contains(&b'.').then(|| m.to_vec());
            }
        }
        from = p + 1;
    }
    None
}

/// Hosts written as numbers: dotted octets in hex or octal, one hex number, one decimal number.
fn numeric_host(host: &[u8]) -> Option<String> {
    let h = std::str::from_utf8(host).ok()?.to_ascii_lowercase();
    let is_num = |p: &str| !p.is_empty() && (p.bytes().all(|b| b.is_ascii_digit()) || p.strip_prefix("0x").is_some_and(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_hexdigit())));
    let parts: Vec<&str> = h.split('.').collect();
    if parts.len() == 4 && parts.iter().all(|p| is_num(p)) {
        let octets: Vec<String> = parts.iter().map(|p| perl_octet(p)).collect();
        return Some(octets.join("."));
    }
    if let Some(x) = h.strip_prefix("0x").filter(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_hexdigit())) {
        let last8 = &x[x.len().saturating_sub(8)..];
        return Some(ulong_to_ip(u64::from_str_radix(last8, 16).ok()?));
    }
    if !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit()) {
        return Some(ulong_to_ip(h.parse::<u64>().unwrap_or(u64::MAX)));
    }
    None
}

/// One octet as Util's substitutions rewrite it: hex to decimal, a leading-zero octal
/// (`0[1-3][0-7]{0,2}` or `0[4-7][0-7]?`) to decimal, other leading zeros dropped.
fn perl_octet(p: &str) -> String {
    if let Some(x) = p.strip_prefix("0x") {
        return u128::from_str_radix(x, 16).map(|v| v.to_string()).unwrap_or_else(|_| p.to_string());
    }
    let digits = p.trim_start_matches('0');
    if digits.len() < p.len() {
        let b = digits.as_bytes();
        let oct_len = match b.first() {
            Some(b'1'..=b'3') => 1 + b[1..].iter().take(2).take_while(|c| (b'0'..=b'7').contains(c)).count(),
            Some(b'4'..=b'7') => 1 + b[1..].iter().take(1).take_while(|c| (b'0'..=b'7').contains(c)).count(),
            _ => 0,
        };
        // `\b` after the octal digits: the octet must end there
        if oct_len > 0 && oct_len == b.len() {
            return u32::from_str_radix(digits, 8).map(|v| v.to_string()).unwrap_or_default();
        }
        return digits.to_string();
    }
    p.to_string()
}

/// `decode_ulong_to_ip`: the low 32 bits of `sprintf "%08lx"` as a dotted quad.
fn ulong_to_ip(v: u64) -> String {
    let hex = format!("{v:08x}");
    let b: Vec<u8> = (0..4).map(|i| u8::from_str_radix(hex.get(i * 2..i * 2 + 2).unwrap_or("00"), 16).unwrap_or(0)).collect();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// HTML.pm's `target_uri`: `r` resolved against `base` (RFC 3986 with SpamAssassin's quirks: a
/// relative URI with the base's scheme is taken as relative, and an unschemed `//www.` or
/// `//ftp.` authority gets `http:` or `ftp:`).
pub fn target_uri(base: &[u8], r: &[u8]) -> Vec<u8> {
    let mut rp = parse_uri(r);
    let bp = parse_uri(base);
    if rp.scheme.is_some() && rp.scheme == bp.scheme {
        rp.scheme = None;
    }
    let (scheme, authority, path, query);
    if rp.scheme.is_some() {
        scheme = rp.scheme.clone();
        authority = rp.authority.clone();
        path = remove_dot_segments(&rp.path);
        query = rp.query.clone();
    } else {
        if rp.authority.is_some() {
            authority = rp.authority.clone();
            path = remove_dot_segments(&rp.path);
            query = rp.query.clone();
        } else {
            if rp.path.is_empty() {
                path = bp.path.clone();
                query = if rp.query.is_some() { rp.query.clone() } else { bp.query.clone() };
            } else {
                path = if rp.path.starts_with(b"/") { remove_dot_segments(&rp.path) } else { remove_dot_segments(&merge_uri(bp.authority.as_deref(), &bp.path, &rp.path)) };
                query = rp.query.clone();
            }
            authority = bp.authority.clone();
        }
        scheme = bp.scheme.clone();
    }
    let mut out = Vec::new();
    if let Some(s) = scheme.as_ref().filter(|s| !s.is_empty() && s.as_slice() != b"0") {
        out.extend_from_slice(s);
        out.push(b':');
    } else if let Some(a) = &authority {
        let la = a.to_ascii_lowercase();
        let prefixed = |p: &[u8]| la.starts_with(p) && la[p.len()..].iter().skip_while(|b| b.is_ascii_digit()).next() == Some(&b'.');
        if prefixed(b"www") {
            out.extend_from_slice(b"http:");
        } else if prefixed(b"ftp") {
            out.extend_from_slice(b"ftp:");
        }
    }
    if let Some(a) = &authority {
        out.extend_from_slice(b"//");
        out.extend_from_slice(a);
    }
    out.extend_from_slice(&path);
    if let Some(q) = &query {
        out.push(b'?');
        out.extend_from_slice(q);
    }
    if let Some(f) = &rp.fragment {
        out.push(b'#');
        out.extend_from_slice(f);
    }
    out
}

#[derive(Debug, Default)]
struct UriParts {
    scheme: Option<Vec<u8>>,
    authority: Option<Vec<u8>>,
    path: Vec<u8>,
    query: Option<Vec<u8>>,
    fragment: Option<Vec<u8>>,
}

/// `^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?`
fn parse_uri(u: &[u8]) -> UriParts {
    let mut p = UriParts::default();
    let mut i = 0;
    let s_len = u.iter().take_while(|&&b| !matches!(b, b':' | b'/' | b'?' | b'#')).count();
    if s_len > 0 && u.get(s_len) == Some(&b':') {
        p.scheme = Some(u[..s_len].to_vec());
        i = s_len + 1;
    }
    if u[i..].starts_with(b"//") {
        let a = u[i + 2..].iter().take_while(|&&b| !matches!(b, b'/' | b'?' | b'#')).count();
        p.authority = Some(u[i + 2..i + 2 + a].to_vec());
        i += 2 + a;
    }
    let pl = u[i..].iter().take_while(|&&b| b != b'?' && b != b'#').count();
    p.path = u[i..i + pl].to_vec();
    i += pl;
    if u.get(i) == Some(&b'?') {
        let q = u[i + 1..].iter().take_while(|&&b| b != b'#').count();
        p.query = Some(u[i + 1..i + 1 + q].to_vec());
        i += 1 + q;
    }
    if u.get(i) == Some(&b'#') {
        // `.` stops at a newline
        let f = u[i + 1..].iter().take_while(|&&b| b != b'\n').count();
        p.fragment = Some(u[i + 1..i + 1 + f].to_vec());
    }
    p
}

fn remove_dot_segments(input: &[u8]) -> Vec<u8> {
    let mut input = input.to_vec();
    if input.starts_with(b"./") {
        input.splice(..2, *b"/");
    } else if input.starts_with(b"../") {
        input.splice(..3, *b"/");
    }
    let mut out: Vec<u8> = Vec::new();
    // Perl's `while ($input)`: an input of "0" ends the loop
    while !input.is_empty() && input != b"0" {
        if input.starts_with(b"/./") || input == b"/." {
            input.splice(..if input.len() == 2 { 2 } else { 3 }, *b"/");
        } else if input.starts_with(b"/../") || input == b"/.." {
            input.splice(..if input.len() == 3 { 3 } else { 4 }, *b"/");
            let cut = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
            out.truncate(cut);
        } else {
            let first = usize::from(input[0] == b'/');
            let seg = first + input[first..].iter().take_while(|&&b| b != b'/').count();
            out.extend_from_slice(&input[..seg]);
            input.drain(..seg);
        }
    }
    out
}

fn merge_uri(base_authority: Option<&[u8]>, base_path: &[u8], r_path: &[u8]) -> Vec<u8> {
    if base_authority.is_some() && (base_path.is_empty() || base_path == b"0") {
        return [&b"/"[..], r_path].concat();
    }
    let base = match base_path.iter().rposition(|&b| b == b'/') {
        Some(p) => &base_path[..=p],
        None => &b""[..],
    };
    [base, r_path].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> UriContext {
        let registry = Registry {
            tlds: ["com", "org", "net", "uk", "biz", "de", "info"].iter().map(|s| s.to_string()).collect(),
            two_level: ["co.uk"].iter().map(|s| s.to_string()).collect(),
            three_level: HashSet::new(),
        };
        let patterns = vec![(r"m'^https?:/*(?:\w+\.)?google(?:\.\w{2,3}){1,2}/url\?.*?(?<=[?&])q=(.*?)(?:$|[&\#])'i".to_string(), Location { file: "t".into(), line: 1 })];
        let mut diags = Vec::new();
        let c = UriContext::new(registry, &patterns, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        c
    }

    fn text(line: &str) -> Vec<String> {
        text_uris(line.as_bytes(), &ctx(), &mut HashSet::new()).into_iter().map(|u| String::from_utf8_lossy(&u).into_owned()).collect()
    }

    fn canon(uri: &str) -> Vec<String> {
        let mut v: Vec<String> = canonicalize(uri.as_bytes(), &ctx()).into_iter().map(|u| String::from_utf8_lossy(&u).into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn text_uris_as_thunderbird_linkifies_them() {
        for (line, want) in [
            ("visit http://example.com/x. now\n", vec!["http://example.com/x"]),
            ("go to www.example.com!\n", vec!["http://www.example.com"]),
            ("ftp.example.org files\n", vec!["ftp://ftp.example.org"]),
            ("mail me: joe@example.com, thanks\n", vec!["mailto:joe@example.com"]),
            ("schemeless example.co.uk/path here\n", vec!["http://example.co.uk/path"]),
            ("not a host: file.txt or foo.invalidtld\n", vec![]),
            ("(see http://example.com/a)\n", vec!["http://example.com/a"]),
            ("Vi@gra and joe@localhost\n", vec![]),
            ("<http://example.net/>\n", vec!["http://example.net/"]),
            ("[cid:image001.png@01D4986E.E3459640]\n", vec![]),
            // an address needs its @ before decoding
            ("mailto:joe%40example.com\n", vec![]),
            ("mailto:joe@example.com?subject=x\n", vec!["mailto:joe@example.com?subject=x"]),
        ] {
            assert_eq!(text(line), want, "{line:?}");
        }
    }

    #[test]
    fn canonicalize_adds_spamassassin_variants() {
        assert_eq!(canon("http://%77%77%77.example.com/"), vec!["http://%77%77%77.example.com/", "http://www.example.com/"]);
        assert_eq!(canon("http://user@example.com:80/x"), vec!["http://example.com/x", "http://user@example.com:80/x"]);
        assert_eq!(canon("http://a@b@example.com/"), vec!["http://a@b@example.com/", "http://example.com/"]);
        assert_eq!(canon("www.example.com?a=1"), vec!["http://www.example.com/?a=1", "www.example.com?a=1"]);
        assert_eq!(canon("http://0x7f000001/"), vec!["http://0x7f000001/", "http://127.0.0.1/"]);
        assert_eq!(canon("http://3232235777/"), vec!["http://192.168.1.1/", "http://3232235777/"]);
        assert_eq!(canon("http://foobar/"), vec!["http://foobar/", "http://www.foobar.com/"]);
        assert_eq!(canon("http://example.com./"), vec!["http://example.com./", "http://example.com/"]);
        assert_eq!(
            canon("http://www.google.com/url?sa=t&q=http://evil.biz/x&b=1"),
            vec!["http://evil.biz/x", "http://www.google.com/url?sa=t&q=http://evil.biz/x&b=1"]
        );
        assert_eq!(canon("http://r.example.com/go?u=https://target.info/p&x"), vec!["http://r.example.com/go?u=https://target.info/p&x", "https://target.info/p"]);
        assert_eq!(canon("mailto:joe@example.com?subject=hi"), vec!["mailto:joe@example.com", "mailto:joe@example.com?subject=hi"]);
        assert_eq!(canon("#top"), vec!["#top"]);
    }

    #[test]
    fn url_decode_keeps_reserved_escapes() {
        assert_eq!(url_decode(b"%41%2e%20%2F%7f%e9 x"), b"A.%20/%7f%e9%20x".to_vec());
    }

    #[test]
    fn target_uri_resolves_against_base() {
        let t = |b: &str, r: &str| String::from_utf8(target_uri(b.as_bytes(), r.as_bytes())).unwrap();
        assert_eq!(t("", "foo.html"), "foo.html");
        assert_eq!(t("http://example.com/dir/", "img/a.gif"), "http://example.com/dir/img/a.gif");
        assert_eq!(t("http://example.com/dir/", "/x/../y"), "http://example.com/y");
        assert_eq!(t("http://example.com/", "http:other.html"), "http://example.com/other.html");
        assert_eq!(t("", "//www.example.com/x"), "http://www.example.com/x");
        assert_eq!(t("", "https://example.com/?q#f"), "https://example.com/?q#f");
    }
}
