//! The milter benchmark (run by `bench/milter.sh`; figures in BENCHMARKS.md).
//!
//! In one run, on the same messages and the same rule files (`/usr/share/spamassassin`, or
//! `MAILWARD_BENCH_RULES`):
//! 1. the milter protocol over a unix socket, in-process, driven by a real milter client:
//!    per-message latency on 1 connection, and throughput on 8 and 64 concurrent connections;
//! 2. end to end through a private Postfix (smtpd on loopback, mail discarded after the
//!    queue): Postfix alone, Postfix + mailward's milter, Postfix + spamass-milter + a private
//!    spamd, each with SMTP clients on 1 and 8 connections (throughput). One Postfix serves
//!    both sides: `smtpd_milter_maps` gives the milter to clients from 127.0.0.2 only.
//! 3. what the milter adds to a transaction (MAIL FROM to the 250 after DATA), paired: one
//!    client with the milter and one without send the same messages in turn, and the p99 with
//!    minus the p99 without is taken over the same stretch of time; for a milter that does not
//!    score and for mailward's.
//!
//! Environment: `MAILWARD_BENCH_MESSAGES` (default 2000), `MAILWARD_BENCH_SA_MESSAGES`
//! (default 200: SpamAssassin is slow), `MAILWARD_BENCH_PAIRS` (default 5000 pairs for the
//! paired measure), `MAILWARD_BENCH_SKIP_SA=1`.

#[path = "../tests/it/support/postfix.rs"]
#[allow(dead_code)]
mod postfix;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indymilter_test::{MacroStage, Status, TestConnection};
use mailward::milter::{MilterConfig, MilterListener, MilterSettings, MilterSocket, MilterState, Scorer};
use mailward::spam::{PolicyDirectory, PolicyValues};
use postfix::{Postfix, PostfixOptions};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const RCPT: &str = "user@example.org";

fn messages() -> Vec<(Vec<(String, String)>, String)> {
    let common = |subject: &str, from: &str| {
        vec![
            ("Received".to_string(), "from mail.sender.example (mail.sender.example [198.51.100.7])\n\tby mx.example.org (Postfix) with ESMTPS id 4Xy1Z2abcD\n\tfor <user@example.org>; Sun, 22 Nov 2026 03:00:00 +0000 (UTC)".to_string()),
            ("Date".to_string(), "Sun, 22 Nov 2026 03:00:00 +0000".to_string()),
            ("From".to_string(), from.to_string()),
            ("To".to_string(), RCPT.to_string()),
            ("Subject".to_string(), subject.to_string()),
            ("Message-ID".to_string(), "<20261122030000.12345@sender.example>".to_string()),
            ("MIME-Version".to_string(), "1.0".to_string()),
        ]
    };
    let mut ham_headers = common("Minutes of Tuesday's meeting", "Alice Example <alice@sender.example>");
    ham_headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
    let ham_body = "Hello team,\r\n\r\nhere are the minutes of Tuesday's meeting. We agreed to move the release to\r\nnext week, after the last round of tests. Bob will update the changelog and Carol\r\nwill check the translations. Please send corrections before Friday.\r\n\r\n".repeat(8) + "Regards,\r\nAlice\r\n";
    let mut spam_headers = common("You have WON!!! Claim your prize now", "\"Lottery Winner Dept\" <winner@lottery-prize.example>");
    spam_headers.push(("Content-Type".into(), "text/html; charset=us-ascii".into()));
    let spam_body = "<html><body><p>Dear friend,</p><p>CONGRATULATIONS! You have been selected to receive $1,000,000 USD.\r\nClick here to claim your prize: <a href=\"http://claim-prize.example/win?id=1\">http://claim-prize.example/win</a></p>\r\n<p>Buy cheap viagra and cialis online, no prescription needed, 100% satisfaction guaranteed!\r\nAct now, limited time offer. This is not spam. To be removed from our mailing list click here.</p>\r\n</body></html>\r\n".repeat(3);
    let mut reply_headers = common("Re: lunch?", "Bob <bob@sender.example>");
    reply_headers.push(("In-Reply-To".into(), "<abc@example.org>".into()));
    reply_headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
    let reply_body = "Sounds good, see you at noon.\r\n\r\n> Lunch tomorrow?\r\n".to_string();
    vec![(ham_headers, ham_body), (spam_headers, spam_body), (reply_headers, reply_body)]
}

