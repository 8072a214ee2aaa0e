//! A literal prefilter: which pattern rules cannot match a message, found in one pass per haystack.
//!
//! Most SpamAssassin patterns contain a literal that every match must contain (`/\bviagra\b/i`
//! cannot match a line without "viagra" in some case). At load, `required_literals` extracts such
//! a set from each translated pattern; `LiteralIndex` puts the sets of all rules that read the
//! same haystack into one Aho-Corasick automaton. Per message, one scan of each haystack marks the
//! rules whose literals occur; only those run their regex. A marked rule may still not match; an
//! unmarked one cannot, so skipping it changes no hit.
//!
//! Soundness rests on two facts. A required literal set is taken from the pattern's own syntax
//! tree (regex-syntax's prefix/suffix extraction, applied to the whole pattern or to a part every
//! match passes through). Case is folded before extraction (every class and literal lowered,
//! ASCII only, as the patterns are byte patterns with ASCII case folding) and the automaton
//! matches ASCII case-insensitively, so `(?i)` patterns and mixed-case classes are covered.
//!
//! Deliberately absent: a rule whose pattern yields no usable set (an empty literal could occur,
//! the set is unbounded, or its shortest literal is shorter than `MIN_LITERAL` and would mark
//! nearly every message) is not indexed and always runs, as does any rule the engine does not
//! hand to an index (unknown targets, negated or `[if-unset]` header tests).

use std::sync::{Arc, OnceLock};

use aho_corasick::AhoCorasick;

use super::engine::{Rule, RuleBody, Target};
use super::header_slots::HeaderSlot;
use super::split_scoring::made_once;
use super::message::MessageView;
use regex_syntax::hir::literal::{ExtractKind, Extractor, Seq};
use regex_syntax::hir::{Hir, HirKind};

/// Literals shorter than this occur in almost every text; a set containing one filters nothing.
const MIN_LITERAL: usize = 3;
/// Sets larger than this cost more in the automaton than they save.
const MAX_LITERALS: usize = 64;

/// Lower-case literals at least one of which occurs, ignoring ASCII case, in any text the
/// pattern matches in any ASCII case; None when no such set is worth using. `pattern` is in
/// `regex` syntax (bytes, Unicode off) with case-insensitivity left out, as
/// `perl_regex::translate_case_sensitive` writes it: a text that `(?i)viagra` matches is, up to
/// ASCII case, one that `viagra` matches, so the literals of the case-sensitive pattern, matched
/// ignoring case, are required of the case-insensitive one too, and extracting them from the
/// case-sensitive tree does not multiply every letter into its two cases.
pub fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(pattern).ok()?;
    required_literals_of(&hir)
}

/// `required_literals` of a pattern already parsed (`perl_regex` parses each one once, at load).
pub fn required_literals_of(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    best_set(hir)
}

/// The most selective required set found at this node or below it: the node's own prefix or
/// suffix literals, or (every match of a concatenation passing through each of its parts) the
/// best set of one part; an alternation needs a set from every branch.
fn best_set(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    // Nodes whose every set `consider` rejects (single bytes, empty literals, or an optional
    // repetition, whose sets hold the empty literal) are most of a tree: skip the extractor there.
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) | HirKind::Class(_) => return None,
        HirKind::Literal(lit) if lit.0.len() < MIN_LITERAL => return None,
        HirKind::Repetition(rep) if rep.min == 0 => return None,
        // a group's literals are its contents': the same sets, found once
        HirKind::Capture(cap) => return best_set(&cap.sub),
        _ => {}
    }
    let mut best: Option<Vec<Vec<u8>>> = None;
    let mut consider = |cand: Option<Vec<Vec<u8>>>| {
        if let Some(c) = cand.filter(|c| c.len() <= MAX_LITERALS && c.iter().all(|l| l.len() >= MIN_LITERAL))
            && best.as_ref().is_none_or(|b| rank(&c) > rank(b))
        {
            best = Some(c);
        }
    };
    consider(extract(hir, ExtractKind::Prefix));
    consider(extract(hir, ExtractKind::Suffix));
    match hir.kind() {
        HirKind::Concat(subs) => subs.iter().for_each(|s| consider(best_set(s))),
        HirKind::Repetition(rep) if rep.min >= 1 => consider(best_set(&rep.sub)),
        HirKind::Alternation(subs) => {
            let mut all = Vec::new();
            for s in subs {
                all.extend(best_set(s)?);
            }
            all.sort();
            all.dedup();
            consider(Some(all));
        }
        _ => {}
    }
    best
}

