//! SpamAssassin's relay model (`Message::Metadata::Received`): each Received header parsed into
//! a relay (ip, rdns, helo, by, ident, envfrom, id, auth), the relays split into trusted /
//! untrusted and internal / external, and the `X-Spam-Relays-*` strings rules match.
//!
//! The parser is SpamAssassin's cascade of MTA-specific patterns, in SpamAssassin's order: the
//! first pattern that recognises a header shape decides the fields, so reordering changes results.
//! Patterns are written in Perl syntax (`${IP_ADDRESS}` as in the Perl source) and compiled once.
//!
//! Trust is inferred as SpamAssassin infers it when `trusted_networks` and `internal_networks` are
//! not configured: relays stay trusted (and internal) while the connecting IP is private or the
//! hop was authenticated; the first public unauthenticated hop and everything older is untrusted.
//! Configured networks (and `msa_networks`) are not read: with them set, SpamAssassin's boundary
//! differs from the one computed here.
//!
//! Invariant: pure functions over header values; no DNS (SpamAssassin does none here either).

use fancy_regex::Regex;

/// SpamAssassin's `IP_ADDRESS` (Constants.pm), comments and spacing of its `/x` form removed.
const IP_ADDRESS: &str = r"(?i:(?:\b(?<!:)(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\b|(?:IPv6:|(?<![a-f0-9:]))(?:(?:(?:[a-f0-9]{1,4}:){6}|::(?:[a-f0-9]{1,4}:){0,5}|(?:[a-f0-9]{1,4}:){1,5}:|[a-f0-9]{1,4}::(?:[a-f0-9]{1,4}:){1,4}|(?:[a-f0-9]{1,4}:){2}:(?:[a-f0-9]{1,4}:){1,3}|(?:[a-f0-9]{1,4}:){3}:(?:[a-f0-9]{1,4}:){1,2}|(?:[a-f0-9]{1,4}:){4}:[a-f0-9]{1,4}:)(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)|(?:[a-f0-9]{1,4}:){7}[a-f0-9]{1,4}|:(?::[a-f0-9]{1,4}){1,7}|(?:[a-f0-9]{1,4}:){1,7}:|[a-f0-9]{1,4}:(?::[a-f0-9]{1,4}){1,6}|(?:[a-f0-9]{1,4}:){2}(?::[a-f0-9]{1,4}){1,5}|(?:[a-f0-9]{1,4}:){3}(?::[a-f0-9]{1,4}){1,4}|(?:[a-f0-9]{1,4}:){4}(?::[a-f0-9]{1,4}){1,3}|(?:[a-f0-9]{1,4}:){5}(?::[a-f0-9]{1,4}){1,2}|(?:[a-f0-9]{1,4}:){6}:[a-f0-9]{1,4}|::)(?![a-f0-9:])))";

/// SpamAssassin's `IP_PRIVATE`: loopback, link-local, RFC 1918 and CGN ranges (anchored at the start).
const IP_PRIVATE: &str = r"(?i:^(?:(?:10|127|169\.254|172\.(?:1[6-9]|2[0-9]|3[01])|192\.168|100\.(?:6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7]))\..*|(?:(?:IPv6:|(?<![a-f0-9:]))(?:(?:(?:0{1,4}:){5}ffff:|::(?:0{1,4}:){0,4}ffff:|(?:0{1,4}:){1,4}:ffff:|0{1,4}::(?:0{1,4}:){1,3}ffff:|(?:0{1,4}:){2}:0{1,2}:ffff:|(?:0{1,4}:){3}:0:ffff:|(?:0{1,4}:){4}:ffff:)(?:10|127|169\.254|172\.(?:1[6-9]|2[0-9]|3[01])|192\.168|100\.(?:6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7]))\..*|fe[89ab][0-9a-f]:.*|(?:0{1,4}:){7}0{0,3}1|:(?::0{1,4}){0,6}:0{0,3}1|0{1,4}:(?::0{1,4}){0,5}:0{0,3}1|(?:0{1,4}:){2}(?::0{1,4}){0,4}:0{0,3}1|(?:0{1,4}:){3}(?::0{1,4}){0,3}:0{0,3}1|(?:0{1,4}:){4}(?::0{1,4}){0,2}:0{0,3}1|(?:0{1,4}:){5}(?::0{1,4}){0,1}:0{0,3}1|(?:0{1,4}:){6}:0{0,3}1)(?![a-f0-9:]))))";

/// SpamAssassin's `LOCALHOST`.
const LOCALHOST: &str = r"(?i:(?:localhost(?:\.localdomain)?|\b(?<!:)127\.0\.0\.1\b|(?:IPv6:|(?<![a-f0-9:]))(?:(?:(?:0{1,4}:){5}ffff:|::(?:0{1,4}:){0,4}ffff:|(?:0{1,4}:){1,4}:ffff:|0{1,4}::(?:0{1,4}:){1,3}ffff:|(?:0{1,4}:){2}:0{1,2}:ffff:|(?:0{1,4}:){3}:0:ffff:|(?:0{1,4}:){4}:ffff:)127\.0\.0\.1|(?:0{1,4}:){7}0{0,3}1|:(?::0{1,4}){0,6}:0{0,3}1|0{1,4}:(?::0{1,4}){0,5}:0{0,3}1|(?:0{1,4}:){2}(?::0{1,4}){0,4}:0{0,3}1|(?:0{1,4}:){3}(?::0{1,4}){0,3}:0{0,3}1|(?:0{1,4}:){4}(?::0{1,4}){0,2}:0{0,3}1|(?:0{1,4}:){5}(?::0{1,4}){0,1}:0{0,3}1|(?:0{1,4}:){6}:0{0,3}1)(?![a-f0-9:])))";

/// Substitutes the Perl source's `${IP_ADDRESS}`, `$IP_ADDRESS`, `${LOCALHOST}` and `${IP_PRIVATE}`.
pub(crate) fn expand(pattern: &str) -> String {
    pattern.replace("${IP_ADDRESS}", IP_ADDRESS).replace("$IP_ADDRESS", IP_ADDRESS).replace("${LOCALHOST}", LOCALHOST).replace("${IP_PRIVATE}", IP_PRIVATE)
}

