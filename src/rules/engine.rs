//! Compiled rules and per-message scoring.

use std::collections::{HashMap, HashSet};

use super::rule_groups::{GroupMatches, RuleGroups};
use super::evals::freemail_body::{AddressStripper, ReplyToCheck};
use super::expr::{self, Expr};
use super::header_slots::{HeaderRequests, HeaderSlot, MimeHeaderSlot};
use super::message::MessageView;
use super::parse::{self, DefKind, Environment, IncludeLoader, RawConfig};
use super::perl_regex::{self, Matcher};
use super::prefilter::{Candidates, Half, RulePrefilter};
use super::scoring_pool::ScoringPool;
use super::split_scoring::SplitScoring;
use super::{Diagnostic, Location, Severity};

/// Largest message scored in full; the rest is cut off (spamc's default limit is 500 KiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 512 * 1024;

#[derive(Debug, Clone)]
pub enum Target {
    /// `header NAME Request =~ /re/`, `Request` with its modifiers (`From:addr`), answered
    /// through `slot`.
    Header { request: String, slot: HeaderSlot, negate: bool, if_unset: Option<Vec<u8>> },
    Body,
    RawBody,
    Full,
    Uri,
    /// `mimeheader NAME Request =~ /re/`: the header of each MIME node in turn.
    MimeHeader { request: super::mime_header::MimeHeaderRequest, slot: MimeHeaderSlot, negate: bool, if_unset: Option<Vec<u8>> },
}

#[derive(Debug)]
pub enum RuleBody {
    Pattern { target: Target, matcher: Matcher },
    /// `header NAME exists:Header` (or its negation).
    Exists { header: String, slot: HeaderSlot, negate: bool },
    Meta { expr: Expr, deps: Vec<usize> },
    /// A natively implemented `eval:` function; `pattern` is its regex argument, compiled at load.
    Eval { function: String, args: Vec<String>, pattern: Option<super::evals::ArgPattern> },
    /// Parsed but not run; never hits.
    Unsupported { kind: String, reason: String },
}

#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub body: RuleBody,
    /// Score sets 0..3 (Bayes off/network off, network on, Bayes on, both).
    pub scores: [f64; 4],
    pub describe: Option<String>,
    pub tflags: Vec<String>,
    pub priority: i32,
    pub location: Location,
    /// The rule runs exactly as SpamAssassin runs it, and so do all rules it depends on.
    pub fully_supported: bool,
    /// The definition keyword (`header`, `body`, ... `meta`) for reports.
    pub kind: &'static str,
    /// The pattern or expression as written (after ReplaceTags), for the Rspamd export.
    pub source_text: String,
    /// `tflags` decoded once at load, so scoring compares no strings.
    pub(super) flags: Flags,
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Flags {
    pub(super) multiple: bool,
    pub(super) nosubject: bool,
    net: bool,
    maxhits: usize,
}

impl Rule {
    pub fn has_tflag(&self, flag: &str) -> bool {
        self.tflags.iter().any(|f| f == flag)
    }

    fn decode_flags(tflags: &[String]) -> Flags {
        let has = |f: &str| tflags.iter().any(|t| t == f);
        Flags {
            multiple: has("multiple"),
            nosubject: has("nosubject"),
            net: has("net"),
            maxhits: tflags.iter().find_map(|f| f.strip_prefix("maxhits=").and_then(|n| n.parse().ok())).filter(|n| *n > 0).unwrap_or(usize::MAX),
        }
    }
}

/// What the milter knows from the network, given to the engine instead of looked up by it.
#[derive(Debug, Clone, Default)]
pub struct NetworkFacts {
    /// Network tests ran: use score set 1 and let `tflags net` rules count.
    pub network_checked: bool,
    /// Names of network rules that hit (e.g. DNSBL results computed by the caller).
    pub hits: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    pub name: String,
    pub score: f64,
    pub describe: String,
    /// How often the rule matched (more than 1 only for `tflags multiple`).
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    pub score: f64,
    pub required: f64,
    pub is_spam: bool,
    pub hits: Vec<Hit>,
    /// `__` sub-rules that hit, for debugging meta rules.
    pub subrule_hits: Vec<String>,
    /// The message was longer than the size cap and only its start was scored.
    pub truncated: bool,
}

/// A compiled rule set. Immutable after loading, so an `Arc<RuleSet>` can be shared by every
/// milter connection and swapped whole on reload.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub index: HashMap<String, usize>,
    /// Per score set (0, 1), the metas that can count in it, in dependency order, each with its
    /// code in `meta_code` (whose numbers index `meta_consts`).
    metas: [Vec<MetaStep>; 2],
    meta_code: Vec<expr::Code>,
    meta_consts: Vec<f64>,
    pub required_score: f64,
    pub freemail_domains: HashSet<String>,
    /// The wildcard `freemail_domains` (`*` a run of non-dots, `?` one character) as one
    /// pattern anchored at the end of an address, compiled once at load.
    pub freemail_wildcards: Option<regex::Regex>,
    pub freemail_welcomelist: HashSet<String>,
    /// `ok_locales`, `all` when unset.
    pub ok_locales: Vec<String>,
    /// Rules calling FreeMail's `check_freemail_replyto`, whose body read rewrites the body
    /// lines later body rules see (`evals::freemail_body`).
    freemail_replyto_checks: Vec<(usize, ReplyToCheck)>,
    /// That rewrite's patterns, compiled for the TLD list on the first message that needs them.
    address_stripper: std::sync::OnceLock<AddressStripper>,
    pub max_message_size: usize,
    /// TLD registry and redirector patterns, shared with each message's view.
    pub uri_context: std::sync::Arc<super::uri::UriContext>,
    /// The raw definitions after conditionals, for the Rspamd export.
    pub raw: RawConfig,
    /// Which pattern rules a message's text rules out before their regexes run.
    prefilter: RulePrefilter,
    /// The body rules the prefilter cannot filter, and the header and mimeheader rules by the
    /// request they read, matched a group of patterns at a time.
    pub(super) rule_groups: RuleGroups,
    /// Every header request of the rules (and the evals' fixed ones), numbered; each message's
    /// view answers them into per-message slots.
    header_requests: std::sync::Arc<HeaderRequests>,
    /// Per score set (0 without network tests, 1 with them): the rules `count_rule` may count,
    /// in rule order. Scoring walks this list, not every rule: a meta (run in `finish`), a rule
    /// scored 0 in the set or a network rule without network results never counts, and reading
    /// one (a `Rule` is ~480 bytes) only to learn that cost a cache miss per rule per message,
    /// for about 1,200 of Debian's 2,924 rules.
    pub(super) countable: [Vec<u32>; 2],
}