/// Longer shortest literal first up to 4 bytes (longer ones are all rare enough), then fewer
/// literals, then longer.
fn rank(lits: &[Vec<u8>]) -> (usize, std::cmp::Reverse<usize>, usize) {
    let shortest = lits.iter().map(Vec::len).min().unwrap_or(0);
    (shortest.min(4), std::cmp::Reverse(lits.len()), shortest)
}

fn extract(hir: &Hir, kind: ExtractKind) -> Option<Vec<Vec<u8>>> {
    let mut seq: Seq = Extractor::new().kind(kind).limit_total(MAX_LITERALS).extract(hir);
    seq.dedup();
    let lits = seq.literals()?;
    if lits.is_empty() || lits.iter().any(|l| l.as_bytes().is_empty()) {
        return None;
    }
    // lowered here: the automaton matches ignoring ASCII case (see `required_literals`)
    let mut out: Vec<Vec<u8>> = lits.iter().map(|l| l.as_bytes().to_ascii_lowercase()).collect();
    out.sort();
    out.dedup();
    Some(out)
}

/// The required literals of many rules that read the same haystack, in one automaton.
#[derive(Debug)]
pub struct LiteralIndex {
    automaton: AhoCorasick,
    /// For each automaton pattern (a distinct literal), the rules that require it (or another).
    rules_of: Vec<Vec<usize>>,
}

impl LiteralIndex {
    /// `rules`: (rule index, its required literals). None when there is nothing to index.
    pub fn build(rules: impl IntoIterator<Item = RuleLiterals>) -> Option<LiteralIndex> {
        let mut ids: std::collections::HashMap<Vec<u8>, usize> = std::collections::HashMap::new();
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut rules_of: Vec<Vec<usize>> = Vec::new();
        for (rule, lits) in rules {
            for lit in lits {
                let id = *ids.entry(lit.clone()).or_insert_with(|| {
                    literals.push(lit);
                    rules_of.push(Vec::new());
                    literals.len() - 1
                });
                rules_of[id].push(rule);
            }
        }
        if literals.is_empty() {
            return None;
        }
        let automaton = AhoCorasick::builder().ascii_case_insensitive(true).build(&literals).ok()?;
        Some(LiteralIndex { automaton, rules_of })
    }

    /// Sets `possible[rule]` for every rule one of whose literals occurs in one of `haystacks`,
    /// and (when `lines` is given) records (rule, haystack number) for each haystack it occurs in.
    fn mark<'h>(&self, haystacks: impl IntoIterator<Item = &'h [u8]>, possible: &mut [bool], mut lines: Option<&mut Vec<(u32, u32)>>) {
        // the haystack in which each literal was last seen, so a repeated literal costs nothing
        let mut last = vec![u32::MAX; self.rules_of.len()];
        for (n, hay) in haystacks.into_iter().enumerate() {
            let n = n as u32;
            for m in self.automaton.find_overlapping_iter(hay) {
                let p = m.pattern().as_usize();
                if last[p] == n {
                    continue;
                }
                last[p] = n;
                for &r in &self.rules_of[p] {
                    possible[r] = true;
                    if let Some(l) = lines.as_deref_mut() {
                        l.push((r as u32, n));
                    }
                }
            }
        }
    }

    /// Every rule this index decides about.
    pub fn rules(&self) -> impl Iterator<Item = usize> + '_ {
        self.rules_of.iter().flatten().copied()
    }
}

