//! The milter in-process, driven by a real milter client (indymilter-test): every behaviour of
//! issue 5 as a conversation. `postfix` runs the same milter behind a private Postfix.

mod postfix;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indymilter_test::{EomAction, MacroStage, Status, TestConnection};
use mailward::milter::{FailureAction, MilterConfig, MilterListener, MilterSettings, MilterSocket, MilterState, Scorer};
use mailward::model::{Alias, AliasKind, Autoresponder, Domain, Mailbox, SpamMove, SpamPolicy};
use mailward::spam::{PolicyDirectory, PolicyValues, ScoreReport, ScoredTest};

/// Scores by keywords found anywhere in the message: `SCORE=<n>` adds n points (test
/// `KEYWORD_n`). Counts its calls so tests can see whether scoring happened.
pub struct KeywordScorer {
    pub calls: AtomicUsize,
    pub delay: Duration,
    pub panics: bool,
}

impl KeywordScorer {
    pub fn new() -> Arc<KeywordScorer> {
        Arc::new(KeywordScorer { calls: AtomicUsize::new(0), delay: Duration::ZERO, panics: false })
    }
}

impl Scorer for KeywordScorer {
    fn score(&self, message: &[u8]) -> ScoreReport {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        if self.panics {
            panic!("scorer bug");
        }
        let text = String::from_utf8_lossy(message);
        let mut tests = Vec::new();
        if text.contains("GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL") {
            tests.push(ScoredTest { name: "GTUBE".into(), score: 1000.0 });
        }
        for piece in text.split("SCORE=").skip(1) {
            let n: String = piece.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-').collect();
            if let Ok(v) = n.parse::<f64>() {
                tests.push(ScoredTest { name: format!("KEYWORD_{}", n.replace(['.', '-'], "_")), score: v });
            }
        }
        ScoreReport { score: tests.iter().map(|t| t.score).sum(), tests }
    }
}

/// A body that scores 12 (over Permissive's tag2, under its kill level).
pub const SPAM_12: &str = "SCORE=12";

/// The real rule engine on SpamAssassin's rules (GTUBE and the rest) plus one local rule that
/// makes `SPAM_12` score 12, so policy levels can be crossed on purpose.
pub fn engine_scorer() -> Arc<dyn Scorer> {
    static LOCAL: &str = "body MAILWARD_TEST_SPAM /SCORE=12/\ndescribe MAILWARD_TEST_SPAM test message that scores 12\nscore MAILWARD_TEST_SPAM 12\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("99_test.cf"), LOCAL).unwrap();
    mailward::milter::load_rule_scorer(&[PathBuf::from("/usr/share/spamassassin"), dir.path().to_path_buf()]).unwrap()
}

fn policy(id: i64, name: &str, tag: f64, tag2: f64, kill: f64, lover: bool) -> SpamPolicy {
    SpamPolicy {
        id,
        name: name.into(),
        tag: Some(tag),
        tag2: Some(tag2),
        kill: Some(kill),
        modifies_subject: Some(true),
        subject_tag: Some("***SPAM*** ".into()),
        spam_lover: Some(lover),
        virus_lover: Some(false),
        builtin: false,
    }
}

fn mailbox(address: &str, policy_id: Option<i64>) -> Mailbox {
    Mailbox {
        id: 0,
        domain_id: 1,
        address: address.into(),
        display_name: String::new(),
        quota_mb: 0,
        spam_move: SpamMove::Before,
        junk_purge_days: 0,
        trash_purge_days: 0,
        autoresponder: Autoresponder::default(),
        copy_to: vec![],
        policy_id,
        active: true,
        created_at: 0,
    }
}

/// example.org has "Trigger happy" (3 / 5 / 5). lax@ has "Permissive" (3 / 10 / 20), lover@
/// "Wants all spam" (spam lover), strict@ and strict2@ inherit the domain's; sales@ is an alias.
pub fn directory() -> PolicyDirectory {
    let policies = vec![policy(1, "Trigger happy", 3.0, 5.0, 5.0, false), policy(2, "Permissive", 3.0, 10.0, 20.0, false), policy(3, "Wants all spam", 3.0, 999.0, 999.0, true)];
    let domains = vec![Domain { id: 1, name: "example.org".into(), customer_id: 1, active: true, server_set_id: None, policy_id: Some(1), created_at: 0 }];
    let mailboxes = vec![mailbox("strict@example.org", None), mailbox("strict2@example.org", None), mailbox("lax@example.org", Some(2)), mailbox("lover@example.org", Some(3))];
    let aliases = vec![Alias { id: 1, domain_id: 1, kind: AliasKind::Alias, source: "sales@example.org".into(), destinations: vec!["lax@example.org".into()], active: true }];
    PolicyDirectory::new(PolicyValues::default(), &policies, &domains, &[], &mailboxes, &aliases)
}