/// A pattern compiled on first use. Every literal is checked by `every_pattern_compiles`.
macro_rules! re {
    ($p:literal) => {{
        static RE: std::sync::OnceLock<fancy_regex::Regex> = std::sync::OnceLock::new();
        RE.get_or_init(|| fancy_regex::Regex::new(&$crate::rules::relays::expand($p)).expect("received-header pattern compiles"))
    }};
}
pub(crate) use re;

/// Does `re` match `s`? (A pattern that exceeds fancy-regex's backtrack limit counts as no match.)
pub(crate) fn is(re: &Regex, s: &str) -> bool {
    re.is_match(s).unwrap_or(false)
}

/// The groups of the first match (index 0 the whole match), `""` for groups that took no part.
pub(crate) fn caps(re: &Regex, s: &str) -> Option<Vec<String>> {
    let c = re.captures(s).ok()??;
    Some((0..c.len()).map(|i| c.get(i).map(|m| m.as_str().to_string()).unwrap_or_default()).collect())
}

/// Replaces the first match of `re` in `s`; returns the groups when it matched.
pub(crate) fn subst(re: &Regex, s: &mut String, with: &str) -> Option<Vec<String>> {
    let c = re.captures(s).ok()??;
    let whole = c.get(0)?;
    let groups = (0..c.len()).map(|i| c.get(i).map(|m| m.as_str().to_string()).unwrap_or_default()).collect();
    s.replace_range(whole.range(), with);
    Some(groups)
}

/// One handover, as SpamAssassin's relay hash holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relay {
    pub ip: String,
    pub rdns: String,
    pub helo: String,
    pub by: String,
    pub ident: String,
    /// None when the header named no envelope sender (rendered as empty).
    pub envfrom: Option<String>,
    pub id: String,
    pub auth: String,
    pub internal: bool,
    pub msa: bool,
    /// The MTA looked up the reverse DNS and found none.
    pub no_reverse_dns: bool,
    pub ip_private: bool,
}

impl Relay {
    /// The `[ ip=... ]` form of the X-Spam-Relays-* pseudo-headers.
    pub fn as_string(&self) -> String {
        format!(
            "[ ip={} rdns={} helo={} by={} ident={} envfrom={} intl={} id={} auth={} msa={} ]",
            self.ip,
            self.rdns,
            self.helo,
            self.by,
            self.ident,
            self.envfrom.as_deref().unwrap_or(""),
            u8::from(self.internal),
            self.id,
            self.auth,
            u8::from(self.msa)
        )
    }
}

/// Every Received header of a message, split at the trust and internal boundaries. Lists run from
/// the most recent hop (top header) to the oldest.
#[derive(Debug, Clone, Default)]
pub struct Relays {
    pub trusted: Vec<Relay>,
    pub untrusted: Vec<Relay>,
    pub internal: Vec<Relay>,
    pub external: Vec<Relay>,
    /// Received headers that start with `from` but match no known shape.
    pub unparseable: usize,
    /// Index (among Received headers, top first) of the last trusted one; -1 for none.
    pub last_trusted_index: isize,
    /// Index of the last internal one; -1 for none.
    pub last_internal_index: isize,
}

fn joined(list: &[Relay]) -> String {
    list.iter().map(Relay::as_string).collect::<Vec<_>>().join(" ")
}

impl Relays {
    pub fn trusted_str(&self) -> String {
        joined(&self.trusted)
    }
    pub fn untrusted_str(&self) -> String {
        joined(&self.untrusted)
    }
    pub fn internal_str(&self) -> String {
        joined(&self.internal)
    }
    pub fn external_str(&self) -> String {
        joined(&self.external)
    }
}

/// What one Received header says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Parsed {
    Relay(Relay),
    /// A header SpamAssassin deliberately skips (local handovers, `by`-only lines...).
    Ignored,
    /// A POP/IMAP fetcher handover: relays seen so far are forgotten if still trusted.
    Fetcher,
    /// A qmail-scanner line, whose envelope sender belongs to the next (older) header.
    QmailScanner(Option<String>),
    /// Starts with `from` but matches no known shape.
    Unparseable,
}

/// Parses the relays of a message from its Received values (unfolded, topmost first) and the
/// values of the `originating_ip_headers` (which become synthetic oldest relays).
pub fn parse_relays(received: &[String], originating_ips: &[String]) -> Relays {
    let mut lines: Vec<String> = received.to_vec();
    for v in originating_ips {
        if let Some(c) = caps(re!(r"(${IP_ADDRESS})"), v) {
            lines.push(format!("from X-Originating-IP: {}", c[1]));
        }
    }
    let mut out = Relays { last_trusted_index: -1, last_internal_index: -1, ..Relays::default() };
    let (mut in_trusted, mut in_internal) = (true, true);
    let mut allow_fetch_markers = true;
    let mut qmail_envfrom: Option<Option<String>> = None;
    for line in &lines {
        let carried = qmail_envfrom.take();
        let mut relay = match parse_received_line(line) {
            Parsed::Relay(r) => r,
            other => {
                match other {
                    Parsed::Unparseable => out.unparseable += 1,
                    Parsed::Fetcher if allow_fetch_markers => {
                        out.trusted.clear();
                        out.internal.clear();
                        out.external.clear();
                    }
                    Parsed::QmailScanner(envfrom) => qmail_envfrom = Some(envfrom),
                    _ => {}
                }
                out.last_trusted_index += isize::from(in_trusted);
                out.last_internal_index += isize::from(in_internal);
                continue;
            }
        };
        if let Some(envfrom) = carried {
            relay.envfrom = envfrom;
        }
        // no trusted_networks: trust extends over private IPs and authenticated hops only
        if in_trusted && !relay.ip_private && relay.auth.is_empty() {
            in_trusted = false;
            in_internal = false;
        }
        relay.internal = in_internal;
        if in_trusted {
            out.trusted.push(relay.clone());
            allow_fetch_markers = true;
            out.last_trusted_index += 1;
        } else {
            out.untrusted.push(relay.clone());
            allow_fetch_markers = false;
        }
        if in_internal {
            out.internal.push(relay);
            out.last_internal_index += 1;
        } else {
            out.external.push(relay);
        }
    }
    out
}

/// The fields being collected from one header.
#[derive(Default)]
struct Fields {
    ip: String,
    helo: String,
    rdns: String,
    by: String,
    id: String,
    ident: String,
    envfrom: Option<String>,
    auth: String,
    looked_up_dns: bool,
}