/// A rule's index and its required literals.
type RuleLiterals = (usize, Vec<Vec<u8>>);

/// The literal indexes of a rule set, one per haystack a pattern rule reads.
///
/// A message's marks are made in two halves (see [`Candidates`]): the body half (rendered and
/// raw body lines, URIs: it renders HTML and finds URIs in text) and the header half (the full
/// message and each header request: it answers the header requests, parsing Received headers).
/// They cost about the same, so a scoring shared with a helper thread makes one half on each
/// thread; a scoring alone makes each when its first rule needs it.
#[derive(Debug, Default)]
pub struct RulePrefilter {
    body: Option<LiteralIndex>,
    raw_body: Option<LiteralIndex>,
    full: Option<LiteralIndex>,
    uri: Option<LiteralIndex>,
    /// Header tests by request (`From:addr`), each request's value scanned once.
    headers: Vec<(HeaderSlot, LiteralIndex)>,
    /// Per rule: which half of the marks decides whether it runs, if any.
    half_of: Arc<[Option<Half>]>,
}

/// The two halves of a message's marks: made separately, on whichever thread needs one first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    /// Body, raw body and URI indexes: their rules also learn which lines (or URIs) to try.
    Body,
    /// The full-message and header indexes.
    Headers,
}

impl RulePrefilter {
    /// Indexes the pattern rules that `may_count` (`engine::may_count_in_either_set`) and have a
    /// required set.
    pub fn build(rules: &[Rule], may_count: &[bool]) -> RulePrefilter {
        let mut body = Vec::new();
        let mut raw_body = Vec::new();
        let mut full = Vec::new();
        let mut uri = Vec::new();
        let mut headers: std::collections::BTreeMap<HeaderSlot, Vec<RuleLiterals>> = Default::default();
        for (i, rule) in rules.iter().enumerate() {
            let RuleBody::Pattern { target, matcher } = &rule.body else { continue };
            if !may_count[i] {
                continue;
            }
            let Some(lits) = matcher.required_literals() else { continue };
            match target {
                Target::Body => body.push((i, lits.to_vec())),
                Target::RawBody => raw_body.push((i, lits.to_vec())),
                Target::Full => full.push((i, lits.to_vec())),
                Target::Uri => uri.push((i, lits.to_vec())),
                // a negated test hits when the pattern does not match, and an absent header is
                // replaced by the [if-unset] text: both always run
                Target::Header { slot, negate: false, if_unset: None, .. } => headers.entry(*slot).or_default().push((i, lits.to_vec())),
                _ => {}
            }
        }
        let mut out = RulePrefilter {
            body: LiteralIndex::build(body),
            raw_body: LiteralIndex::build(raw_body),
            full: LiteralIndex::build(full),
            uri: LiteralIndex::build(uri),
            headers: headers.into_iter().filter_map(|(r, l)| Some((r, LiteralIndex::build(l)?))).collect(),
            half_of: Arc::from(Vec::new()),
        };
        let mut half_of = vec![None; rules.len()];
        for i in out.body.iter().chain(&out.raw_body).chain(&out.uri).flat_map(LiteralIndex::rules) {
            half_of[i] = Some(Half::Body);
        }
        for i in out.full.iter().chain(out.headers.iter().map(|(_, l)| l)).flat_map(LiteralIndex::rules) {
            half_of[i] = Some(Half::Headers);
        }
        out.half_of = Arc::from(half_of);
        out
    }

    /// A message's candidates: nothing scanned yet (each half is made on first use).
    pub fn candidates(&self) -> Candidates {
        Candidates { half_of: Arc::clone(&self.half_of), body: OnceLock::new(), headers: OnceLock::new() }
    }