/// How many rules run between two looks at the deadline.
pub(super) const RULES_PER_CLOCK_READ: usize = 32;

/// One message as every rule reads it, built once per scoring (`RuleSet::prepare`). Owned, not
/// borrowed, so a scoring split across threads can hand it to helpers that outlive the call.
pub(super) struct RuleInputs {
    view: MessageView,
    candidates: Candidates,
    /// The rule groups' scans (of the rendered lines, of a header text), each made by the first
    /// rule that needs it.
    group_matches: GroupMatches,
    facts: NetworkFacts,
    /// 0 without network tests, 1 with them.
    score_set: usize,
    /// The priority from which body rules see FreeMail's rewritten lines, when the check reads
    /// the body.
    rewritten_from: Option<i32>,
    /// Those lines, made by the first rule that needs them (on whichever thread runs it).
    rewritten_body: std::sync::OnceLock<Vec<Vec<u8>>>,
    truncated: bool,
}

impl RuleInputs {
    /// Runs one half of the literal prefilter now (see `prefilter::Half`), unless it ran: a
    /// scoring shared with a helper makes one half on each thread before counting rules.
    pub(super) fn prefilter(&self, set: &RuleSet, half: Half) {
        self.candidates.prepare(half, &set.prefilter, &self.view);
    }

    /// 0 without network tests, 1 with them.
    pub(super) fn score_set(&self) -> usize {
        self.score_set
    }
}

/// One meta rule as scoring runs it: no visit to the rule itself (a cache miss per meta). Twelve
/// bytes: every message reads each of a score set's ~1,000 steps.
#[derive(Debug)]
struct MetaStep {
    rule: u32,
    code_start: u32,
    code_end: u32,
}

const _: () = assert!(std::mem::size_of::<MetaStep>() == 12);

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RuleSet>();
};

impl RuleSet {
    /// Parses sources (name, text) in order; `include` lines go through `loader`.
    pub fn from_sources(sources: &[(String, String)], env: &Environment, loader: &IncludeLoader<'_>) -> (RuleSet, Vec<Diagnostic>) {
        let mut raw = RawConfig::default();
        for (name, text) in sources {
            raw.parse_source(name, text, env, loader, 0);
        }
        Self::build(raw)
    }

    /// Parses one source with no includes (tests, `rules test` on a single file).
    pub fn from_text(name: &str, text: &str) -> (RuleSet, Vec<Diagnostic>) {
        Self::from_sources(&[(name.to_string(), text.to_string())], &Environment::spamassassin_4_0_1(), &|_, f| Err(format!("include of {f} is not available here")))
    }

