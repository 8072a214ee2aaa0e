use super::*;

#[test]
fn no_file_means_defaults() {
    let c = Config::defaults();
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/mailward"));
    assert_eq!(c.listen.http.to_string(), "127.0.0.1:8080");
    assert_eq!(c.listen.admin.to_string(), "127.0.0.1:8081");
    assert_eq!(c.listen.milter, MilterSocket::Inet("127.0.0.1:8891".parse().unwrap()));
    assert_eq!(c.database_url(), "sqlite:///var/lib/mailward/mailward.db?mode=rwc");
    assert_eq!(c.milter.failure_action, FailureAction::Tempfail);
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let text = r#"
data_dir = 5
[listen]
http = "not an address"
milter = "tcp:1.2.3.4:5"
[milter]
failure_action = "bounce"
scoring_timeout_ms = -3
[database]
max_connections = "many"
typo = 1
[nosuchsection]
x = 1
"#;
    let problems = Config::from_toml_str(text).unwrap_err();
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for expected in [
        "data_dir",
        "listen.http",
        "listen.milter",
        "milter.failure_action",
        "milter.scoring_timeout_ms",
        "database.max_connections",
        "database.typo",
        "nosuchsection",
    ] {
        assert!(keys.contains(&expected), "missing problem for {expected}: {problems:?}");
    }
    assert_eq!(problems.len(), 8, "{problems:?}");
}

#[test]
fn milter_socket_forms() {
    assert_eq!(MilterSocket::parse("unix:/run/mailward/milter.sock").unwrap(), MilterSocket::Unix("/run/mailward/milter.sock".into()));
    assert_eq!(MilterSocket::parse("inet:8891@127.0.0.1").unwrap(), MilterSocket::Inet("127.0.0.1:8891".parse().unwrap()));
    assert!(MilterSocket::parse("unix:").is_err());
}

#[test]
fn syntax_errors_are_reported() {
    let problems = Config::from_toml_str("[listen\nhttp=").unwrap_err();
    assert_eq!(problems[0].key, "(file)");
}

#[test]
fn sample_config_in_contrib_is_valid_and_complete() {
    let text = include_str!("../../contrib/mailward.toml");
    let config = Config::from_toml_str(text).expect("contrib/mailward.toml parses");
    // The sample documents the defaults: uncommenting nothing changes nothing.
    assert_eq!(config, Config::defaults());
}

#[test]
fn updates_and_milter_keys_are_checked_by_key() {
    let text = r#"
[milter]
trusted_relays = ["10.0.0.0/8", "mail example.net"]
socket_mode = "0999"
[updates]
channels = ["updates.spamassassin.org", "../etc"]
dns_server = "resolver.example"
interval_secs = 5
reload_commands = "systemctl reload rspamd"
"#;
    let problems = Config::from_toml_str(text).unwrap_err();
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys.len(), 6, "{problems:?}");
    for expected in ["milter.trusted_relays[1]", "milter.socket_mode", "updates.channels[1]", "updates.dns_server", "updates.interval_secs", "updates.reload_commands"] {
        assert!(keys.contains(&expected), "missing problem for {expected}: {problems:?}");
    }
    let ok = Config::from_toml_str("[milter]\nsocket_mode = \"0600\"\nuse_trusted_scores = true\n[updates]\nrspamd_dir = \"\"\nhooks_dir = \"\"\ndns_server = \"127.0.0.1:5353\"\n").unwrap();
    assert_eq!(ok.milter.socket_mode, 0o600);
    assert!(ok.milter.use_trusted_scores);
    assert_eq!((ok.updates.rspamd_dir, ok.updates.hooks_dir), (None, None), "empty turns the step off");
    assert_eq!(ok.updates.dns_server, Some("127.0.0.1:5353".parse().unwrap()));
    let defaults = Config::defaults().updates;
    assert!(defaults.enabled);
    assert_eq!(defaults.channels, vec!["updates.spamassassin.org".to_string()]);
    assert_eq!(defaults.rspamd_dir, Some(PathBuf::from("/var/lib/spamassassin/rspamd")));
}