    fn body_marks(&self, view: &MessageView) -> Marks {
        let mut marks = Marks { possible: vec![false; self.half_of.len()], lines: Vec::new() };
        if let Some(idx) = &self.body {
            idx.mark(view.rendered_body().iter().map(Vec::as_slice), &mut marks.possible, Some(&mut marks.lines));
        }
        if let Some(idx) = &self.raw_body {
            idx.mark(view.decoded_body().iter().map(Vec::as_slice), &mut marks.possible, Some(&mut marks.lines));
        }
        if let Some(idx) = &self.uri {
            idx.mark(view.uris().iter().map(Vec::as_slice), &mut marks.possible, Some(&mut marks.lines));
        }
        marks.lines.sort_unstable();
        marks.lines.dedup();
        marks
    }

    fn header_marks(&self, view: &MessageView) -> Marks {
        let mut marks = Marks { possible: vec![false; self.half_of.len()], lines: Vec::new() };
        if let Some(idx) = &self.full {
            idx.mark([view.full.as_slice()], &mut marks.possible, None);
        }
        for (slot, idx) in &self.headers {
            if let Some(value) = view.header(*slot) {
                idx.mark([value], &mut marks.possible, None);
            }
        }
        marks
    }
}

/// What the prefilter leaves to run for one message, each half made on first use (by whichever
/// thread asks first; another asking meanwhile makes it too rather than wait: `made_once`).
#[derive(Debug)]
pub struct Candidates {
    half_of: Arc<[Option<Half>]>,
    body: OnceLock<Marks>,
    headers: OnceLock<Marks>,
}

/// One half's marks.
#[derive(Debug)]
struct Marks {
    /// Per rule: one of its literals occurs (meaningful for this half's rules only).
    possible: Vec<bool>,
    /// (rule, line) for every body or raw body line (or URI) holding one of the rule's literals,
    /// sorted. Empty in the header half.
    lines: Vec<(u32, u32)>,
}

impl Candidates {
    /// Makes `half` now, unless made already: a helper thread makes one half while the caller
    /// makes the other.
    pub fn prepare(&self, half: Half, prefilter: &RulePrefilter, view: &MessageView) {
        self.marks(half, prefilter, view);
    }

    fn marks(&self, half: Half, prefilter: &RulePrefilter, view: &MessageView) -> &Marks {
        match half {
            Half::Body => made_once(&self.body, || prefilter.body_marks(view)),
            Half::Headers => made_once(&self.headers, || prefilter.header_marks(view)),
        }
    }

    /// False when the rule cannot match this message (its pattern need not run).
    pub fn possible(&self, rule: usize, prefilter: &RulePrefilter, view: &MessageView) -> bool {
        match self.half_of[rule] {
            None => true,
            Some(half) => self.marks(half, prefilter, view).possible[rule],
        }
    }

