//! The CLI as an administrator runs it: one-line errors, exit codes, nothing written on bad
//! input, `--json`, `--as`, config errors, and `serve` starting and stopping cleanly.

use assert_cmd::Command;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Stdio;

fn mailward(data_dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("mailward").unwrap();
    cmd.env("MAILWARD_DATA_DIR", data_dir).env_remove("MAILWARD_CONFIG");
    cmd
}

/// Runs a command that must succeed; returns stdout.
fn ok(data_dir: &Path, args: &[&str]) -> String {
    let out = mailward(data_dir).args(args).output().unwrap();
    assert!(out.status.success(), "mailward {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail with one line on stderr; returns that line.
fn fails(data_dir: &Path, args: &[&str]) -> String {
    let out = mailward(data_dir).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "mailward {args:?} should fail; stdout: {}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line expected for {args:?}: {stderr}");
    assert!(stderr.starts_with("mailward: error: "), "{stderr}");
    stderr.trim_end().to_string()
}

fn log_count(data_dir: &Path) -> usize {
    let json = ok(data_dir, &["log", "--json", "--limit", "100000"]);
    serde_json::from_str::<Vec<serde_json::Value>>(&json).unwrap().len()
}


#[test]
fn newcomer_walkthrough_domain_mailbox_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut cmd = Command::cargo_bin("mailward").unwrap();
    let out = cmd.env("MAILWARD_DATA_DIR", d).env_remove("MAILWARD_CONFIG").args(["customer", "add", "acme", "--password", "acme password"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    ok(d, &["domain", "add", "example.com", "--customer", "acme"]);
    let added = ok(d, &["mailbox", "add", "alice@example.com"]);
    // A generated password is shown once.
    let password_line = added.lines().find(|l| l.starts_with("password (shown once): ")).expect("generated password printed");
    assert_eq!(password_line.len(), "password (shown once): ".len() + 20);
    let list = ok(d, &["mailbox", "list"]);
    assert!(list.contains("alice@example.com"), "{list}");
    let log = ok(d, &["log"]);
    assert!(log.contains("mailbox.add") && log.contains("alice@example.com") && log.contains("domain.add"), "{log}");
    // JSON output for scripts, without any password.
    let json: serde_json::Value = serde_json::from_str(&ok(d, &["--json", "mailbox", "show", "alice@example.com"])).unwrap();
    assert_eq!(json["address"], "alice@example.com");
    assert!(!json.to_string().contains("argon2"));

    // The parts behind the CLI: where a policy value comes from, and the DNS a domain needs.
    ok(d, &["domain", "set", "example.com", "--policy", "Permissive"]);
    let explained = ok(d, &["policy", "explain", "alice@example.com"]);
    assert!(explained.contains("Permissive") && explained.contains("10"), "{explained}");
    let err = fails(d, &["dns", "records", "example.com"]);
    assert!(err.contains("has no server set"), "{err}");
    ok(d, &["serverset", "add", "mx1", "--endpoint", "imap:mail.example.com:993:tls", "--endpoint", "smtp:mail.example.com:465:tls"]);
    ok(d, &["domain", "set", "example.com", "--server-set", "mx1"]);
    let zone = ok(d, &["dns", "records", "example.com"]);
    assert!(zone.contains("_imaps._tcp.example.com.") && zone.contains("mail.example.com."), "{zone}");
    let records: Vec<serde_json::Value> = serde_json::from_str(&ok(d, &["--json", "dns", "records", "example.com"])).unwrap();
    assert!(records.iter().any(|r| r["type"] == "MX"), "{records:?}");
}

#[test]
fn bad_input_exits_non_zero_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["customer", "add", "acme", "--password", "acme password", "--limit-mailboxes", "1"]);
    ok(d, &["domain", "add", "example.com", "--customer", "acme"]);
    ok(d, &["mailbox", "add", "a@example.com", "--password", "a password"]);
    let before = log_count(d);
    let long_label = format!("{}.example", "a".repeat(64));
    let long_name = format!("{}example", "abcdefghi.".repeat(26));
    let long_local = format!("{}@example.com", "a".repeat(65));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["domain", "add", "not a domain", "--customer", "acme"], "invalid domain name 'not a domain': contains whitespace"),
        (vec!["domain", "add", &long_label, "--customer", "acme"], "label longer than 63"),
        (vec!["domain", "add", &long_name, "--customer", "acme"], "longer than 253"),
        (vec!["domain", "add", "xn--zz.example", "--customer", "acme"], "malformed punycode"),
        (vec!["domain", "add", "example.com", "--customer", "acme"], "domain 'example.com' already exists"),
        (vec!["domain", "add", "new.example", "--customer", "nosuch"], "customer 'nosuch' not found"),
        (vec!["domain", "add", "new.example"], "which customer owns the domain"),
        (vec!["mailbox", "add", "b@example.com", "--password", "b password"], "limit reached: customer 'acme' may have at most 1 mailboxes"),
        (vec!["mailbox", "add", &long_local, "--password", "b password"], "local part longer than 64"),
        (vec!["mailbox", "add", "a\nb@example.com", "--password", "b password"], "invalid address 'a\\nb@example.com'"),
        (vec!["mailbox", "add", "c@nothosted.example", "--password", "b password"], "domain 'nothosted.example' not found"),
        (vec!["mailbox", "add", "c@example.com", "--password", "short"], "password too short"),
        (vec!["mailbox", "set", "a@example.com", "--quota", "-5"], "quota must be"),
        (vec!["--as", "acme", "policy", "add", "mine", "--tag2", "5"], "permission denied: customer:acme may not edit spam policies (admin only)"),
        (vec!["--as", "nobody", "domain", "list"], "unknown account 'nobody'"),
        (vec!["--as", "a@example.com", "mailbox", "set", "a@example.com", "--quota", "10"], "permission denied: mailbox:a@example.com may not change this mailbox"),
        (vec!["policy", "add", "bad", "--tag2", "9", "--kill", "5"], "kill level 5 is below the tag2 (spam) level 9"),
        (vec!["alias", "add", "x@example.com", "x@example.com"], "cannot point to itself"),
        (vec!["dns", "record", "add", "example.com", "www", "A", "1.2.3.4"], "DNS zone 'example.com' not found"),
        (vec!["serverset", "add", "s1", "--endpoint", "imap:mail.example.com:99999:tls"], "port must be 1-65535"),
    ];
    // Usage errors: one line too, exit code 2.
    let out = mailward(d).args(["domain", "add"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1, "{}", String::from_utf8_lossy(&out.stderr));
    for (args, expected) in cases {
        let line = fails(d, &args);
        assert!(line.contains(expected), "{args:?}: expected '{expected}' in: {line}");
    }
    assert_eq!(log_count(d), before, "a refused command wrote to the store");
    let list = ok(d, &["--json", "domain", "list"]);
    assert_eq!(serde_json::from_str::<Vec<serde_json::Value>>(&list).unwrap().len(), 1);
}

