//! Reading SpamAssassin `.cf` text into raw definitions, as `Mail::SpamAssassin::Conf::Parser`
//! reads it: comments, `if`/`ifplugin`/`else`/`endif` against a declared plugin set and version,
//! `include` through a caller-supplied loader (this module does no I/O), later definitions
//! replacing earlier ones. Problems become diagnostics; parsing never stops early.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::expr;
use super::{Diagnostic, Location, Severity};

/// What a `.cf` file can ask about the running SpamAssassin: loaded plugins, `can()` features, version.
#[derive(Debug, Clone)]
pub struct Environment {
    pub plugins: HashSet<String>,
    pub features: HashSet<String>,
    /// SpamAssassin's version as `if (version >= 4.000001)` compares it.
    pub version: f64,
}

/// The plugins Debian's SpamAssassin 4.0.1 loads from `/etc/spamassassin/*.pre`.
pub const DEBIAN_PLUGINS: &[&str] = &[
    "URIDNSBL", "SPF", "Pyzor", "Razor2", "SpamCop", "AutoLearnThreshold", "WelcomeListSubject", "MIMEHeader",
    "ReplaceTags", "DKIM", "Check", "HTTPSMismatch", "URIDetail", "Bayes", "BodyEval", "DNSEval", "HTMLEval",
    "HeaderEval", "MIMEEval", "RelayEval", "URIEval", "WLBLEval", "VBounce", "ImageInfo", "FreeMail", "AskDNS",
    "HashBL", "DMARC",
];

/// `Conf::feature_*` and friends that SpamAssassin 4.0.1 answers `can()` with true.
const SA401_FEATURES: &[&str] = &[
    "Mail::SpamAssassin::Conf::feature_originating_ip_headers",
    "Mail::SpamAssassin::Conf::feature_dns_local_ports_permit_avoid",
    "Mail::SpamAssassin::Conf::feature_bayes_auto_learn_on_error",
    "Mail::SpamAssassin::Conf::feature_uri_host_listed",
    "Mail::SpamAssassin::Conf::feature_yesno_takes_args",
    "Mail::SpamAssassin::Conf::feature_bug6558_free",
    "Mail::SpamAssassin::Conf::feature_edns",
    "Mail::SpamAssassin::Conf::feature_dns_query_restriction",
    "Mail::SpamAssassin::Conf::feature_registryboundaries",
    "Mail::SpamAssassin::Conf::feature_geodb",
    "Mail::SpamAssassin::Conf::feature_dns_block_rule",
    "Mail::SpamAssassin::Conf::feature_compile_regexp",
    "Mail::SpamAssassin::Conf::feature_meta_rules_matching",
    "Mail::SpamAssassin::Conf::feature_subjprefix",
    "Mail::SpamAssassin::Conf::feature_bayes_stopwords",
    "Mail::SpamAssassin::Conf::feature_get_host",
    "Mail::SpamAssassin::Conf::feature_blocklist_welcomelist",
    "Mail::SpamAssassin::Conf::feature_welcomelist_blocklist",
    "Mail::SpamAssassin::Conf::feature_header_address_parser",
    "Mail::SpamAssassin::Conf::feature_local_tests_only",
    "Mail::SpamAssassin::Conf::feature_header_first_last",
    "Mail::SpamAssassin::Conf::feature_header_match_many",
    "Mail::SpamAssassin::Conf::feature_capture_rules",
    "Mail::SpamAssassin::Conf::perl_min_version_5010000",
    "Mail::SpamAssassin::Plugin::BodyEval::has_check_body_length",
    "Mail::SpamAssassin::Plugin::BodyEval::has_plaintext_body_sig_ratio",
    "Mail::SpamAssassin::Plugin::DKIM::has_arc",
    "Mail::SpamAssassin::Plugin::DNSEval::has_tflags_domains_only",
    "Mail::SpamAssassin::Plugin::DNSEval::has_tflags_ips_only",
    "Mail::SpamAssassin::Plugin::MIMEEval::has_check_for_ascii_text_illegal",
    "Mail::SpamAssassin::Plugin::MIMEEval::has_check_abundant_unicode_ratio",
    "Mail::SpamAssassin::Plugin::MIMEEval::has_check_qp_ratio",
    "Mail::SpamAssassin::Plugin::MIMEHeader::has_all_header",
    "Mail::SpamAssassin::Plugin::MIMEHeader::has_tflags_range",
    "Mail::SpamAssassin::Plugin::MIMEHeader::has_tflags_concat",
    "Mail::SpamAssassin::Plugin::MIMEHeader::has_tflags_multiple",
    "Mail::SpamAssassin::Plugin::MIMEHeader::has_capture_rules",
    "Mail::SpamAssassin::Plugin::SPF::has_check_for_spf_errors",
    "Mail::SpamAssassin::Plugin::SPF::has_check_spf_skipped_noenvfrom",
    "Mail::SpamAssassin::Plugin::URIDNSBL::has_tflags_domains_only",
    "Mail::SpamAssassin::Plugin::URIDNSBL::has_subtest_for_ranges",
    "Mail::SpamAssassin::Plugin::URIDNSBL::has_uridnsbl_for_a",
    "Mail::SpamAssassin::Plugin::URIDNSBL::has_uridnsbl_a_ns",
    "Mail::SpamAssassin::Plugin::URIDNSBL::has_tflags_notrim",
    "Mail::SpamAssassin::Plugin::URIDNSBL::has_uridnsbl_skip_mailto",
    "Mail::SpamAssassin::Plugin::URIDetail::has_host_key",
    "Mail::SpamAssassin::Plugin::AskDNS::has_tag_header",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_bodyre",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_bodyre_num",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_emails",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_uris",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_ignore",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_email_regex",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_email_welcomelist",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_email_whitelist",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_tag",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_sha",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_attachments",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_email_domain",
    "Mail::SpamAssassin::Plugin::HashBL::has_hashbl_email_domain_alias",
];

