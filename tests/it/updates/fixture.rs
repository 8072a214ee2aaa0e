//! A rule channel served on loopback: a hickory DNS server with the channel's TXT records and
//! an axum HTTP mirror over a directory that `rules publish` filled.

use mailward::config::Config;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use hickory_proto::rr::rdata::{SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType, RrKey};
use hickory_server::Server;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use mailward::updates::channel::Channel;
use mailward::updates::cli::RulesUpdateCommand;
use mailward::updates::extract::{RuleFile, pack};
use mailward::updates::lint::LintChain;
use mailward::updates::mirrors::Mirror;
use mailward::updates::publish::{PublishOptions, publish};
use mailward::updates::channel::SaVersion;
use mailward::updates::verify::{Algorithm, render_checksum};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const CHANNEL: &str = "rules.mailward.test";
pub const DIR_NAME: &str = "rules_mailward_test";

pub struct ChannelServer {
    pub tmp: tempfile::TempDir,
    pub dns: SocketAddr,
    pub mirror_url: String,
    pub mirror_root: PathBuf,
    pub update_dir: PathBuf,
    zone: Arc<InMemoryZoneHandler>,
    /// How long the mirror waits before answering (the "mirror times out" case).
    pub delay: Arc<Mutex<Duration>>,
    // The servers run on the test's runtime and end with it.
    _dns_server: Server<Catalog>,
}

#[derive(Clone)]
struct MirrorState {
    root: PathBuf,
    delay: Arc<Mutex<Duration>>,
}

async fn serve_file(State(state): State<MirrorState>, UrlPath(name): UrlPath<String>) -> Result<Vec<u8>, StatusCode> {
    let delay = *state.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    if name.contains('/') || name.starts_with('.') {
        return Err(StatusCode::NOT_FOUND);
    }
    std::fs::read(state.root.join(name)).map_err(|_| StatusCode::NOT_FOUND)
}

impl ChannelServer {
    pub async fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tmp = tempfile::tempdir().unwrap();
        let mirror_root = tmp.path().join("mirror");
        std::fs::create_dir_all(&mirror_root).unwrap();

        let delay = Arc::new(Mutex::new(Duration::ZERO));
        let app = axum::Router::new()
            .route("/{name}", axum::routing::get(serve_file))
            .with_state(MirrorState { root: mirror_root.clone(), delay: delay.clone() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let origin = Name::from_str(&format!("{CHANNEL}.")).unwrap();
        let zone = InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
        let soa = SOA::new(Name::from_str("ns.mailward.test.").unwrap(), Name::from_str("hostmaster.mailward.test.").unwrap(), 1, 3600, 600, 86400, 60);
        zone.upsert(Record::from_rdata(origin.clone(), 3600, RData::SOA(soa)), 1).await;
        let zone = Arc::new(zone);
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin), vec![zone.clone()]);
        let mut server = Server::new(catalog);
        // UDP and TCP on the same port: Net::DNS (Debian's sa-update) takes one port for both.
        let (udp, tcp) = loop {
            let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            if let Ok(tcp) = tokio::net::TcpListener::bind(udp.local_addr().unwrap()).await {
                break (udp, tcp);
            }
        };
        let dns = udp.local_addr().unwrap();
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 4096);

        let update_dir = tmp.path().join("updates");
        Self {
            tmp,
            dns,
            mirror_url: format!("http://{http_addr}"),
            mirror_root,
            update_dir,
            zone,
            delay,
            _dns_server: server,
        }
    }

    /// Replaces the TXT record at `name` (relative to nothing: a full name without the dot).
    pub async fn set_txt(&self, name: &str, value: &str) {
        let name = Name::from_str(&format!("{name}.")).unwrap();
        {
            let mut records = self.zone.records_mut().await;
            records.remove(&RrKey::new(LowerName::new(&name), RecordType::TXT));
        }
        let serial = self.zone.serial().await + 1;
        self.zone.upsert(Record::from_rdata(name, 60, RData::TXT(TXT::new(vec![value.to_string()]))), serial).await;
    }

    /// Publishes `rules` as version `version` with `rules publish` and the TXT records it
    /// prints. `mirrors` defaults to this mirror alone.
    pub async fn publish(&self, version: u64, rules: &[(&str, &str)], mirrors: Option<Vec<Mirror>>) {
        self.publish_signed(version, rules, mirrors, None).await
    }

    /// [`publish`](Self::publish), signed with an armored secret key when one is given.
    pub async fn publish_signed(&self, version: u64, rules: &[(&str, &str)], mirrors: Option<Vec<Mirror>>, key: Option<&str>) {
        let source = self.tmp.path().join(format!("src-{version}"));
        std::fs::create_dir_all(&source).unwrap();
        for (name, text) in rules {
            std::fs::write(source.join(name), text).unwrap();
        }
        let options = PublishOptions {
            source,
            version,
            out: self.mirror_root.clone(),
            channel: Channel::new(CHANNEL).unwrap(),
            mirrors: mirrors.unwrap_or_else(|| vec![Mirror { url: self.mirror_url.clone(), weight: 1 }]),
            mirrored_by_url: Some(format!("{}/MIRRORED.BY", self.mirror_url)),
            sa_versions: vec![SaVersion::DEFAULT],
            ttl: 60,
            signing_key: key.map(|k| k.as_bytes().to_vec()),
        };
        let lint = LintChain::detect();
        let published = tokio::task::spawn_blocking(move || publish(&options, &lint)).await.unwrap().expect("publish");
        for record in published.records {
            self.set_txt(&record.name, &record.value).await;
        }
    }

    /// Serves a hand-made tarball as version `version` (with correct checksums), bypassing
    /// `rules publish`, which would refuse it.
    pub async fn serve_raw(&self, version: u64, tarball: &[u8]) {
        let name = format!("{version}.tar.gz");
        std::fs::write(self.mirror_root.join(&name), tarball).unwrap();
        for alg in [Algorithm::Sha512, Algorithm::Sha256] {
            std::fs::write(self.mirror_root.join(format!("{name}.{}", alg.extension())), render_checksum(alg, tarball, &name)).unwrap();
        }
        std::fs::write(self.mirror_root.join("MIRRORED.BY"), format!("{}\n", self.mirror_url)).unwrap();
        self.set_txt(&format!("mirrors.{CHANNEL}"), &format!("{}/MIRRORED.BY", self.mirror_url)).await;
        self.set_txt(&format!("1.0.4.{CHANNEL}"), &version.to_string()).await;
    }

    /// Runs `rules update` with `extra` arguments after the loopback DNS server and update
    /// dir; returns the exit code and output.
    pub async fn update(&self, extra: &[&str]) -> (i32, String) {
        let dns = self.dns.to_string();
        let update_dir = self.update_dir.display().to_string();
        let mut argv = vec!["rules", "update", "--dns-server", &dns, "--dns-timeout", "2", "--updatedir", &update_dir];
        argv.extend_from_slice(extra);
        run_cli(&argv).await
    }

    /// A config file's worth of settings for this server: its update dir, no other rules, and
    /// nothing run after an update (tests that want that set it).
    pub fn config(&self) -> Config {
        let mut config = quiet_config();
        config.rules.update_dir = self.update_dir.clone();
        config.updates.dns_server = Some(self.dns);
        config.updates.channels = vec![CHANNEL.to_string()];
        config.updates.keyring = self.tmp.path().join("default-keyring");
        config
    }

    /// Every file under the update directory with its contents (links as their target),
    /// to prove a failed update changed nothing.
    pub fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        walk(&self.update_dir, &self.update_dir, &mut out);
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        let rel = path.strip_prefix(root).unwrap().display().to_string();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.file_type().is_symlink() {
            out.push((rel, std::fs::read_link(&path).unwrap().display().to_string().into_bytes()));
        } else if meta.is_dir() {
            walk(root, &path, out);
        } else {
            out.push((rel, std::fs::read(&path).unwrap()));
        }
    }
}

