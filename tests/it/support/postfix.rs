//! A private Postfix instance for tests: its own config, queue, data and mail directories in a
//! tempdir, smtpd on a loopback port chosen at run time, logging to a file. The system's
//! Postfix and /etc/postfix are never touched (`postfix -c <tempdir>/etc`).
//!
//! Every service runs unchrooted (`n` in master.cf) so that paths in the tempdir, such as a
//! milter's `unix:` socket, mean the same to smtpd as to the test. By default mail for the
//! configured domains is delivered by `virtual(8)` into one Maildir per address
//! ([`Postfix::wait_for_messages`]); `extra_main_cf` can send it elsewhere (e.g.
//! `virtual_transport = lmtp:unix:/path/to/dovecot-lmtp`). Needs root (Postfix's master).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct PostfixOptions {
    /// Domains whose mail is delivered here (`virtual_mailbox_domains`).
    pub domains: Vec<String>,
    /// Addresses with a Maildir (`virtual_mailbox_maps`).
    pub mailboxes: Vec<String>,
    /// `smtpd_milters` value, e.g. `unix:/tmp/x/milter.sock`; `None` for no milter.
    pub milter: Option<String>,
    /// Appended to main.cf after our lines: a later line overrides an earlier one.
    pub extra_main_cf: Vec<String>,
    /// Appended to master.cf.
    pub extra_master_cf: Vec<String>,
}

impl Default for PostfixOptions {
    fn default() -> Self {
        PostfixOptions { domains: vec!["example.org".into()], mailboxes: Vec::new(), milter: None, extra_main_cf: Vec::new(), extra_master_cf: Vec::new() }
    }
}

pub struct Postfix {
    pub dir: tempfile::TempDir,
    pub port: u16,
    config_dir: PathBuf,
    running: bool,
}

/// What swaks saw.
#[derive(Debug)]
pub struct SmtpResult {
    /// swaks's exit code: 0 delivered to the queue, 23-26 refused at some stage.
    pub code: i32,
    pub transcript: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn id_of(flag: &str, name: &str) -> String {
    let out = Command::new("id").arg(flag).arg(name).output().expect("cannot run id");
    assert!(out.status.success(), "no {name} user/group: is postfix installed?");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Postfix {
    pub fn start(options: PostfixOptions) -> Postfix {
        let dir = tempfile::Builder::new().prefix("mailward-postfix").tempdir().unwrap();
        let root = dir.path().to_path_buf();
        use std::os::unix::fs::PermissionsExt;
        // Postfix's daemons run as user postfix and must reach the queue and the sockets.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["etc", "queue", "data", "mail"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let (uid, gid) = (id_of("-u", "postfix"), id_of("-g", "postfix"));
        for sub in ["data", "mail"] {
            let status = Command::new("chown").arg(format!("{uid}:{gid}")).arg(root.join(sub)).status().unwrap();
            assert!(status.success());
        }
        let port = free_port();
        let r = root.display();
        let mut main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {r}/queue
data_directory = {r}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.mailward.test
mydomain = mailward.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = {domains}
virtual_mailbox_base = {r}/mail
virtual_mailbox_maps = texthash:{r}/etc/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
maillog_file = {r}/maillog
maillog_file_prefixes = {r}
alias_maps =
alias_database =
smtputf8_enable = no
biff = no
",
            domains = options.domains.join(", ")
        );
        if let Some(milter) = &options.milter {
            main_cf += &format!("smtpd_milters = {milter}\nmilter_default_action = tempfail\nmilter_protocol = 6\n");
        }
        for line in &options.extra_main_cf {
            main_cf += line;
            main_cf += "\n";
        }
        std::fs::write(root.join("etc/main.cf"), main_cf).unwrap();
        let vmailbox: String = options.mailboxes.iter().map(|a| format!("{a} {a}/\n")).collect();
        std::fs::write(root.join("etc/vmailbox"), vmailbox).unwrap();
        let mut master_cf = format!(
            "127.0.0.1:{port} inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
pickup unix n - n 60 1 pickup
"
        );
        for line in &options.extra_master_cf {
            master_cf += line;
            master_cf += "\n";
        }
        std::fs::write(root.join("etc/master.cf"), master_cf).unwrap();
        let config_dir = root.join("etc");
        let mut postfix = Postfix { dir, port, config_dir, running: false };
        let out = postfix.postfix(&["start"]);
        assert!(out.status.success(), "postfix start failed: {}{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr), postfix.log());
        postfix.running = true;
        postfix.wait_for_port();
        postfix
    }

    fn postfix(&self, args: &[&str]) -> std::process::Output {
        Command::new("postfix").arg("-c").arg(&self.config_dir).args(args).output().expect("cannot run postfix")
    }

    fn wait_for_port(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "postfix does not listen on port {}:\n{}", self.port, self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// Sends one message with swaks: `to` may hold several recipients; `headers` are
    /// `Name: value` lines.
    pub fn swaks(&self, to: &[&str], headers: &[&str], body: &str) -> SmtpResult {
        let mut cmd = Command::new("swaks");
        cmd.args(["--server", &format!("127.0.0.1:{}", self.port), "--from", "sender@outside.example", "--helo", "client.outside.example"]);
        cmd.args(["--to", &to.join(",")]);
        for h in headers {
            // --header replaces swaks's own header of that name (Subject, ...).
            cmd.args(["--header", h]);
        }
        cmd.args(["--body", body, "--timeout", "60"]);
        let out = cmd.output().expect("cannot run swaks: is it installed?");
        SmtpResult { code: out.status.code().unwrap_or(-1), transcript: format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)) }
    }

    /// Submits `message` through Postfix's `sendmail` (maildrop, pickup, cleanup: the path
    /// local programs and web forms take, which `non_smtpd_milters` covers).
    pub fn sendmail(&self, from: &str, to: &str, message: &str) -> std::process::Output {
        use std::io::Write as _;
        let mut child = Command::new("/usr/sbin/sendmail")
            .arg("-C")
            .arg(&self.config_dir)
            .args(["-f", from, "--", to])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(message.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn maildir(&self, address: &str) -> PathBuf {
        self.dir.path().join("mail").join(address)
    }

    /// Waits until `address`'s Maildir holds `count` new messages and returns them (sorted by
    /// file name, which starts with the delivery time).
    pub fn wait_for_messages(&self, address: &str, count: usize) -> Vec<String> {
        let new = self.maildir(address).join("new");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&new).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
            if files.len() >= count {
                files.sort();
                return files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
            }
            assert!(Instant::now() < deadline, "{address} got {} of {count} messages:\n{}", files.len(), self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The instance's directory (config in `etc/`, log in `maillog`, Maildirs in `mail/`).
    #[allow(dead_code)] // for other parts' tests (the mail stack)
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        if self.running {
            // `abort` does not wait for connections to close.
            let _ = self.postfix(&["abort"]);
        }
    }
}
