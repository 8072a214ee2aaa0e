//! Pattern rules matched a group at a time: body rules without a literal, header and
//! `mimeheader` rules.
//!
//! About 120 of SpamAssassin's body rules have no required literal (`prefilter`), so each would
//! run its own regex over every body line of every message; and a message's header rules run
//! ~200 regexes over a few header texts (49 over `X-Spam-Relays-External`, 25 over `ALL`, 18
//! over `Subject` on the milter benchmark's ham), and ~60 `mimeheader` regexes over each MIME
//! part's headers. Each separate regex scans the same bytes again
//! and touches its own DFA cache, which a mail host's other work has mostly evicted by the time
//! the next message comes. Here such rules are put, at load, into groups of at most
//! `GROUP_SIZE` reading the same haystack, each compiled into one lazy DFA over all its members'
//! patterns (`MatchKind::All`); per message, each group scans its haystacks once (each rendered
//! body line, one header request's text, or that request's text in each MIME part) and records which members match where
//! (`GroupMatches`, computed on first use, so a scoring split across threads shares it). A
//! member's answer then comes from that record.
//!
//! Invariants:
//! - A member's pattern is its `Matcher`'s fast pattern, in the syntax `regex::bytes` compiles it
//!   with (Unicode off, no UTF-8 requirement), so on each haystack the group says exactly whether
//!   that regex matches. For a backtracking rule the fast pattern is its gate, a superset: the
//!   group only says where PCRE2 need not run.
//! - A group whose build fails (size limit, syntax), or whose lazy DFA gives up on a message
//!   (its cache cleared too often for too little progress), answers nothing: its members run
//!   their own regexes, as if there were no groups. Groups never change a result.
//! - Body groups scan the rendered body lines: rules that see FreeMail's rewritten lines (see
//!   `engine::RuleInputs`) are not settled by them. A header or `mimeheader` group's members all
//!   read the same request (slot) with the same `if_unset` text, so they read the same bytes.
//!   Negated `mimeheader` rules always hit (`engine::run_pattern`) and are never grouped.
//! - Only rules that can count in score set 0 or 1 (`RuleSet::countable`) are grouped.

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::{Arc, OnceLock};

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternSet};

use super::engine::{Rule, RuleBody, Target};
use super::header_slots::{HeaderSlot, MimeHeaderSlot};
use super::message::MessageView;
use super::split_scoring::made_once;

/// Members per group. A lazy DFA over many patterns has many more states than one over few (one
/// set over all of SpamAssassin's ~1,300 patterns measured ~70x slower than separate regexes).
/// Steady-state instructions per message over Debian's rules (callgrind, three profile messages):
/// 3.84 M with no groups, 3.22 M with groups of 8, 3.06 M of 16, 3.10 M of 32 (which also build
/// more DFA states before they settle). Header groups of 64 (about one per request) did not settle:
/// the lazy DFAs gave up and rebuilt their states on every message (3x the instructions).
const GROUP_SIZE: usize = 16;
/// A group's lazy DFA cache, per thread. A line on which a group's states keep multiplying
/// (SpamAssassin's corpus has two: `nice/dkim/MIMEsimple_04`, `MIMEnowsp_05`) fills the cache
/// without progress: the group gives up at the first clear that comes after fewer than 10 bytes
/// per state built. With `regex`'s default for one regex (2 MiB) and three clears allowed, those
/// two messages took 27 ms instead of 5 ms; with 512 KiB and no clear allowed, the corpus scores
/// ~5% faster with groups than without, and the three profile messages ~17% faster.
const CACHE_CAPACITY: usize = 512 << 10;
/// A group's compiled NFA, as `perl_regex` limits one pattern's.
const NFA_SIZE_LIMIT: usize = 4 << 20;

type CachePool = Pool<Cache, Box<dyn Fn() -> Cache + Send + Sync + UnwindSafe + RefUnwindSafe>>;

/// The groups of a rule set's literal-less body rules and of its header and `mimeheader` rules.
pub struct RuleGroups {
    groups: Vec<Group>,
    /// Per rule: its group, its bit in that group's masks, and what settles its count.
    member: Vec<Option<Member>>,
}

