//! What happens after new rules are installed: the Rspamd ruleset, hooks and reload commands
//! (from `rules update`), and `serve`'s own schedule installing a channel that its milter then
//! scores with; a newer version installed from the shell (cron) reaches the running milter too.

use super::fixture::{CHANNEL, ChannelServer, run_cli_with};
use indymilter_test::{EomAction, Status, TestConnection};
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::Duration;

const V1: &[(&str, &str)] = &[("50_serve.cf", "header MW_SERVE_ONE Subject =~ /serve-marker/\nscore MW_SERVE_ONE 3.5\ndescribe MW_SERVE_ONE Subject carries the marker\n")];
const V2: &[(&str, &str)] = &[
    ("50_serve.cf", "header MW_SERVE_ONE Subject =~ /serve-marker/\nscore MW_SERVE_ONE 3.5\n"),
    ("60_serve.cf", "body MW_SERVE_TWO /body-marker/\nscore MW_SERVE_TWO 4.0\n"),
];

#[tokio::test(flavor = "multi_thread")]
async fn an_update_writes_the_rspamd_ruleset_and_runs_hooks_and_reload_commands() {
    let server = ChannelServer::start().await;
    server.publish(1, V1, None).await;
    let tmp = server.tmp.path();
    let hooks = tmp.join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    let hook_marker = tmp.join("hook-ran");
    let hook = hooks.join("50-reload-amavis");
    std::fs::write(&hook, format!("#!/bin/sh\necho hook >> {}\n", hook_marker.display())).unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let reload_marker = tmp.join("reloaded");
    let mut config = server.config();
    let rspamd = tmp.join("rspamd");
    config.updates.rspamd_dir = Some(rspamd.clone());
    config.updates.hooks_dir = Some(hooks.clone());
    config.updates.reload_commands = vec![format!("echo rspamd >> {}", reload_marker.display()), "echo 'spamd is not running' >&2; exit 7".into()];

    let (code, out) = run_cli_with(&["rules", "update", "--nogpg"], &config).await;
    assert_eq!(code, 0, "a failing reload command does not turn an installed update into a failure: {out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("{CHANNEL}: installed version 1"));
    assert!(lines[1].starts_with("after update: rspamd export: wrote 1 rules to ") && lines[1].ends_with("/rspamd/sa_ruleset"), "{out}");
    assert_eq!(lines[2], format!("after update: {}: done", hook.display()));
    assert_eq!(lines[3], format!("after update: echo rspamd >> {}: done", reload_marker.display()));
    assert_eq!(lines[4], "after update: echo 'spamd is not running' >&2; exit 7: failed: exit status 7: spamd is not running");
    let ruleset = std::fs::read_to_string(rspamd.join("sa_ruleset")).unwrap();
    assert!(ruleset.contains("header MW_SERVE_ONE Subject =~ /serve-marker/") && ruleset.contains("score MW_SERVE_ONE 3.5"), "{ruleset}");
    assert_eq!(std::fs::read_to_string(&hook_marker).unwrap(), "hook\n");
    assert_eq!(std::fs::read_to_string(&reload_marker).unwrap(), "rspamd\n");

    // Nothing new: nothing runs again.
    let (code, out) = run_cli_with(&["rules", "update", "--nogpg"], &config).await;
    assert_eq!((code, out.trim()), (1, format!("{CHANNEL}: version 1 is current").as_str()));
    assert_eq!(std::fs::read_to_string(&reload_marker).unwrap(), "rspamd\n");

    // A newer version: the Rspamd ruleset follows it.
    server.publish(2, V2, None).await;
    let (code, out) = run_cli_with(&["rules", "update", "--nogpg"], &config).await;
    assert_eq!(code, 0, "{out}");
    let ruleset = std::fs::read_to_string(rspamd.join("sa_ruleset")).unwrap();
    assert!(ruleset.contains("body MW_SERVE_TWO /body-marker/"), "{ruleset}");
    assert_eq!(std::fs::read_to_string(&reload_marker).unwrap(), "rspamd\nrspamd\n");
    assert!(!rspamd.join(".sa_ruleset.new").exists(), "no staging file left behind");

    // --no-after-update installs and runs nothing else.
    server.publish(3, V1, None).await;
    let (code, out) = run_cli_with(&["rules", "update", "--nogpg", "--no-after-update"], &config).await;
    assert_eq!((code, out.trim()), (0, format!("{CHANNEL}: installed version 3 (was 2)").as_str()));
    assert_eq!(std::fs::read_to_string(&reload_marker).unwrap(), "rspamd\nrspamd\n");
}

/// The test's milter conversation: one message to `rcpt`; returns the X-Spam-Status added.
async fn spam_status(milter: std::net::SocketAddr, subject: &str, body: &str) -> Option<String> {
    let mut conn = TestConnection::open(milter).await.ok()?;
    assert_eq!(conn.connect("client.example", (Ipv4Addr::new(192, 0, 2, 9), 40000)).await.unwrap(), Status::Noreply);
    assert_eq!(conn.helo("client.example").await.unwrap(), Status::Noreply);
    assert_eq!(conn.mail(["<sender@outside.example>"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.rcpt(["<someone@example.net>"]).await.unwrap(), Status::Noreply);
    assert_eq!(conn.data().await.unwrap(), Status::Noreply);
    for (n, v) in [("From", "sender@outside.example"), ("To", "someone@example.net"), ("Subject", subject), ("Message-ID", "<1@outside.example>")] {
        assert_eq!(conn.header(n, v).await.unwrap(), Status::Noreply);
    }
    assert_eq!(conn.eoh().await.unwrap(), Status::Noreply);
    assert_eq!(conn.body(body.to_string()).await.unwrap(), Status::Noreply);
    let (actions, _) = conn.eom().await.unwrap();
    actions.actions.iter().find_map(|a| match a {
        EomAction::AddHeader { name, value } | EomAction::InsertHeader { name, value, .. } if name.to_string_lossy() == "X-Spam-Status" => Some(value.to_string_lossy().into_owned()),
        _ => None,
    })
}

async fn wait_for_status(milter: std::net::SocketAddr, subject: &str, body: &str, wanted: &str) -> String {
    let mut last = None;
    for _ in 0..120 {
        last = spam_status(milter, subject, body).await;
        if last.as_deref().is_some_and(|s| s.contains(wanted)) {
            return last.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the milter never reported {wanted}; last X-Spam-Status: {last:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_installs_a_channel_on_schedule_and_its_milter_picks_up_newer_rules() {
    let server = ChannelServer::start().await;
    server.publish(1, V1, None).await;
    let tmp = server.tmp.path();
    let milter_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config_file = tmp.join("mailward.toml");
    std::fs::write(
        &config_file,
        format!(
            "data_dir = \"{data}\"\n[listen]\nhttp = \"127.0.0.1:0\"\nadmin = \"127.0.0.1:0\"\nmilter = \"inet:127.0.0.1:{milter_port}\"\n\
             [rules]\npaths = []\nupdate_dir = \"{updates}\"\n\
             [updates]\nchannels = [\"{CHANNEL}\"]\nnogpg = true\ndns_server = \"{dns}\"\nrspamd_dir = \"{rspamd}\"\nhooks_dir = \"\"\ntrusted_key_files = []\n",
            data = tmp.join("data").display(),
            updates = server.update_dir.display(),
            dns = server.dns,
            rspamd = tmp.join("rspamd").display(),
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("mailward"))
        .env("MAILWARD_CONFIG", &config_file)
        .env_remove("MAILWARD_DATA_DIR")
        .env("MAILWARD_ADMIN_PASSWORD", "test-password-1")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(tmp.join("serve.log")).unwrap())
        .spawn()
        .unwrap();
    let mut printed = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("checking rule channels");
        printed.push(line);
        if done {
            break;
        }
    }
    let milter = std::net::SocketAddr::from(([127, 0, 0, 1], milter_port));
    let result = async {
        assert!(printed.iter().any(|l| l == &format!("checking rule channels {CHANNEL} every 3600 s")), "{printed:?}");
        // No rules at start: the schedule's first check installs version 1 and the milter
        // reloads at once.
        let status = wait_for_status(milter, "serve-marker inside", "hello\r\n", "MW_SERVE_ONE").await;
        assert!(status.starts_with("No, score=3.5"), "{status}");
        assert!(std::fs::read_to_string(server.update_dir.join(format!("{}.cf", super::fixture::DIR_NAME))).unwrap().starts_with("# UPDATE version 1\n"));
        // The Rspamd ruleset is written right after the milter reloaded.
        let ruleset = tmp.join("rspamd").join("sa_ruleset");
        for _ in 0..100 {
            if ruleset.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = std::fs::read_to_string(&ruleset).unwrap_or_else(|e| panic!("{}: {e}; serve's log:\n{}", ruleset.display(), std::fs::read_to_string(tmp.join("serve.log")).unwrap_or_default()));
        assert!(text.contains("MW_SERVE_ONE"), "{text}");

        // Version 2 installed from the shell (a cron job) while serve runs: the milter notices
        // the changed rule files.
        server.publish(2, V2, None).await;
        let (code, out) = server.update(&["--nogpg", "--channel", CHANNEL]).await;
        assert_eq!(code, 0, "{out}");
        let status = wait_for_status(milter, "serve-marker again", "a body-marker here\r\n", "MW_SERVE_TWO").await;
        assert!(status.contains("score=7.5") && status.contains("MW_SERVE_ONE"), "{status}");
    };
    let outcome = tokio::time::timeout(Duration::from_secs(150), result).await;
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(tmp.join("serve.log")).unwrap_or_default();
    outcome.unwrap_or_else(|_| panic!("serve did not pick up the channel in time; its log:\n{log}"));
}