#[derive(clap::Parser)]
struct TestCli {
    #[command(subcommand)]
    rules: Rules,
}

#[derive(clap::Subcommand)]
enum Rules {
    Rules {
        #[command(subcommand)]
        cmd: RulesUpdateCommand,
    },
}

/// Defaults that touch nothing outside the test: no rule paths, no Rspamd ruleset, no hooks,
/// no trusted keys besides what a test imports.
pub fn quiet_config() -> Config {
    let mut config = Config::defaults();
    config.rules.paths = Vec::new();
    config.rules.update_dir = "/nonexistent/mailward-test-updates".into();
    config.updates.rspamd_dir = None;
    config.updates.hooks_dir = None;
    config.updates.trusted_key_files = Vec::new();
    config.updates.keyring = "/nonexistent/mailward-test-keyring".into();
    config
}

/// Parses `argv` (`rules update ...`) as `mailward` does and runs it with [`quiet_config`].
pub async fn run_cli(argv: &[&str]) -> (i32, String) {
    run_cli_with(argv, &quiet_config()).await
}

/// Parses `argv` as `mailward` does and runs it with `config` as the config file.
pub async fn run_cli_with(argv: &[&str], config: &Config) -> (i32, String) {
    use clap::Parser as _;
    let mut full = vec!["mailward"];
    full.extend_from_slice(argv);
    let Rules::Rules { cmd } = TestCli::try_parse_from(full).expect("arguments parse").rules;
    let mut out = Vec::new();
    let code = mailward::updates::cli::run(cmd, config, false, &mut out).await.expect("command runs");
    (code, String::from_utf8(out).unwrap())
}

/// A hand-made tarball of the given files, through the same packer `rules publish` uses.
pub fn tarball(files: &[(&str, &str)]) -> Vec<u8> {
    pack(&files.iter().map(|(n, t)| RuleFile { name: n.to_string(), contents: t.as_bytes().to_vec() }).collect::<Vec<_>>())
}

/// A fresh, unprotected Ed25519 signing key for tests, armored.
pub fn test_signing_key(user: &str) -> String {
    use pgp::composed::{EncryptionCaps, KeyType, SecretKeyParamsBuilder};
    let mut params = SecretKeyParamsBuilder::default();
    params
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(true)
        .can_encrypt(EncryptionCaps::None)
        .primary_user_id(user.into());
    let key = params.build().unwrap().generate(rand::thread_rng()).unwrap();
    key.to_armored_string(Default::default()).unwrap()
}