/// A rule's place in its group and the few facts of the rule that `settled_count` needs, so that
/// most grouped rules are counted without reading their `Rule` (480 bytes, mostly not in the
/// caches when a message comes after an idle moment).
#[derive(Debug, Clone, Copy)]
struct Member {
    group: u32,
    bit: u8,
    /// The group's yes is the rule's hit: its fast pattern is its pattern (not a backtracking
    /// gate) and it counts once (not `multiple`).
    yes_settles: bool,
    /// A header rule's `!~`.
    negate: bool,
    /// A body rule's `nosubject`: the first line (the Subject) does not count.
    nosubject: bool,
    /// The rule's priority: a body rule from FreeMail's rewrite on reads rewritten lines.
    priority: i32,
}

/// What a group's members read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Haystack {
    /// Each rendered body line.
    BodyLines,
    /// One header request's text, or `if_unset` when the message has none.
    Header { slot: HeaderSlot, if_unset: Option<Vec<u8>> },
    /// A `mimeheader` request's text in each MIME part, or `if_unset` for a part without it.
    MimeHeader { slot: MimeHeaderSlot, if_unset: Option<Vec<u8>> },
}

/// A group's member patterns, compiled on first use (or by `RuleSet::compile_now`): compiling
/// every group at load added ~40% to the load time of Debian's rules.
struct Group {
    haystack: Haystack,
    patterns: Vec<String>,
    compiled: OnceLock<Option<Compiled>>,
}

struct Compiled {
    dfa: Arc<DFA>,
    /// Each thread's cache of `dfa`'s states, kept from one message to the next.
    caches: CachePool,
}

/// One message's group scans, each made by the first member rule that asks.
pub struct GroupMatches {
    /// Per group: per haystack (each body line; the one header text; each MIME part's text), the
    /// bit mask of members
    /// matching it; None when the group's lazy DFA gave up on this message.
    per_group: Vec<OnceLock<Option<Vec<u64>>>>,
}

impl std::fmt::Debug for RuleGroups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleGroups").field("group_sizes", &self.groups.iter().map(|g| g.patterns.len()).collect::<Vec<_>>()).finish()
    }
}

impl RuleGroups {
    /// Groups the body pattern rules without required literals, the header pattern rules and the
    /// non-negated `mimeheader` ones (by request and `if_unset`; each group's members in rule
    /// order) among the rules that `may_count` (`engine::may_count_in_either_set`).
    pub fn build(rules: &[Rule], may_count: &[bool]) -> RuleGroups {
        let mut by_haystack: std::collections::BTreeMap<Haystack, Vec<(usize, &Rule, &str)>> = Default::default();
        for (i, rule) in rules.iter().enumerate().filter(|&(i, _)| may_count[i]) {
            let RuleBody::Pattern { target, matcher } = &rule.body else { continue };
            let haystack = match target {
                Target::Body if matcher.required_literals().is_none() => Haystack::BodyLines,
                Target::Header { slot, if_unset, .. } => Haystack::Header { slot: *slot, if_unset: if_unset.clone() },
                // a negated mimeheader rule always hits (`engine::run_pattern`): nothing to scan
                Target::MimeHeader { slot, if_unset, negate: false, .. } => Haystack::MimeHeader { slot: *slot, if_unset: if_unset.clone() },
                _ => continue,
            };
            by_haystack.entry(haystack).or_default().push((i, rule, matcher.fast_pattern()));
        }
        let mut out = RuleGroups { groups: Vec::new(), member: vec![None; rules.len()] };
        for (haystack, members) in by_haystack {
            // a group of one is its member's own regex, with a second cache
            for chunk in members.chunks(GROUP_SIZE).filter(|c| c.len() > 1) {
                let g = out.groups.len() as u32;
                for (bit, &(i, rule, _)) in chunk.iter().enumerate() {
                    let RuleBody::Pattern { target, matcher } = &rule.body else { unreachable!("only pattern rules are grouped") };
                    out.member[i] = Some(Member {
                        group: g,
                        bit: bit as u8,
                        yes_settles: !matcher.is_backtracking() && !rule.flags.multiple,
                        negate: matches!(target, Target::Header { negate: true, .. }),
                        nosubject: rule.flags.nosubject,
                        priority: rule.priority,
                    });
                }
                out.groups.push(Group { haystack: haystack.clone(), patterns: chunk.iter().map(|&(_, _, p)| p.to_string()).collect(), compiled: OnceLock::new() });
            }
        }
        out
    }