fn rule_paths() -> Vec<PathBuf> {
    match std::env::var("MAILWARD_BENCH_RULES") {
        Ok(p) => p.split(':').map(PathBuf::from).collect(),
        Err(_) => vec![PathBuf::from("/usr/share/spamassassin")],
    }
}

fn scorer() -> Arc<dyn Scorer> {
    let started = Instant::now();
    let scorer = mailward::milter::load_rule_scorer(&rule_paths()).expect("cannot load the rules");
    eprintln!("rules loaded in {:?}", started.elapsed());
    scorer
}

fn directory() -> PolicyDirectory {
    PolicyDirectory::new(PolicyValues { tag: -999.0, tag2: 5.0, kill: 999.0, ..PolicyValues::default() }, &[], &[], &[], &[], &[])
}

struct Figures {
    label: String,
    messages: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Figures {
    fn percentile(&self, p: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        nearest_rank(&l, p).unwrap_or(Duration::ZERO)
    }
    fn per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }
    fn print(&self) {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} |",
            self.label,
            self.messages,
            self.per_second(),
            self.percentile(0.50).as_secs_f64() * 1000.0,
            self.percentile(0.99).as_secs_f64() * 1000.0
        );
    }
}

async fn milter_protocol(socket: PathBuf, connections: usize, total: usize) -> Figures {
    let corpus = Arc::new(messages());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let socket = socket.clone();
        let corpus = corpus.clone();
        let share = total / connections + usize::from(c < total % connections);
        tasks.push(tokio::spawn(async move {
            let mut conn = TestConnection::configure().open_unix(&socket).await.unwrap();
            assert_eq!(conn.connect("client.example", ([198, 51, 100, 7], 40000)).await.unwrap(), Status::Noreply);
            conn.helo("client.example").await.unwrap();
            let mut latencies = Vec::with_capacity(share);
            for i in 0..share {
                let (headers, body) = &corpus[(c + i) % corpus.len()];
                let t = Instant::now();
                conn.mail(["<sender@sender.example>"]).await.unwrap();
                conn.macros(MacroStage::Rcpt, [("i", "4BENCH")]).await.unwrap();
                conn.rcpt([format!("<{RCPT}>")]).await.unwrap();
                conn.data().await.unwrap();
                for (n, v) in headers {
                    conn.header(n.as_str(), v.as_str()).await.unwrap();
                }
                conn.eoh().await.unwrap();
                conn.body(body.clone()).await.unwrap();
                let (_, status) = conn.eom().await.unwrap();
                assert_eq!(status, Status::Continue);
                latencies.push(t.elapsed());
            }
            conn.close().await.unwrap();
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    Figures { label: format!("milter protocol with the rule engine, {connections} connection(s)"), messages: total, elapsed: started.elapsed(), latencies }
}

async fn smtp_reply(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap() == 0 {
            panic!("connection closed after {all:?}");
        }
        all.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return all;
        }
    }
}

/// The address an SMTP client sends from: the benchmark's Postfix gives the milter to clients
/// from `WITH_MILTER` only (`smtpd_milter_maps`), so one Postfix serves both sides.
const WITHOUT_MILTER: [u8; 4] = [127, 0, 0, 1];
const WITH_MILTER: [u8; 4] = [127, 0, 0, 2];

/// One SMTP client connection, greeted and past EHLO.
struct SmtpClient {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl SmtpClient {
    async fn open(port: u16, from: [u8; 4]) -> SmtpClient {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((from, 0).into()).unwrap();
        let stream = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (reader, writer) = stream.into_split();
        let mut client = SmtpClient { reader: BufReader::new(reader), writer };
        assert!(smtp_reply(&mut client.reader).await.starts_with("220"));
        client.writer.write_all(b"EHLO client.example\r\n").await.unwrap();
        assert!(smtp_reply(&mut client.reader).await.starts_with("250"));
        client
    }

    /// One transaction, timed from MAIL FROM to the 250 after the final dot.
    async fn send(&mut self, data: &str) -> Duration {
        let t = Instant::now();
        self.writer.write_all(format!("MAIL FROM:<sender@sender.example>\r\nRCPT TO:<{RCPT}>\r\nDATA\r\n").as_bytes()).await.unwrap();
        // Postfix advertises PIPELINING: the three replies come in order.
        for expect in ["250", "250", "354"] {
            let reply = smtp_reply(&mut self.reader).await;
            assert!(reply.starts_with(expect), "expected {expect}, got {reply}");
        }
        self.writer.write_all(data.as_bytes()).await.unwrap();
        self.writer.write_all(b".\r\n").await.unwrap();
        let reply = smtp_reply(&mut self.reader).await;
        assert!(reply.starts_with("250"), "message refused: {reply}");
        t.elapsed()
    }

    async fn quit(mut self) {
        self.writer.write_all(b"QUIT\r\n").await.unwrap();
    }
}

/// The corpus as SMTP DATA (CRLF lines, before the final dot).
fn smtp_data() -> Vec<String> {
    messages()
        .into_iter()
        .map(|(headers, body)| {
            let mut data = String::new();
            for (n, v) in headers {
                data += &format!("{n}: {}\r\n", v.replace('\n', "\r\n"));
            }
            data + "\r\n" + &body
        })
        .collect()
}

async fn smtp_load(label: &str, port: u16, from: [u8; 4], connections: usize, total: usize) -> Figures {
    let corpus = Arc::new(smtp_data());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let corpus = corpus.clone();
        let share = total / connections + usize::from(c < total % connections);
        tasks.push(tokio::spawn(async move {
            let mut client = SmtpClient::open(port, from).await;
            let mut latencies = Vec::with_capacity(share);
            for i in 0..share {
                latencies.push(client.send(&corpus[(c + i) % corpus.len()]).await);
            }
            client.quit().await;
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    Figures { label: format!("{label}, {connections} SMTP connection(s)"), messages: total, elapsed: started.elapsed(), latencies }
}

/// The paired measure of what the milter adds: two connections to the same Postfix, one whose
/// client gets the milter and one whose client does not, sending the same message in turn
/// (`total` each), so both sides' figures come from the same moments of the machine's life
/// (two runs one after the other differ by more than the milter's cost on a shared VM).
async fn paired(label: &str, port: u16, total: usize) -> (Figures, Figures, Vec<f64>) {
    let corpus = smtp_data();
    let mut without = SmtpClient::open(port, WITHOUT_MILTER).await;
    let mut with = SmtpClient::open(port, WITH_MILTER).await;
    let (mut base, mut ours, mut differences) = (Vec::with_capacity(total), Vec::with_capacity(total), Vec::with_capacity(total));
    let started = Instant::now();
    for i in 0..total {
        let data = &corpus[i % corpus.len()];
        // alternate which side goes first, so neither always follows the other's delivery
        let (b, o) = if i % 2 == 0 {
            let b = without.send(data).await;
            (b, with.send(data).await)
        } else {
            let o = with.send(data).await;
            (without.send(data).await, o)
        };
        differences.push((o.as_secs_f64() - b.as_secs_f64()) * 1000.0);
        base.push(b);
        ours.push(o);
    }
    let elapsed = started.elapsed();
    without.quit().await;
    with.quit().await;
    differences.sort_by(f64::total_cmp);
    (
        Figures { label: format!("paired: Postfix alone (interleaved with {label})"), messages: total, elapsed, latencies: base },
        Figures { label: format!("paired: Postfix + {label} (interleaved)"), messages: total, elapsed, latencies: ours },
        differences,
    )
}

/// The `p` percentile of `sorted` (nearest rank); None when it is empty.
fn nearest_rank<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied()
}

/// Prints what the milter adds in a paired run: the difference of the two sides' percentiles,
/// and the percentiles of the per-pair differences (sorted).
fn print_added(label: &str, base: &Figures, with: &Figures, differences: &[f64]) {
    let at = |p: f64| nearest_rank(differences, p).unwrap_or(0.0);
    println!(
        "added by {label} (paired, 1 connection each): p50 {:.2} ms, p99 {:.2} ms (difference of percentiles); per-pair difference p50 {:.2} ms, p99 {:.2} ms",
        (with.percentile(0.5).as_secs_f64() - base.percentile(0.5).as_secs_f64()) * 1000.0,
        (with.percentile(0.99).as_secs_f64() - base.percentile(0.99).as_secs_f64()) * 1000.0,
        at(0.5),
        at(0.99)
    );
}

/// A private Postfix whose clients from `WITH_MILTER` talk through `milter` and all others not.
fn bench_postfix(milter: String, map_dir: &std::path::Path) -> Postfix {
    let map = map_dir.join("milter_by_client.cidr");
    std::fs::write(&map, format!("{}/32 DISABLE\n", std::net::Ipv4Addr::from(WITHOUT_MILTER))).unwrap();
    std::fs::set_permissions(&map, std::fs::Permissions::from_mode(0o644)).unwrap();
    Postfix::start(PostfixOptions {
        mailboxes: vec![RCPT.to_string()],
        milter: Some(milter),
        // The benchmark measures acceptance, not disk delivery.
        extra_main_cf: vec!["virtual_transport = discard:".into(), "milter_content_timeout = 120s".into(), format!("smtpd_milter_maps = cidr:{}", map.display())],
        ..Default::default()
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A private spamd (same rule files, no network tests, no Bayes) and spamass-milter.
struct SpamAssassin {
    spamd: Child,
    milter: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl SpamAssassin {
    fn start() -> SpamAssassin {
        let dir = tempfile::Builder::new().prefix("mailward-bench-sa").tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let site = dir.path().join("site");
        std::fs::create_dir_all(&site).unwrap();
        // --siteconfigpath replaces /etc/spamassassin: its .pre files (which load the Check
        // plugin and the rest) must come along, or spamd cannot scan at all.
        for entry in std::fs::read_dir("/etc/spamassassin").expect("no /etc/spamassassin: is spamassassin installed?") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "pre") {
                std::fs::copy(&path, site.join(path.file_name().unwrap())).unwrap();
            }
        }
        std::fs::write(site.join("local.cf"), "use_bayes 0\nbayes_auto_learn 0\nskip_rbl_checks 1\n").unwrap();
        let port = free_port();
        let rules = rule_paths();
        let spamd = Command::new("spamd")
            .args(["-L", "-x", "-u", "nobody", "--max-children=2", "--min-spare=2", "--min-children=2"])
            .arg("-C")
            .arg(&rules[0])
            .arg(format!("--siteconfigpath={}", site.display()))
            .arg(format!("--listen=127.0.0.1:{port}"))
            .arg("-s")
            .arg(dir.path().join("spamd.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start spamd");
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "spamd does not listen");
            std::thread::sleep(Duration::from_millis(200));
        }
        let socket = dir.path().join("spamass.sock");
        // spamass-milter 0.4 has no socket-mode option: umask 0 lets Postfix (user postfix) in.
        let milter = Command::new("sh")
            .arg("-c")
            .arg(format!("umask 0; exec spamass-milter -p {} -- -d 127.0.0.1 -p {port}", socket.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start spamass-milter: apt-get install spamass-milter");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "spamass-milter does not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        SpamAssassin { spamd, milter, socket, _dir: dir }
    }
}

impl Drop for SpamAssassin {
    fn drop(&mut self) {
        // Only the children this benchmark started, by their pids.
        let _ = self.milter.kill();
        let _ = self.spamd.kill();
        let _ = self.milter.wait();
        let _ = self.spamd.wait();
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo bench` passes --bench; nothing else is read from the command line.
    let total = env_usize("MAILWARD_BENCH_MESSAGES", 2000);
    let sa_total = env_usize("MAILWARD_BENCH_SA_MESSAGES", 200);
    // a p99 difference needs many more samples than a throughput (pairs are quick: ~4 ms each)
    let pairs = env_usize("MAILWARD_BENCH_PAIRS", 5000).max(1);
    let scorer = scorer();

    // Warm the engine on the corpus (first-use regex compilation) so figures are steady state.
    for m in smtp_data() {
        let report = scorer.score(m.as_bytes());
        eprintln!("corpus message scores {}: {:?}", report.score, report.tests.iter().map(|t| t.name.as_str()).collect::<Vec<_>>());
    }

    // `load_rule_scorer` compiles the remaining patterns on a background thread: let it finish
    // (about a second) so it does not share the cores with the first measurements.
    std::thread::sleep(Duration::from_secs(3));
    println!("| what | messages | messages/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    // The rule engine alone, one message at a time: what scoring costs without any protocol.
    {
        let corpus: Vec<Vec<u8>> = smtp_data().into_iter().map(String::into_bytes).collect();
        let n = (total / 4).max(30);
        // Back to back, the rule set's memory stays in the caches; after an idle moment (a mail
        // host between messages, or Postfix's own work between scorings) much of it must come
        // from RAM again, which on this VM costs more than the instructions.
        for (label, idle) in [("rule engine alone (one scoring at a time, shared with the idle core)", Duration::ZERO), ("rule engine alone, 2 ms idle before each message", Duration::from_millis(2))] {
            let started = Instant::now();
            let mut latencies = Vec::with_capacity(n);
            for i in 0..n {
                std::thread::sleep(idle);
                let t = Instant::now();
                std::hint::black_box(scorer.score(&corpus[i % corpus.len()]));
                latencies.push(t.elapsed());
            }
            Figures { label: label.into(), messages: n, elapsed: started.elapsed(), latencies }.print();
        }
    }
    let zero_added;
    // The milter with a scorer that does nothing: the protocol's own cost.
    {
        /// Counts its messages: the paired run checks that only one side went through it.
        struct Zero(std::sync::atomic::AtomicUsize);
        impl Scorer for Zero {
            fn score(&self, _: &[u8]) -> mailward::spam::ScoreReport {
                self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                mailward::spam::ScoreReport { score: 0.0, tests: Vec::new() }
            }
        }
        let zero = Arc::new(Zero(std::sync::atomic::AtomicUsize::new(0)));
        let dir = tempfile::Builder::new().prefix("mailward-bench-zero").tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let socket = dir.path().join("zero.sock");
        // Postfix's smtpd runs as user postfix: it must reach the socket.
        let settings = MilterSettings::new(MilterSocket::Unix(socket.clone()), &MilterConfig { socket_mode: 0o666, ..Default::default() }).unwrap();
        let listener = MilterListener::bind(&settings).await.unwrap();
        let state = MilterState::new(settings, Arc::clone(&zero) as Arc<dyn Scorer>, directory());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(mailward::milter::run(listener, state, async move {
            let _ = stopped.await;
        }));
        for connections in [1, 8, 64] {
            let mut f = milter_protocol(socket.clone(), connections, total).await;
            f.label = format!("milter protocol without scoring, {connections} connection(s)");
            f.print();
        }
        // The same milter behind Postfix: what a milter costs Postfix before any scoring.
        let zero_postfix = {
            let (s, d) = (socket.clone(), dir.path().to_path_buf());
            tokio::task::spawn_blocking(move || bench_postfix(format!("unix:{}", s.display()), &d)).await.unwrap()
        };
        let scored_before = zero.0.load(std::sync::atomic::Ordering::Relaxed);
        let (base, with, differences) = paired("mailward milter without scoring", zero_postfix.port, pairs).await;
        let scored = zero.0.load(std::sync::atomic::Ordering::Relaxed) - scored_before;
        assert_eq!(scored, pairs, "smtpd_milter_maps: only the client from 127.0.0.2 goes through the milter");
        base.print();
        with.print();
        zero_added = (base, with, differences);
        drop(zero_postfix);
        let _ = stop.send(());
        let _ = server.await;
    }

    let dir = tempfile::Builder::new().prefix("mailward-bench").tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("milter.sock");
    let settings = MilterSettings::new(MilterSocket::Unix(socket.clone()), &MilterConfig { socket_mode: 0o666, ..Default::default() }).unwrap();
    let listener = MilterListener::bind(&settings).await.unwrap();
    let state = MilterState::new(settings, scorer, directory());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mailward::milter::run(listener, state, async move {
        let _ = stopped.await;
    }));

    for connections in [1, 8, 64] {
        milter_protocol(socket.clone(), connections, total).await.print();
    }

    let ours = {
        let (s, d) = (socket.clone(), dir.path().to_path_buf());
        tokio::task::spawn_blocking(move || bench_postfix(format!("unix:{}", s.display()), &d)).await.unwrap()
    };
    // Throughput: each side on its own, one after the other.
    let mut e2e = Vec::new();
    for connections in [1, 8] {
        let base = smtp_load("Postfix alone", ours.port, WITHOUT_MILTER, connections, total).await;
        base.print();
        let with = smtp_load("Postfix + mailward milter", ours.port, WITH_MILTER, connections, total).await;
        with.print();
        e2e.push((connections, base, with));
    }
    // Latency added: both sides interleaved.
    let (base, with, differences) = paired("mailward milter", ours.port, pairs).await;
    base.print();
    with.print();
    drop(ours);

    let mut sa_rows = Vec::new();
    if std::env::var("MAILWARD_BENCH_SKIP_SA").is_err() {
        let sa = tokio::task::spawn_blocking(SpamAssassin::start).await.unwrap();
        let (sa_socket, d) = (sa.socket.clone(), dir.path().to_path_buf());
        let pf = tokio::task::spawn_blocking(move || bench_postfix(format!("unix:{}", sa_socket.display()), &d)).await.unwrap();
        for connections in [1, 8] {
            let f = smtp_load("Postfix + spamass-milter + spamd", pf.port, WITH_MILTER, connections, sa_total).await;
            f.print();
            sa_rows.push((connections, f));
        }
        drop(pf);
        drop(sa);
    }

    println!();
    print_added("a milter that does not score", &zero_added.0, &zero_added.1, &zero_added.2);
    print_added("the milter with the rule engine", &base, &with, &differences);
    for (connections, base, with) in &e2e {
        println!(
            "unpaired, one run after the other, at {connections} connection(s): the milter adds p50 {:.2} ms, p99 {:.2} ms",
            (with.percentile(0.5).as_secs_f64() - base.percentile(0.5).as_secs_f64()) * 1000.0,
            (with.percentile(0.99).as_secs_f64() - base.percentile(0.99).as_secs_f64()) * 1000.0
        );
        if let Some((_, sa)) = sa_rows.iter().find(|(c, _)| c == connections) {
            println!("end-to-end throughput at {connections} connection(s): mailward {:.0}/s vs SpamAssassin {:.1}/s = {:.0}x", with.per_second(), sa.per_second(), with.per_second() / sa.per_second());
        }
    }
    let _ = stop.send(());
    let _ = server.await;
}