    fn build(mut raw: RawConfig) -> (RuleSet, Vec<Diagnostic>) {
        let mut diags = std::mem::take(&mut raw.diagnostics);
        let mut rules = Vec::with_capacity(raw.defs.len());
        let mut index = HashMap::new();
        // Regex compilation dominates load time and each rule compiles on its own: the cores take
        // definitions one at a time from a shared counter, longest text first (a few huge patterns
        // cost as much as hundreds of small ones; with equal chunks one core finished far later
        // than the other), and results are put back in definition order.
        let defs: Vec<(&String, &parse::RawDef)> = raw.defs.iter().collect();
        let texts: Vec<String> = defs.iter().map(|(name, def)| if raw.replace_rules.contains(*name) { parse::replace_tags(&def.text, &raw) } else { def.text.clone() }).collect();
        let mut by_cost: Vec<usize> = (0..defs.len()).collect();
        by_cost.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut slots: Vec<Option<(RuleBody, Vec<Diagnostic>)>> = Vec::with_capacity(defs.len());
        slots.resize_with(defs.len(), || None);
        std::thread::scope(|scope| {
            let work = || {
                let mut done = Vec::new();
                while let Some(&i) = by_cost.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                    let (name, def) = defs[i];
                    let mut local = Vec::new();
                    let body = compile_def(name, def.kind, &texts[i], &def.at, &mut local);
                    done.push((i, body, local));
                }
                done
            };
            let handles: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
            let mut all = work();
            for h in handles {
                all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
            for (i, body, local) in all {
                slots[i] = Some((body, local));
            }
        });
        let compiled = slots.into_iter().map(|s| s.expect("every definition was compiled"));
        for (((name, def), text), (body, mut local)) in defs.into_iter().zip(texts).zip(compiled) {
            diags.append(&mut local);
            let tflags: Vec<String> = raw.tflags.get(name).map(|t| t.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
            let nice = tflags.iter().any(|f| f == "nice");
            let scores = raw.scores.get(name).copied().unwrap_or_else(|| {
                let s = if name.starts_with("T_") { 0.01 } else { 1.0 };
                [if nice { -s } else { s }; 4]
            });
            let flags = Rule::decode_flags(&tflags);
            index.insert(name.clone(), rules.len());
            rules.push(Rule {
                name: name.clone(),
                body,
                scores,
                describe: raw.describes.get(name).cloned(),
                tflags,
                priority: raw.priorities.get(name).copied().unwrap_or(0),
                location: def.at.clone(),
                fully_supported: true,
                kind: def.kind.keyword(),
                source_text: text,
                flags,
            });
        }
        // resolve meta dependencies
        let mut deps_of: Vec<Vec<usize>> = vec![Vec::new(); rules.len()];
        for (i, rule) in rules.iter_mut().enumerate() {
            if let RuleBody::Meta { expr, deps } = &mut rule.body {
                let mut names = Vec::new();
                expr.names(&mut names);
                for n in names {
                    if let Some(&j) = index.get(&n) {
                        deps.push(j);
                    }
                }
                deps_of[i] = deps.clone();
                // scoring evaluates every meta on every message: no name lookups there
                expr.resolve(&|n| index.get(n).copied());
            }
        }
        let mut metas: [Vec<MetaStep>; 2] = Default::default();
        let (mut meta_code, mut meta_consts) = (Vec::new(), Vec::new());
        for i in topo_order(&rules, &deps_of, &mut diags) {
            if let RuleBody::Meta { expr, .. } = &rules[i].body {
                let mut code = Vec::new();
                expr.compile(&mut code, &mut meta_consts);
                let step = || MetaStep { rule: i as u32, code_start: meta_code.len() as u32, code_end: (meta_code.len() + code.len()) as u32 };
                for (set, steps) in metas.iter_mut().enumerate() {
                    // a meta scored 0 in a set is not run in it: it stays 0 there
                    if rules[i].scores[set] != 0.0 {
                        steps.push(step());
                    }
                }
                meta_code.append(&mut code);
            }
        }
        // a rule is fully supported when it and everything it depends on is supported
        let mut state = vec![0u8; rules.len()]; // 0 unknown, 1 visiting, 2 yes, 3 no
        fn supported(i: usize, rules: &[Rule], deps: &[Vec<usize>], state: &mut [u8]) -> bool {
            match state[i] {
                2 => return true,
                3 | 1 => return false,
                _ => {}
            }
            state[i] = 1;
            let mut ok = !matches!(rules[i].body, RuleBody::Unsupported { .. });
            for &d in &deps[i] {
                // a dependency SpamAssassin would not run (score 0) is fine: it is 0 on both sides
                if rules[d].scores[0] == 0.0 {
                    continue;
                }
                ok &= supported(d, rules, deps, state);
            }
            state[i] = if ok { 2 } else { 3 };
            ok
        }
        for i in 0..rules.len() {
            let ok = supported(i, &rules, &deps_of, &mut state);
            rules[i].fully_supported = ok;
        }
        let header_requests = std::sync::Arc::new(number_header_requests(&mut rules));
        let required_score = raw.required_score.unwrap_or(5.0);
        let uri_context = std::sync::Arc::new(super::uri::UriContext::new(raw.registry.clone(), &raw.redirector_patterns, &mut diags));
        let freemail_replyto_checks = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == DefKind::Header.keyword())
            .filter_map(|(i, r)| ReplyToCheck::from_definition(&r.source_text).map(|c| (i, c)))
            .collect();
        let countable = [0, 1].map(|set| {
            let network_checked = set == 1;
            (0..rules.len() as u32)
                .filter(|&i| {
                    let rule = &rules[i as usize];
                    !matches!(rule.body, RuleBody::Meta { .. }) && rule.scores[set] != 0.0 && (network_checked || !rule.flags.net)
                })
                .collect()
        });
        let may_count = may_count_in_either_set(&countable, rules.len());
        let prefilter = RulePrefilter::build(&rules, &may_count);
        let rule_groups = RuleGroups::build(&rules, &may_count);
        let set = RuleSet {
            rules,
            index,
            metas,
            meta_code,
            meta_consts,
            required_score,
            freemail_domains: raw.freemail_domains.iter().cloned().collect(),
            freemail_wildcards: freemail_wildcards(&raw.freemail_domains),
            freemail_welcomelist: raw.freemail_welcomelist.iter().cloned().collect(),
            ok_locales: raw.ok_locales.clone().unwrap_or_else(|| vec!["all".to_string()]),
            freemail_replyto_checks,
            address_stripper: std::sync::OnceLock::new(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            uri_context,
            raw,
            prefilter,
            rule_groups,
            header_requests,
            countable,
        };
        (set, diags)
    }

    /// FreeMail's body address patterns, compiled for the TLD list on first use.
    pub(crate) fn address_stripper(&self) -> &AddressStripper {
        self.address_stripper.get_or_init(|| AddressStripper::new(&self.uri_context.registry.tlds))
    }

    /// Scores one message. Pure and bounded: the message is cut at `max_message_size`.
    pub fn score(&self, message: &[u8], facts: &NetworkFacts) -> Report {
        self.score_until(message, facts, None).expect("no deadline, no early stop")
    }

    /// [`RuleSet::score`] that gives up once `deadline` has passed (checked between rules), so
    /// a caller that stopped waiting (the milter's scoring timeout) gets its thread back.
    pub fn score_until(&self, message: &[u8], facts: &NetworkFacts, deadline: Option<std::time::Instant>) -> Option<Report> {
        let inputs = self.prepare(message, facts);
        let mut counts = vec![0f64; self.rules.len()];
        for (n, &i) in self.countable(inputs.score_set).iter().enumerate() {
            // Reading the clock costs ~20 ns: every `RULES_PER_CLOCK_READ` rules keeps it out of
            // the profile.
            if n % RULES_PER_CLOCK_READ == 0 && deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return None;
            }
            counts[i as usize] = self.count_rule(i as usize, &inputs);
        }
        Some(self.finish(counts, inputs.score_set, inputs.truncated))
    }