    /// Compiles every group not compiled yet; the number that do not compile (their members
    /// run their own regexes).
    pub fn compile_now(&self) -> usize {
        self.groups.iter().filter(|g| g.compiled().is_none()).count()
    }

    /// An empty record of one message's scans.
    pub fn start(&self) -> GroupMatches {
        GroupMatches { per_group: self.groups.iter().map(|_| OnceLock::new()).collect() }
    }

    /// The numbers of the `lines` (the message's rendered body lines) on which rule `rule`'s fast
    /// pattern matches; None when the rule is in no body group or its group gave up on this
    /// message.
    pub fn matching_lines<'m>(&self, rule: usize, matches: &'m GroupMatches, lines: &[Vec<u8>]) -> Option<impl Iterator<Item = usize> + 'm> {
        let (member, masks) = self.masks(rule, matches, |_, haystack| haystack.is_body().then(|| lines.iter().map(Vec::as_slice)))?;
        Some(masks.iter().enumerate().filter(move |(_, m)| *m & (1 << member.bit) != 0).map(|(n, _)| n))
    }

    /// Rule `rule`'s count when its group's record settles it: a no (no line or header text
    /// matches the fast pattern, so neither can the pattern), or a yes for a rule whose fast
    /// pattern is its pattern and which counts once. None when the rule must run its own matcher
    /// (it is in no group, its group gave up on this message, or a yes must be confirmed or
    /// counted), or when it is a body rule that reads FreeMail's rewritten lines (body rules of
    /// priority `rewritten_from` and after, `engine::RuleInputs`), not the rendered ones the
    /// groups scanned.
    pub fn settled_count(&self, rule: usize, matches: &GroupMatches, view: &MessageView, rewritten_from: Option<i32>) -> Option<f64> {
        let (member, masks) = self.masks(rule, matches, |member, haystack| match haystack {
            Haystack::BodyLines if rewritten_from.is_some_and(|from| member.priority >= from) => None,
            Haystack::BodyLines => Some(Haystacks::Lines(view.rendered_body().iter().map(Vec::as_slice))),
            Haystack::Header { slot, if_unset } => Some(Haystacks::Once(std::iter::once(view.header(*slot).or(if_unset.as_deref()).unwrap_or_default()))),
            Haystack::MimeHeader { slot, if_unset } => Some(Haystacks::Parts(view.mime_header(*slot).iter().map(|v| v.as_deref().or(if_unset.as_deref()).unwrap_or_default()))),
        })?;
        let bit = 1u64 << member.bit;
        let yes = match self.groups[member.group as usize].haystack {
            Haystack::BodyLines => masks.iter().enumerate().any(|(n, m)| m & bit != 0 && !(member.nosubject && n == 0)),
            Haystack::Header { .. } => masks[0] & bit != 0,
            // the rule hits when it matches in any part
            Haystack::MimeHeader { .. } => masks.iter().any(|m| m & bit != 0),
        };
        match (yes, member.yes_settles) {
            (false, _) => Some(f64::from(member.negate)),
            (true, true) => Some(f64::from(!member.negate)),
            (true, false) => None,
        }
    }

    /// Rule `rule`'s membership and its group's masks for this message (scanned by the first
    /// member that asks, over the haystacks `read` gives for the group's kind; None for a kind
    /// the caller does not read).
    fn masks<'m, 'h, I: Iterator<Item = &'h [u8]>>(&'h self, rule: usize, matches: &'m GroupMatches, read: impl FnOnce(Member, &'h Haystack) -> Option<I>) -> Option<(Member, &'m [u64])> {
        let member = self.member.get(rule).copied().flatten()?;
        let group = &self.groups[member.group as usize];
        let haystacks = read(member, &group.haystack)?;
        let compiled = group.compiled()?;
        let masks = made_once(&matches.per_group[member.group as usize], || compiled.scan(haystacks)).as_deref()?;
        Some((member, masks))
    }
}

impl Haystack {
    fn is_body(&self) -> bool {
        matches!(self, Haystack::BodyLines)
    }
}