/// How the shape cascade ended.
enum Flow {
    /// The fields are complete.
    Enough,
    /// Not a relay; SpamAssassin's `return 0`.
    Skip(Parsed),
    /// No shape matched; the generic IP fallback decides.
    Fall,
}

fn parse_received_line(line: &str) -> Parsed {
    let mut s = line.split_whitespace().collect::<Vec<_>>().join(" ");
    while s.ends_with(';') {
        s.pop();
        if s.ends_with(char::is_whitespace) {
            s.pop();
        }
    }
    if !is(re!(r"(?i)^\(?from "), &s) || is(re!(r"\bwith local for\b"), &s) {
        return Parsed::Ignored;
    }
    if let Some(c) = caps(re!(r"(?i)^from (\S+) by [^\s;]+ ?;"), &s)
        && !is(re!(r"^\[[\d.]+\]$"), &c[1])
    {
        return Parsed::Ignored;
    }
    subst(
        re!(r"[\s;]+(?:(?:Mon|T(?:ue|hu)|Wed|Fri|S(?:at|un)), )?\d+ (?:J(?:an|u[nl])|Feb|Ma[ry]|A(?:pr|ug)|Sep|Oct|Nov|Dec) \d+ \d+:\d+(?::\d+)? \S+$"),
        &mut s,
        "",
    );
    if let Some(p) = s.find(")by ") {
        s.replace_range(p..p + 4, ") by ");
    }
    let mut f = Fields::default();
    if let Some(c) = caps(re!(r" id <?([^\s<>;]{3,})"), &s) {
        f.id = c[1].clone();
    }
    if let Some(c) = caps(re!(r"\bhelo=([-A-Za-z0-9\.\^+_&:=?!@%*\$\\/]+)(?:[^-A-Za-z0-9\.\^+_&:=?!@%*\$\\/]|$)"), &s)
        .or_else(|| caps(re!(r"\b(?:HELO|EHLO) ([-A-Za-z0-9\.\^+_&:=?!@%*\$\\/]+)(?:[^-A-Za-z0-9\.\^+_&:=?!@%*\$\\/]|$)"), &s))
    {
        f.helo = c[1].clone();
    }
    if let Some(c) = caps(re!(r" by (\S+)(?:[^-A-Za-z0-9;\.]|$)"), &s) {
        f.by = c[1].clone();
    }
    f.auth = auth_token(&s);
    let flow = if let Some(rest) = s.strip_prefix("from ") {
        s = rest.to_string();
        from_shapes(&s, &mut f)
    } else if let Some(rest) = s.strip_prefix("FROM ") {
        s = rest.to_string();
        match caps(re!(r"^(\S+) \((\S+) \[(${IP_ADDRESS})\]\) BY (\S+) (?:\([^\)]+\) WITH SMTP )?ID <?(\S+?)>?(?: FOR <[^>]+>)?$"), &s) {
            Some(c) => {
                f.looked_up_dns = true;
                (f.helo, f.rdns, f.ip, f.by, f.id) = (c[1].clone(), c[2].clone(), c[3].clone(), c[4].clone(), c[5].clone());
                if f.rdns == "unverified" {
                    f.rdns.clear();
                }
                Flow::Enough
            }
            None => Flow::Fall,
        }
    } else if let Some(rest) = s.strip_prefix("(from ") {
        s = rest.to_string();
        if let Some(c) = caps(re!(r"^(\S*) \[(${IP_ADDRESS})\]\) by (\S+) \(NAVGW .*?\) with "), &s) {
            (f.helo, f.ip, f.by) = (c[1].clone(), c[2].clone(), c[3].clone());
            Flow::Enough
        } else if is(re!(r"^\S+\@localhost\) by \S+ "), &s) || is(re!(r"^[^\s\@]+\@[^)]+\) by \S+\(jqueuemail\) id [^\s;]+"), &s) {
            Flow::Skip(Parsed::Ignored)
        } else {
            Flow::Fall
        }
    } else {
        Flow::Fall
    };
    match flow {
        Flow::Skip(p) => return p,
        Flow::Enough => {}
        Flow::Fall => {
            if f.ip.is_empty()
                && let Some(c) = caps(re!(r"\[(${IP_ADDRESS})\]"), &s)
            {
                f.ip = c[1].clone();
            }
            if f.ip.is_empty() || f.by.is_empty() {
                return Parsed::Unparseable;
            }
        }
    }
    finish(f)
}

/// The authentication token SpamAssassin recognises (`with ESMTPA`, Sendmail's "authenticated",
/// Postfix's "Authenticated sender"...), or empty.
fn auth_token(s: &str) -> String {
    if is(re!(r" by "), s)
        && let Some(c) = caps(re!(r"(?i) with ((?:ES|L|UTF8S|UTF8L)MTPS?A|ASMTP|HTTP[SU]?)(?: |;|$)"), s)
    {
        return c[1].clone();
    }
    if is(re!(r" by mx\.google\.com with ESMTPS id [a-z0-9]{1,4}sm[0-9]{2,9}[a-z]{3}\.[0-9]{1,3}\.[0-9]{4}\.(?:[0-6][0-9]\.){4}[0-6][0-9]"), s)
        && let Some(c) = caps(re!(r"\(version=([^ ]+) cipher=([^\)]+)\)"), s)
    {
        return format!("GMail - transport={} cipher={}", c[1], c[2]);
    }
    if let Some(c) = caps(re!(r"^from .*?(?:\]\)|\)\]) \(AUTH: (LOGIN|PLAIN|DIGEST-MD5|CRAM-MD5) \S+(?:, .*?)?\) by "), s) {
        return c[1].clone();
    }
    if s.contains("authenticated") && is(re!(r"^from .*?(?:\](?: \([^)]*\))?\)|\)\]) .*?\(.*?authenticated.*?\).*? by"), s) {
        return "Sendmail".into();
    }
    if let Some(c) = caps(re!(r"from \S* \((?:HELO|EHLO) (\S*)\) \[(${IP_ADDRESS})\] by (mail\.gmx\.(?:net|com)) \([^\)]+\) with ((?:ESMTP|SMTP))"), s) {
        return format!("GMX ({} / {})", c[4], c[3]);
    }
    if s.contains(" (authenticated as ") && is(re!(r"\) by .+ \(\d{1,2}\.\d\.\d{3}(?:\.\d{1,3})?\) \(authenticated as .+\) id "), s) {
        return "CriticalPath".into();
    }
    if let Some(c) = caps(re!(r"\) \(Authenticated sender: \S+\) by \S+ \(([^\)]+)\) with "), s) {
        return if c[1] == "Postfix" { c[1].clone() } else { format!("Postfix ({})", c[1]) };
    }
    if is(re!(r"CommuniGate Pro (HTTP|SMTP|XIMSS|IMAP)"), s) && s.contains(" (account ") {
        return "Communigate".into();
    }
    if is(re!(r" with Microsoft Exchange Server HTTP-DAV\b"), s) {
        return "HTTP-DAV".into();
    }
    if is(re!(r" by "), s)
        && let Some(c) = caps(re!(r"(?i) \(via (HTTP.?)\)(?: |;|$)"), s)
    {
        return c[1].clone();
    }
    String::new()
}

