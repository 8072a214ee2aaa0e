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

/// Runs Debian's sa-update (under taint mode, with the loopback resolver preloaded).
async fn sa_update(server: &ChannelServer, args: &[&str]) -> std::process::Output {
    let perl_lib = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/updates/perl");
    tokio::process::Command::new("perl")
        .arg("-T")
        .arg(format!("-I{}", perl_lib.display()))
        .args(["-MMailwardTestResolver", "/usr/bin/sa-update"])
        .args(args)
        .env("MAILWARD_TEST_DNS_IP", server.dns.ip().to_string())
        .env("MAILWARD_TEST_DNS_PORT", server.dns.port().to_string())
        .env("HOME", server.tmp.path())
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn debian_sa_update_verifies_our_signature() {
    let server = ChannelServer::start().await;
    let key = super::fixture::test_signing_key("Channel <channel@mailward.test>");
    server.publish_signed(1, RULES_V1, None, Some(&key)).await;
    let public = std::fs::read(server.mirror_root.join("GPG.KEY")).unwrap();
    let fingerprint = mailward::updates::signature::fingerprint(&mailward::updates::signature::parse_public_keys(&public).unwrap()[0]);

    let gpg_home = server.tmp.path().join("gpg");
    let gpg_home_s = gpg_home.display().to_string();
    let key_file = server.mirror_root.join("GPG.KEY").display().to_string();
    let imported = sa_update(&server, &["--gpghomedir", &gpg_home_s, "--import", &key_file]).await;
    assert_eq!(imported.status.code(), Some(0), "{}", String::from_utf8_lossy(&imported.stderr));

    let theirs = server.tmp.path().join("sa-update-dir").display().to_string();
    let run = sa_update(&server, &["--gpghomedir", &gpg_home_s, "--gpgkey", &fingerprint, "--channel", CHANNEL, "--updatedir", &theirs]).await;
    assert_eq!(
        run.status.code(),
        Some(0),
        "sa-update refused our signature:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(std::fs::read_to_string(std::path::Path::new(&theirs).join(format!("{DIR_NAME}.cf"))).unwrap().starts_with("# UPDATE version 1\n"));

    // And a tarball swapped after signing is refused by sa-update too.
    server.publish_signed(2, super::RULES_V2, None, Some(&key)).await;
    let asc = std::fs::read(server.mirror_root.join("2.tar.gz.asc")).unwrap();
    server.serve_raw(2, &super::fixture::tarball(&[("50_mailward.cf", "score MW_TEST_SUBJECT 100\n")])).await;
    std::fs::write(server.mirror_root.join("2.tar.gz.asc"), &asc).unwrap();
    let run = sa_update(&server, &["--gpghomedir", &gpg_home_s, "--gpgkey", &fingerprint, "--channel", CHANNEL, "--updatedir", &theirs]).await;
    assert_eq!(run.status.code(), Some(4), "{}", String::from_utf8_lossy(&run.stderr));
}
