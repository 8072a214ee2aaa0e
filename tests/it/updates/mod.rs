//! `rules update` and `rules publish` against a channel served on loopback (hickory DNS, axum
//! mirror), Debian's `spamassassin --lint`, and Debian's `sa-update`.

mod after_update;
mod fixture;
mod sa_update;

use fixture::{CHANNEL, ChannelServer, DIR_NAME, run_cli, tarball};
use mailward::updates::mirrors::Mirror;
use std::time::Duration;

const RULES_V1: &[(&str, &str)] = &[
    ("50_mailward.cf", "header MW_TEST_SUBJECT Subject =~ /mailward-test-marker/\nscore MW_TEST_SUBJECT 3.5\ndescribe MW_TEST_SUBJECT Subject carries the test marker\n"),
    ("10_plugins.pre", "# built for @@VERSION@@\nloadplugin Mail::SpamAssassin::Plugin::Test\n"),
];
const RULES_V2: &[(&str, &str)] = &[
    ("50_mailward.cf", "header MW_TEST_SUBJECT Subject =~ /mailward-test-marker/\nscore MW_TEST_SUBJECT 4.0\n"),
    ("60_more.cf", "body MW_TEST_BODY /mailward-body-marker/\nscore MW_TEST_BODY 1.0\n"),
];

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A server with version 1 published and installed.
async fn installed_v1() -> ChannelServer {
    let server = ChannelServer::start().await;
    server.publish(1, RULES_V1, None).await;
    let (code, out) = server.update(&["--channel", CHANNEL, "--nogpg"]).await;
    assert_eq!(code, 0, "{out}");
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn update_installs_then_nothing_new_then_newer_then_rollback() {
    let server = installed_v1().await;
    let dir = &server.update_dir;
    let cf = read(&dir.join(format!("{DIR_NAME}.cf")));
    assert_eq!(cf, format!("# UPDATE version 1\ninclude {DIR_NAME}/50_mailward.cf\n"));
    assert_eq!(read(&dir.join(format!("{DIR_NAME}.pre"))), format!("include {DIR_NAME}/10_plugins.pre\n"));
    let pre = read(&dir.join(DIR_NAME).join("10_plugins.pre"));
    assert!(pre.contains("# built for 4.000001"), "{pre}");
    assert!(pre.contains("#(commented by sa-update, no --allowplugins switch specified)# loadplugin"), "{pre}");
    assert!(dir.join(DIR_NAME).join("MIRRORED.BY").exists());

    let (code, out) = server.update(&["--channel", CHANNEL, "--nogpg"]).await;
    assert_eq!((code, out.trim()), (1, format!("{CHANNEL}: version 1 is current").as_str()));

    server.publish(2, RULES_V2, None).await;
    let (code, out) = server.update(&["--channel", CHANNEL, "--nogpg", "--checkonly"]).await;
    assert_eq!((code, out.trim()), (0, format!("{CHANNEL}: version 2 available (installed 1)").as_str()));
    assert!(read(&dir.join(format!("{DIR_NAME}.cf"))).starts_with("# UPDATE version 1\n"), "--checkonly installed something");

    let (code, out) = server.update(&["--channel", CHANNEL, "--nogpg"]).await;
    assert_eq!((code, out.trim()), (0, format!("{CHANNEL}: installed version 2 (was 1)").as_str()));
    assert_eq!(
        read(&dir.join(format!("{DIR_NAME}.cf"))),
        format!("# UPDATE version 2\ninclude {DIR_NAME}/50_mailward.cf\ninclude {DIR_NAME}/60_more.cf\n")
    );
    assert!(!dir.join(format!("{DIR_NAME}.pre")).exists(), "version 2 has no .pre file");
    assert!(read(&dir.join(DIR_NAME).join("50_mailward.cf")).contains("score MW_TEST_SUBJECT 4.0"));

    let updatedir = dir.display().to_string();
    let (code, out) = run_cli(&["rules", "rollback", "--channel", CHANNEL, "--updatedir", &updatedir]).await;
    assert_eq!((code, out.trim()), (0, format!("{CHANNEL}: rolled back to version 1").as_str()));
    assert!(read(&dir.join(format!("{DIR_NAME}.cf"))).starts_with("# UPDATE version 1\n"));
    assert!(read(&dir.join(DIR_NAME).join("50_mailward.cf")).contains("score MW_TEST_SUBJECT 3.5"));
}

#[tokio::test(flavor = "multi_thread")]
async fn spamassassin_lints_and_scores_with_the_installed_channel() {
    let server = installed_v1().await;
    let configpath = format!("--configpath={}", server.update_dir.display());
    let home = server.tmp.path().display().to_string();
    let lint = std::process::Command::new("spamassassin").args(["--lint", &configpath]).env("HOME", &home).output().unwrap();
    assert!(lint.status.success(), "{}", String::from_utf8_lossy(&lint.stderr));

    // SpamAssassin's header templates live in its default rules, not in our channel: a site
    // config with Debian's plugin list (/etc/spamassassin/*.pre, read only) adds the header
    // that lists the rules that hit.
    let site = server.tmp.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    for entry in std::fs::read_dir("/etc/spamassassin").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "pre") {
            std::fs::copy(&path, site.join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(site.join("local.cf"), "report_safe 0\nadd_header all Status _YESNO_, score=_SCORE_ tests=_TESTS_\n").unwrap();
    let siteconfig = format!("--siteconfigpath={}", site.display());
    let message = "From: a@example.org\nTo: b@example.net\nSubject: hello mailward-test-marker\nMessage-ID: <1@example.org>\n\nbody\n";
    let mut child = std::process::Command::new("spamassassin")
        .args(["-L", &configpath, &siteconfig])
        .env("HOME", &home)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), message.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let scored = String::from_utf8_lossy(&output.stdout);
    assert!(scored.contains("score=3.5 tests=MW_TEST_SUBJECT"), "SpamAssassin did not use the installed rule:\n{scored}");
}

/// Runs a failing update on a channel with version 1 installed and checks the exit code, the
/// message, and that the installed rules did not change by one byte.
async fn assert_fails_untouched(server: &ChannelServer, extra: &[&str], code: i32, message: &str) {
    let before = server.snapshot();
    let mut args = vec!["--channel", CHANNEL];
    args.extend_from_slice(extra);
    let (got, out) = server.update(&args).await;
    assert_eq!(got, code, "{out}");
    assert!(out.contains(message), "output {out:?} should mention {message:?}");
    assert!(out.contains("installed rules left untouched"), "{out}");
    assert_eq!(server.snapshot(), before, "a failed update changed the installed rules");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_checksum_keeps_installed_rules() {
    let server = installed_v1().await;
    server.publish(2, RULES_V2, None).await;
    let wrong = format!("{}  2.tar.gz\n", "0".repeat(128));
    std::fs::write(server.mirror_root.join("2.tar.gz.sha512"), wrong).unwrap();
    assert_fails_untouched(&server, &["--nogpg"], 4, "checksum mismatch").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_checksum_files_keep_installed_rules() {
    let server = installed_v1().await;
    server.publish(2, RULES_V2, None).await;
    std::fs::remove_file(server.mirror_root.join("2.tar.gz.sha512")).unwrap();
    std::fs::remove_file(server.mirror_root.join("2.tar.gz.sha256")).unwrap();
    assert_fails_untouched(&server, &["--nogpg"], 4, "no .sha512 or .sha256 checksum file").await;
}

fn raw_tarball(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> Vec<u8> {
    let mut tar = Vec::new();
    for (name, kind, data, link) in entries {
        let mut header = tar::Header::new_gnu();
        let old = header.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        header.set_entry_type(*kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.extend_from_slice(header.as_bytes());
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.resize(tar.len() + 1024, 0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_tarballs_keep_installed_rules() {
    let server = installed_v1().await;
    let ok: &[u8] = b"score MW_TEST_SUBJECT 1\n";
    let traversal = raw_tarball(&[("ok.cf", tar::EntryType::Regular, ok, ""), ("../../evil.cf", tar::EntryType::Regular, ok, "")]);
    server.serve_raw(2, &traversal).await;
    assert_fails_untouched(&server, &["--nogpg"], 4, "escapes the channel directory").await;
    assert!(!server.tmp.path().join("evil.cf").exists());

    let symlink = raw_tarball(&[("ok.cf", tar::EntryType::Regular, ok, ""), ("link.cf", tar::EntryType::Symlink, b"", "/etc/passwd")]);
    server.serve_raw(3, &symlink).await;
    assert_fails_untouched(&server, &["--nogpg"], 4, "is a symbolic link").await;

    // 70 MiB of zeros: about 70 KB compressed, over the 64 MiB unpacked cap.
    let bomb = raw_tarball(&[("a.cf", tar::EntryType::Regular, &vec![0u8; 70 << 20], "")]);
    assert!(bomb.len() < 1 << 20);
    server.serve_raw(4, &bomb).await;
    assert_fails_untouched(&server, &["--nogpg"], 4, "unpacks to more than").await;

    // Over the 16 MiB download cap: refused while downloading.
    let mut noise = Vec::with_capacity(17 << 20);
    let mut x: u32 = 1;
    while noise.len() < 17 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    server.serve_raw(5, &noise).await;
    assert_fails_untouched(&server, &["--nogpg"], 4, "more than 16777216 bytes").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_that_fail_lint_keep_installed_rules() {
    let server = installed_v1().await;
    server.serve_raw(2, &tarball(&[("50_mailward.cf", "header MW_BROKEN Subject =~ /unclosed(/\nno_such_directive here\n")])).await;
    assert_fails_untouched(&server, &["--nogpg"], 4, "lint failed").await;
    // Nothing staged is left behind either.
    let leftovers: Vec<_> = std::fs::read_dir(&server.update_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mirror_timeout_keeps_installed_rules() {
    let server = installed_v1().await;
    server.publish(2, RULES_V2, None).await;
    *server.delay.lock().unwrap() = Duration::from_secs(5);
    assert_fails_untouched(&server, &["--nogpg", "--http-timeout", "1"], 4, "every mirror failed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_not_answering_keeps_installed_rules() {
    let server = installed_v1().await;
    // Sockets that accept queries and never answer.
    let silent_udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent = silent_udp.local_addr().unwrap();
    let _silent_tcp = std::net::TcpListener::bind(silent).ok();
    let before = server.snapshot();
    let updatedir = server.update_dir.display().to_string();
    let dns = silent.to_string();
    let (code, out) = run_cli(&[
        "rules", "update", "--channel", CHANNEL, "--nogpg", "--dns-server", &dns, "--dns-timeout", "1", "--updatedir", &updatedir,
    ])
    .await;
    assert_eq!(code, 4, "{out}");
    assert!(out.contains(&format!("DNS lookup of 1.0.4.{CHANNEL} TXT failed")), "{out}");
    assert_eq!(server.snapshot(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_mirror_is_skipped_for_the_next_one() {
    let server = ChannelServer::start().await;
    // Port 1 on loopback refuses connections; it has nearly all the weight.
    let dead = Mirror { url: "http://127.0.0.1:1".into(), weight: 1000 };
    let good = Mirror { url: server.mirror_url.clone(), weight: 1 };
    server.publish(1, RULES_V1, Some(vec![dead, good])).await;
    let (code, out) = server.update(&["--channel", CHANNEL, "--nogpg"]).await;
    assert_eq!((code, out.trim()), (0, format!("{CHANNEL}: installed version 1").as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn one_unknown_channel_among_good_ones_exits_3() {
    let server = ChannelServer::start().await;
    server.publish(1, RULES_V1, None).await;
    let (code, out) = server.update(&["--channel", CHANNEL, "--channel", "nothing-here.mailward.test", "--nogpg"]).await;
    assert_eq!(code, 3, "{out}");
    assert!(out.contains(&format!("{CHANNEL}: installed version 1")), "{out}");
    assert!(out.contains("nothing-here.mailward.test: error:"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn channelfile_and_bad_arguments() {
    let server = ChannelServer::start().await;
    server.publish(1, RULES_V1, None).await;
    let file = server.tmp.path().join("channels");
    std::fs::write(&file, format!("# our channel\n{CHANNEL}\n\n")).unwrap();
    let file = file.display().to_string();
    let (code, out) = server.update(&["--channelfile", &file, "--nogpg"]).await;
    assert_eq!(code, 0, "{out}");

    let cmd = {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct C {
            #[command(subcommand)]
            c: mailward::updates::cli::RulesUpdateCommand,
        }
        C::try_parse_from(["x", "update", "--channel", "../etc", "--nogpg"]).unwrap().c
    };
    let err = mailward::updates::cli::run(cmd, &fixture::quiet_config(), false, &mut Vec::new()).await.unwrap_err();
    assert!(err.to_string().contains("invalid channel name \"../etc\""), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_refuses_what_update_would_refuse() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.cf"), "score X 1\n").unwrap();
    let out = tmp.path().join("out");
    let (s, o) = (src.display().to_string(), out.display().to_string());
    let argv = ["x", "publish", &s, "--version", "1", "--out", &o, "--channel", CHANNEL, "--mirror", "http://127.0.0.1:9/"];
    let cmd = {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct C {
            #[command(subcommand)]
            c: mailward::updates::cli::RulesUpdateCommand,
        }
        C::try_parse_from(argv).unwrap().c
    };
    let err = mailward::updates::cli::run(cmd, &fixture::quiet_config(), false, &mut Vec::new()).await.unwrap_err();
    assert!(err.to_string().contains("channel sources must be a flat directory"), "{err}");
    assert!(!out.join("1.tar.gz").exists());

    std::fs::remove_dir(src.join("sub")).unwrap();
    std::fs::write(src.join("b.cf"), "header BROKEN Subject =~ /(/\n").unwrap();
    let (code, _) = (0, ());
    let cmd = {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct C {
            #[command(subcommand)]
            c: mailward::updates::cli::RulesUpdateCommand,
        }
        C::try_parse_from(argv).unwrap().c
    };
    let err = mailward::updates::cli::run(cmd, &fixture::quiet_config(), false, &mut Vec::new()).await.unwrap_err();
    assert_eq!(code, 0);
    assert!(err.to_string().contains("fail lint"), "{err}");
    assert!(!out.join("1.tar.gz").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn schedule_installs_at_start_reports_it_and_stops_on_shutdown() {
    use mailward::updates::channel::Channel;
    use mailward::updates::lint::LintChain;
    use mailward::updates::update::UpdateOptions;
    let server = ChannelServer::start().await;
    server.publish(1, RULES_V1, None).await;
    let mut options = UpdateOptions::new(vec![Channel::new(CHANNEL).unwrap()], server.update_dir.clone());
    options.dns_server = Some(server.dns);
    let (updated_tx, mut updated_rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(mailward::updates::schedule(
        options,
        std::sync::Arc::new(LintChain::detect()),
        Duration::from_secs(3600),
        async move {
            let _ = stop_rx.await;
        },
        move |report: &mailward::updates::UpdateReport| {
            let _ = updated_tx.send(report.exit_code());
        },
    ));
    let code = tokio::time::timeout(Duration::from_secs(120), updated_rx.recv()).await.expect("the first check ran").unwrap();
    assert_eq!(code, 0);
    assert!(std::fs::read_to_string(server.update_dir.join(format!("{DIR_NAME}.cf"))).unwrap().starts_with("# UPDATE version 1\n"));
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), task).await.expect("schedule stops on shutdown").unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_channel_installs_and_every_signature_failure_keeps_installed_rules() {
    let server = ChannelServer::start().await;
    let key_a = fixture::test_signing_key("Channel A <a@mailward.test>");
    let key_b = fixture::test_signing_key("Intruder <b@mailward.test>");
    server.publish_signed(1, RULES_V1, None, Some(&key_a)).await;
    assert!(server.mirror_root.join("1.tar.gz.asc").exists());

    let keyring = server.tmp.path().join("keyring").display().to_string();
    let public_key = server.tmp.path().join("channel-a.key");
    std::fs::copy(server.mirror_root.join("GPG.KEY"), &public_key).unwrap();
    let public_key = public_key.display().to_string();
    let (code, out) = server.update(&["--channel", CHANNEL, "--keyring", &keyring, "--import", &public_key]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("imported key "), "{out}");
    assert!(out.contains(&format!("{CHANNEL}: installed version 1")), "{out}");

    // Signed by a key nobody imported.
    server.publish_signed(2, RULES_V2, None, Some(&key_b)).await;
    assert_fails_untouched(&server, &["--keyring", &keyring], 4, "signed by unknown key").await;

    // Signed by the right key, then the tarball swapped (checksums recomputed to match).
    server.publish_signed(3, RULES_V2, None, Some(&key_a)).await;
    let asc = std::fs::read(server.mirror_root.join("3.tar.gz.asc")).unwrap();
    server.serve_raw(3, &tarball(&[("50_mailward.cf", "score MW_TEST_SUBJECT 100\n")])).await;
    std::fs::write(server.mirror_root.join("3.tar.gz.asc"), &asc).unwrap();
    assert_fails_untouched(&server, &["--keyring", &keyring], 4, "BAD signature").await;

    std::fs::write(server.mirror_root.join("3.tar.gz.asc"), "-----BEGIN PGP SIGNATURE-----\ngarbage\n-----END PGP SIGNATURE-----\n").unwrap();
    assert_fails_untouched(&server, &["--keyring", &keyring], 4, "not an OpenPGP signature").await;

    std::fs::remove_file(server.mirror_root.join("3.tar.gz.asc")).unwrap();
    assert_fails_untouched(&server, &["--keyring", &keyring], 4, "no signature file").await;

    let empty = server.tmp.path().join("empty-keyring").display().to_string();
    assert_fails_untouched(&server, &["--keyring", &empty], 4, "no trusted OpenPGP key").await;

    // --gpgkey narrows the keyring: a key id that is not the channel's leaves nothing trusted.
    assert_fails_untouched(&server, &["--keyring", &keyring, "--gpgkey", "0123456789ABCDEF"], 4, "no trusted OpenPGP key").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn debians_asf_release_key_imports_into_the_keyring() {
    // The key sa-update trusts by default for updates.spamassassin.org, as Debian ships it.
    let tmp = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    mailward::updates::cli::import_keys(tmp.path(), &["/usr/share/spamassassin/GPG.KEY".into()], &mut out).unwrap();
    // sa-update's default trusted ids: the primary key and its signing subkey.
    for id in ["5E541DC959CB8BAC7C78DFDC4056A61A5244EC45", "0C2B1D7175B852C64B3CDC716C55397824F434CE"] {
        let trusted = mailward::updates::cli::trusted_keys(tmp.path(), &[], &[id.into()]).unwrap();
        assert_eq!(trusted.len(), 1, "{id} not in {}", String::from_utf8_lossy(&out));
        assert_eq!(mailward::updates::signature::fingerprint(&trusted[0]), "5E541DC959CB8BAC7C78DFDC4056A61A5244EC45");
    }
}

#[test]
fn both_linters_reject_a_broken_channel_and_accept_a_good_one() {
    use mailward::updates::lint::{EngineLint, RuleLint, SpamAssassinLint};
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join(DIR_NAME)).unwrap();
    std::fs::write(tmp.path().join(format!("{DIR_NAME}.cf")), format!("# UPDATE version 1\ninclude {DIR_NAME}/a.cf\n")).unwrap();
    let spamassassin = SpamAssassinLint::detect().expect("Debian's spamassassin is installed");
    std::fs::write(tmp.path().join(DIR_NAME).join("a.cf"), RULES_V1[0].1).unwrap();
    assert!(EngineLint.lint(tmp.path()).is_ok());
    assert!(spamassassin.lint(tmp.path()).is_ok());
    std::fs::write(tmp.path().join(DIR_NAME).join("a.cf"), "header MW_BROKEN Subject =~ /unclosed(/\nscore MW_BROKEN 1\n").unwrap();
    let engine = EngineLint.lint(tmp.path()).expect_err("engine accepted a broken regex").to_string();
    assert!(engine.contains("mailward rules engine rejected the new rules") && engine.contains("MW_BROKEN"), "{engine}");
    let sa = spamassassin.lint(tmp.path()).expect_err("spamassassin accepted a broken regex").to_string();
    assert!(sa.contains("spamassassin --lint rejected the new rules") && sa.contains("MW_BROKEN"), "{sa}");
}