/// Assigns captured groups to fields by position: `set!(f, c; helo=1, ip=2, by=3)`.
macro_rules! set {
    ($f:ident, $c:ident; $($field:ident = $i:expr),+) => { $( $f.$field = $c[$i].clone(); )+ };
}

/// The shapes of `from ...` headers, most specific first (SpamAssassin's order).
fn from_shapes(s: &str, f: &mut Fields) -> Flow {
    if let Some(c) = caps(re!(r"(?i)(?:return-path:? |envelope-(?:sender|from)[ =])(\S+)\b"), s) {
        f.envfrom = Some(c[1].clone());
    }
    if is(re!(r" \((?:SquirrelMail|NaSMail) authenticated user "), s)
        && let Some(c) = caps(re!(r"(${IP_ADDRESS})\b(?![.-]).{10,80}by (\S+) with HTTP"), s)
    {
        set!(f, c; ip = 1, by = 2);
        return Flow::Enough;
    }
    if s.contains("aol.com")
        && s.contains("with HTTP (WebMailUI)")
        && let Some(c) = caps(re!(r"(${IP_ADDRESS}) by (\S+) \(${IP_ADDRESS}\) with HTTP \(WebMailUI\)"), s)
    {
        set!(f, c; ip = 1, by = 2);
        return Flow::Enough;
    }
    if s.contains(" SMTPSVC") {
        if let Some(c) = caps(re!(r"^(\S*) \(\[(${IP_ADDRESS})\][^\)]{0,40}\) by (\S+) with Microsoft SMTPSVC"), s) {
            set!(f, c; helo = 1, ip = 2, by = 3);
            return Flow::Enough;
        }
        if is(re!(r"^mail pickup service by (\S+) with Microsoft SMTPSVC$"), s) {
            return Flow::Skip(Parsed::Ignored);
        }
    } else if is(re!(r" with (?:Microsoft SMTP Server|mapi id) (?:\([^\)]+\) )?\d+\.\d+\.\d+\.\d+(?:$| )"), s) {
        if let Some(c) = caps(re!(r"^(\S+) \(\[?(${IP_ADDRESS})(?:%[A-Z0-9._~-]*)?\]?\) by (\S+) "), s) {
            set!(f, c; helo = 1, ip = 2, by = 3);
            f.id.clear();
            return Flow::Enough;
        }
    } else if s.contains("[XMail ") {
        if let Some(c) = caps(re!(r"^(\S+) \((\[?${IP_ADDRESS}\]?)(?::\d+)\) by (\S+)(?: \(\S+\))? with \[XMail"), s) {
            set!(f, c; helo = 1, ip = 2, by = 3);
            if let Some(c) = caps(re!(r" id <(\S+)>"), s) {
                f.id = c[1].clone();
            }
            if let Some(c) = caps(re!(r" from <(\S+)>"), s) {
                f.envfrom = Some(c[1].clone());
            }
            return Flow::Enough;
        }
    } else if is(re!(r"\(ecelerity\b"), s) {
        if let Some(c) = caps(re!(r"^\(\[(${IP_ADDRESS}):\d+\] helo=(\S+)\) by (\S+) "), s) {
            set!(f, c; ip = 1, helo = 2, by = 3);
            return Flow::Enough;
        }
        if let Some(c) = caps(re!(r"^\S+ \(\[(${IP_ADDRESS}):\d+\]\) by (\S+) "), s) {
            set!(f, c; ip = 1, by = 2);
            return Flow::Enough;
        }
    } else if s.contains("Exim") {
        if let Some(flow) = exim_shapes(s, f) {
            return flow;
        }
    } else if s.contains(" (Postfix) with") {
        if let Some(c) =
            caps(re!(r"^(\S+) \((\S+) \[(${IP_ADDRESS})\]\) by (\S+) "), s).or_else(|| caps(re!(r"^(\S+) \((\S+)\[(${IP_ADDRESS})\]\) by (\S+) "), s))
        {
            f.looked_up_dns = true;
            set!(f, c; helo = 1, rdns = 2, ip = 3, by = 4);
            if f.rdns == "unknown" {
                f.rdns.clear();
            }
            return Flow::Enough;
        }
    } else if s.contains("(Scalix SMTP Relay") {
        if let Some(c) = caps(re!(r"^(\S+) \( ?(${IP_ADDRESS})\) by (\S+)"), s) {
            set!(f, c; helo = 1, ip = 2, by = 3);
            return Flow::Enough;
        }
    } else if s.contains(" (Lotus Domino ")
        && let Some(c) = caps(re!(r"^(\S+) \(\[(${IP_ADDRESS})\]\) by (\S+) \(Lotus"), s)
    {
        f.looked_up_dns = false;
        set!(f, c; helo = 1, ip = 2, by = 3);
        return Flow::Enough;
    }
    generic_shapes(s, f)
}