pub struct RunningMilter {
    pub state: Arc<MilterState>,
    pub socket: PathBuf,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RunningMilter {
    /// Starts the milter on a unix socket in a fresh temporary directory.
    pub async fn start(config: MilterConfig, scorer: Arc<dyn Scorer>) -> RunningMilter {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("milter.sock");
        let settings = MilterSettings::new(MilterSocket::Unix(socket.clone()), &MilterConfig { socket_mode: 0o666, ..config }).unwrap();
        let listener = MilterListener::bind(&settings).await.unwrap();
        let state = MilterState::new(settings, scorer, directory());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(mailward::milter::run(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        RunningMilter { state, socket, _dir: dir, shutdown: Some(tx) }
    }

    pub async fn connect(&self, client: [u8; 4]) -> TestConnection {
        self.connect_named(client, "client.example").await
    }

    /// CONNECT with the client name the MTA verified (Postfix: `unknown` when it could not).
    pub async fn connect_named(&self, client: [u8; 4], name: &str) -> TestConnection {
        let mut conn = TestConnection::configure().open_unix(&self.socket).await.unwrap();
        assert_eq!(conn.connect(name, (Ipv4Addr::from(client), 40000)).await.unwrap(), Status::Noreply);
        assert_eq!(conn.helo("client.example").await.unwrap(), Status::Noreply);
        conn
    }
}

impl Drop for RunningMilter {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Sends one message: MAIL, each RCPT (all must be accepted), headers, body; returns EOM.
async fn send(conn: &mut TestConnection, rcpts: &[&str], headers: &[(&str, &str)], body: &str) -> (Vec<EomAction>, Status) {
    assert_eq!(conn.mail(["<sender@outside.example>"]).await.unwrap(), Status::Noreply);
    for r in rcpts {
        conn.macros(MacroStage::Rcpt, [("i", "4QUEUEID")]).await.unwrap();
        assert_eq!(conn.rcpt([format!("<{r}>")]).await.unwrap(), Status::Noreply, "rcpt {r}");
    }
    assert_eq!(conn.data().await.unwrap(), Status::Noreply);
    for (n, v) in headers {
        assert_eq!(conn.header(*n, *v).await.unwrap(), Status::Noreply);
    }
    assert_eq!(conn.eoh().await.unwrap(), Status::Noreply);
    if !body.is_empty() {
        assert_eq!(conn.body(body.to_string()).await.unwrap(), Status::Noreply);
    }
    let (actions, status) = conn.eom().await.unwrap();
    (actions.actions, status)
}

fn added(actions: &[EomAction]) -> Vec<(String, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            EomAction::AddHeader { name, value } => Some((name.to_string_lossy().into_owned(), value.to_string_lossy().into_owned())),
            _ => None,
        })
        .collect()
}

fn header<'a>(actions: &'a [(String, String)], name: &str) -> Option<&'a str> {
    actions.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn subject_change(actions: &[EomAction]) -> Option<String> {
    actions.iter().find_map(|a| match a {
        EomAction::ChangeHeader { name, index: 1, value } if name.to_bytes() == b"Subject" => Some(value.to_string_lossy().into_owned()),
        _ => None,
    })
}

const BASIC: &[(&str, &str)] = &[("From", "sender@outside.example"), ("To", "strict@example.org"), ("Subject", "hello")];

/// An MTA that does not offer no-reply stages (older Sendmail) gets an answer to every stage and
/// the same result; Postfix, which offers them, is not made to wait after each header and body
/// chunk (the tests above: those stages answer Noreply).
#[tokio::test]
async fn mta_without_no_reply_stages_gets_every_answer() {
    use indymilter_test::ProtoOpts;
    let m = RunningMilter::start(MilterConfig::default(), KeywordScorer::new()).await;
    let mut conn = TestConnection::configure().available_opts(ProtoOpts::SKIP | ProtoOpts::LEADING_SPACE).open_unix(&m.socket).await.unwrap();
    assert_eq!(conn.connect("client.example", (Ipv4Addr::new(192, 0, 2, 1), 40000)).await.unwrap(), Status::Continue);
    assert_eq!(conn.helo("client.example").await.unwrap(), Status::Continue);
    assert_eq!(conn.mail(["<sender@outside.example>"]).await.unwrap(), Status::Continue);
    assert_eq!(conn.rcpt(["<lax@example.org>"]).await.unwrap(), Status::Continue);
    assert_eq!(conn.data().await.unwrap(), Status::Continue);
    for (n, v) in BASIC {
        assert_eq!(conn.header(*n, *v).await.unwrap(), Status::Continue);
    }
    assert_eq!(conn.eoh().await.unwrap(), Status::Continue);
    assert_eq!(conn.body("SCORE=12\r\n").await.unwrap(), Status::Continue);
    let (actions, status) = conn.eom().await.unwrap();
    assert_eq!(status, Status::Continue);
    assert_eq!(header(&added(&actions.actions), "X-Spam-Flag"), Some("YES"));
}

#[tokio::test]
async fn ham_gets_score_headers_but_no_flag() {
    let m = RunningMilter::start(MilterConfig::default(), KeywordScorer::new()).await;
    let mut conn = m.connect([192, 0, 2, 1]).await;
    let (actions, status) = send(&mut conn, &["strict@example.org"], BASIC, "SCORE=3.5 but fine\r\n").await;
    assert_eq!(status, Status::Continue);
    let h = added(&actions);
    assert_eq!(header(&h, "X-Spam-Score"), Some("3.5"));
    assert_eq!(header(&h, "X-Spam-Level"), Some("***"));
    assert_eq!(header(&h, "X-Spam-Status"), Some("No, score=3.5 tagged_above=3 required=5 tests=[KEYWORD_3_5=3.5]"));
    assert_eq!(header(&h, "X-Spam-Flag"), None);
    assert_eq!(subject_change(&actions), None);
    // Below the tag level: nothing at all.
    let (actions, status) = send(&mut conn, &["strict@example.org"], BASIC, "SCORE=1 clean\r\n").await;
    assert_eq!(status, Status::Continue);
    assert!(added(&actions).is_empty(), "{actions:?}");
    conn.close().await.unwrap();
}

#[tokio::test]
async fn spam_for_a_spam_lover_is_flagged_tagged_and_delivered() {
    let m = RunningMilter::start(MilterConfig::default(), KeywordScorer::new()).await;
    let mut conn = m.connect([192, 0, 2, 1]).await;
    // Permissive: 12 is spam (tag2 10) but under kill (20).
    let (actions, status) = send(&mut conn, &["lax@example.org"], BASIC, "SCORE=12\r\n").await;
    assert_eq!(status, Status::Continue);
    let h = added(&actions);
    assert_eq!(header(&h, "X-Spam-Flag"), Some("YES"));
    assert_eq!(header(&h, "X-Spam-Level"), Some("************"));
    assert!(header(&h, "X-Spam-Status").unwrap().starts_with("Yes, score=12 tagged_above=3 required=10 tests=["));
    assert_eq!(subject_change(&actions).as_deref(), Some("***SPAM*** hello"));
    // The spam lover is never refused, whatever the score.
    let (actions, status) = send(&mut conn, &["lover@example.org"], BASIC, "SCORE=1000\r\n").await;
    assert_eq!(status, Status::Continue);
    assert_eq!(header(&added(&actions), "X-Spam-Score"), Some("1000"));
    // A message without Subject gets one carrying the tag.
    let (actions, _) = send(&mut conn, &["lax@example.org"], &[("From", "a@b.example")], "SCORE=12\r\n").await;
    assert_eq!(header(&added(&actions), "Subject"), Some("***SPAM***"));
}

#[tokio::test]
async fn kill_level_of_every_recipient_rejects_with_550() {
    let m = RunningMilter::start(MilterConfig::default(), KeywordScorer::new()).await;
    let mut conn = m.connect([192, 0, 2, 1]).await;
    let (_, status) = send(&mut conn, &["strict@example.org", "strict2@example.org"], BASIC, "SCORE=6\r\n").await;
    match status {
        Status::Reject { message: Some(m) } => assert!(m.to_string_lossy().starts_with("550 5.7.1 message refused as spam (score 6)"), "{m:?}"),
        other => panic!("expected rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn recipients_with_different_policies_decide_only_together() {
    let m = RunningMilter::start(MilterConfig::default(), KeywordScorer::new()).await;
    let mut conn = m.connect([192, 0, 2, 1]).await;
    // 6 reaches strict's kill (5) but not lax's tag2 (10): accepted, headers, no flag, no tag.
    let (actions, status) = send(&mut conn, &["strict@example.org", "lax@example.org"], BASIC, "SCORE=6\r\n").await;
    assert_eq!(status, Status::Continue);
    let h = added(&actions);
    assert_eq!(header(&h, "X-Spam-Score"), Some("6"));
    assert_eq!(header(&h, "X-Spam-Flag"), None);
    assert_eq!(subject_change(&actions), None);
    // 12: spam for both (flag and tag), killed only for strict: accepted.
    let (actions, status) = send(&mut conn, &["strict@example.org", "lax@example.org"], BASIC, "SCORE=12\r\n").await;
    assert_eq!(status, Status::Continue);
    assert_eq!(header(&added(&actions), "X-Spam-Flag"), Some("YES"));
    assert_eq!(subject_change(&actions).as_deref(), Some("***SPAM*** hello"));
    // The alias sales@ uses its domain's policy (Trigger happy), not its destination's
    // (lax@, Permissive): 12 kills both recipients.
    let (_, status) = send(&mut conn, &["strict@example.org", "sales@example.org"], BASIC, "SCORE=12\r\n").await;
    assert!(matches!(status, Status::Reject { .. }), "{status:?}");
    let (actions, status) = send(&mut conn, &["lax@example.org"], BASIC, "SCORE=12\r\n").await;
    assert_eq!(status, Status::Continue);
    assert_eq!(header(&added(&actions), "X-Spam-Flag"), Some("YES"));
    // 25: both kill levels reached: refused.
    let (_, status) = send(&mut conn, &["strict@example.org", "lax@example.org"], BASIC, "SCORE=25\r\n").await;
    assert!(matches!(status, Status::Reject { .. }), "{status:?}");
    // ... unless one of them loves spam.
    let (_, status) = send(&mut conn, &["strict@example.org", "lover@example.org"], BASIC, "SCORE=25\r\n").await;
    assert_eq!(status, Status::Continue);
}

/// RCPT always continues unless recipients with a different policy are deferred: the MTA is
/// then told not to wait for its answer (Postfix's smtpd would wait a round trip per recipient).
#[tokio::test]
async fn rcpt_is_answered_only_when_it_may_defer() {
    use indymilter_test::ProtoOpts;
    let quiet = RunningMilter::start(MilterConfig::default(), KeywordScorer::new()).await;
    let conn = quiet.connect([192, 0, 2, 1]).await;
    assert!(conn.negotiated_opts().contains(ProtoOpts::NOREPLY_RCPT), "{:?}", conn.negotiated_opts());
    let deferring = RunningMilter::start(MilterConfig { defer_mixed_policies: true, ..Default::default() }, KeywordScorer::new()).await;
    let conn = deferring.connect([192, 0, 2, 1]).await;
    assert!(!conn.negotiated_opts().contains(ProtoOpts::NOREPLY_RCPT), "{:?}", conn.negotiated_opts());
}

#[tokio::test]
async fn one_policy_per_transaction_defers_other_policies_with_452() {
    let raw = MilterConfig { defer_mixed_policies: true, ..Default::default() };
    let m = RunningMilter::start(raw, KeywordScorer::new()).await;
    let mut conn = m.connect([192, 0, 2, 1]).await;
    assert_eq!(conn.mail(["<a@outside.example>"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.rcpt(["<strict@example.org>"]).await.unwrap(), Status::Continue);
    // Same effective policy (domain's), different mailbox: accepted.
    assert_eq!(conn.rcpt(["<strict2@example.org>"]).await.unwrap(), Status::Continue);
    match conn.rcpt(["<lax@example.org>"]).await.unwrap() {
        Status::Tempfail { message: Some(m) } => assert!(m.to_string_lossy().starts_with("452 4.5.3 "), "{m:?}"),
        other => panic!("expected 452, got {other:?}"),
    }
    // The deferred recipient does not count: 6 kills both accepted ones.
    assert_eq!(conn.data().await.unwrap(), Status::Noreply);
    assert_eq!(conn.header("Subject", "x").await.unwrap(), Status::Noreply);
    assert_eq!(conn.eoh().await.unwrap(), Status::Noreply);
    assert_eq!(conn.body("SCORE=6\r\n").await.unwrap(), Status::Noreply);
    let (_, status) = conn.eom().await.unwrap();
    assert!(matches!(status, Status::Reject { .. }), "{status:?}");
}

#[tokio::test]
async fn forged_spam_headers_are_deleted_and_ours_added() {
    let m = RunningMilter::start(MilterConfig::default(), KeywordScorer::new()).await;
    let mut conn = m.connect([198, 51, 100, 7]).await;
    let headers = [
        ("X-Spam-Flag", "NO"),
        ("From", "a@b.example"),
        ("X-Spam-Status", "No, score=-100 required=5.0"),
        ("x-spam-status", "No, second copy"),
        ("X-Spam-Score", "-100"),
        ("X-Spamd-Result", "default: False [-100.00 / 15.00]"),
        ("Subject", "buy"),
    ];
    let (actions, status) = send(&mut conn, &["strict@example.org"], &headers, "SCORE=4\r\n").await;
    assert_eq!(status, Status::Continue);
    let deleted: Vec<(String, i32)> = actions
        .iter()
        .filter_map(|a| match a {
            EomAction::DeleteHeader { name, index } => Some((name.to_string_lossy().to_ascii_lowercase(), *index)),
            _ => None,
        })
        .collect();
    assert_eq!(deleted, vec![("x-spamd-result".into(), 1), ("x-spam-score".into(), 1), ("x-spam-status".into(), 2), ("x-spam-status".into(), 1), ("x-spam-flag".into(), 1)]);
    // Every deletion comes before our additions.
    let first_add = actions.iter().position(|a| matches!(a, EomAction::AddHeader { .. })).unwrap();
    let last_delete = actions.iter().rposition(|a| matches!(a, EomAction::DeleteHeader { .. })).unwrap();
    assert!(last_delete < first_add);
    assert_eq!(header(&added(&actions), "X-Spam-Score"), Some("4"));
}

#[tokio::test]
async fn trusted_relay_headers_are_kept_and_its_score_used() {
    let raw = MilterConfig { trusted_relays: vec!["10.0.0.0/8".into()], use_trusted_scores: true, ..Default::default() };
    let scorer = KeywordScorer::new();
    let m = RunningMilter::start(raw, scorer.clone()).await;
    let mut conn = m.connect([10, 1, 2, 3]).await;
    let headers = [("X-Spam-Score", "12"), ("X-Spam-Status", "Yes, score=12 tagged_above=3 required=5 tests=[UPSTREAM=12]"), ("Subject", "hi")];
    let (actions, status) = send(&mut conn, &["lax@example.org"], &headers, "SCORE=1\r\n").await;
    assert_eq!(status, Status::Continue);
    assert_eq!(scorer.calls.load(Ordering::SeqCst), 0, "the upstream score is used");
    assert!(!actions.iter().any(|a| matches!(a, EomAction::DeleteHeader { .. })), "{actions:?}");
    assert!(added(&actions).is_empty(), "the upstream headers stay the only ones: {actions:?}");
    assert_eq!(subject_change(&actions).as_deref(), Some("***SPAM*** hi"));
    // The same headers from an untrusted client are deleted and the message scored.
    let mut conn = m.connect([192, 0, 2, 1]).await;
    let (actions, _) = send(&mut conn, &["lax@example.org"], &headers, "SCORE=4\r\n").await;
    assert_eq!(scorer.calls.load(Ordering::SeqCst), 1);
    assert!(actions.iter().any(|a| matches!(a, EomAction::DeleteHeader { .. })));
    assert_eq!(header(&added(&actions), "X-Spam-Score"), Some("4"));
}

#[tokio::test]
async fn trusted_relay_named_by_host_name_is_matched_on_the_verified_client_name() {
    let raw = MilterConfig { trusted_relays: vec!["filter.example.net".into(), ".relays.example".into()], ..Default::default() };
    let scorer = KeywordScorer::new();
    let m = RunningMilter::start(raw, scorer.clone()).await;
    let headers = [("X-Spam-Score", "12"), ("X-Spam-Flag", "YES"), ("Subject", "hi")];
    for (name, trusted) in [("filter.example.net", true), ("FILTER.example.net.", true), ("mx2.relays.example", true), ("unknown", false), ("relays.example", false), ("evil-filter.example.net", false)] {
        // the address is no trusted network: only the name can make the client trusted
        let mut conn = m.connect_named([192, 0, 2, 1], name).await;
        let (actions, status) = send(&mut conn, &["lax@example.org"], &headers, "SCORE=1\r\n").await;
        assert_eq!(status, Status::Continue);
        let deleted = actions.iter().any(|a| matches!(a, EomAction::DeleteHeader { .. }));
        assert_eq!(deleted, !trusted, "client {name}: {actions:?}");
    }
}

/// Keeps the last message it was asked to score; scores 7 when it holds exactly `expect`.
struct RecordingScorer {
    expect: &'static [u8],
    last: std::sync::Mutex<Vec<u8>>,
}

impl Scorer for RecordingScorer {
    fn score(&self, message: &[u8]) -> ScoreReport {
        *self.last.lock().unwrap() = message.to_vec();
        let found = message.windows(self.expect.len()).any(|w| w == self.expect);
        let tests = if found { vec![ScoredTest { name: "EXPECTED_BYTES".into(), score: 7.0 }] } else { Vec::new() };
        ScoreReport { score: tests.iter().map(|t| t.score).sum(), tests }
    }
}

#[tokio::test]
async fn eight_bit_headers_reach_the_scorer_as_sent() {
    // Latin-1 "Grüße", folded: the engine must see these bytes with CRLF folding, as SpamAssassin would
    let expect: &[u8] = b"\r\nSubject: Gr\xfc\xdfe\r\n\tagain\r\n";
    let scorer = Arc::new(RecordingScorer { expect, last: std::sync::Mutex::new(Vec::new()) });
    let m = RunningMilter::start(MilterConfig::default(), scorer.clone()).await;
    let mut conn = m.connect([192, 0, 2, 1]).await;
    assert_eq!(conn.mail(["<a@sender.example>"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.rcpt(["<lax@example.org>"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.data().await.unwrap(), Status::Noreply);
    assert_eq!(conn.header("From", "a@sender.example").await.unwrap(), Status::Noreply);
    assert_eq!(conn.header("Subject", c"Gr\xfc\xdfe\n\tagain").await.unwrap(), Status::Noreply);
    assert_eq!(conn.eoh().await.unwrap(), Status::Noreply);
    assert_eq!(conn.body("hello\r\n").await.unwrap(), Status::Noreply);
    let (actions, status) = conn.eom().await.unwrap();
    assert_eq!(status, Status::Continue);
    let seen = scorer.last.lock().unwrap().clone();
    assert_eq!(header(&added(&actions.actions), "X-Spam-Score"), Some("7"), "scorer saw {:?}", String::from_utf8_lossy(&seen));
}

#[tokio::test]
async fn eight_bit_subject_is_tagged_with_its_bytes_kept() {
    let m = RunningMilter::start(MilterConfig::default(), KeywordScorer::new()).await;
    let mut conn = m.connect([192, 0, 2, 1]).await;
    assert_eq!(conn.mail(["<a@sender.example>"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.rcpt(["<lax@example.org>"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.data().await.unwrap(), Status::Noreply);
    assert_eq!(conn.header("Subject", c"Gr\xfc\xdfe").await.unwrap(), Status::Noreply);
    assert_eq!(conn.eoh().await.unwrap(), Status::Noreply);
    assert_eq!(conn.body(SPAM_12.to_string()).await.unwrap(), Status::Noreply);
    let (actions, status) = conn.eom().await.unwrap();
    assert_eq!(status, Status::Continue);
    let subject = actions.actions.iter().find_map(|a| match a {
        EomAction::ChangeHeader { name, index: 1, value } if name.to_bytes() == b"Subject" => Some(value.to_bytes().to_vec()),
        _ => None,
    });
    assert_eq!(subject.as_deref(), Some(&b"***SPAM*** Gr\xfc\xdfe"[..]), "{actions:?}");
}

#[tokio::test]
async fn oversized_message_passes_unscored_with_a_header() {
    let raw = MilterConfig { max_message_bytes: 1000, ..Default::default() };
    let scorer = KeywordScorer::new();
    let m = RunningMilter::start(raw, scorer.clone()).await;
    let mut conn = m.connect([192, 0, 2, 1]).await;
    let body = format!("SCORE=100\r\n{}\r\n", "x".repeat(5000));
    let (actions, status) = send(&mut conn, &["strict@example.org"], BASIC, &body).await;
    assert_eq!(status, Status::Continue);
    assert_eq!(scorer.calls.load(Ordering::SeqCst), 0);
    assert_eq!(added(&actions), vec![("X-Mailward-Scan".to_string(), "skipped, message larger than 1000 bytes".to_string())]);
    // The next message on the same connection is scored again.
    let (actions, _) = send(&mut conn, &["strict@example.org"], BASIC, "SCORE=4\r\n").await;
    assert_eq!(header(&added(&actions), "X-Spam-Score"), Some("4"));
}

#[tokio::test]
async fn slow_scoring_times_out_into_the_failure_action() {
    let scorer = Arc::new(KeywordScorer { calls: AtomicUsize::new(0), delay: Duration::from_millis(1500), panics: false });
    let raw = MilterConfig { scoring_timeout_ms: 100, ..Default::default() };
    let m = RunningMilter::start(raw, scorer.clone()).await;
    let mut conn = m.connect([192, 0, 2, 1]).await;
    let (actions, status) = send(&mut conn, &["strict@example.org"], BASIC, "SCORE=1\r\n").await;
    assert!(actions.is_empty());
    match status {
        Status::Tempfail { message: Some(m) } => assert!(m.to_string_lossy().starts_with("451 4.7.1 "), "{m:?}"),
        other => panic!("expected tempfail, got {other:?}"),
    }
    let raw = MilterConfig { scoring_timeout_ms: 100, failure_action: FailureAction::Accept, ..Default::default() };
    let m = RunningMilter::start(raw, scorer).await;
    let mut conn = m.connect([192, 0, 2, 1]).await;
    let (actions, status) = send(&mut conn, &["strict@example.org"], BASIC, "SCORE=100\r\n").await;
    assert_eq!(status, Status::Accept);
    assert!(actions.is_empty());
}

/// Counts how many messages it scores at the same time.
struct ConcurrencyScorer {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Scorer for ConcurrencyScorer {
    fn score(&self, _message: &[u8]) -> ScoreReport {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(40));
        self.now.fetch_sub(1, Ordering::SeqCst);
        ScoreReport { score: 4.0, tests: vec![ScoredTest { name: "FOUR".into(), score: 4.0 }] }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_beyond_one_per_core_wait_their_turn_and_all_get_scored() {
    let cores = std::thread::available_parallelism().unwrap().get();
    let scorer = Arc::new(ConcurrencyScorer { now: AtomicUsize::new(0), most: AtomicUsize::new(0) });
    let m = Arc::new(RunningMilter::start(MilterConfig::default(), scorer.clone()).await);
    let mut tasks = Vec::new();
    for _ in 0..cores * 3 {
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = m.connect([192, 0, 2, 1]).await;
            send(&mut conn, &["strict@example.org"], BASIC, "hello\r\n").await
        }));
    }
    for t in tasks {
        let (actions, status) = t.await.unwrap();
        assert_eq!(status, Status::Continue);
        assert_eq!(header(&added(&actions), "X-Spam-Score"), Some("4"), "{actions:?}");
    }
    let most = scorer.most.load(Ordering::SeqCst);
    assert!(most >= 1 && most <= cores, "{most} messages scored at once on {cores} cores");
}

#[tokio::test]
async fn scorer_failure_gives_the_failure_action_and_the_connection_goes_on() {
    let broken = Arc::new(KeywordScorer { calls: AtomicUsize::new(0), delay: Duration::ZERO, panics: true });
    let m = RunningMilter::start(MilterConfig::default(), broken).await;
    let mut conn = m.connect([192, 0, 2, 1]).await;
    let (_, status) = send(&mut conn, &["strict@example.org"], BASIC, "SCORE=1\r\n").await;
    assert!(matches!(status, Status::Tempfail { .. }), "{status:?}");
    // A reload swaps the scorer without dropping the connection.
    m.state.replace_scorer(KeywordScorer::new());
    let (actions, status) = send(&mut conn, &["strict@example.org"], BASIC, "SCORE=4\r\n").await;
    assert_eq!(status, Status::Continue);
    assert_eq!(header(&added(&actions), "X-Spam-Score"), Some("4"));
}

#[tokio::test]
async fn tcp_listener_serves_the_same_conversation() {
    let settings = MilterSettings::new(MilterSocket::parse("inet:127.0.0.1:0").unwrap(), &MilterConfig::default()).unwrap();
    let listener = MilterListener::bind(&settings).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = MilterState::new(settings, KeywordScorer::new(), directory());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(mailward::milter::run(listener, state, async move {
        let _ = rx.await;
    }));
    let mut conn = TestConnection::open(addr).await.unwrap();
    assert_eq!(conn.connect("c", (Ipv4Addr::new(192, 0, 2, 1), 1)).await.unwrap(), Status::Noreply);
    let (actions, status) = send(&mut conn, &["lax@example.org"], BASIC, "SCORE=12\r\n").await;
    assert_eq!(status, Status::Continue);
    assert_eq!(header(&added(&actions), "X-Spam-Flag"), Some("YES"));
    let _ = tx.send(());
}

#[test]
fn bad_settings_are_all_reported_by_key() {
    let config = MilterConfig { trusted_relays: vec!["10.0.0.0/40".into(), "host name.example".into(), "10.0.0.300".into()], max_message_bytes: 0, socket_mode: 0o1777, ..Default::default() };
    let errors = MilterSettings::new(MilterSocket::parse("inet:10025@127.0.0.1").unwrap(), &config).unwrap_err();
    for key in ["milter.trusted_relays[0]: bad prefix", "milter.trusted_relays[1]: not an IP address, network or host name", "milter.trusted_relays[2]: not an IP address", "milter.max_message_bytes", "milter.socket_mode"] {
        assert!(errors.iter().any(|e| e.starts_with(key)), "{key} missing from {errors:?}");
    }
    // The config file reports the same problems by key before the milter sees them.
    let problems = mailward::config::Config::from_toml_str("[listen]\nmilter = \"tcp:1\"\n[milter]\nfailure_action = \"explode\"\ntrusted_relays = [\"host..example\"]\n").unwrap_err();
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, vec!["listen.milter", "milter.failure_action", "milter.trusted_relays[0]"], "{problems:?}");
    let settings = MilterSettings::new(MilterSocket::parse("inet:10025@127.0.0.1").unwrap(), &MilterConfig { failure_action: FailureAction::Accept, ..Default::default() }).unwrap();
    assert_eq!(settings.listen, MilterSocket::Inet("127.0.0.1:10025".parse().unwrap()));
    assert_eq!(settings.failure_action, FailureAction::Accept);
}

/// A scorer that gives every message the same score, to tell two loads apart.
struct FixedScorer(f64);

impl Scorer for FixedScorer {
    fn score(&self, _message: &[u8]) -> ScoreReport {
        ScoreReport { score: self.0, tests: vec![ScoredTest { name: "FIXED".into(), score: self.0 }] }
    }
}

/// Sends one message and returns its X-Spam-Score.
async fn score_of(conn: &mut TestConnection) -> Option<String> {
    let (actions, _) = send(conn, &["lax@example.org"], BASIC, "x\r\n").await;
    header(&added(&actions), "X-Spam-Score").map(str::to_string)
}

async fn wait_for_score(conn: &mut TestConnection, want: &str) {
    for _ in 0..200 {
        if score_of(conn).await.as_deref() == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("score never became {want}");
}

#[tokio::test]
async fn sighup_and_rule_file_changes_reload_the_rules_on_open_connections() {
    let dir = tempfile::tempdir().unwrap();
    let rule_file = dir.path().join("local.cf");
    std::fs::write(&rule_file, "score FIXED 4\n").unwrap();
    let m = RunningMilter::start(MilterConfig::default(), Arc::new(FixedScorer(4.0))).await;
    // The loader reads the score from the file, as a rule set would.
    let path = rule_file.clone();
    let load: mailward::milter::ScorerLoader = Arc::new(move || {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let score: f64 = text.trim().rsplit(' ').next().unwrap().parse().map_err(|_| format!("bad rule file: {text}"))?;
        Ok(Arc::new(FixedScorer(score)) as Arc<dyn Scorer>)
    });
    let mut conn = m.connect([192, 0, 2, 1]).await;
    assert_eq!(score_of(&mut conn).await.as_deref(), Some("4"));

    let watcher = tokio::spawn(mailward::milter::reload_on_rule_change(m.state.clone(), load.clone(), vec![dir.path().to_path_buf()], Duration::from_millis(50)));
    std::fs::write(&rule_file, "score FIXED 6.5\n").unwrap();
    wait_for_score(&mut conn, "6.5").await;
    // A broken file keeps the rules in use.
    std::fs::write(&rule_file, "score FIXED lots\n").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(score_of(&mut conn).await.as_deref(), Some("6.5"));
    watcher.abort();

    std::fs::write(&rule_file, "score FIXED 8\n").unwrap();
    tokio::spawn(mailward::milter::reload_on_sighup(m.state.clone(), load).unwrap());
    let status = std::process::Command::new("kill").args(["-HUP", &std::process::id().to_string()]).status().unwrap();
    assert!(status.success());
    wait_for_score(&mut conn, "8").await;
}

#[tokio::test]
async fn hostile_input_gets_answers_not_crashes() {
    let m = RunningMilter::start(MilterConfig { max_message_bytes: 64 * 1024, ..Default::default() }, KeywordScorer::new()).await;
    let mut conn = m.connect([192, 0, 2, 1]).await;
    // Recipients without brackets, empty, or not addresses: resolved to the server default.
    assert_eq!(conn.mail(["<>"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.rcpt(["strict@example.org"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.rcpt(["<>"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.rcpt(["<@@@>"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.data().await.unwrap(), Status::Noreply);
    // Non-UTF-8 bytes, a huge Subject, thousands of forged headers.
    assert_eq!(conn.header(std::ffi::CString::new(&b"X-Spam-\xff"[..]).unwrap(), std::ffi::CString::new(&b"\xfe\xfd"[..]).unwrap()).await.unwrap(), Status::Noreply);
    assert_eq!(conn.header("Subject", "s".repeat(50_000)).await.unwrap(), Status::Noreply);
    for _ in 0..3000 {
        assert_eq!(conn.header("X-Spam-Flag", "NO").await.unwrap(), Status::Noreply);
    }
    assert_eq!(conn.eoh().await.unwrap(), Status::Noreply);
    assert_eq!(conn.body(&b"\x00\x01SCORE=4\xff\r\n"[..]).await.unwrap(), Status::Noreply);
    let (actions, status) = conn.eom().await.unwrap();
    assert_eq!(status, Status::Continue);
    // Over the size cap: unscored, but every forged header is still deleted.
    let deleted = actions.actions.iter().filter(|a| matches!(a, EomAction::DeleteHeader { .. })).count();
    assert_eq!(deleted, 3001);
    assert!(added(&actions.actions).iter().any(|(n, _)| n == "X-Mailward-Scan"));
    // A message with no header at all and an empty body.
    assert_eq!(conn.mail(["<a@b.example>"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.rcpt(["<lax@example.org>"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.data().await.unwrap(), Status::Noreply);
    assert_eq!(conn.eoh().await.unwrap(), Status::Noreply);
    let (_, status) = conn.eom().await.unwrap();
    assert_eq!(status, Status::Continue);
}