/// A group's haystacks: body lines, one header text, or one text per MIME part.
enum Haystacks<L, O, P> {
    Lines(L),
    Once(O),
    Parts(P),
}

impl<'h, L: Iterator<Item = &'h [u8]>, O: Iterator<Item = &'h [u8]>, P: Iterator<Item = &'h [u8]>> Iterator for Haystacks<L, O, P> {
    type Item = &'h [u8];
    fn next(&mut self) -> Option<&'h [u8]> {
        match self {
            Haystacks::Lines(l) => l.next(),
            Haystacks::Once(o) => o.next(),
            Haystacks::Parts(p) => p.next(),
        }
    }

    // `scan` sizes its masks by it
    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Haystacks::Lines(l) => l.size_hint(),
            Haystacks::Once(o) => o.size_hint(),
            Haystacks::Parts(p) => p.size_hint(),
        }
    }
}

impl Group {
    fn compiled(&self) -> Option<&Compiled> {
        self.compiled.get_or_init(|| Compiled::build(&self.patterns)).as_ref()
    }
}

impl Compiled {
    /// None when the patterns do not compile together.
    fn build(patterns: &[impl AsRef<str>]) -> Option<Compiled> {
        const { assert!(GROUP_SIZE <= 64, "a haystack's matches are one u64 mask") };
        let dfa = DFA::builder()
            .configure(DFA::config().match_kind(MatchKind::All).cache_capacity(CACHE_CAPACITY).minimum_cache_clear_count(Some(0)).minimum_bytes_per_state(Some(10)))
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .thompson(thompson::Config::new().utf8(false).which_captures(thompson::WhichCaptures::None).nfa_size_limit(Some(NFA_SIZE_LIMIT)))
            .build_many(patterns)
            .ok()?;
        let dfa = Arc::new(dfa);
        let for_caches = Arc::clone(&dfa);
        let caches: CachePool = Pool::new(Box::new(move || for_caches.create_cache()));
        Some(Compiled { dfa, caches })
    }