/// Exim's shapes; None when none matched completely (fields found so far are kept, as in Perl).
fn exim_shapes(s: &str, f: &mut Fields) -> Option<Flow> {
    if is(re!(r"\bwith local(?:-\S+)? "), s) {
        return Some(Flow::Skip(Parsed::Ignored));
    }
    let helo_ident = |sub: &str, f: &mut Fields| {
        let mut sub = sub.to_string();
        if let Some(c) = subst(re!(r"helo=(\S+)"), &mut sub, "") {
            f.helo = c[1].clone();
        }
        if let Some(c) = subst(re!(r"ident=(\S*)"), &mut sub, "") {
            f.ident = c[1].clone();
        }
    };
    if let Some(c) = caps(re!(r"^\[(${IP_ADDRESS})\] \((.*?)\) by (\S+) "), s) {
        set!(f, c; ip = 1, by = 3);
        helo_ident(&c[2], f);
        return Some(Flow::Enough);
    }
    if let Some(c) = caps(re!(r"^(\S+) \(\[(${IP_ADDRESS})\](.*?)\) by (\S+) "), s) {
        set!(f, c; rdns = 1, ip = 2, by = 4, helo = 1);
        helo_ident(&c[3], f);
        return Some(Flow::Enough);
    }
    if let Some(c) = caps(re!(r"^(\S+) \[(${IP_ADDRESS})\](:\d+)? by (\S+) "), s) {
        set!(f, c; rdns = 1, ip = 2, helo = 1, by = 4);
        return Some(Flow::Enough);
    }
    if let Some(c) = caps(re!(r"^(\S+) "), s) {
        f.rdns = c[1].clone();
    }
    if let Some(c) = caps(re!(r" \((\S+)\) "), s) {
        f.helo = c[1].clone();
    }
    if let Some(c) = caps(re!(r" \[(${IP_ADDRESS})(?:\.\d+)?\] "), s) {
        f.ip = c[1].clone();
    }
    if let Some(c) = caps(re!(r"by (\S+) "), s) {
        f.by = c[1].clone();
        if !f.ip.is_empty() {
            return Some(Flow::Enough);
        }
    }
    None
}

