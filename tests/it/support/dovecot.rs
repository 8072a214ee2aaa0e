//! A private Dovecot (LMTP + IMAP + Pigeonhole) in a tempdir on loopback ports chosen at run
//! time, reading `contrib/dovecot/conf.d/90-mailward.conf` with its paths pointed at the test's
//! generated files. Never touches the system instance or /etc/dovecot. Killed on drop.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Dovecot {
    pub dir: PathBuf,
    /// dovecot.conf, for `doveadm -c` (the purge job).
    pub config: PathBuf,
    pub lmtp_port: u16,
    pub imap_port: u16,
    /// Where the capture "sendmail" drops each outgoing message (vacation answers).
    pub outbox: PathBuf,
    /// The `dovecot -F` process; killed when the harness is dropped.
    child: Child,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Dovecot {
    /// Starts Dovecot with `passwd` as passdb/userdb; mail runs as `vmail_user`.
    pub fn start(dir: &Path, passwd: &Path, vmail_user: &str) -> Dovecot {
        let lmtp_port = free_port();
        let imap_port = free_port();
        let outbox = dir.join("outbox");
        std::fs::create_dir_all(&outbox).unwrap();
        let chown = |p: &Path| {
            let ok = Command::new("chown").arg(format!("{vmail_user}:")).arg(p).status().unwrap().success();
            assert!(ok, "chown {}", p.display());
        };
        chown(&outbox);
        let sendmail = dir.join("capture-sendmail");
        std::fs::write(&sendmail, format!("#!/bin/sh\ncat > \"{}/$(date +%s%N)-$$.eml\"\n", outbox.display())).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&sendmail, std::fs::Permissions::from_mode(0o755)).unwrap();

        let contrib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/dovecot/conf.d/90-mailward.conf")).unwrap();
        let contrib = contrib
            .replace("/etc/dovecot/mailward.passwd", passwd.to_str().unwrap())
            .replace("address = 127.0.0.1\n    port = 24", &format!("address = 127.0.0.1\n    port = {lmtp_port}"));
        std::fs::write(dir.join("90-mailward.conf"), contrib).unwrap();
        let config = dir.join("dovecot.conf");
        std::fs::write(
            &config,
            format!(
                r#"instance_name = mailward-test-{lmtp_port}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
hostname = mail.example.org
sendmail_path = {sendmail}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
!include {d}/90-mailward.conf
"#,
                d = dir.display(),
                sendmail = sendmail.display()
            ),
        )
        .unwrap();
        for sub in ["run", "state"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let check = Command::new("doveconf").arg("-c").arg(&config).arg("-n").output().unwrap();
        assert!(check.status.success(), "doveconf rejects the config: {}", String::from_utf8_lossy(&check.stderr));

        let child = Command::new("dovecot").arg("-F").arg("-c").arg(&config).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let dovecot = Dovecot { dir: dir.to_path_buf(), config, lmtp_port, imap_port, outbox, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", imap_port)).is_err() || TcpStream::connect(("127.0.0.1", lmtp_port)).is_err() {
            assert!(Instant::now() < deadline, "dovecot did not start: {}", dovecot.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        dovecot
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }

    /// Delivers `message` to `recipients` over LMTP with swaks (one transaction).
    pub fn deliver(&self, from: &str, recipients: &[&str], message: &str) {
        let file = self.dir.join(format!("msg-{}.eml", free_port()));
        std::fs::write(&file, message).unwrap();
        let out = Command::new("swaks")
            .args(["--protocol", "LMTP", "--server", &format!("127.0.0.1:{}", self.lmtp_port), "--from", from, "--to", &recipients.join(",")])
            .arg("--data")
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "LMTP delivery failed: {}\n{}", String::from_utf8_lossy(&out.stdout), self.log());
    }

    /// Messages in `folder` as seen over IMAP by `user` logging in with `password`, or the
    /// server's answer to the login when it refuses.
    pub fn imap_count(&self, user: &str, password: &str, folder: &str) -> Result<u32, String> {
        let mut imap = Imap::connect(self.imap_port);
        let login = imap.command(&format!("LOGIN {} {}", imap_quote(user), imap_quote(password)));
        if !login.last().is_some_and(|l| l.starts_with("a OK")) {
            return Err(login.join("\n"));
        }
        let status = imap.command(&format!("STATUS {} (MESSAGES)", imap_quote(folder)));
        for line in &status {
            if let Some(rest) = line.strip_prefix("* STATUS ")
                && let Some(n) = rest.split("MESSAGES ").nth(1)
            {
                return Ok(n.trim_end_matches(')').trim().parse().unwrap());
            }
        }
        if status.last().is_some_and(|l| l.contains("NONEXISTENT") || l.contains("doesn't exist")) {
            return Ok(0);
        }
        Err(status.join("\n"))
    }
}

impl Dovecot {
    /// Waits until `folder` holds `count` messages (mail that went through Postfix arrives
    /// asynchronously) and returns what IMAP says at the end; a readiness wait, not a timing check.
    pub fn wait_for_count(&self, user: &str, password: &str, folder: &str, count: u32) -> Result<u32, String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = self.imap_count(user, password, folder);
            if now.as_ref().is_ok_and(|n| *n >= count) || Instant::now() > deadline {
                return now;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn imap_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

struct Imap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Imap {
    fn connect(port: u16) -> Imap {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut imap = Imap { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream };
        let mut greeting = String::new();
        imap.reader.read_line(&mut greeting).unwrap();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        imap
    }

    /// Sends `a <command>` and returns the lines up to and including the tagged answer.
    fn command(&mut self, command: &str) -> Vec<String> {
        write!(self.writer, "a {command}\r\n").unwrap();
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).unwrap() == 0 {
                return lines;
            }
            let line = line.trim_end().to_string();
            let done = line.starts_with("a ");
            lines.push(line);
            if done {
                return lines;
            }
        }
    }
}