impl Environment {
    /// SpamAssassin 4.0.1 with Debian's default plugin set.
    pub fn spamassassin_4_0_1() -> Self {
        Environment {
            plugins: DEBIAN_PLUGINS.iter().map(|p| format!("Mail::SpamAssassin::Plugin::{p}")).collect(),
            features: SA401_FEATURES.iter().map(|s| s.to_string()).collect(),
            version: 4.000001,
        }
    }

    fn word_value(&self, w: &str) -> Result<f64, String> {
        let b = |x: bool| if x { 1.0 } else { 0.0 };
        if w == "version" {
            return Ok(self.version);
        }
        if w == "perl_version" {
            return Ok(5.036000);
        }
        if let Some(p) = w.strip_prefix("plugin(").and_then(|r| r.strip_suffix(')')) {
            return Ok(b(self.plugins.contains(p)));
        }
        if let Some(p) = w.strip_prefix("can(").or_else(|| w.strip_prefix("has(")).and_then(|r| r.strip_suffix(')')) {
            return Ok(b(self.features.contains(p)));
        }
        Err(format!("unknown word {w} in if condition"))
    }
}

/// Kinds of rule definitions, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DefKind {
    Header,
    Body,
    RawBody,
    Full,
    Uri,
    Meta,
    MimeHeader,
    UriDetail,
    Other,
}