/// The shapes tried after the MTA-specific ones.
fn generic_shapes(s: &str, f: &mut Fields) -> Flow {
    macro_rules! shape {
        ($p:literal, dns = $dns:expr; $($field:ident = $i:expr),+) => {
            if let Some(c) = caps(re!($p), s) {
                if $dns {
                    f.looked_up_dns = true;
                }
                set!(f, c; $($field = $i),+);
                return Flow::Enough;
            }
        };
    }
    if s.contains("with HTTP") && is(re!(r"\bwith HTTP\b"), s) {
        shape!(r"^(${IP_ADDRESS}) \(\[${IP_ADDRESS}\]\) by (\S+)", dns = false; ip = 1, by = 2);
    }
    if !is(re!(r" by \S+ \(qmail-\S+\) with "), s)
        && let Some(c) = caps(re!(r"^(\S+) \((\S+) \[(${IP_ADDRESS})\].*\) by (\S+) \("), s)
    {
        f.looked_up_dns = true;
        set!(f, c; helo = 1, rdns = 2, ip = 3, by = 4);
        let mut rdns = std::mem::take(&mut f.rdns);
        if let Some(c) = subst(re!(r"^IDENT:([^\@]*)\@"), &mut rdns, "") {
            f.ident = c[1].clone();
        }
        if let Some(c) = subst(re!(r"^([^\@]*)\@"), &mut rdns, "") {
            f.ident = c[1].clone();
        }
        f.rdns = rdns;
        return Flow::Enough;
    }
    shape!(r"^(\S+) \((\S+) \[(${IP_ADDRESS})\]\) by (\S+) with \S+ \(", dns = true; rdns = 2, ip = 3, helo = 1, by = 4);
    shape!(r"^(\S+) \(\[(${IP_ADDRESS})\] helo=(\S+)\) by (\S+) with ", dns = false; rdns = 1, ip = 2, helo = 3, by = 4);
    shape!(r"^(\S+) \(<unknown\S*>\[(${IP_ADDRESS})\]\) by (\S+) ", dns = false; helo = 1, ip = 2, by = 3);
    shape!(r"^(\S+) \((\S+\.\S+)\[(${IP_ADDRESS})\]\) by (\S+) ", dns = true; helo = 1, rdns = 2, ip = 3, by = 4);
    shape!(r"^(\S+) \((\S*)\@\[(${IP_ADDRESS})\].*\) by (\S+) \(", dns = true; helo = 1, ip = 3, by = 4, ident = 2);
    if let Some(c) = caps(re!(r"by (\S+\.hotmail\.msn\.com) "), s) {
        f.by = c[1].clone();
        if let Some(c) = caps(re!(r"^(${IP_ADDRESS}) "), s) {
            f.ip = c[1].clone();
        }
        return Flow::Enough;
    }
    shape!(r"^(\S+) \((?:HELO|EHLO) (\S*)\) \((${IP_ADDRESS})\) by (\S+) \(qpsmtpd/\S+\) with (?:ESMTP|SMTP)", dns = false; rdns = 1, helo = 2, ip = 3, by = 4);
    shape!(r"^(\S+) \(LHLO (\S*)\) \((${IP_ADDRESS})\) by (\S+) with LMTP", dns = false; rdns = 1, helo = 2, ip = 3, by = 4);
    shape!(r"^(\S+) \((?:HELO|EHLO) (\S*)\) \[(${IP_ADDRESS})\] by (\S+) \([^\)]+\) with (?:ESMTP|SMTP)", dns = false; rdns = 1, helo = 2, ip = 3, by = 4);
    shape!(r"^(\S+) \(\[(${IP_ADDRESS})\]\) by (\S+) via smtpd \(for \S+\) with SMTP\(", dns = false; helo = 1, ip = 2, by = 3);
    if is(re!(r"^\S+( \((?:HELO|EHLO) \S*\))? \((\S+\@)?\[?${IP_ADDRESS}\]?\)( \(envelope-sender <\S+>\))? by \S+( \(.+\))* with (.* )?(SMTP|QMQP)(?! id )"), s)
    {
        // qmail
        if let Some(c) = caps(re!(r"^(\S+) \((?:HELO|EHLO) ([^ \(\)]*)\) \((\S*)\@\[?(${IP_ADDRESS})\]?\)( \(envelope-sender <\S+>\))? by (\S+)"), s) {
            set!(f, c; rdns = 1, helo = 2, ident = 3, ip = 4, by = 6);
        } else if let Some(c) = caps(re!(r"^(\S+) \((?:HELO|EHLO) ([^ \(\)]*)\) \(\[?(${IP_ADDRESS})\]?\)( \(envelope-sender <\S+>\))? by (\S+)"), s) {
            set!(f, c; rdns = 1, helo = 2, ip = 3, by = 5);
        } else if let Some(c) = caps(re!(r"^(\S+) \((\S*)\@\[?(${IP_ADDRESS})\]?\)( \(envelope-sender <\S+>\))? by (\S+)"), s) {
            set!(f, c; helo = 1, rdns = 1, ident = 2, ip = 3, by = 5);
        } else if let Some(c) = caps(re!(r"^(\S+) \(\[?(${IP_ADDRESS})\]?\)( \(envelope-sender <\S+>\))? by (\S+)"), s) {
            set!(f, c; helo = 1, rdns = 1, ip = 2, by = 4);
        }
        if f.rdns != "unknown" {
            f.looked_up_dns = true;
        } else {
            f.rdns.clear();
        }
        return Flow::Enough;
    }
    if s.ends_with(" via HTTP") {
        shape!(r"^\[(${IP_ADDRESS})\] by (\S+) via HTTP$", dns = false; ip = 1, by = 2);
    }
    shape!(r"^(\S+) \( \[(${IP_ADDRESS})\]\).*? by (\S+) ", dns = false; ip = 2, by = 3);
    shape!(r"^\((\S+) \[(${IP_ADDRESS})\]\) by (\S+) ", dns = false; helo = 1, ip = 2, by = 3);
    shape!(r"^\[(${IP_ADDRESS})\] by (\S+) ", dns = false; ip = 1, by = 2);
    shape!(r"^\(\[?(${IP_ADDRESS})\]?\) by (\S+) ", dns = false; ip = 1, by = 2);
    shape!(r"^(\S+) \[(${IP_ADDRESS})\] by (\S+) \[${IP_ADDRESS}\] with ", dns = true; helo = 1, ip = 2, by = 3);
    shape!(r"^(\S+) \[\((${IP_ADDRESS})\)\] by (\S+) \(${IP_ADDRESS}\) ", dns = false; helo = 1, ip = 2, by = 3);
    // sendmail
    shape!(r"^(\S+) \(\[(${IP_ADDRESS})\]\) by (\S+) \(", dns = true; helo = 1, ip = 2, by = 3);
    if let Some(c) = caps(re!(r"^(\S+) \((\S+) \[(${IP_ADDRESS})\]\).*? by (\S+)\b"), s) {
        // couriertcpd writes "softdnserr" when the lookup failed (bug 2326)
        if c[2] == "softdnserr" {
            f.looked_up_dns = false;
        } else {
            f.looked_up_dns = true;
            f.rdns = c[2].clone();
        }
        set!(f, c; helo = 1, ip = 3, by = 4);
        return Flow::Enough;
    }
    shape!(r"^(\S+) \(\[(${IP_ADDRESS})(?:[.:]\d+)?\]\).*? by (\S+) ", dns = true; helo = 1, ip = 2, by = 3);
    shape!(r"^(\S+) \((\S+) \[(${IP_ADDRESS})\]\)(?: \(authenticated bits=\d+\))? by (\S+) \(", dns = true; helo = 1, rdns = 2, ip = 3, by = 4);
    if is(re!(r"with (?:POP3|IMAP)"), s) {
        return Flow::Skip(Parsed::Fetcher);
    }
    // these two capture the ident with its '@'
    let with_at = caps(re!(r"^(\S+) \((?:HELO|EHLO) ([^\)]*)\) \((\S*@)?\[?(${IP_ADDRESS})\]?\).* by (\S+) "), s)
        .map(|c| [c[1].clone(), c[2].clone(), c[3].clone(), c[4].clone(), c[5].clone()])
        .or_else(|| {
            caps(re!(r"^(\S+) \((\S*@)?\[?(${IP_ADDRESS})\]?\).* by (\S+) "), s).map(|c| [c[1].clone(), c[1].clone(), c[2].clone(), c[3].clone(), c[4].clone()])
        });
    if let Some([rdns, helo, ident, ip, by]) = with_at {
        f.looked_up_dns = true;
        (f.rdns, f.helo, f.ip, f.by) = (rdns, helo, ip, by);
        f.ident = ident.strip_suffix('@').unwrap_or(&ident).to_string();
        return Flow::Enough;
    }
    if s.contains(" with http for ") {
        shape!(r"^\[(${IP_ADDRESS})\] by (\S+) with http for ", dns = false; ip = 1, by = 2);
    }
    if s.contains(" via smap ") {
        shape!(r"^(\S+)\((${IP_ADDRESS})\) by (\S+) via smap ", dns = true; rdns = 1, ip = 2, by = 3);
    }
    shape!(r"^(\S+)\((${IP_ADDRESS}), (?:HELO|EHLO) (\S*)\) by (\S+) via smap ", dns = true; rdns = 1, ip = 2, helo = 3, by = 4);
    if s.contains(" (Post") {
        shape!(r"^\[(${IP_ADDRESS})\] by (\S+) \(Post", dns = false; ip = 1, by = 2);
    }
    if s.contains(" (ArGoSoft") {
        shape!(r"^\[(${IP_ADDRESS})\] by (\S+) \(ArGoSoft", dns = false; ip = 1, by = 2);
    }
    shape!(r"^(${IP_ADDRESS}) by (\S+) \((?:SMTPL|InterScan)\b", dns = false; ip = 1, by = 2);
    if s.contains(" with BSMTP") && is(re!(r"^\S+ by \S+ with BSMTP"), s) {
        return Flow::Skip(Parsed::Ignored);
    }
    shape!(r"^(\S+) \((\S+) \[(${IP_ADDRESS})\]\) by (\S+) with ", dns = true; helo = 1, rdns = 2, ip = 3, by = 4);
    shape!(r"^(\S+) \((?:HELO|EHLO) (\S*)\) \((?:(\S+)\@)?(${IP_ADDRESS}).*?\) by (\S+) with ", dns = true; rdns = 1, helo = 2, ip = 4, by = 5, ident = 3);
    shape!(r"^\[(${IP_ADDRESS})\] \((?:account \S+ )?(?:HELO|EHLO) (\S*)\) by (\S+) \(", dns = false; ip = 1, helo = 2, by = 3);
    if s.contains(" (CommuniGate Pro") {
        shape!(r"^(\S+) \(\[(${IP_ADDRESS})\] verified\) by (\S+) \(", dns = true; rdns = 1, helo = 1, ip = 2, by = 3);
    }
    shape!(r"^\(\[(${IP_ADDRESS})\]\) by (\S+) with ", dns = false; ip = 1, by = 2);
    shape!(r"^([^\d]\S+) \((${IP_ADDRESS})\) by (\S+) ", dns = false; helo = 1, ip = 2, by = 3);
    if is(re!(r"^\S+ \(\S+\) by \S+ \(Content Technologies "), s) {
        return Flow::Skip(Parsed::Ignored);
    }
    shape!(r"^(\S+) \(\[(${IP_ADDRESS})\] \[(\S+)\]\) by (\S+) with ", dns = false; helo = 1, ip = 2, by = 4);
    shape!(r"^(${IP_ADDRESS}) by (\S+) with ", dns = false; ip = 1, by = 2);
    shape!(r"^(\S+) \((\S+)\[(${IP_ADDRESS})\]\) by (\S+) ", dns = true; helo = 1, rdns = 2, ip = 3, by = 4);
    shape!(r"^\[(${IP_ADDRESS})\]\S+ \((?:HELO|EHLO) (\S*)\) by (\S+) ", dns = false; ip = 1, helo = 2, by = 3);
    shape!(r"^(${IP_ADDRESS}) \((?:HELO|EHLO) (\S*)\) by (\S+) ", dns = false; ip = 1, helo = 2, by = 3);
    shape!(r"^(\S+) \[(${IP_ADDRESS})\] by (\S+) ", dns = false; helo = 1, ip = 2, by = 3);
    shape!(r"^(\S+)\((${IP_ADDRESS})\) by (\S+) ", dns = false; rdns = 1, ip = 2, by = 3);
    shape!(r"^\[(${IP_ADDRESS})\] by (\S+) \(MailGate ", dns = false; ip = 1, by = 2);
    shape!(r"^(\S+) \(unverified \[(${IP_ADDRESS})\]\) by (\S+) ", dns = false; helo = 1, ip = 2, by = 3);
    shape!(r"^(${IP_ADDRESS}) \([A-Za-z][^\)]+\) by (\S+) with ", dns = false; ip = 1, by = 2);
    if let Some(c) = caps(re!(r"^\[(${IP_ADDRESS})\] \(([^\)]+)\) by (\S+) "), s) {
        set!(f, c; ip = 1, by = 3);
        let mut sub = c[2].clone();
        if let Some(c) = subst(re!(r"helo=(\S+)"), &mut sub, "") {
            f.helo = c[1].clone();
        }
        if let Some(c) = subst(re!(r"ident=(\S*)"), &mut sub, "") {
            f.ident = c[1].clone();
        }
        return Flow::Enough;
    }
    shape!(r"^(\S+) \((?:\S+\@)?(${IP_ADDRESS})\) by (\S+) with ", dns = false; rdns = 1, ip = 2, by = 3);
    if let Some(c) = caps(re!(r#"^(\S+)\((${IP_ADDRESS})\)(?:, claiming to be "(\S+)")? via \S+ by (\S+),"#), s) {
        set!(f, c; rdns = 1, ip = 2, helo = 3, by = 4);
        if c[1] != "UNKNOWN" {
            f.looked_up_dns = true;
        }
        return Flow::Enough;
    }
    shape!(r"^(\S+) \((\S+)@(${IP_ADDRESS}) with login\) by (\S+\.yahoo\.com) with SMTP", dns = false; helo = 1, ip = 3, by = 4);
    if let Some(c) = caps(re!(r"^X-Originating-IP: (${IP_ADDRESS})$"), s) {
        f.ip = c[1].clone();
        f.by.clear();
        return Flow::Enough;
    }
    let ignored = [
        re!(r"^\S+ \([^\s\@]+\@${LOCALHOST}\) by \S+ \("),
        re!(r"^\S+ \S+ by \S+ with local-e?smtp "),
        re!(r"^127\.0\.0\.1 \(AVG SMTP \S+ \[\S+\]\)"),
        re!(r"^\S+\@\S+ by \S+ by uid \S+ "),
        re!(r"^\S+\@\S+ by \S+ "),
        re!(r"^Unknown/Local \("),
        re!(r"^${LOCALHOST} \((?:\S+\@)?${LOCALHOST}[\)\[]"),
        re!(r"^\S+ \((?:\S+\@)?${LOCALHOST}\) "),
        re!(r"^\S+ \(\S+\@\S+ \[${LOCALHOST}\]\) "),
        re!(r"^\(AUTH: \S+\) by \S+ with "),
        re!(r"^localhost \(localhost \[\[UNIX: localhost\]\]\) by "),
        re!(r"^\S+\.amazon\.com by \S+\.amazon\.com with ESMTP \(peer crosscheck: "),
        re!(r"^[^\.]+ by \S+ with Novell_GroupWise"),
        re!(r"^no\.name\.available by \S+ via smtpd \(for "),
    ];
    if ignored.iter().any(|r| is(r, s)) {
        return Flow::Skip(Parsed::Ignored);
    }
    if is(re!(r"^\S+ by \S+ \(.{0,100}\) with qmail-scanner"), s) {
        let envfrom = f.envfrom.take().map(|e| clean_envfrom(&e));
        return Flow::Skip(Parsed::QmailScanner(envfrom));
    }
    let ignored = [
        re!(r"^\S+ by \S+ with local"),
        re!(r"^\S+ \(\[unix socket\]\) by \S+ \(Cyrus v[0-9]*?\.[0-9]*?\.[0-9]*?\) with LMTPA"),
        re!(r"^\S+ by \S+ (?:with|via|for|\()"),
        re!(r"^\S+ (?:(?:with|via|for) \S+|\(unverified\)) by\b"),
        re!(r"^\S+ \(unknown\) by \S+ \(SG\) with \b"),
        re!(r"^\S+ \(\S+ \[local\]\) by \S+ \(OpenSMTPD\) with \b"),
        re!(r"\(LSMTP for"),
        re!(r"^\(\[${LOCALHOST}\]\) with MailEnable "),
        re!(r"^facebook\.com \([^\)]+\) by facebook\.com with Thrift id \S+$"),
        re!(r"^\S+ named \S+ by gmailapi\.google\.com with HTTPREST$"),
        re!(r"^\S+ id \S+$"),
        re!(r"^\[<.*? \(Jetsend"),
    ];
    if ignored.iter().any(|r| is(r, s)) {
        return Flow::Skip(Parsed::Ignored);
    }
    if f.helo.is_empty()
        && let Some(c) = caps(re!(r"^(\S+)[^-A-Za-z0-9\.]"), s)
    {
        f.helo = c[1].clone();
    }
    Flow::Fall
}

/// Characters SpamAssassin replaces with `!` so a field cannot break the `[ ... ]` format.
fn strip_chars(v: &str) -> String {
    v.chars().map(|c| if c.is_ascii_whitespace() || c == '\x0b' || "\0#[]()<>|".contains(c) { '!' } else { c }).collect()
}

fn clean_envfrom(e: &str) -> String {
    let e = e.trim_start().trim_start_matches('<');
    let e = e.trim_end().trim_end_matches('>').trim_end();
    strip_chars(e)
}

/// SpamAssassin's `enough:` block: normalise the fields and build the relay.
fn finish(mut f: Fields) -> Parsed {
    while f.rdns.ends_with('.') {
        f.rdns.pop();
    }
    if f.rdns.eq_ignore_ascii_case("unknown") || f.rdns.starts_with('[') {
        f.rdns.clear();
    }
    let mut ip = f.ip;
    if ip.len() >= 5 && ip[..5].eq_ignore_ascii_case("ipv6:") {
        ip.drain(..5);
    }
    if let Some(rest) = ip.strip_prefix('[') {
        ip = rest.to_string();
    }
    if let Some(rest) = ip.strip_suffix(']') {
        ip = rest.to_string();
    }
    subst(re!(r"(?i)%[A-Z0-9._~-]*$"), &mut ip, "");
    if let Some(c) = caps(re!(r"(?i)^0*:0*:(?:0*:)*ffff:(\d+\.\d+\.\d+\.\d+)$"), &ip) {
        ip = c[1].clone();
    }
    let by = f.by.strip_suffix(';').unwrap_or(&f.by).to_string();
    let ip_private = is(re!(r"${IP_PRIVATE}"), &ip);
    Parsed::Relay(Relay {
        ip: strip_chars(&ip),
        rdns: strip_chars(&f.rdns),
        helo: strip_chars(&f.helo),
        by: strip_chars(&by),
        ident: strip_chars(&f.ident),
        envfrom: f.envfrom.map(|e| clean_envfrom(&e)),
        id: f.id,
        auth: f.auth,
        internal: false,
        msa: false,
        no_reverse_dns: f.rdns.is_empty() && f.looked_up_dns,
        ip_private,
    })
}

/// Compiles every `re!` literal in a source file (so a typo fails a test, not a message).
#[cfg(test)]
pub(crate) fn compile_patterns_in(src: &str) -> usize {
    let mut n = 0;
    for chunk in src.split(concat!("re", "!(r")).skip(1) {
        let (body, end) = match chunk.strip_prefix("#\"") {
            Some(b) => (b, "\"#)"),
            None => (chunk.strip_prefix('"').unwrap_or(chunk), "\")"),
        };
        let Some(p) = body.find(end) else { continue };
        let pattern = &body[..p];
        Regex::new(&expand(pattern)).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::message::MessageView;

    #[test]
    fn every_pattern_compiles() {
        assert!(compile_patterns_in(include_str!("relays.rs")) > 100);
    }

    /// What SpamAssassin's tags and relay checks show for one message.
    fn render(headers: &str) -> String {
        let msg = format!("{headers}From: a@example.com\nTo: b@example.net\nSubject: x\nMessage-ID: <1@x>\n\nbody\n");
        let mut view = MessageView::parse(msg.as_bytes());
        view.originating_ip_headers = vec!["X-Yahoo-Post-IP".into(), "X-Originating-IP".into(), "X-Apparently-From".into()];
        let r = view.relays();
        assert_eq!(r.trusted_str(), r.internal_str(), "without trusted_networks, internal = trusted");
        assert_eq!(r.untrusted_str(), r.external_str());
        let mut checks = Vec::new();
        let all_trusted = !r.trusted.is_empty() && r.untrusted.is_empty() && r.unparseable == 0;
        let none = r.trusted.is_empty() && r.untrusted.is_empty() && r.unparseable == 0;
        for (hit, name) in [(all_trusted, "T_ALLTRUSTED"), (none, "T_NORELAYS"), (r.unparseable > 0, "T_UNP")] {
            if hit {
                checks.push(name);
            }
        }
        format!("trusted: {}\nuntrusted: {}\nchecks: {}", r.trusted_str(), r.untrusted_str(), checks.join(","))
    }

    /// Every block of `received_headers.txt` (SpamAssassin's own output) is reproduced.
    #[test]
    fn received_headers_parse_as_spamassassin_parses_them() {
        let data = include_str!("../../tests/data/received_headers.txt");
        let mut failures = Vec::new();
        let mut n = 0;
        for block in data.split("\n\n").filter(|b| !b.trim_start().starts_with('#') && !b.trim().is_empty()) {
            let lines: Vec<&str> = block.trim_matches('\n').lines().collect();
            let split = lines.iter().position(|l| l.starts_with("trusted: ")).expect("block has expectations");
            let headers: String = lines[..split].iter().map(|l| format!("{l}\n")).collect();
            let expected = lines[split..].join("\n");
            let got = render(&headers);
            let norm = |s: &str| s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
            if norm(&got) != norm(&expected) {
                failures.push(format!("{headers}expected:\n{expected}\ngot:\n{got}\n"));
            }
            n += 1;
        }
        assert!(n > 120, "{n} blocks");
        assert!(failures.is_empty(), "{} of {n} differ:\n{}", failures.len(), failures.join("\n"));
    }

    #[test]
    fn relay_string_has_spamassassin_field_order() {
        let r = Relay {
            ip: "203.0.113.5".into(),
            rdns: "a.example".into(),
            helo: "h".into(),
            by: "mx".into(),
            envfrom: Some("x@y".into()),
            internal: true,
            ..Relay::default()
        };
        assert_eq!(r.as_string(), "[ ip=203.0.113.5 rdns=a.example helo=h by=mx ident= envfrom=x@y intl=1 id= auth= msa=0 ]");
    }
}
