//! A private Rspamd (Debian's 3.4) in a tempdir: the stock `/etc/rspamd/rspamd.conf` with
//! LOCAL_CONFDIR, DBDIR, RUNDIR and LOGDIR pointed into the tempdir, one normal worker on a
//! loopback port chosen at run time, controller, proxy and fuzzy workers off, no Redis, and
//! `contrib/rspamd/local.d/spamassassin.conf` with its `ruleset` pointed at the file under test.
//! Never touches the system instance. Stopped (by its own pid) on drop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::dovecot::free_port;

pub struct Rspamd {
    pub port: u16,
    /// The tempdir holding local.d/, db/, run/ and log/; removed on drop, after the process.
    dir: tempfile::TempDir,
    /// The `rspamd -f` main process; its workers exit with it.
    child: Child,
}

/// What Rspamd answered for one message: symbol name to score.
pub type Symbols = std::collections::BTreeMap<String, f64>;

impl Rspamd {
    /// Starts Rspamd with `ruleset` for its spamassassin module and waits until it listens.
    pub fn start(ruleset: &Path) -> Rspamd {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let local = root.join("local.d");
        for d in ["local.d", "override.d", "db", "run", "log"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        let port = free_port();
        let contrib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/rspamd/local.d/spamassassin.conf")).unwrap();
        let config: String = contrib
            .lines()
            .map(|l| if l.trim_start().starts_with("ruleset") { format!("ruleset = \"{}\";", ruleset.display()) } else { l.to_string() })
            .collect::<Vec<_>>()
            .join("\n");
        let files = [
            ("spamassassin.conf", config),
            ("logging.inc", format!("type = \"file\";\nfilename = \"{}\";\nlevel = \"info\";\n", root.join("log/rspamd.log").display())),
            ("worker-normal.inc", format!("bind_socket = \"127.0.0.1:{port}\";\ncount = 1;\n")),
            ("worker-controller.inc", "enabled = false;\n".into()),
            ("worker-proxy.inc", "enabled = false;\n".into()),
            ("worker-fuzzy.inc", "enabled = false;\n".into()),
            ("redis.conf", String::new()),
        ];
        for (name, text) in files {
            std::fs::write(local.join(name), text).unwrap();
        }
        let var = |k: &str, v: &Path| format!("--var={k}={}", v.display());
        let child = Command::new("rspamd")
            .args(["-f", "-i", "-u", "root", "-g", "root", "-c", "/etc/rspamd/rspamd.conf"])
            .arg(var("LOCAL_CONFDIR", root))
            .arg(var("DBDIR", &root.join("db")))
            .arg(var("RUNDIR", &root.join("run")))
            .arg(var("LOGDIR", &root.join("log")))
            .arg("-p")
            .arg(root.join("run/rspamd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rspamd is installed (package rspamd)");
        let rspamd = Rspamd { port, dir, child };
        // Loading a few thousand SpamAssassin rules takes Rspamd tens of seconds.
        let deadline = Instant::now() + Duration::from_secs(180);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "rspamd did not start listening: {}", rspamd.log_tail());
            std::thread::sleep(Duration::from_millis(200));
        }
        rspamd
    }

    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.path().join("log/rspamd.log")).unwrap_or_default()).into_owned()
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        log.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// A worker died on a signal (Rspamd logs the crash and does not respawn it).
    pub fn crashed(&self) -> bool {
        let log = self.log();
        log.contains("caught fatal signal") || log.contains("terminated abnormally")
    }

    /// Scans `message` over HTTP (`POST /checkv2`), as rspamc and the milter proxy do.
    pub fn scan(&self, message: &[u8]) -> Result<Symbols, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let head = format!("POST /checkv2 HTTP/1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", message.len());
        stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(message)).map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).map_err(|e| format!("no answer: {e}"))?;
        let text = String::from_utf8_lossy(&answer);
        let (status, body) = text.split_once("\r\n\r\n").ok_or_else(|| format!("not HTTP: {text}"))?;
        if !status.starts_with("HTTP/1.1 200") && !status.starts_with("HTTP/1.0 200") {
            return Err(format!("{status}\n{body}"));
        }
        let json: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))?;
        let symbols = json["symbols"].as_object().ok_or_else(|| format!("no symbols: {body}"))?;
        Ok(symbols.iter().map(|(name, s)| (name.clone(), s["score"].as_f64().unwrap_or(f64::NAN))).collect())
    }
}

impl Drop for Rspamd {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}
