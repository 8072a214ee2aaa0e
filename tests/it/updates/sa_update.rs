//! Debian's `sa-update` installs a channel that `rules publish` built, into the same layout
//! `rules update` produces.

use super::fixture::{CHANNEL, ChannelServer, DIR_NAME};
use super::RULES_V1;

#[tokio::test(flavor = "multi_thread")]
async fn debian_sa_update_installs_our_channel_like_we_do() {
    let server = ChannelServer::start().await;
    server.publish(1, RULES_V1, None).await;
    let (code, out) = server.update(&["--channel", CHANNEL, "--nogpg"]).await;
    assert_eq!(code, 0, "{out}");

    // sa-update runs under taint mode, where Net::DNS ignores RES_NAMESERVERS/RES_OPTIONS;
    // a preloaded module sets our loopback server instead (see perl/MailwardTestResolver.pm).
    let theirs = server.tmp.path().join("sa-update-dir");
    let perl_lib = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/updates/perl");
    let output = tokio::process::Command::new("perl")
        .arg("-T")
        .arg(format!("-I{}", perl_lib.display()))
        .args(["-MMailwardTestResolver", "/usr/bin/sa-update", "--nogpg", "--channel", CHANNEL, "--updatedir"])
        .arg(&theirs)
        .env("MAILWARD_TEST_DNS_IP", server.dns.ip().to_string())
        .env("MAILWARD_TEST_DNS_PORT", server.dns.port().to_string())
        .env("HOME", server.tmp.path())
        .output()
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "sa-update failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let ours = &server.update_dir;
    for top in [format!("{DIR_NAME}.cf"), format!("{DIR_NAME}.pre")] {
        assert_eq!(std::fs::read_to_string(ours.join(&top)).unwrap(), std::fs::read_to_string(theirs.join(&top)).unwrap(), "{top}");
    }
    let mut names: Vec<String> =
        std::fs::read_dir(theirs.join(DIR_NAME)).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["10_plugins.pre", "50_mailward.cf", "MIRRORED.BY"]);
    for name in &names {
        assert_eq!(
            std::fs::read(ours.join(DIR_NAME).join(name)).unwrap(),
            std::fs::read(theirs.join(DIR_NAME).join(name)).unwrap(),
            "{name} differs between sa-update and mailward"
        );
    }

    // And the reverse direction: our client updates over sa-update's real directory.
    let theirs_s = theirs.display().to_string();
    let dns = server.dns.to_string();
    server.publish(2, super::RULES_V2, None).await;
    let (code, out) = super::fixture::run_cli(&["rules", "update", "--channel", CHANNEL, "--nogpg", "--dns-server", &dns, "--updatedir", &theirs_s]).await;
    assert_eq!((code, out.trim()), (0, format!("{CHANNEL}: installed version 2 (was 1)").as_str()));
    assert!(std::fs::read_to_string(theirs.join(DIR_NAME).join("60_more.cf")).is_ok());
    // sa-update's own directory is kept as the version to roll back to.
    let (code, out) = super::fixture::run_cli(&["rules", "rollback", "--channel", CHANNEL, "--updatedir", &theirs_s]).await;
    assert_eq!((code, out.trim()), (0, format!("{CHANNEL}: rolled back to version 1").as_str()));
    assert_eq!(std::fs::read_to_string(theirs.join(format!("{DIR_NAME}.cf"))).unwrap(), std::fs::read_to_string(ours.join(format!("{DIR_NAME}.cf"))).unwrap());
}