    /// [`RuleSet::score_until`] that shares the rules out with `pool`'s idle helper threads
    /// (`split_scoring`); on its own thread when no core is idle. Same report either way.
    pub fn score_on(self: &std::sync::Arc<Self>, pool: &ScoringPool, message: &[u8], facts: &NetworkFacts, deadline: Option<std::time::Instant>) -> Option<Report> {
        let scoring = pool.enter();
        if scoring.idle_helpers() == 0 {
            return self.score_until(message, facts, deadline);
        }
        let inputs = self.prepare(message, facts);
        let (score_set, truncated) = (inputs.score_set, inputs.truncated);
        let counts = SplitScoring::run(std::sync::Arc::clone(self), inputs, deadline, &scoring)?;
        Some(self.finish(counts, score_set, truncated))
    }

    /// What every rule of one message reads: the parsed message and what the prefilter left.
    fn prepare(&self, message: &[u8], facts: &NetworkFacts) -> RuleInputs {
        let truncated = message.len() > self.max_message_size;
        let message = if truncated { &message[..self.max_message_size] } else { message };
        let mut view = MessageView::parse(message);
        view.uri_context = std::sync::Arc::clone(&self.uri_context);
        view.use_header_requests(std::sync::Arc::clone(&self.header_requests));
        view.originating_ip_headers.clone_from(&self.raw.originating_ip_headers);
        let score_set = if facts.network_checked { 1 } else { 0 };
        let candidates = self.prefilter.candidates();
        // body rules from this priority on see the lines FreeMail's reply-to check rewrote
        let rewritten_from = self
            .freemail_replyto_checks
            .iter()
            .filter(|(i, check)| self.rules[*i].scores[score_set] != 0.0 && check.reads_body(&view, self))
            .map(|(i, _)| self.rules[*i].priority)
            .min();
        let group_matches = self.rule_groups.start();
        RuleInputs { view, candidates, group_matches, facts: facts.clone(), score_set, rewritten_from, rewritten_body: std::sync::OnceLock::new(), truncated }
    }

    /// The rules that may count in score set `set`, in rule order (see `countable`).
    pub(super) fn countable(&self, set: usize) -> &[u32] {
        &self.countable[set]
    }

    /// Per rule: it may count in score set 0 or 1 (is in either `countable` list), as the
    /// prefilter and the rule groups were built with.
    #[cfg(test)]
    pub(super) fn may_count_in_either_set(&self) -> Vec<bool> {
        may_count_in_either_set(&self.countable, self.rules.len())
    }

    /// Rule `i`'s hit count (0 when it did not hit). `i` is one of `countable(score_set)`: the
    /// score, network and meta checks were made once at load. Reads no other rule's result (metas
    /// run later, in `finish`), so rules can be counted in any order, on any thread.
    pub(super) fn count_rule(&self, i: usize, inputs: &RuleInputs) -> f64 {
        let view = &inputs.view;
        // before the rule itself is read: most pattern rules stop here
        if !inputs.candidates.possible(i, &self.prefilter, view) {
            return 0.0;
        }
        // nor is it read when its group's record settles it (as for most grouped rules)
        if let Some(count) = self.rule_groups.settled_count(i, &inputs.group_matches, view, inputs.rewritten_from) {
            return count;
        }
        let rule = &self.rules[i];
        let rewritten = || inputs.rewritten_body.get_or_init(|| self.address_stripper().scan(view, self).lines);
        let sees_rewritten_body = || inputs.rewritten_from.is_some_and(|p| rule.priority >= p);
        match &rule.body {
            RuleBody::Pattern { target, matcher } => {
                let body = (matches!(target, Target::Body) && sees_rewritten_body()).then(rewritten);
                // the groups scanned the rendered lines, not the rewritten ones
                let grouped = if body.is_none() { self.rule_groups.matching_lines(i, &inputs.group_matches, view.rendered_body()) } else { None };
                match grouped {
                    // not settled by the group (`settled_count` above): the pattern's own regex
                    // confirms or counts on the lines where its group says it may match
                    Some(lines) => run_pattern(rule, target, matcher, view, None, Some(lines)),
                    None => run_pattern(rule, target, matcher, view, body, inputs.candidates.lines(i, &self.prefilter, view)),
                }
            }
            RuleBody::Exists { slot, negate, .. } => f64::from(view.header(*slot).is_some() != *negate),
            RuleBody::Eval { function, args, pattern } => {
                let rewritten_body = (rule.kind == "body" && sees_rewritten_body()).then(|| rewritten().as_slice());
                super::evals::run(function, args, pattern.as_ref(), &super::evals::EvalText { kind: rule.kind, rewritten_body }, view, self)
            }
            // never countable
            RuleBody::Meta { .. } => 0.0,
            RuleBody::Unsupported { .. } => f64::from(inputs.facts.hits.iter().any(|h| h == &rule.name)),
        }
    }