impl DefKind {
    pub fn keyword(self) -> &'static str {
        match self {
            DefKind::Header => "header",
            DefKind::Body => "body",
            DefKind::RawBody => "rawbody",
            DefKind::Full => "full",
            DefKind::Uri => "uri",
            DefKind::Meta => "meta",
            DefKind::MimeHeader => "mimeheader",
            DefKind::UriDetail => "uri_detail",
            DefKind::Other => "other",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RawDef {
    pub kind: DefKind,
    pub text: String,
    pub at: Location,
}

/// Everything a set of `.cf` files declared, before compilation.
#[derive(Debug, Default, Clone)]
pub struct RawConfig {
    pub defs: BTreeMap<String, RawDef>,
    pub scores: HashMap<String, [f64; 4]>,
    pub describes: HashMap<String, String>,
    pub tflags: HashMap<String, String>,
    pub priorities: HashMap<String, i32>,
    pub replace_tag: HashMap<String, String>,
    pub replace_pre: HashMap<String, String>,
    pub replace_inter: HashMap<String, String>,
    pub replace_post: HashMap<String, String>,
    pub replace_rules: HashSet<String>,
    pub freemail_domains: Vec<String>,
    pub freemail_welcomelist: Vec<String>,
    /// `ok_locales`: the last line's locales; None when no line set them (SpamAssassin's
    /// default is `all`).
    pub ok_locales: Option<Vec<String>>,
    /// `util_rb_tld`, `util_rb_2tld`, `util_rb_3tld`: the TLD registry for URIs and `:domain`.
    pub registry: super::registry::Registry,
    /// `redirector_pattern` lines as written (delimited Perl patterns), in order.
    pub redirector_patterns: Vec<(String, Location)>,
    /// Headers whose IP becomes a synthetic oldest relay (`originating_ip_headers`).
    pub originating_ip_headers: Vec<String>,
    /// `enlist_addrlist (NAME) ...` and the welcome/block lists of addresses (globs anchored at
    /// both ends) and of subjects (matched anywhere), by list name.
    pub addr_lists: HashMap<String, GlobList>,
    /// `welcomelist_from_rcvd` and `def_welcomelist_from_rcvd`: per list, each address glob with
    /// the relay domains (or `[IP]`s) it must arrive through.
    pub rcvd_lists: HashMap<String, Vec<RcvdListEntry>>,
    pub required_score: Option<f64>,
    pub diagnostics: Vec<Diagnostic>,
}

/// One named list of lowercased globs (addresses, or subject patterns), in the order added, each
/// with its pattern in `regex` syntax; checked as one pattern over the whole list, compiled on
/// first use (a list like `enlist_addrlist (BANKS)` is dozens of globs, each its own search
/// before, and most lists are never asked about).
#[derive(Debug, Clone, Default)]
pub struct GlobList {
    entries: Vec<(String, String)>,
    compiled: std::sync::OnceLock<CompiledGlobs>,
}

#[derive(Debug, Clone)]
enum CompiledGlobs {
    Together(regex::Regex),
    /// Too big as one pattern: glob by glob (a glob that does not compile matches nothing).
    Apart(Vec<regex::Regex>),
}

impl GlobList {
    /// Adds `key` (or moves it last) with its pattern.
    fn set(&mut self, key: String, pattern: String) {
        self.remove(&key);
        self.entries.push((key, pattern));
    }

    fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| k != key);
        self.compiled = std::sync::OnceLock::new();
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `text` (already lowercased) is one of the keys or matches one of the globs.
    pub fn matches(&self, text: &str) -> bool {
        if self.entries.iter().any(|(key, _)| key == text) {
            return true;
        }
        let compiled = self.compiled.get_or_init(|| {
            let alternatives: Vec<String> = self.entries.iter().map(|(_, p)| format!("(?:{p})")).collect();
            match regex::Regex::new(&alternatives.join("|")) {
                Ok(together) => CompiledGlobs::Together(together),
                Err(_) => CompiledGlobs::Apart(self.entries.iter().filter_map(|(_, p)| regex::Regex::new(p).ok()).collect()),
            }
        });
        match compiled {
            CompiledGlobs::Together(re) => re.is_match(text),
            CompiledGlobs::Apart(res) => res.iter().any(|re| re.is_match(text)),
        }
    }
}

/// One `welcomelist_from_rcvd` address: its glob, compiled, and the relays that vouch for it.
#[derive(Debug, Clone)]
pub struct RcvdListEntry {
    pub addr: String,
    pub re: regex::Regex,
    pub domains: Vec<String>,
}

/// An address-list glob as `Conf::Parser::add_to_addrlist` compiles it: `*` any run, `?` one
/// character, everything else literal, anchored at both ends; in `regex` syntax (always valid).
fn addr_glob(addr: &str) -> String {
    let mut re = String::from("^");
    for c in addr.chars() {
        match c {
            '\0' | '\\' | '(' => re.push('_'),
            '*' if re.ends_with(".*") => {}
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

/// Settings this engine reads or knows to be irrelevant to scoring; other keywords get a note.
const IGNORED_KEYWORDS: &[&str] = &[
    "loadplugin", "tryplugin", "report", "clear_report_template", "report_contact", "report_safe", "unsafe_report",
    "clear_unsafe_report_template", "add_header", "remove_header", "clear_headers", "use_bayes", "bayes_auto_learn",
    "lock_method", "ok_languages", "trusted_networks",
    "internal_networks", "msa_networks", "clear_trusted_networks", "clear_internal_networks", "dns_available",
    "skip_rbl_checks", "whitelist_from", "welcomelist_from", "blacklist_from", "blocklist_from", "def_whitelist_from_rcvd",
    "def_welcomelist_from_rcvd", "whitelist_from_rcvd", "welcomelist_from_rcvd", "def_whitelist_auth", "def_welcomelist_auth",
    "whitelist_auth", "welcomelist_auth", "whitelist_from_spf", "def_whitelist_from_spf", "whitelist_from_dkim",
    "def_whitelist_from_dkim", "welcomelist_from_dkim", "def_welcomelist_from_dkim", "welcomelist_from_spf",
    "def_welcomelist_from_spf", "unwhitelist_from", "unwelcomelist_from", "whitelist_to", "welcomelist_to", "more_spam_to",
    "all_spam_to", "blacklist_to", "blocklist_to", "uridnsbl", "urirhsbl", "urirhssub", "uridnssub", "urinsrhsbl",
    "urinsrhssub", "urifullnsrhsbl", "urifullnsrhssub", "uridnsbl_skip_domain", "uridnsbl_max_domains", "askdns",
    "hashbl_acl_freemail", "hashbl_acl_email", "hashbl_ignore", "hashbl_email_domain_alias", "hashbl_email_regex",
    "hashbl_email_welcomelist", "hashbl_email_whitelist", "url_shortener", "url_shortener_get",
    "freemail_import_welcomelist_auth", "freemail_import_whitelist_auth", "freemail_import_def_welcomelist_auth",
    "freemail_import_def_whitelist_auth", "freemail_max_body_emails", "freemail_max_body_freemails",
    "freemail_skip_when_over_max", "freemail_skip_bulk_envfrom", "dkim_minimum_key_bits", "adsp_override",
    "envelope_sender_header", "bayes_ignore_header", "bayes_stopword_de", "bayes_stopword_en", "bayes_stopword_es",
    "bayes_stopword_fr", "bayes_stopword_it", "bayes_stopword_nl", "bayes_stopword_pl", "bayes_stopword_pt",
    "bayes_stopword_ru", "bayes_stopword_sv", "bayes_stopword_ro", "bayes_stopword_tr", "bayes_stopword_uk",
    "bayes_stopword_cs", "bayes_stopword_pt_BR", "shortcircuit", "dns_block_rule", "enlist_uri_host", "delist_uri_host",
    "enlist_addrlist", "delist_addrlist", "blacklist_uri_host", "blocklist_uri_host", "whitelist_uri_host",
    "welcomelist_uri_host", "subjprefix", "rewrite_header", "required_hits", "dns_server", "dns_query_restriction",
    "clear_originating_ip_headers", "originating_ip_headers", "check_rbl_accreditor", "whitelist_subject",
    "welcomelist_subject", "blacklist_subject", "blocklist_subject", "header_from_different_domains",
    "welcomelist_bounce_relays", "whitelist_bounce_relays", "dmarc_save_reports", "pyzor_options", "razor_config",
    "spamcop_from_address", "spamcop_to_address", "bayes_path", "auto_whitelist_path", "auto_welcomelist_path",
    "body_part_scan_size", "rawbody_part_scan_size", "normalize_charset", "parse_dkim_uris", "util_rb_tld_file",
    "dns_local_ports_permit", "dns_local_ports_avoid", "report_hostname", "fold_headers", "allow_user_rules",
    "bayes_min_spam_num", "bayes_min_ham_num", "bayes_auto_learn_threshold_spam", "bayes_auto_learn_threshold_nonspam",
    "uri_block_cc", "uri_block_cont", "uri_block_cidr", "uri_block_exclude", "asn_lookup", "asn_prefix",
    "hashbl_email_domain", "tldhashbl", "check_rbl_from_domain",
];

fn bad(diags: &mut Vec<Diagnostic>, at: &Location, severity: Severity, message: impl Into<String>) {
    diags.push(Diagnostic { location: at.clone(), severity, message: message.into() });
}

/// Resolves `include` targets; returns the file's name (for locations) and text, or an error text.
pub type IncludeLoader<'a> = dyn Fn(&str, &str) -> Result<(String, String), String> + 'a;

#[derive(Clone, Copy, PartialEq)]
enum Cond {
    /// Inside a true branch.
    Active,
    /// Inside a false branch.
    Skipping,
    /// Inside a branch under a false ancestor: both its branches are skipped.
    Dead,
}

impl RawConfig {
    /// Parses one source file's text; `include` lines go through `loader`.
    pub fn parse_source(&mut self, file: &str, text: &str, env: &Environment, loader: &IncludeLoader<'_>, depth: usize) {
        let mut stack: Vec<Cond> = Vec::new();
        for (n, raw_line) in text.split('\n').enumerate() {
            let at = Location { file: file.to_string(), line: n as u32 + 1 };
            let line = strip_comment(raw_line.trim_end_matches('\r'));
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (key, value) = match line.split_once(|c: char| c.is_whitespace()) {
                Some((k, v)) => (k.to_ascii_lowercase().replace('-', "_"), v.trim()),
                None => (line.to_ascii_lowercase().replace('-', "_"), ""),
            };
            let active = stack.last().is_none_or(|c| *c == Cond::Active);
            match key.as_str() {
                "ifplugin" | "if" => {
                    if !active {
                        stack.push(Cond::Dead);
                        continue;
                    }
                    let truth = if key == "ifplugin" {
                        Ok(env.plugins.contains(value))
                    } else {
                        eval_condition(value, env)
                    };
                    match truth {
                        Ok(t) => stack.push(if t { Cond::Active } else { Cond::Skipping }),
                        Err(e) => {
                            bad(&mut self.diagnostics, &at, Severity::Error, format!("bad if condition: {e}"));
                            stack.push(Cond::Skipping);
                        }
                    }
                    continue;
                }
                "else" => {
                    match stack.last_mut() {
                        Some(c @ Cond::Active) => *c = Cond::Skipping,
                        Some(c @ Cond::Skipping) => *c = Cond::Active,
                        Some(Cond::Dead) => {}
                        None => bad(&mut self.diagnostics, &at, Severity::Error, "else without if"),
                    }
                    continue;
                }
                "endif" => {
                    if stack.pop().is_none() {
                        bad(&mut self.diagnostics, &at, Severity::Error, "endif without if");
                    }
                    continue;
                }
                _ => {}
            }
            if !active {
                continue;
            }
            // lang xx directive: localized descriptions; the engine reports in the default language.
            if key == "lang" {
                continue;
            }
            self.directive(&key, value, &at, env, loader, depth);
        }
        if !stack.is_empty() {
            let at = Location { file: file.to_string(), line: text.split('\n').count() as u32 };
            bad(&mut self.diagnostics, &at, Severity::Error, format!("{} if/ifplugin block(s) not closed by endif", stack.len()));
        }
    }

    fn directive(&mut self, key: &str, value: &str, at: &Location, env: &Environment, loader: &IncludeLoader<'_>, depth: usize) {
        let kind = match key {
            "header" => Some(DefKind::Header),
            "body" => Some(DefKind::Body),
            "rawbody" => Some(DefKind::RawBody),
            "full" => Some(DefKind::Full),
            "uri" => Some(DefKind::Uri),
            "meta" => Some(DefKind::Meta),
            "mimeheader" => Some(DefKind::MimeHeader),
            "uri_detail" => Some(DefKind::UriDetail),
            "urirhsbl" | "urirhssub" | "uridnsbl" | "uridnssub" | "urinsrhsbl" | "urinsrhssub" | "urifullnsrhsbl"
            | "urifullnsrhssub" | "askdns" | "hashbl_acl_freemail" => None,
            _ => None,
        };
        if let Some(kind) = kind {
            let Some((name, rest)) = value.split_once(|c: char| c.is_whitespace()) else {
                bad(&mut self.diagnostics, at, Severity::Error, format!("{key} rule without a definition: {value}"));
                return;
            };
            if !is_rule_name(name) {
                bad(&mut self.diagnostics, at, Severity::Error, format!("rule name {name:?} has invalid characters"));
                return;
            }
            self.defs.insert(name.to_string(), RawDef { kind, text: rest.trim().to_string(), at: at.clone() });
            return;
        }
        // DNS-list definitions create rules (they have tests and scores) that only run with network.
        if matches!(key, "urirhsbl" | "urirhssub" | "uridnsbl" | "uridnssub" | "urinsrhsbl" | "urinsrhssub" | "urifullnsrhsbl" | "urifullnsrhssub" | "askdns") {
            if let Some(name) = value.split_whitespace().next() {
                self.defs.insert(name.to_string(), RawDef { kind: DefKind::Other, text: format!("{key} {value}"), at: at.clone() });
            }
            return;
        }
        match key {
            "score" => {
                let mut parts = value.split_whitespace();
                let Some(name) = parts.next() else {
                    bad(&mut self.diagnostics, at, Severity::Error, "score without a rule name");
                    return;
                };
                let nums: Result<Vec<f64>, _> = parts.map(|p| p.trim_start_matches('(').trim_end_matches(')').parse::<f64>()).collect();
                match nums {
                    Ok(v) if v.len() == 1 => {
                        self.scores.insert(name.to_string(), [v[0]; 4]);
                    }
                    Ok(v) if v.len() == 4 => {
                        self.scores.insert(name.to_string(), [v[0], v[1], v[2], v[3]]);
                    }
                    Ok(v) => bad(&mut self.diagnostics, at, Severity::Error, format!("score for {name} has {} values; expected 1 or 4", v.len())),
                    Err(_) => bad(&mut self.diagnostics, at, Severity::Error, format!("score for {name} is not a number: {value}")),
                }
            }
            "describe" => {
                let (name, text) = value.split_once(|c: char| c.is_whitespace()).unwrap_or((value, ""));
                self.describes.insert(name.to_string(), text.trim().to_string());
            }
            "tflags" => {
                let (name, text) = value.split_once(|c: char| c.is_whitespace()).unwrap_or((value, ""));
                self.tflags.insert(name.to_string(), text.trim().to_string());
            }
            "priority" => {
                let (name, text) = value.split_once(|c: char| c.is_whitespace()).unwrap_or((value, ""));
                match text.trim().parse::<i32>() {
                    Ok(p) => {
                        self.priorities.insert(name.to_string(), p);
                    }
                    Err(_) => bad(&mut self.diagnostics, at, Severity::Error, format!("priority for {name} is not an integer: {text}")),
                }
            }
            "replace_tag" | "replace_pre" | "replace_inter" | "replace_post" => {
                let (name, text) = value.split_once(|c: char| c.is_whitespace()).unwrap_or((value, ""));
                let map = match key {
                    "replace_tag" => &mut self.replace_tag,
                    "replace_pre" => &mut self.replace_pre,
                    "replace_inter" => &mut self.replace_inter,
                    _ => &mut self.replace_post,
                };
                map.insert(name.to_string(), text.trim().to_string());
            }
            "replace_rules" => self.replace_rules.extend(value.split_whitespace().map(str::to_string)),
            "replace_start" | "replace_end" => {
                if value != if key == "replace_start" { "<" } else { ">" } {
                    bad(&mut self.diagnostics, at, Severity::Warning, format!("{key} other than the default is not supported"));
                }
            }
            "ok_locales" => self.ok_locales = Some(value.split_whitespace().map(str::to_string).collect()),
            "freemail_domains" => self.freemail_domains.extend(value.split_whitespace().map(|d| d.to_ascii_lowercase())),
            "freemail_whitelist" | "freemail_welcomelist" => {
                self.freemail_welcomelist.extend(value.split_whitespace().map(|d| d.to_ascii_lowercase()))
            }
            "util_rb_tld" | "util_rb_2tld" | "util_rb_3tld" => {
                let labels = match key {
                    "util_rb_tld" => 1,
                    "util_rb_2tld" => 2,
                    _ => 3,
                };
                let names: Vec<&str> = value.split_whitespace().collect();
                if names.is_empty() || names.iter().any(|n| n.split('.').count() != labels || n.split('.').any(str::is_empty)) {
                    bad(&mut self.diagnostics, at, Severity::Error, format!("{key} needs names of {labels} label(s): {value}"));
                    return;
                }
                let set = match labels {
                    1 => &mut self.registry.tlds,
                    2 => &mut self.registry.two_level,
                    _ => &mut self.registry.three_level,
                };
                // SpamAssassin lowercases through idn_to_ascii; Unicode labels are kept as UTF-8
                set.extend(names.iter().map(|n| n.to_lowercase()));
            }
            "redirector_pattern" => self.redirector_patterns.push((value.to_string(), at.clone())),
            "originating_ip_headers" => self.originating_ip_headers.extend(value.split_whitespace().map(str::to_string)),
            "clear_originating_ip_headers" => self.originating_ip_headers.clear(),
            "welcomelist_from" | "whitelist_from" | "blocklist_from" | "blacklist_from" | "welcomelist_allows_relays" | "whitelist_allows_relays"
            | "unwelcomelist_from" | "unwhitelist_from" | "unblocklist_from" | "unblacklist_from" | "welcomelist_to" | "whitelist_to"
            | "blocklist_to" | "blacklist_to" | "more_spam_to" | "all_spam_to" => {
                // the list is named after the current spelling of the setting
                let remove = key.starts_with("un");
                let list = key.trim_start_matches("un").replace("whitelist", "welcomelist").replace("blacklist", "blocklist");
                let entries = self.addr_lists.entry(list).or_default();
                for addr in value.split_whitespace().map(str::to_lowercase) {
                    if remove {
                        entries.remove(&addr);
                    } else {
                        let glob = addr_glob(&addr);
                        entries.set(addr, glob);
                    }
                }
            }
            // the whole value is one pattern, matched anywhere in the lowercased Subject
            "welcomelist_subject" | "whitelist_subject" | "blocklist_subject" | "blacklist_subject" => {
                let list = key.replace("whitelist", "welcomelist").replace("blacklist", "blocklist");
                let value = value.to_lowercase();
                let mut re = String::new();
                for c in value.chars() {
                    match c {
                        '*' if re.ends_with(".*") => {}
                        '*' => re.push_str(".*"),
                        '?' => re.push('.'),
                        c => re.push_str(&regex::escape(&c.to_string())),
                    }
                }
                self.addr_lists.entry(list).or_default().set(value, re);
            }
            "welcomelist_from_rcvd" | "whitelist_from_rcvd" | "def_welcomelist_from_rcvd" | "def_whitelist_from_rcvd" => match value.split_whitespace().collect::<Vec<_>>()[..] {
                [addr, domain] => {
                    let list = key.replace("whitelist", "welcomelist");
                    let (addr, domain) = (addr.to_lowercase(), domain.to_lowercase());
                    let entries = self.rcvd_lists.entry(list).or_default();
                    match entries.iter_mut().find(|e| e.addr == addr) {
                        Some(e) => e.domains.push(domain),
                        None => entries.push(RcvdListEntry { re: regex::Regex::new(&addr_glob(&addr)).expect("escaped glob is a valid regex"), addr, domains: vec![domain] }),
                    }
                }
                _ => bad(&mut self.diagnostics, at, Severity::Error, format!("{key} needs an address and a relay domain: {value}")),
            },
            "unwelcomelist_from_rcvd" | "unwhitelist_from_rcvd" => {
                for addr in value.split_whitespace().map(str::to_lowercase) {
                    for list in ["welcomelist_from_rcvd", "def_welcomelist_from_rcvd"] {
                        self.rcvd_lists.entry(list.into()).or_default().retain(|e| e.addr != addr);
                    }
                }
            }
            // SpamAssassin 4.0.1 has no delist_addrlist (it is ignored, as here)
            "enlist_addrlist" => match value.strip_prefix('(').and_then(|v| v.split_once(')')) {
                Some((list, addrs)) if !list.is_empty() && addrs.starts_with(char::is_whitespace) => {
                    let entries = self.addr_lists.entry(list.to_string()).or_default();
                    for addr in addrs.split_whitespace().map(str::to_lowercase) {
                        let glob = addr_glob(&addr);
                        entries.set(addr, glob);
                    }
                }
                _ => bad(&mut self.diagnostics, at, Severity::Error, format!("{key} needs (LISTNAME) and addresses: {value}")),
            },
            "required_score" => match value.parse::<f64>() {
                Ok(v) => self.required_score = Some(v),
                Err(_) => bad(&mut self.diagnostics, at, Severity::Error, format!("required_score is not a number: {value}")),
            },
            "require_version" => {
                if let Ok(v) = value.parse::<f64>() {
                    if (v - env.version).abs() > 0.0000005 {
                        bad(&mut self.diagnostics, at, Severity::Warning, format!("file requires version {value}, this engine emulates {:.6}", env.version));
                    }
                }
            }
            "include" => {
                if depth > 8 {
                    bad(&mut self.diagnostics, at, Severity::Error, "include nested too deeply");
                    return;
                }
                match loader(&at.file, value) {
                    Ok((name, text)) => self.parse_source(&name, &text, env, loader, depth + 1),
                    Err(e) => bad(&mut self.diagnostics, at, Severity::Error, format!("cannot include {value}: {e}")),
                }
            }
            "trusted_networks" | "internal_networks" | "msa_networks" => bad(
                &mut self.diagnostics,
                at,
                Severity::Note,
                format!("{key} is not applied: relays are trusted up to the first public, unauthenticated hop, as SpamAssassin infers without it"),
            ),
            k if IGNORED_KEYWORDS.contains(&k) || k.starts_with("bayes_") || k.starts_with("dkim_") || k.starts_with("spf_") || k.starts_with("txrep_") || k.starts_with("auto_") || k.starts_with("dns_") || k.starts_with("pyzor_") || k.starts_with("razor_") || k.starts_with("dcc_") || k.starts_with("uridnsbl_") || k.starts_with("freemail_") || k.starts_with("hashbl_") || k.starts_with("shortcircuit") || k.starts_with("def_") || k.starts_with("url_shortener") => {}
            _ => bad(&mut self.diagnostics, at, Severity::Note, format!("directive {key} is not used by this engine")),
        }
    }
}

pub fn is_rule_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty() && b.len() <= 100 && !b[0].is_ascii_digit() && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Removes an unescaped `#` comment and unescapes `\#`, as SpamAssassin does.
fn strip_comment(line: &str) -> String {
    let b = line.as_bytes();
    let mut end = b.len();
    for i in 0..b.len() {
        if b[i] == b'#' && (i == 0 || b[i - 1] != b'\\') {
            end = i;
            break;
        }
    }
    line[..end].replace("\\#", "#")
}

fn eval_condition(text: &str, env: &Environment) -> Result<bool, String> {
    let e = expr::parse(text)?;
    let mut names = Vec::new();
    e.names(&mut names);
    for n in &names {
        env.word_value(n)?;
    }
    Ok(e.eval(&|w| env.word_value(w).unwrap_or(0.0)) != 0.0)
}

/// Expands `<TAG>` references as the ReplaceTags plugin does (up to five passes).
pub fn replace_tags(pattern: &str, cfg: &RawConfig) -> String {
    let mut re = pattern.to_string();
    let mut passes = 0;
    loop {
        let take = |re: &mut String, what: &str| -> Option<String> {
            let needle = format!("<{what} ");
            let start = re.find(&needle)?;
            let end = re[start..].find('>')? + start;
            let name = re[start + needle.len()..end].to_string();
            re.replace_range(start..=end, "");
            Some(name)
        };
        let pre = take(&mut re, "pre");
        let post = take(&mut re, "post");
        let inter = take(&mut re, "inter");
        // split(/(<[^<>]+>)/): text pieces and tag pieces alternate; trailing empty pieces are dropped
        let mut pieces: Vec<String> = Vec::new();
        let bytes = re.as_bytes();
        let mut last = 0;
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'<' {
                if let Some(rel) = re[i + 1..].find(['<', '>']) {
                    let j = i + 1 + rel;
                    if bytes[j] == b'>' && j > i + 1 {
                        pieces.push(re[last..i].to_string());
                        pieces.push(re[i..=j].to_string());
                        last = j + 1;
                        i = j + 1;
                        continue;
                    }
                }
            }
            i += 1;
        }
        pieces.push(re[last..].to_string());
        while pieces.last().is_some_and(|p| p.is_empty()) {
            pieces.pop();
        }
        let is_tag = |p: &str| p.starts_with('<') && p.ends_with('>') && p.len() > 2;
        if let Some(v) = pre.as_ref().and_then(|n| cfg.replace_pre.get(n)).filter(|v| !v.is_empty()) {
            for p in pieces.iter_mut().filter(|p| is_tag(p)) {
                *p = format!("{v}{p}");
            }
        }
        if let Some(v) = post.as_ref().and_then(|n| cfg.replace_post.get(n)).filter(|v| !v.is_empty()) {
            for p in pieces.iter_mut() {
                if let Some(s) = p.find('<').filter(|_| p.ends_with('>')) {
                    if is_tag(&p[s..]) {
                        *p = format!("{p}{v}");
                    }
                }
            }
        }
        if let Some(v) = inter.as_ref().and_then(|n| cfg.replace_inter.get(n)).filter(|v| !v.is_empty()) {
            for p in pieces.iter_mut().filter(|p| p.is_empty()) {
                *p = v.clone();
            }
        }
        let mut again = false;
        for p in pieces.iter_mut() {
            let Some(s) = p.find('<') else { continue };
            let Some(e) = p[s..].find('>').map(|e| e + s) else { continue };
            let tag = p[s + 1..e].to_string();
            if tag.is_empty() {
                continue;
            }
            if let Some(rep) = cfg.replace_tag.get(&tag).filter(|r| !r.is_empty()) {
                *p = p.replace(&format!("<{tag}>"), rep);
                if rep.contains('<') && rep[rep.find('<').unwrap_or(0)..].contains('>') {
                    again = true;
                }
            }
        }
        re = pieces.concat();
        passes += 1;
        if !again || passes > 5 {
            break;
        }
    }
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> RawConfig {
        let mut c = RawConfig::default();
        c.parse_source("t.cf", text, &Environment::spamassassin_4_0_1(), &|_, _| Err("no includes".into()), 0);
        c
    }

    #[test]
    fn address_lists_match_keys_and_globs_as_one_pattern() {
        let c = parse(
            "enlist_addrlist (BANKS) *@bank.example billing@*.pay.example\nenlist_addrlist (BANKS) x(y@odd.example\n\
             welcomelist_from friend@example.org *@trusted.example\nunwelcomelist_from *@trusted.example\n\
             blocklist_subject buy * now\n",
        );
        let banks = &c.addr_lists["BANKS"];
        assert!(banks.matches("alerts@bank.example"));
        assert!(banks.matches("billing@eu.pay.example"));
        assert!(!banks.matches("alerts@bank.example.evil"), "anchored at both ends");
        assert!(!banks.matches("billing@pay.example"));
        // SpamAssassin turns `(` into `_` in the glob; the key itself still matches as written
        assert!(banks.matches("x(y@odd.example"));
        assert!(banks.matches("x_y@odd.example"));
        let welcome = &c.addr_lists["welcomelist_from"];
        assert!(welcome.matches("friend@example.org"));
        assert!(!welcome.matches("someone@trusted.example"), "removed by unwelcomelist_from");
        assert!(c.addr_lists["blocklist_subject"].matches("please buy cheap pills now!"));
        assert!(!c.addr_lists["blocklist_subject"].matches("buy later"));
    }

    #[test]
    fn conditionals_follow_plugins_and_version() {
        let c = parse(
            "ifplugin Mail::SpamAssassin::Plugin::FreeMail\nbody A /a/\nelse\nbody B /b/\nendif\n\
             if (version >= 5.000000)\nbody C /c/\nendif\nif !plugin(Mail::SpamAssassin::Plugin::Nope)\nbody D /d/ # comment\nendif\n",
        );
        assert!(c.defs.contains_key("A"));
        assert!(!c.defs.contains_key("B"));
        assert!(!c.defs.contains_key("C"));
        assert_eq!(c.defs["D"].text, "/d/");
        assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    }

    #[test]
    fn bad_lines_become_diagnostics_with_line_numbers() {
        let c = parse("score X abc\nbody\nif (\nendif\nendif\n");
        let lines: Vec<u32> = c.diagnostics.iter().map(|d| d.location.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 5]);
    }

    #[test]
    fn replace_tags_expand_with_inter() {
        let mut c = parse("replace_tag A a\nreplace_tag B b\nreplace_inter SP [\\s]\n");
        c.replace_rules.insert("X".into());
        assert_eq!(replace_tags("<inter SP><A><B>", &c), "[\\s]a[\\s]b");
        assert_eq!(replace_tags("x<A>y", &c), "xay");
    }
}