#[test]
fn every_problem_in_a_config_file_is_reported_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mailward.toml");
    std::fs::write(&config, "[listen]\nhttp = \"nowhere\"\n[milter]\nfailure_action = \"maybe\"\nbogus = 1\n").unwrap();
    let out = Command::cargo_bin("mailward").unwrap().args(["--config", config.to_str().unwrap(), "domain", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    for key in ["listen.http", "milter.failure_action", "milter.bogus"] {
        assert!(stderr.contains(key), "{key} missing from: {stderr}");
    }
    // An explicitly named config file that does not exist is an error, not defaults.
    let out = Command::cargo_bin("mailward").unwrap().args(["--config", "/nonexistent/mailward.toml", "domain", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read config file /nonexistent/mailward.toml"));
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `serve --demo` and returns it with what it printed up to its last listener line.
fn start_serve(bin: &Path, data: &Path, http: u16, admin: u16) -> (std::process::Child, String) {
    let mut child = std::process::Command::new(bin)
        .env("MAILWARD_DATA_DIR", data)
        .env_remove("MAILWARD_CONFIG")
        .env_remove("MAILWARD_ADMIN_PASSWORD")
        .args(["serve", "--demo", "--http-listen", &format!("127.0.0.1:{http}"), "--admin-listen", &format!("127.0.0.1:{admin}"), "--milter-listen", "inet:127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        let done = line.starts_with("milter listening");
        seen.push(line);
        if done {
            break;
        }
    }
    (child, seen.join("\n"))
}

#[test]
fn serve_starts_with_zero_configuration_prints_listeners_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (http, admin) = (free_port(), free_port());
    let bin = assert_cmd::cargo::cargo_bin("mailward");
    let (mut child, text) = start_serve(&bin, &data, http, admin);
    assert!(text.contains("created administrator account 'admin'; password (shown once): "), "{text}");
    assert!(text.contains(&format!("public HTTP (autoconfig) listening on http://127.0.0.1:{http}")), "{text}");
    assert!(text.contains(&format!("admin HTTP (API, metrics) listening on http://127.0.0.1:{admin}")), "{text}");
    assert!(text.contains("mailbox alice@example.org") && text.contains("mailbox bob@example.org"), "{text}");
    assert!(data.join("mailward.db").exists());

    let metrics = http_get(&format!("127.0.0.1:{admin}"), "/metrics");
    assert!(metrics.contains("mailward_mailboxes 2") && metrics.contains("mailward_domains 1"), "{metrics}");
    let health = http_get(&format!("127.0.0.1:{admin}"), "/api/v1/health");
    assert!(health.starts_with("HTTP/1.0 200") || health.starts_with("HTTP/1.1 200"), "{health}");

    // The public listener answers autoconfig for the demo domain, and picks up a new domain
    // added from the CLI while serve runs (the change log moved).
    let public = format!("127.0.0.1:{http}");
    let answer = http_get(&public, "/mail/config-v1.1.xml?emailaddress=alice@example.org");
    assert!(answer.contains(" 200 ") && answer.contains("<hostname>mail.example.org</hostname>") && answer.contains("<port>993</port>"), "{answer}");
    let unknown = http_get(&public, "/mail/config-v1.1.xml?emailaddress=someone@new.example");
    assert!(unknown.contains(" 404 "), "{unknown}");
    ok(&data, &["domain", "add", "new.example", "--customer", "demo-customer", "--server-set", "mail.example.org"]);
    let mut refreshed = String::new();
    for _ in 0..50 {
        refreshed = http_get(&public, "/mail/config-v1.1.xml?emailaddress=someone@new.example");
        if refreshed.contains(" 200 ") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(refreshed.contains(" 200 ") && refreshed.contains("mail.example.org"), "autoconfig did not pick up the new domain: {refreshed}");

    // SIGTERM: a clean exit.
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exited with {status}");

    // The demo data is what the README promises.
    let policy_of = |address: &str| {
        let json: serde_json::Value = serde_json::from_str(&ok(&data, &["--json", "mailbox", "show", address])).unwrap();
        json["policy_id"].as_i64().unwrap()
    };
    let policies: Vec<serde_json::Value> = serde_json::from_str(&ok(&data, &["--json", "policy", "list"])).unwrap();
    let id_of = |name: &str| policies.iter().find(|p| p["name"] == name).unwrap()["id"].as_i64().unwrap();
    assert_eq!(policy_of("alice@example.org"), id_of("Normal"));
    assert_eq!(policy_of("bob@example.org"), id_of("Permissive"));
    let aliases = ok(&data, &["alias", "list"]);
    assert!(aliases.contains("info@example.org") && aliases.contains("alice@example.org"), "{aliases}");
    let set: serde_json::Value = serde_json::from_str(&ok(&data, &["--json", "serverset", "show", "mail.example.org"])).unwrap();
    let ports: Vec<i64> = set["endpoints"].as_array().unwrap().iter().map(|e| e["port"].as_i64().unwrap()).collect();
    assert_eq!(ports, vec![993, 587, 465]);

    // A second start creates no second admin and no second demo.
    let (mut child, text) = start_serve(&bin, &data, http, admin);
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
    assert!(!text.contains("created administrator") && text.contains("demo data already present"), "{text}");
}

#[test]
fn serve_reports_a_busy_port_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = mailward(dir.path()).args(["serve", "--http-listen", &addr, "--admin-listen", "127.0.0.1:0", "--milter-listen", "inet:127.0.0.1:0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(&format!("cannot listen on {addr} (public HTTP)")), "{stderr}");
}

#[test]
fn apply_from_the_cli_writes_what_postfix_and_dovecot_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = d.join("etc");
    let config = d.join("mailward.toml");
    std::fs::write(
        &config,
        format!(
            "[apply]\npostfix_dir = \"{0}/postfix\"\ndovecot_passwd = \"{0}/dovecot/passwd\"\nsieve_dir = \"{0}/sieve\"\nmail_root = \"{0}/vmail\"\n",
            root.display()
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    ok(d, &["--config", c, "customer", "add", "acme", "--password", "acme password"]);
    ok(d, &["--config", c, "domain", "add", "example.com", "--customer", "acme", "--policy", "Normal"]);
    ok(d, &["--config", c, "mailbox", "add", "alice@example.com", "--password", "alice password"]);
    ok(d, &["--config", c, "alias", "add", "info@example.com", "alice@example.com"]);
    let report: serde_json::Value = serde_json::from_str(&ok(d, &["--config", c, "--json", "apply", "run"])).unwrap();
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
    let query = |map: &str, key: &str| {
        let out = std::process::Command::new("postmap").args(["-q", key, &format!("hash:{}/postfix/{map}", root.display())]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert!(!query("virtual_mailboxes", "alice@example.com").is_empty());
    assert_eq!(query("virtual_aliases", "info@example.com"), "alice@example.com");
    let passwd = std::fs::read_to_string(root.join("dovecot/passwd")).unwrap();
    assert!(passwd.lines().any(|l| l.starts_with("alice@example.com:{ARGON2ID}$argon2id$")), "{passwd}");
    // The mailbox's Sieve script moves spam from the Normal policy's tag2 (4.5) on.
    let script = std::fs::read_to_string(root.join("sieve/example.com/alice.sieve")).unwrap();
    assert!(script.contains("450"), "{script}");
    // A second run has nothing to write.
    let again: serde_json::Value = serde_json::from_str(&ok(d, &["--config", c, "--json", "apply", "run"])).unwrap();
    assert!(again["written"].as_array().unwrap().is_empty(), "{again}");
}