    /// Runs the metas over every rule's count and sums the report.
    fn finish(&self, mut counts: Vec<f64>, set: usize, truncated: bool) -> Report {
        let mut stack = Vec::new();
        for meta in &self.metas[set] {
            let v = expr::run(&self.meta_code[meta.code_start as usize..meta.code_end as usize], &self.meta_consts, |j| counts[j], &mut stack);
            if v != 0.0 {
                counts[meta.rule as usize] = if v > 0.0 { v } else { 1.0 };
            }
        }
        let mut hits = Vec::new();
        let mut subrule_hits = Vec::new();
        let mut total = 0.0;
        for (i, rule) in self.rules.iter().enumerate() {
            if counts[i] == 0.0 {
                continue;
            }
            if rule.name.starts_with("__") {
                subrule_hits.push(rule.name.clone());
                continue;
            }
            let times = if rule.flags.multiple { counts[i].max(1.0) as u32 } else { 1 };
            let s = rule.scores[set];
            total += s * f64::from(times);
            hits.push(Hit { name: rule.name.clone(), score: s, describe: rule.describe.clone().unwrap_or_default(), count: times });
        }
        let score = (total * 1000.0).round() / 1000.0;
        Report { score, required: self.required_score, is_spam: score >= self.required_score, hits, subrule_hits, truncated }
    }

    /// Compiles every pattern still waiting for its first use (patterns compile lazily: see
    /// `perl_regex::Matcher`; so do the rule groups of `rule_groups`) and reports each
    /// pattern that does not compile, as `load` reports a syntax error. Lint calls it so it finds
    /// every error; `serve` calls it in the background after a load, so the first messages do not
    /// pay for compilation.
    pub fn compile_now(&self) -> Vec<Diagnostic> {
        // a group that does not compile is no error: its members run their own regexes
        self.rule_groups.compile_now();
        self.rules
            .iter()
            .filter_map(|r| match &r.body {
                RuleBody::Pattern { matcher, .. } | RuleBody::Eval { pattern: Some(super::evals::ArgPattern::Perl(matcher)), .. } => matcher.compile_now().err().map(|e| Diagnostic {
                    location: r.location.clone(),
                    severity: Severity::Error,
                    message: format!("invalid regexp for {} rule {}: {e}", r.kind, r.name),
                }),
                _ => None,
            })
            .collect()
    }

    /// Rules that never run here, with why (for `rules lint` and the compatibility report).
    pub fn unsupported(&self) -> impl Iterator<Item = (&Rule, &str, &str)> {
        self.rules.iter().filter_map(|r| match &r.body {
            RuleBody::Unsupported { kind, reason } => Some((r, kind.as_str(), reason.as_str())),
            _ => None,
        })
    }
}

fn count_in(matcher: &Matcher, multiple: bool, max: usize, hay: &[u8]) -> usize {
    if multiple { matcher.count(hay, max) } else { usize::from(matcher.is_match(hay)) }
}

/// Matches each line (or only `only`, the lines the prefilter left).
fn count_lines(matcher: &Matcher, multiple: bool, max: usize, lines: &[Vec<u8>], skip_first: bool, only: Option<&mut dyn Iterator<Item = usize>>) -> usize {
    let mut n = 0;
    let mut all = 0..lines.len();
    let numbers: &mut dyn Iterator<Item = usize> = only.unwrap_or(&mut all);
    for i in numbers.filter(|&i| !(skip_first && i == 0)) {
        n += count_in(matcher, multiple, max, &lines[i]);
        if n >= max {
            return max;
        }
    }
    n
}

/// `body`: the body lines to match instead of the rendered ones.
fn run_pattern(rule: &Rule, target: &Target, matcher: &Matcher, view: &MessageView, body: Option<&Vec<Vec<u8>>>, lines: Option<impl Iterator<Item = usize>>) -> f64 {
    let mut lines = lines;
    let multiple = rule.flags.multiple;
    let max = if multiple { rule.flags.maxhits } else { 1 };
    let n = match target {
        Target::Header { slot, negate, if_unset, .. } => {
            let value = view.header(*slot).or(if_unset.as_deref()).unwrap_or_default();
            if *negate { usize::from(!matcher.is_match(value)) } else { count_in(matcher, multiple, max, value) }
        }
        Target::Body => count_lines(matcher, multiple, max, body.unwrap_or(view.rendered_body()), rule.flags.nosubject, lines.as_mut().map(|l| l as &mut dyn Iterator<Item = usize>)),
        Target::RawBody => count_lines(matcher, multiple, max, view.decoded_body(), false, lines.as_mut().map(|l| l as &mut dyn Iterator<Item = usize>)),
        Target::Full => count_in(matcher, multiple, max, &view.full),
        Target::Uri => count_lines(matcher, multiple, max, view.uris(), false, lines.as_mut().map(|l| l as &mut dyn Iterator<Item = usize>)),
        // MIMEHeader's negated rules always hit in SpamAssassin 4.0.1: its match loop stops
        // before counting, so no part vetoes the final `return 1`
        Target::MimeHeader { negate: true, .. } => 1,
        Target::MimeHeader { slot, if_unset, .. } => view
            .mime_header(*slot)
            .iter()
            .map(|v| {
                let v = v.as_deref().or(if_unset.as_deref()).unwrap_or_default();
                count_in(matcher, multiple, max, v)
            })
            .find(|&n| n > 0)
            .unwrap_or(0),
    };
    n as f64
}

/// Per rule of `rule_count`: it is in either score set's `countable` list. What the prefilter
/// indexes and the rule groups group: a rule that can never count needs neither.
fn may_count_in_either_set(countable: &[Vec<u32>; 2], rule_count: usize) -> Vec<bool> {
    let mut may_count = vec![false; rule_count];
    for &i in countable.iter().flatten() {
        may_count[i as usize] = true;
    }
    may_count
}

