//! `mailward check autoconfig ADDRESS`: do what Thunderbird and Outlook do to find an
//! account's settings, in their order, and report per client what it would end up with.
//! Like Microsoft's Remote Connectivity Analyzer, but for every client we answer.
//!
//! Edge module: DNS (hickory, optionally against a chosen server) and HTTP (reqwest, no
//! redirects followed implicitly). The documents are read by the pure [`document`] parser.

pub mod cli;
pub mod document;

use crate::error_chain::error_chain;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use serde::Serialize;

use crate::model::Address;
use document::{ClientDocument, Format};

#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Ask this DNS server instead of the system's resolvers.
    pub resolver: Option<SocketAddr>,
    /// Ports to use for `http://` and `https://` URLs: 80 and 443 in the real world; tests and
    /// staging servers behind other ports set them.
    pub http_port: u16,
    pub https_port: u16,
    /// Extra trusted CA certificate (PEM) for a private or staging certificate.
    pub ca_file: Option<std::path::PathBuf>,
    pub timeout: Duration,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { resolver: None, http_port: 80, https_port: 443, ca_file: None, timeout: Duration::from_secs(10) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot set up the DNS resolver: {0}")]
    Resolver(String),
    #[error("cannot set up the HTTP client: {0}")]
    Http(String),
    #[error("cannot read CA file {path}: {error}")]
    CaFile { path: String, error: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct DnsFinding {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: &'static str,
    /// Answers in presentation form; empty when the name has none.
    pub answers: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub method: &'static str,
    pub url: String,
    /// Whether the client would accept what came back.
    pub accepted: bool,
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientReport {
    pub client: &'static str,
    pub attempts: Vec<Attempt>,
    /// The URL whose document the client would use.
    pub source: Option<String>,
    pub document: Option<ClientDocument>,
    /// One sentence: what the client ends up with, or why nothing.
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub address: String,
    pub dns: Vec<DnsFinding>,
    pub clients: Vec<ClientReport>,
}

impl CheckReport {
    /// True when every client found a usable configuration.
    pub fn all_configured(&self) -> bool {
        self.clients.iter().all(|c| c.document.is_some())
    }
}

/// The `nameserver` lines of `/etc/resolv.conf` (hickory's own reader is a feature we do not
/// build).
async fn system_name_servers() -> Result<Vec<SocketAddr>, CheckError> {
    let text = tokio::fs::read_to_string("/etc/resolv.conf").await.map_err(|e| CheckError::Resolver(format!("cannot read /etc/resolv.conf: {e}")))?;
    let servers: Vec<SocketAddr> = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("nameserver"))
        .filter_map(|ip| ip.trim().split('%').next()?.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect();
    if servers.is_empty() {
        return Err(CheckError::Resolver("/etc/resolv.conf names no nameserver; pass --resolver IP:PORT".into()));
    }
    Ok(servers)
}

struct Checker {
    resolver: TokioResolver,
    options: CheckOptions,
    ca: Option<reqwest::Certificate>,
}

pub async fn check_autoconfig(address: &Address, options: CheckOptions) -> Result<CheckReport, CheckError> {
    // reqwest is built without a default crypto provider; installing one twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let servers = match options.resolver {
        Some(server) => vec![server],
        None => system_name_servers().await?,
    };
    let name_servers = servers
        .iter()
        .map(|server| {
            let mut ns = NameServerConfig::udp_and_tcp(server.ip());
            for connection in &mut ns.connections {
                connection.port = server.port();
            }
            ns
        })
        .collect();
    let resolver = TokioResolver::builder_with_config(ResolverConfig::from_name_servers(name_servers), TokioRuntimeProvider::default())
        .build()
        .map_err(|e| CheckError::Resolver(e.to_string()))?;
    let ca = match &options.ca_file {
        Some(path) => {
            let pem = tokio::fs::read(path).await.map_err(|e| CheckError::CaFile { path: path.display().to_string(), error: e.to_string() })?;
            Some(reqwest::Certificate::from_pem(&pem).map_err(|e| CheckError::CaFile { path: path.display().to_string(), error: e.to_string() })?)
        }
        None => None,
    };
    let checker = Checker { resolver, options, ca };
    let domain = address.domain().to_string();

    let mut dns = Vec::new();
    for (name, rtype) in [
        (format!("autoconfig.{domain}"), RecordType::A),
        (domain.clone(), RecordType::A),
        (format!("autodiscover.{domain}"), RecordType::A),
        (format!("_autodiscover._tcp.{domain}"), RecordType::SRV),
        (domain.clone(), RecordType::MX),
    ] {
        dns.push(checker.lookup(&name, rtype).await);
    }
    let thunderbird = checker.thunderbird(address, &domain).await;
    let outlook = checker.outlook(address, &domain, &dns[3]).await;
    Ok(CheckReport { address: address.to_string(), dns, clients: vec![thunderbird, outlook] })
}

impl Checker {
    async fn lookup(&self, name: &str, rtype: RecordType) -> DnsFinding {
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let label = match rtype {
            RecordType::A => "A",
            RecordType::SRV => "SRV",
            RecordType::MX => "MX",
            _ => "?",
        };
        let mut finding = DnsFinding { name: name.to_string(), rtype: label, answers: vec![], error: None };
        if rtype == RecordType::A {
            match self.resolver.lookup_ip(fqdn.as_str()).await {
                Ok(ips) => finding.answers = ips.iter().map(|ip| ip.to_string()).collect(),
                Err(e) => finding.error = Some(e.to_string()),
            }
            return finding;
        }
        match self.resolver.lookup(fqdn.as_str(), rtype).await {
            Ok(lookup) => {
                for record in lookup.answers() {
                    match &record.data {
                        RData::SRV(srv) => finding.answers.push(format!("{} {} {} {}", srv.priority, srv.weight, srv.port, srv.target)),
                        RData::MX(mx) => finding.answers.push(format!("{} {}", mx.preference, mx.exchange)),
                        _ => {}
                    }
                }
            }
            Err(e) => finding.error = Some(e.to_string()),
        }
        finding
    }

    async fn resolve_ip(&self, host: &str) -> Result<IpAddr, String> {
        let fqdn = format!("{}.", host.trim_end_matches('.'));
        let ips = self.resolver.lookup_ip(fqdn.as_str()).await.map_err(|e| format!("{host} does not resolve: {e}"))?;
        ips.iter().next().ok_or_else(|| format!("{host} has no address"))
    }

    /// Fetches one URL with our own resolution of its host; never follows redirects (the
    /// caller decides, as the clients do).
    async fn fetch(&self, scheme: &str, host: &str, port: Option<u16>, path_and_query: &str, body: Option<String>) -> Result<(u16, Option<String>, Vec<u8>), String> {
        let url = self.url(scheme, host, port, path_and_query);
        let ip = self.resolve_ip(host).await?;
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(self.options.timeout).resolve(host, SocketAddr::new(ip, 0));
        if let Some(ca) = &self.ca {
            builder = builder.add_root_certificate(ca.clone());
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        let request = match body {
            Some(body) => client.post(&url).header("content-type", "text/xml; charset=utf-8").body(body),
            None => client.get(&url),
        };
        let response = request.send().await.map_err(|e| error_chain(&e))?;
        let status = response.status().as_u16();
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = response.bytes().await.map_err(|e| error_chain(&e))?;
        if bytes.len() > document::MAX_DOCUMENT_BYTES {
            return Err("answer larger than 1 MiB".into());
        }
        Ok((status, location, bytes.to_vec()))
    }

    fn url(&self, scheme: &str, host: &str, port: Option<u16>, path: &str) -> String {
        let default_port = if scheme == "https" { self.options.https_port } else { self.options.http_port };
        let port = port.unwrap_or(default_port);
        if (scheme == "https" && port == 443) || (scheme == "http" && port == 80) {
            format!("{scheme}://{host}{path}")
        } else {
            format!("{scheme}://{host}:{port}{path}")
        }
    }

    /// Thunderbird (comm-central `FetchConfig`): the domain's autoconfig host and its
    /// well-known URL over HTTPS, then the same over HTTP; then the ISPDB and guessing, which
    /// say nothing about this server and are not queried.
    async fn thunderbird(&self, address: &Address, domain: &str) -> ClientReport {
        let query = format!("?emailaddress={}", address.as_str().replace('+', "%2B"));
        let candidates = [
            ("https", format!("autoconfig.{domain}"), format!("/mail/config-v1.1.xml{query}")),
            ("https", domain.to_string(), format!("/.well-known/autoconfig/mail/config-v1.1.xml{query}")),
            ("http", format!("autoconfig.{domain}"), format!("/mail/config-v1.1.xml{query}")),
            ("http", domain.to_string(), format!("/.well-known/autoconfig/mail/config-v1.1.xml{query}")),
        ];
        let mut report = ClientReport { client: "thunderbird", attempts: vec![], source: None, document: None, verdict: String::new() };
        for (scheme, host, path) in candidates {
            let url = self.url(scheme, &host, None, &path);
            let outcome = self.fetch(scheme, &host, None, &path, None).await;
            let (accepted, text, doc) = judge(outcome, Format::Thunderbird);
            report.attempts.push(Attempt { method: "GET", url: url.clone(), accepted, outcome: text });
            if let Some(doc) = doc.filter(|_| accepted) {
                report.verdict = summary(&doc, scheme == "http");
                report.source = Some(url);
                report.document = Some(doc);
                return report;
            }
        }
        report.verdict = "no configuration from this server; Thunderbird would fall back to the ISPDB and then guess hosts".into();
        report
    }

    /// Outlook (MS-OXDISCO): POST to the domain and to `autodiscover.<domain>` over HTTPS, a GET
    /// over HTTP to `autodiscover.<domain>` whose only acceptable answer is a redirect to HTTPS,
    /// then the `_autodiscover._tcp` SRV targets.
    async fn outlook(&self, address: &Address, domain: &str, srv: &DnsFinding) -> ClientReport {
        let body = outlook_request(address);
        let path = "/autodiscover/autodiscover.xml";
        let mut report = ClientReport { client: "outlook", attempts: vec![], source: None, document: None, verdict: String::new() };
        for host in [domain.to_string(), format!("autodiscover.{domain}")] {
            if self.outlook_post(&mut report, &host, None, path, &body, "").await {
                return report;
            }
        }

        let http_host = format!("autodiscover.{domain}");
        let url = self.url("http", &http_host, None, path);
        let mut redirect = None;
        let text = match self.fetch("http", &http_host, None, path, None).await {
            Ok((status @ (301 | 302 | 307 | 308), Some(location), _)) => match https_target(&location) {
                Some(target) => {
                    redirect = Some(target);
                    format!("HTTP {status} redirect to {location}")
                }
                None => format!("HTTP {status} redirect to a non-HTTPS URL, which Outlook refuses"),
            },
            Ok((status, _, _)) => format!("HTTP {status}: Outlook accepts only a redirect to HTTPS here"),
            Err(e) => e,
        };
        report.attempts.push(Attempt { method: "GET", url, accepted: false, outcome: text });
        if let Some((host, port, target_path)) = redirect
            && self.outlook_post(&mut report, &host, port, &target_path, &body, " (after the HTTP redirect)").await
        {
            return report;
        }

        // SRV: lowest priority first; a "." target means explicitly not offered.
        let mut targets: Vec<(u16, u16, String)> = srv
            .answers
            .iter()
            .filter_map(|a| match a.split_whitespace().collect::<Vec<_>>().as_slice() {
                [priority, _, port, target] => Some((priority.parse().ok()?, port.parse().ok()?, target.trim_end_matches('.').to_string())),
                _ => None,
            })
            .filter(|(_, _, target)| !target.is_empty())
            .collect();
        targets.sort();
        for (_, port, target) in targets {
            // A 443 target goes to the configured HTTPS port, so staging setups can be checked.
            let port = if port == 443 { None } else { Some(port) };
            let note = format!(" (found through SRV: Outlook asks the user to allow {target})");
            if self.outlook_post(&mut report, &target, port, path, &body, &note).await {
                return report;
            }
        }
        report.verdict = "no configuration: Outlook would ask the user to enter the servers by hand".into();
        report
    }

    /// One autodiscover POST over HTTPS; true (and the report completed) when Outlook would
    /// take its answer.
    async fn outlook_post(&self, report: &mut ClientReport, host: &str, port: Option<u16>, path: &str, body: &str, note: &str) -> bool {
        let url = self.url("https", host, port, path);
        let outcome = self.fetch("https", host, port, path, Some(body.to_string())).await;
        let (accepted, text, doc) = judge(outcome, Format::Outlook);
        report.attempts.push(Attempt { method: "POST", url: url.clone(), accepted, outcome: text });
        match doc.filter(|_| accepted) {
            Some(doc) => {
                report.verdict = format!("{}{note}", summary(&doc, false));
                report.source = Some(url);
                report.document = Some(doc);
                true
            }
            None => false,
        }
    }
}

/// `https://host[:port]/path` split into its parts; `None` for any other scheme.
fn https_target(location: &str) -> Option<(String, Option<u16>, String)> {
    let rest = location.strip_prefix("https://")?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), Some(port.parse().ok()?), path)),
        None => Some((authority.to_string(), None, path)),
    }
}