    /// For a rule indexed over body or raw body lines (or URIs): the only ones it can match. None when
    /// every line must be tried.
    pub fn lines(&self, rule: usize, prefilter: &RulePrefilter, view: &MessageView) -> Option<impl Iterator<Item = usize> + '_> {
        if self.half_of[rule] != Some(Half::Body) {
            return None;
        }
        let lines = &self.marks(Half::Body, prefilter, view).lines;
        let r = rule as u32;
        let start = lines.partition_point(|&(x, _)| x < r);
        let end = lines.partition_point(|&(x, _)| x <= r);
        Some(lines[start..end].iter().map(|&(_, l)| l as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::perl_regex::translate_case_sensitive;

    fn lits(perl: &str, flags: &str) -> Option<Vec<String>> {
        let t = translate_case_sensitive(perl, flags).unwrap();
        required_literals(&t.pattern).map(|v| v.into_iter().map(|l| String::from_utf8(l).unwrap()).collect())
    }

    #[test]
    fn literals_are_lowered_and_taken_from_the_most_selective_part() {
        assert_eq!(lits(r"\bViagra\b", "i"), Some(vec!["viagra".into()]));
        assert_eq!(lits(r"[Cc]heap\s+pills", ""), Some(vec!["pills".into()]));
        assert_eq!(lits(r"^(?:buy|order) now$", ""), Some(vec![" now".into()]));
        assert_eq!(lits(r"\b(?:Viagra|cialis)\b", ""), Some(vec!["cialis".into(), "viagra".into()]));
        assert_eq!(lits(r"\d+ foo", ""), Some(vec![" foo".into()]));
        assert_eq!(lits(r"(?i:cheap)\s+(?i)P", ""), Some(vec!["cheap".into()]), "inline flags");
        assert_eq!(lits(r"[A-Z]{2}ZqX", "i"), Some(vec!["zqx".into()]));
    }

    #[test]
    fn patterns_without_a_useful_required_literal_are_not_indexed() {
        assert_eq!(lits(r"^\s*$", ""), None);
        assert_eq!(lits(r"a|bcd", ""), None);
        assert_eq!(lits(r"(?:foo)?bar?", ""), None);
        assert_eq!(lits(r"[a-z]{20}", ""), None);
    }

    #[test]
    fn index_marks_rules_whose_literals_occur_in_any_case() {
        let idx = LiteralIndex::build([(0, vec![b"viagra".to_vec()]), (2, vec![b"cheap".to_vec(), b"free".to_vec()])]).unwrap();
        let mut possible = vec![false, true, false];
        let mut lines = Vec::new();
        idx.mark([&b"get VIAGRA"[..], b"now"], &mut possible, Some(&mut lines));
        assert_eq!(possible, vec![true, true, false]);
        assert_eq!(lines, vec![(0, 0)]);
        idx.mark([&b"x"[..], b"it is Free, free"], &mut possible, Some(&mut lines));
        assert_eq!(possible, vec![true, true, true]);
        assert_eq!(lines, vec![(0, 0), (2, 1)]);
    }

    fn hits(rules: &str, msg: &str) -> Vec<String> {
        let (set, _) = crate::rules::RuleSet::from_text("t.cf", rules);
        set.score(msg.as_bytes(), &crate::rules::NetworkFacts::default()).hits.into_iter().map(|h| h.name).collect()
    }

    #[test]
    fn prefiltered_rules_hit_exactly_as_unfiltered_ones() {
        let rules = "body CASE /\\bviagra\\b/i\nbody NOSUBJ /cheap pills/\ntflags NOSUBJ nosubject\nbody COUNT /free offer/\ntflags COUNT multiple\nscore COUNT 1\nheader NEG Subject !~ /hello there/\nheader UNSET X-Nope =~ /yes please/ [if-unset: yes please]\nrawbody RAW /click here/i\n";
        assert_eq!(hits(rules, "Subject: cheap pills\n\nBuy VIAGRA now\nfree offer, free offer\nand\nFREE OFFER free offer\nCLICK HERE\n"), vec!["CASE", "COUNT", "NEG", "RAW", "UNSET"]);
        assert_eq!(hits(rules, "Subject: hello there\n\nno such words\n"), vec!["UNSET"]);
        let (set, _) = crate::rules::RuleSet::from_text("t.cf", rules);
        let r = set.score(b"Subject: x\n\nfree offer\nfree offer free offer\n", &crate::rules::NetworkFacts::default());
        assert_eq!(r.hits.iter().find(|h| h.name == "COUNT").map(|h| h.count), Some(3));
    }

    #[test]
    fn uri_rules_are_filtered_by_the_uris_holding_their_literals() {
        let rules = "util_rb_tld com org\nuri PROMO /example\\.com\\/promo/i\nuri OTHER /nowhere\\.example/\nuri COUNTED /\\/promo/\ntflags COUNTED multiple\n";
        let msg = "Subject: x\n\nsee http://www.EXAMPLE.com/promo and http://b.example.org/promo\n";
        assert_eq!(hits(rules, msg), vec!["COUNTED", "PROMO"]);
        let (set, _) = crate::rules::RuleSet::from_text("t.cf", rules);
        let r = set.score(msg.as_bytes(), &crate::rules::NetworkFacts::default());
        assert!(r.hits.iter().find(|h| h.name == "COUNTED").is_some_and(|h| h.count >= 2));
    }
}