/// Numbers the header requests of `rules` (setting each rule's slot) and of the evals.
fn number_header_requests(rules: &mut [Rule]) -> HeaderRequests {
    let mut requests = HeaderRequests::default();
    for rule in rules {
        match &mut rule.body {
            RuleBody::Pattern { target: Target::Header { request, slot, .. }, .. } => *slot = requests.register(request),
            RuleBody::Pattern { target: Target::MimeHeader { request, slot, .. }, .. } => *slot = requests.register_mime(request),
            RuleBody::Exists { header, slot, .. } => *slot = requests.register(header),
            _ => {}
        }
    }
    for request in super::evals::HEADER_REQUESTS {
        requests.register(request);
    }
    requests
}

fn freemail_wildcards(domains: &[String]) -> Option<regex::Regex> {
    let alternatives: Vec<String> = domains
        .iter()
        .filter(|d| d.contains('*') || d.contains('?'))
        .map(|d| {
            d.chars()
                .map(|c| match c {
                    '*' => "[^.]*".to_string(),
                    '?' => ".".to_string(),
                    c => regex::escape(&c.to_string()),
                })
                .collect()
        })
        .collect();
    if alternatives.is_empty() {
        return None;
    }
    regex::Regex::new(&format!("@(?:{})$", alternatives.join("|"))).ok()
}

fn topo_order(rules: &[Rule], deps: &[Vec<usize>], diags: &mut Vec<Diagnostic>) -> Vec<usize> {
    let mut order = Vec::new();
    let mut state = vec![0u8; rules.len()];
    fn visit(i: usize, deps: &[Vec<usize>], rules: &[Rule], state: &mut [u8], order: &mut Vec<usize>, diags: &mut Vec<Diagnostic>) {
        if state[i] == 2 {
            return;
        }
        if state[i] == 1 {
            diags.push(Diagnostic { location: rules[i].location.clone(), severity: Severity::Error, message: format!("meta rule {} depends on itself", rules[i].name) });
            return;
        }
        state[i] = 1;
        for &d in &deps[i] {
            visit(d, deps, rules, state, order, diags);
        }
        state[i] = 2;
        if matches!(rules[i].body, RuleBody::Meta { .. }) {
            order.push(i);
        }
    }
    for i in 0..rules.len() {
        visit(i, deps, rules, &mut state, &mut order, diags);
    }
    order
}

fn unsupported(kind: &str, reason: impl Into<String>) -> RuleBody {
    RuleBody::Unsupported { kind: kind.to_string(), reason: reason.into() }
}

fn compile_regex(name: &str, text: &str, at: &Location, diags: &mut Vec<Diagnostic>, kind: &str) -> Result<Matcher, RuleBody> {
    if text.contains("%{") {
        return Err(unsupported("capture template", "regex uses %{...} capture templates"));
    }
    match perl_regex::compile(text) {
        Ok(m) => Ok(m),
        Err(perl_regex::RegexError::Unsupported(what)) => Err(unsupported("regex feature", format!("regex uses {what}"))),
        Err(e) => {
            diags.push(Diagnostic { location: at.clone(), severity: Severity::Error, message: format!("invalid regexp for {kind} rule {name}: {e}") });
            Err(unsupported("invalid regex", e.to_string()))
        }
    }
}