    /// Per haystack, the mask of members matching it; None when the lazy DFA gives up.
    fn scan<'h>(&self, haystacks: impl Iterator<Item = &'h [u8]>) -> Option<Vec<u64>> {
        let mut cache = self.caches.get();
        let mut set = PatternSet::new(self.dfa.pattern_len());
        let mut masks = Vec::with_capacity(haystacks.size_hint().0);
        for line in haystacks {
            set.clear();
            if self.dfa.try_which_overlapping_matches(&mut cache, &Input::new(line), &mut set).is_err() {
                // the next message starts with an empty cache and a fresh count of its clears
                cache.reset(&self.dfa);
                return None;
            }
            masks.push(set.iter().fold(0u64, |mask, p| mask | 1 << p.as_usize()));
        }
        Some(masks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{NetworkFacts, RuleSet};

    /// No required literals (each would be filtered by the prefilter instead): a plain rule, a
    /// `multiple` one, a `nosubject` one, backtracking ones (a backreference, a lookahead) whose
    /// gates join the group, and one with a literal that stays out of it.
    const RULES: &str = "body DIGITS /\\d\\d\\s?%/\nbody COUNTED /[A-Z]{2}\\b/\ntflags COUNTED multiple maxhits=3\nscore COUNTED 0.5\n\
        body NOSUBJ /^\\s*[a-z]{2}\\s*$/\ntflags NOSUBJ nosubject\nbody REPEAT /(\\w)\\1\\1/\nbody LOOK /\\d(?!\\d)/\nbody WORD /\\bviagra\\b/i\n";

    const LINES: [&[u8]; 7] = [b"ab", b"no digits here", b"50% OFF AB CD EF GH", b"  xy ", b"aaa 12", b"1234", b"zzz"];

    fn rule_set() -> RuleSet {
        let (set, diags) = RuleSet::from_text("t.cf", RULES);
        assert!(diags.is_empty(), "{diags:?}");
        set
    }

    #[test]
    fn a_groups_answers_are_its_members_own_regexes_on_each_line() {
        let set = rule_set();
        let groups = RuleGroups::build(&set.rules, &set.may_count_in_either_set());
        let lines: Vec<Vec<u8>> = LINES.iter().map(|l| l.to_vec()).collect();
        let matches = groups.start();
        for name in ["DIGITS", "COUNTED", "NOSUBJ", "REPEAT", "LOOK"] {
            let i = set.index[name];
            let RuleBody::Pattern { matcher, .. } = &set.rules[i].body else { unreachable!() };
            let fast = regex::bytes::RegexBuilder::new(matcher.fast_pattern()).unicode(false).build().unwrap();
            let want: Vec<usize> = (0..lines.len()).filter(|&n| fast.is_match(&lines[n])).collect();
            let got: Vec<usize> = groups.matching_lines(i, &matches, &lines).expect("grouped").collect();
            assert_eq!(got, want, "{name}");
            // a gate's lines hold every line the pattern itself matches
            let own: Vec<usize> = (0..lines.len()).filter(|&n| matcher.is_match(&lines[n])).collect();
            assert!(own.iter().all(|n| got.contains(n)), "{name}: {own:?} not within {got:?}");
        }
        assert!(groups.matching_lines(set.index["WORD"], &matches, &lines).is_none(), "a rule with a literal is the prefilter's");
        assert_eq!(groups.groups.len(), 1);
    }

    #[test]
    fn a_group_that_does_not_build_leaves_its_members_to_their_own_regexes() {
        // the largest repetition a group of one builds, bisected; three fifths of it builds alone
        // but not twice in one group
        let pattern = |n: usize| format!("(?:[a-z][0-9]){{{n}}}");
        let (mut fits, mut too_big) = (1, 1 << 22);
        while fits + 1 < too_big {
            let mid = (fits + too_big) / 2;
            if Compiled::build(&[&pattern(mid)]).is_some() { fits = mid } else { too_big = mid }
        }
        let big = pattern(fits * 3 / 5);
        assert!(Compiled::build(&[&big]).is_some());
        assert!(Compiled::build(&[&big, &big]).is_none());
        let (set, _) = RuleSet::from_text("t.cf", &format!("body BIG1 /{big}/\nbody BIG2 /{big}/\n"));
        let groups = RuleGroups::build(&set.rules, &set.may_count_in_either_set());
        assert_eq!(groups.compile_now(), 1, "the one group does not compile");
        assert!(groups.matching_lines(set.index["BIG1"], &groups.start(), &[b"a1".to_vec()]).is_none());
    }

    #[test]
    fn scoring_with_groups_equals_scoring_without() {
        let with = rule_set();
        let mut without = rule_set();
        without.rule_groups = RuleGroups::build(&[], &[]);
        let messages = [
            "Subject: ab\n\nno digits here\n\n50% OFF AB CD EF GH\n\n  xy \n\naaa 12\n",
            "Subject: 99 %\n\nzzz 1234\n",
            "Subject: nothing\n\nplain text\n",
        ];
        for m in messages {
            let facts = NetworkFacts::default();
            assert_eq!(with.score(m.as_bytes(), &facts), without.score(m.as_bytes(), &facts), "{m}");
        }
        let hits = with.score(messages[0].as_bytes(), &NetworkFacts::default()).hits;
        let names: Vec<(&str, u32)> = hits.iter().map(|h| (h.name.as_str(), h.count)).collect();
        assert_eq!(names, vec![("COUNTED", 3), ("DIGITS", 1), ("LOOK", 1), ("NOSUBJ", 1), ("REPEAT", 1)]);
        // the subject line alone does not count for a nosubject rule
        assert!(with.score(messages[2].as_bytes(), &NetworkFacts::default()).hits.is_empty());
    }

    /// Header rules over the same requests: plain, negated, `multiple`, two with the same
    /// `[if-unset]` text (a group of their own), backtracking ones (their gates join the group;
    /// one negated) and a lone rule on its own request (no group).
    const HEADER_RULES: &str = "header SUBJ_WIN Subject =~ /\\bwin\\b/i\nheader SUBJ_NOT_RE Subject !~ /^Re:/\n\
        header SUBJ_CAPS Subject =~ /[A-Z]{3}/\ntflags SUBJ_CAPS multiple maxhits=2\nheader SUBJ_UNSET Subject =~ /^none$/ [if-unset: none]\n\
        header SUBJ_UNSET_N Subject =~ /^no/ [if-unset: none]\nheader SUBJ_NOT_LOOK Subject !~ /\\d(?=\\d)/\n\
        header SUBJ_LOOK Subject =~ /\\d(?!\\d)/\nheader SUBJ_NUM Subject =~ /\\d{2}/\nheader FROM_BIG From:addr =~ /\\@big\\./\n";

    #[test]
    fn header_groups_answer_as_their_members_own_regexes_do() {
        let with = RuleSet::from_text("h.cf", HEADER_RULES).0;
        let mut without = RuleSet::from_text("h.cf", HEADER_RULES).0;
        without.rule_groups = RuleGroups::build(&[], &[]);
        assert_eq!(with.rule_groups.groups.len(), 2, "{:?}", with.rule_groups);
        assert!(with.rule_groups.member[with.index["FROM_BIG"]].is_none(), "a request with one rule needs no group");
        let messages = [
            "From: a@big.example\nSubject: WIN BIG NOW 7 and 42\n\nbody\n",
            "From: b@small.example\nSubject: Re: lunch at 12\n\nbody\n",
            "From: c@small.example\n\nno subject at all\n",
        ];
        let facts = NetworkFacts::default();
        for m in messages {
            assert_eq!(with.score(m.as_bytes(), &facts), without.score(m.as_bytes(), &facts), "{m}");
        }
        let hits = |m: &str| -> Vec<(String, u32)> { with.score(m.as_bytes(), &facts).hits.into_iter().map(|h| (h.name, h.count)).collect() };
        let own = |names: &[(&str, u32)]| names.iter().map(|&(n, c)| (n.to_string(), c)).collect::<Vec<_>>();
        assert_eq!(hits(messages[0]), own(&[("FROM_BIG", 1), ("SUBJ_CAPS", 2), ("SUBJ_LOOK", 1), ("SUBJ_NOT_RE", 1), ("SUBJ_NUM", 1), ("SUBJ_WIN", 1)]));
        assert_eq!(hits(messages[1]), own(&[("SUBJ_LOOK", 1), ("SUBJ_NUM", 1)]));
        assert_eq!(hits(messages[2]), own(&[("SUBJ_NOT_LOOK", 1), ("SUBJ_NOT_RE", 1), ("SUBJ_UNSET", 1), ("SUBJ_UNSET_N", 1)]));
    }

    #[test]
    fn mimeheader_groups_answer_part_by_part_as_their_members_own_regexes_do() {
        // plain ones, a backtracking gate, and a negated one (never grouped: it always hits)
        let rules = "mimeheader MH_HTML Content-Type =~ /text\\/html/\nmimeheader MH_UTF8 Content-Type =~ /charset=utf-8/i\n\
            mimeheader MH_NOT_PLAIN Content-Type =~ /text\\/(?!plain)/\nmimeheader MH_IMAGE Content-Type =~ /image\\//\n\
            mimeheader MH_NEG Content-Type !~ /text/\n";
        let with = RuleSet::from_text("m.cf", rules).0;
        let mut without = RuleSet::from_text("m.cf", rules).0;
        without.rule_groups = RuleGroups::build(&[], &[]);
        assert_eq!(with.rule_groups.groups.len(), 1, "{:?}", with.rule_groups);
        assert!(with.rule_groups.member[with.index["MH_NEG"]].is_none());
        let messages = [
            "From: a@b.example\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"XX\"\n\n--XX\n\
             Content-Type: text/plain; charset=utf-8\n\nplain\n--XX\nContent-Type: text/html; charset=us-ascii\n\n<p>html</p>\n--XX--\n",
            "From: a@b.example\nSubject: y\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nplain only\n",
        ];
        let facts = NetworkFacts::default();
        for m in messages {
            assert_eq!(with.score(m.as_bytes(), &facts), without.score(m.as_bytes(), &facts), "{m}");
        }
        let hits = |m: &str| -> Vec<String> { with.score(m.as_bytes(), &facts).hits.into_iter().map(|h| h.name).collect() };
        assert_eq!(hits(messages[0]), ["MH_HTML", "MH_NEG", "MH_NOT_PLAIN", "MH_UTF8"]);
        assert_eq!(hits(messages[1]), ["MH_NEG"]);
    }
}
