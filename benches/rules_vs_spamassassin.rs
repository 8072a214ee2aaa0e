//! Scores the SpamAssassin test corpus with Debian's full rule set, once with our engine and once
//! with a private `spamd` (local tests only, Bayes off, one child so figures are per core), in one
//! run; prints messages/s per core, p50/p99 latency, and the rule set's load time and memory.
//!
//! Run: `cargo bench --bench rules_vs_spamassassin` (needs the spamassassin and spamc packages).
//! `-- --ours-only` skips spamd, `-- --load-only` stops after loading (both for profiling). Every
//! run prints a fingerprint of the scores and hit lists over the corpus, so a speed change that
//! alters any score shows up as a different fingerprint; `RULES_BENCH_DUMP=FILE` also writes one
//! line per message (score and hits) to diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailward::rules::{Environment, NetworkFacts, RuleSet, ScoringPool};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// CPU time of the whole process (all threads), in ms: unlike wall time, barely moved by other
/// work on a shared machine.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map(|f| f.iter().filter_map(|t| t.parse::<f64>().ok()).sum()).unwrap_or(0.0);
    ticks * 10.0 // USER_HZ is 100 on Linux
}

fn corpus() -> Vec<Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<Vec<u8>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if !matches!(p.file_name().and_then(|n| n.to_str()), Some("SOURCE" | "LICENSE")) {
                out.push(std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spamassassin"), &mut out);
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(name: &str, mut lat: Vec<Duration>, wall: Duration) -> String {
    lat.sort();
    format!(
        "| {name} | {} | {:.1} | {:.2} | {:.2} |",
        lat.len(),
        lat.len() as f64 / wall.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1000.0,
        percentile(&lat, 0.99).as_secs_f64() * 1000.0
    )
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

fn main() {
    let messages = corpus();
    // load time and memory of Debian's full rule set
    let before = rss_kib();
    let cpu = cpu_ms();
    let t = Instant::now();
    let (set, _) = RuleSet::load(&[PathBuf::from("/usr/share/spamassassin")], &Environment::spamassassin_4_0_1());
    let load = t.elapsed();
    let load_cpu = cpu_ms() - cpu;
    let after = rss_kib();
    println!("rule set: {} rules, load {:.0} ms ({load_cpu:.0} ms CPU), resident memory +{:.1} MiB", set.rules.len(), load.as_secs_f64() * 1000.0, (after.saturating_sub(before)) as f64 / 1024.0);
    if std::env::args().any(|a| a == "--load-only") {
        return;
    }

    // a first pass over the corpus: what a freshly started daemon pays on its first messages
    // (fast regexes are compiled on first use)
    let mut first = Vec::new();
    let t = Instant::now();
    for m in &messages {
        let s = Instant::now();
        std::hint::black_box(set.score(m, &NetworkFacts::default()));
        first.push(s.elapsed());
    }
    let first_pass = summary("mailward rules, first pass after loading (1 thread)", first, t.elapsed());

    // steady state, as spamd's figure is (it compiles every rule before it listens): several
    // rounds over the corpus on one thread
    let rounds = 5;
    let mut lat = Vec::new();
    let cpu = cpu_ms();
    let t = Instant::now();
    for _ in 0..rounds {
        for m in &messages {
            let s = Instant::now();
            std::hint::black_box(set.score(m, &NetworkFacts::default()));
            lat.push(s.elapsed());
        }
    }
    let ours = summary("mailward rules (1 thread)", lat, t.elapsed());
    println!("mailward rules: {:.1} messages per CPU second", (rounds * messages.len()) as f64 / ((cpu_ms() - cpu) / 1000.0));
    // what the engine answered (after the timed rounds, so they include any first-use work),
    // scored as the milter scores, through the pool that shares a message's rules with an idle
    // core: the fingerprint also shows that splitting changes no score or hit
    let set = std::sync::Arc::new(set);
    let mut lines = String::new();
    let mut total = 0.0;
    for (i, m) in messages.iter().enumerate() {
        let r = set.score_on(ScoringPool::for_this_machine(), m, &NetworkFacts::default(), None).expect("no deadline, no early stop");
        total += r.score;
        let names: Vec<String> = r.hits.iter().map(|h| format!("{}x{}", h.name, h.count)).chain(r.subrule_hits.iter().cloned()).collect();
        lines.push_str(&format!("{i} {:.3} {}\n", r.score, names.join(",")));
    }
    println!("fingerprint: total score {total:.3}, hit lists fnv1a {:016x}", fnv1a(lines.as_bytes()));
    if let Ok(path) = std::env::var("RULES_BENCH_DUMP") {
        std::fs::write(path, &lines).unwrap();
    }

    if std::env::args().any(|a| a == "--ours-only") {
        println!("{first_pass}");
        println!("{ours}");
        return;
    }

    // spamd with one child: per-core throughput as spamc sees it
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    for e in std::fs::read_dir("/etc/spamassassin").unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pre") {
            std::fs::copy(&p, site.join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(site.join("local.cf"), "use_bayes 0\nbayes_auto_learn 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    for p in [dir.path(), site.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new("spamd")
        .args(["-L", "-x", "-C", "/usr/share/spamassassin", "--max-children=1", "--min-children=1", "-s", "stderr", "-u", "nobody"])
        .arg(format!("--siteconfigpath={}", site.display()))
        .arg(format!("--listen=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spamd installed");
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
        assert!(t.elapsed() < Duration::from_secs(120), "spamd did not start");
    }
    println!("spamd: start-up (rule set load) {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
    let mut lat = Vec::new();
    let t = Instant::now();
    for m in &messages {
        let s = Instant::now();
        let mut c = Command::new("spamc").args(["-d", "127.0.0.1", "-p", &port.to_string(), "-c"]).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
        use std::io::Write;
        let _ = c.stdin.take().unwrap().write_all(m);
        let _ = c.wait();
        lat.push(s.elapsed());
    }
    let sa = summary("SpamAssassin 4.0.1 spamd/spamc (1 child)", lat, t.elapsed());
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    println!("| engine | messages | messages/s per core | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    println!("{first_pass}");
    println!("{ours}");
    println!("{sa}");
}