fn compile_def(name: &str, kind: DefKind, text: &str, at: &Location, diags: &mut Vec<Diagnostic>) -> RuleBody {
    let kw = kind.keyword();
    if let Some(call) = text.strip_prefix("eval:").or_else(|| text.strip_prefix("rbleval:")) {
        let Some((function, args)) = parse_eval_call(call) else {
            diags.push(Diagnostic { location: at.clone(), severity: Severity::Error, message: format!("malformed eval call in {name}: {call}") });
            return unsupported("invalid eval", call.to_string());
        };
        if super::evals::is_supported(&function, &args) {
            return match super::evals::compile_arg_pattern(&function, &args) {
                Ok(pattern) => RuleBody::Eval { function, args, pattern },
                Err(super::evals::ArgPatternError::Unsupported(what)) => unsupported(&format!("{kw} eval:{function}"), format!("eval:{function}'s regex argument uses {what}")),
                Err(e) => {
                    diags.push(Diagnostic { location: at.clone(), severity: Severity::Error, message: format!("invalid regexp argument for {kw} rule {name}: {e}") });
                    unsupported("invalid eval regex", e.to_string())
                }
            };
        }
        return unsupported(&format!("{kw} eval:{function}"), format!("eval:{function} is not implemented natively"));
    }
    match kind {
        DefKind::Header => {
            if let Some(h) = text.strip_prefix("exists:") {
                let h = h.trim().trim_end_matches(':').to_string();
                return RuleBody::Exists { header: h, slot: HeaderSlot::default(), negate: false };
            }
            let Some(op) = text.find("=~").or_else(|| text.find("!~")) else {
                diags.push(Diagnostic { location: at.clone(), severity: Severity::Error, message: format!("invalid header test {name}: {text}") });
                return unsupported("invalid header", text.to_string());
            };
            let request = text[..op].trim().trim_end_matches(':').to_string();
            if request.is_empty() || !request.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-:".contains(&b)) {
                diags.push(Diagnostic { location: at.clone(), severity: Severity::Error, message: format!("invalid header name in {name}: {request}") });
                return unsupported("invalid header", text.to_string());
            }
            let negate = &text[op..op + 2] == "!~";
            let mut pat = text[op + 2..].trim().to_string();
            let mut if_unset = None;
            if let Some(p) = pat.rfind("[if-unset:") {
                if pat.ends_with(']') {
                    let v = pat[p + "[if-unset:".len()..pat.len() - 1].trim().to_string();
                    if_unset = Some(v.into_bytes());
                    pat = pat[..p].trim().to_string();
                }
            }
            if let Some(reason) = super::header_get::header_request_support(&request) {
                return unsupported("header pseudo-header/modifier", reason);
            }
            match compile_regex(name, &pat, at, diags, kw) {
                Ok(matcher) => RuleBody::Pattern { target: Target::Header { request, slot: HeaderSlot::default(), negate, if_unset }, matcher },
                Err(b) => b,
            }
        }
        DefKind::Body | DefKind::RawBody | DefKind::Full | DefKind::Uri => {
            let target = match kind {
                DefKind::Body => Target::Body,
                DefKind::RawBody => Target::RawBody,
                DefKind::Full => Target::Full,
                _ => Target::Uri,
            };
            match compile_regex(name, text, at, diags, kw) {
                Ok(matcher) => RuleBody::Pattern { target, matcher },
                Err(b) => b,
            }
        }
        DefKind::Meta => {
            if text.contains("rules_matching(") {
                return unsupported("meta rules_matching", "meta uses rules_matching()");
            }
            match expr::parse(text) {
                Ok(e) => RuleBody::Meta { expr: e, deps: Vec::new() },
                Err(e) => {
                    diags.push(Diagnostic { location: at.clone(), severity: Severity::Error, message: format!("invalid meta expression in {name}: {e}") });
                    unsupported("invalid meta", e)
                }
            }
        }
        DefKind::MimeHeader => {
            let Some(op) = text.find("=~").or_else(|| text.find("!~")) else {
                diags.push(Diagnostic { location: at.clone(), severity: Severity::Error, message: format!("invalid mimeheader test {name}: {text}") });
                return unsupported("invalid mimeheader", text.to_string());
            };
            let Some(request) = super::mime_header::MimeHeaderRequest::parse(text[..op].trim()) else {
                diags.push(Diagnostic { location: at.clone(), severity: Severity::Error, message: format!("invalid mimeheader name in {name}: {}", text[..op].trim()) });
                return unsupported("invalid mimeheader", text.to_string());
            };
            let negate = &text[op..op + 2] == "!~";
            let mut pat = text[op + 2..].trim().to_string();
            let mut if_unset = None;
            if let Some(p) = pat.rfind("[if-unset:") {
                if pat.ends_with(']') && pat[..p].ends_with(char::is_whitespace) {
                    if_unset = Some(pat[p + "[if-unset:".len()..pat.len() - 1].trim().as_bytes().to_vec());
                    pat = pat[..p].trim().to_string();
                }
            }
            match compile_regex(name, &pat, at, diags, kw) {
                Ok(matcher) => RuleBody::Pattern { target: Target::MimeHeader { request, slot: MimeHeaderSlot::default(), negate, if_unset }, matcher },
                Err(b) => b,
            }
        }
        DefKind::UriDetail => unsupported("uri_detail", "uri_detail rules (URIDetail plugin) are not implemented"),
        DefKind::Other => unsupported("dns list", format!("network list rule ({})", text.split_whitespace().next().unwrap_or(""))),
    }
}