fn outlook_request(address: &Address) -> String {
    // The address is validated (atext and a domain name), so it holds no markup characters;
    // escape anyway so this never becomes the one place that builds XML unescaped.
    let escaped = quick_xml::escape::escape(address.as_str());
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\"><Request><EMailAddress>{escaped}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>"
    )
}

/// Whether a client accepts an answer, with a one-line outcome and the parsed document.
fn judge(outcome: Result<(u16, Option<String>, Vec<u8>), String>, expected: Format) -> (bool, String, Option<ClientDocument>) {
    let (status, location, body) = match outcome {
        Ok(v) => v,
        Err(e) => return (false, e, None),
    };
    if (300..400).contains(&status) {
        return (false, format!("HTTP {status} redirect to {} (not followed)", location.unwrap_or_default()), None);
    }
    if status != 200 {
        return (false, format!("HTTP {status}"), None);
    }
    match document::parse_document(&body) {
        Ok(doc) if doc.format != expected => (false, format!("HTTP 200 but a {:?} document", doc.format), None),
        Ok(doc) if doc.incoming.is_empty() && doc.redirect.is_none() => (false, "HTTP 200 but no usable incoming server".into(), Some(doc)),
        Ok(doc) => (true, format!("HTTP 200, {} incoming and {} outgoing servers", doc.incoming.len(), doc.outgoing.len()), Some(doc)),
        Err(e) => (false, format!("HTTP 200 but {e}"), None),
    }
}

fn summary(doc: &ClientDocument, insecure_fetch: bool) -> String {
    let describe = |e: &document::ServerEntry| format!("{} {}:{} ({})", e.protocol, e.host, e.port, e.security);
    let incoming = doc.incoming.iter().find(|e| e.protocol == "imap").or(doc.incoming.first()).map(describe).unwrap_or_else(|| "no incoming server".into());
    let outgoing = doc.outgoing.first().map(describe).unwrap_or_else(|| "no outgoing server".into());
    let mut s = format!("incoming {incoming}, outgoing {outgoing}");
    if insecure_fetch {
        s.push_str("; fetched over plain HTTP, so a network attacker could have changed it");
    }
    s
}