/// `func('a', "b", 3)` -> ("func", ["a", "b", "3"]).
pub fn parse_eval_call(call: &str) -> Option<(String, Vec<String>)> {
    let call = call.trim();
    let open = call.find('(')?;
    let function = call[..open].trim().to_string();
    if function.is_empty() || !function.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') || !call.ends_with(')') {
        return None;
    }
    let inner = &call[open + 1..call.len() - 1];
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut had_any = false;
    for c in inner.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                had_any = true;
            }
            None if c == ',' => {
                args.push(std::mem::take(&mut cur).trim().to_string());
                had_any = false;
            }
            None => {
                if !c.is_whitespace() {
                    had_any = true;
                }
                cur.push(c);
            }
        }
    }
    if had_any || !cur.trim().is_empty() {
        args.push(cur.trim().to_string());
    }
    Some((function, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(rules: &str, msg: &str) -> Vec<String> {
        let (set, diags) = RuleSet::from_text("t.cf", rules);
        assert!(diags.iter().all(|d| d.severity != Severity::Error), "{diags:?}");
        set.score(msg.as_bytes(), &NetworkFacts::default()).hits.into_iter().map(|h| h.name).collect()
    }

    #[test]
    fn header_body_meta_and_default_scores() {
        let rules = "header SUBJ Subject =~ /^hello$/\nbody __B /cheap/\nbody __C /pills/\nmeta BOTH __B && __C\nheader MISSING X-Nope =~ /./ [if-unset: yes]\nheader NOT_CC Cc !~ /x/\nbody T_TEST /cheap/\n";
        let got = hits(rules, "Subject: hello\n\ncheap\n\npills\n");
        assert_eq!(got, vec!["BOTH", "MISSING", "NOT_CC", "SUBJ", "T_TEST"]);
        let (set, _) = RuleSet::from_text("t.cf", rules);
        let r = set.score(b"Subject: hello\n\ncheap pills\n", &NetworkFacts::default());
        assert_eq!(r.score, 4.01);
    }

    #[test]
    fn multiple_counts_and_arithmetic_meta() {
        let rules = "body __W /word/\ntflags __W multiple maxhits=5\nmeta MANY __W > 2\nscore MANY 2.5\n";
        assert_eq!(hits(rules, "Subject: x\n\nword word\n\nword\n"), vec!["MANY"]);
        assert!(hits(rules, "Subject: x\n\nword word\n").is_empty());
    }

    #[test]
    fn scoring_walks_only_the_rules_that_can_count() {
        let rules = "body A /a/\nbody ZERO /z/\nscore ZERO 0\nbody NET /n/\ntflags NET net\nscore NET 0 1 0 1\nmeta M A\nheader E eval:check_for_missing_to_header()\n";
        let (set, _) = RuleSet::from_text("t.cf", rules);
        let names = |s: usize| {
            let mut names = set.countable(s).iter().map(|&i| set.rules[i as usize].name.as_str()).collect::<Vec<_>>();
            names.sort();
            names
        };
        assert_eq!(names(0), ["A", "E"], "no meta, no rule scored 0, no network rule without network results");
        assert_eq!(names(1), ["A", "E", "NET"]);
        let with_net = NetworkFacts { network_checked: true, ..NetworkFacts::default() };
        let hit = |facts: &NetworkFacts| set.score(b"Subject: x\n\na n\n", facts).hits.into_iter().map(|h| h.name).collect::<Vec<_>>();
        assert_eq!(hit(&NetworkFacts::default()), ["A", "E", "M"]);
        assert_eq!(hit(&with_net), ["A", "E", "M", "NET"]);
    }

    #[test]
    fn zero_score_rules_do_not_run() {
        assert!(hits("body A /x/\nscore A 0\nmeta B A\n", "Subject: x\n\nx\n").is_empty());
    }

    #[test]
    fn scoring_stops_at_a_passed_deadline_and_otherwise_matches_score() {
        let (set, _) = RuleSet::from_text("t.cf", "body A /cheap/\nscore A 2\n");
        let msg = b"Subject: x\n\ncheap\n";
        let facts = NetworkFacts::default();
        let past = std::time::Instant::now() - std::time::Duration::from_millis(1);
        assert_eq!(set.score_until(msg, &facts, Some(past)), None);
        let later = std::time::Instant::now() + std::time::Duration::from_secs(60);
        assert_eq!(set.score_until(msg, &facts, Some(later)), Some(set.score(msg, &facts)));
        assert_eq!(set.score(msg, &facts).score, 2.0);
    }

    #[test]
    fn freemail_reply_check_strips_addresses_from_the_body_later_rules_see() {
        // SpamAssassin's FreeMail rewrites the body lines while reading them: with a free-mail
        // From and no Reply-To, `<addr>` is gone for body rules of the check's priority and up
        let rules = "util_rb_tld com\nfreemail_domains free.com\nheader __FM_REPLY eval:check_freemail_replyto('reply')\n\
            body EMAIL /\\w@\\S+\\.\\w/\nbody EARLY_EMAIL /\\w@\\S+\\.\\w/\npriority EARLY_EMAIL -1\nbody WORDS /quoted text/\n";
        let body = "\n\nquoted text from <someone@example.com>\n";
        assert_eq!(hits(rules, &format!("From: a@free.com\nSubject: x{body}")), vec!["EARLY_EMAIL", "WORDS"]);
        assert_eq!(hits(rules, &format!("From: a@example.com\nSubject: x{body}")), vec!["EARLY_EMAIL", "EMAIL", "WORDS"]);
        // a Reply-To that is not free mail ends the check before it reads the body
        assert_eq!(hits(rules, &format!("From: a@free.com\nReply-To: b@example.com\nSubject: x{body}")), vec!["EARLY_EMAIL", "EMAIL", "WORDS"]);
    }

    #[test]
    fn eval_regex_argument_that_does_not_compile_is_reported_at_load() {
        let rules = "body BAD_TITLE eval:html_text_match('title', 'a(b')\nheader BAD_FREEMAIL eval:check_freemail_header('From', 'x[')\nbody GOOD_TITLE eval:html_text_match('title', 'a(b)')\n";
        let (set, diags) = RuleSet::from_text("t.cf", rules);
        let mut errors: Vec<(u32, &str)> = diags.iter().filter(|d| d.severity == Severity::Error).map(|d| (d.location.line, d.message.as_str())).collect();
        errors.sort();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].0 == 1 && errors[0].1.starts_with("invalid regexp argument for body rule BAD_TITLE: "), "{errors:?}");
        assert!(errors[1].0 == 2 && errors[1].1.starts_with("invalid regexp argument for header rule BAD_FREEMAIL: "), "{errors:?}");
        let mut unsupported: Vec<&str> = set.unsupported().map(|(r, _, _)| r.name.as_str()).collect();
        unsupported.sort();
        assert_eq!(unsupported, vec!["BAD_FREEMAIL", "BAD_TITLE"]);
    }

    #[test]
    fn uppercase_rules_over_one_message_each_judge_its_own_range() {
        let rules = "body UPPER_25_50 eval:check_for_uppercase('25', '50')\nbody UPPER_50_75 eval:check_for_uppercase('50', '75')\nbody UPPER_75_100 eval:check_for_uppercase('75', '100')\n";
        // 200 octets and more of lines with two words, about two capitals in three letters
        let line = "BUY NOW cheap PILLS AND more STUFF here\n".repeat(8);
        assert_eq!(hits(rules, &format!("Subject: x\n\n{line}")), vec!["UPPER_50_75"]);
        assert_eq!(hits(rules, &format!("Subject: x\n\n{}", line.to_uppercase())), vec!["UPPER_75_100"]);
    }

    #[test]
    fn eval_calls_parse() {
        assert_eq!(parse_eval_call("check_for_mime('mime_attachment')"), Some(("check_for_mime".into(), vec!["mime_attachment".into()])));
        assert_eq!(parse_eval_call("f()"), Some(("f".into(), vec![])));
    }
}
