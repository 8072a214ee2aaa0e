//! The public HTTP listener's autoconfig endpoints (edge).
//!
//! One dispatcher matches the lowercased path, because clients disagree on letter case
//! (`/Autodiscover/Autodiscover.xml`, `/autodiscover/autodiscover.xml`, ...) and axum's router
//! matches exactly. Nothing here logs request headers: clients put real passwords in
//! `Authorization` (Outlook sends Basic credentials to autodiscover).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::rate_limit::RateLimiter;
use super::render::{self, OutlookError, ProfileIds};
use super::request::{self, MAX_BODY_BYTES, RequestError, ResponseSchema};
use super::snapshot::{HostedDomain, Snapshot};
use crate::model::{Address, DomainName};

/// What the admin configures for the autoconfig endpoints.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Our own public name; the autodiscover JSON stub points AutodiscoverV1 at
    /// `https://<public_hostname>/autodiscover/autodiscover.xml`.
    pub public_hostname: String,
    /// Answer only for addresses that exist (mailbox or alias). Off by default: the same
    /// answer for every address of a hosted domain gives an attacker no list of users.
    pub only_existing_addresses: bool,
    /// Sign Apple profiles with this certificate and key (PEM) through `openssl smime`.
    pub signing: Option<SigningIdentity>,
    /// Requests per minute per client IP (also the burst); 0 = unlimited.
    pub rate_limit_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed for the rate limit's client IP.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Settings {
    pub fn new(public_hostname: impl Into<String>) -> Settings {
        Settings {
            public_hostname: public_hostname.into(),
            only_existing_addresses: false,
            signing: None,
            rate_limit_per_minute: 120,
            trusted_proxies: vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)],
        }
    }
}

impl Settings {
    /// The settings the config file gives (`server.public_hostname`, `[autoconfig]`).
    pub fn from_config(config: &crate::config::Config) -> Settings {
        let mut settings = Settings::new(config.server.public_hostname.clone());
        settings.only_existing_addresses = config.autoconfig.only_existing_addresses;
        settings.rate_limit_per_minute = config.autoconfig.rate_limit_per_minute;
        settings.signing = match (&config.autoconfig.sign_cert, &config.autoconfig.sign_key) {
            (Some(certificate), Some(key)) => Some(SigningIdentity { certificate: certificate.clone(), key: key.clone(), chain: None }),
            _ => None,
        };
        settings
    }
}

#[derive(Debug, Clone)]
pub struct SigningIdentity {
    pub certificate: PathBuf,
    pub key: PathBuf,
    /// Intermediate certificates to include, if any.
    pub chain: Option<PathBuf>,
}

/// Shared by every request. The daemon owns it in an `Arc` and calls
/// [`AutoconfigState::replace_snapshot`] after each store change.
pub struct AutoconfigState {
    /// Swapped whole; readers clone the `Arc` and never hold the lock while rendering.
    snapshot: RwLock<Arc<Snapshot>>,
    settings: Settings,
    limiter: RateLimiter,
}

impl AutoconfigState {
    pub fn new(settings: Settings, snapshot: Snapshot) -> Arc<AutoconfigState> {
        let limiter = RateLimiter::new(settings.rate_limit_per_minute);
        Arc::new(AutoconfigState { snapshot: RwLock::new(Arc::new(snapshot)), settings, limiter })
    }

    pub fn replace_snapshot(&self, snapshot: Snapshot) {
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

/// Every autoconfig path, for the public listener. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the rate limit sees client IPs.
pub fn router(state: Arc<AutoconfigState>) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

/// Why a request got no configuration. Messages never quote the request: nothing a client
/// sent is echoed back.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("domain is not hosted here")]
    NotHosted,
    #[error("no such path")]
    NoSuchPath,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("invalid e-mail address: {0}")]
    BadAddress(&'static str),
    #[error("an e-mail address is required")]
    AddressRequired,
    #[error("{0}")]
    BadRequest(RequestError),
    #[error("too many requests")]
    RateLimited,
    #[error("the server set offers no incoming or no outgoing server")]
    Incomplete,
    #[error("profile signing failed")]
    Signing,
}

impl IntoResponse for AnswerError {
    fn into_response(self) -> Response {
        let status = match &self {
            AnswerError::NotHosted | AnswerError::NoSuchPath | AnswerError::Incomplete => StatusCode::NOT_FOUND,
            AnswerError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AnswerError::BadAddress(_) | AnswerError::AddressRequired => StatusCode::BAD_REQUEST,
            AnswerError::BadRequest(RequestError::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            AnswerError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AnswerError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AnswerError::Signing => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut response = (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{self}\n")).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        response
    }
}

async fn dispatch(State(state): State<Arc<AutoconfigState>>, request: Request) -> Response {
    let path = request.uri().path().to_ascii_lowercase();
    let method = request.method().clone();
    let result = answer(&state, request).await;
    match result {
        Ok(response) => response,
        Err(error) => {
            // Path and method only: the query holds addresses, the headers credentials.
            tracing::debug!(%method, %path, %error, "autoconfig request refused");
            error.into_response()
        }
    }
}

async fn answer(state: &AutoconfigState, request: Request) -> Result<Response, AnswerError> {
    let ip = client_ip(&request, &state.settings);
    if !state.limiter.allow(ip, Instant::now()) {
        return Err(AnswerError::RateLimited);
    }
    let path = request.uri().path().to_ascii_lowercase();
    let path = path.trim_end_matches('/');
    let params = query_params(&request);
    let host = host_of(request.headers());
    let method = request.method().clone();
    let get = method == Method::GET || method == Method::HEAD;
    let snapshot = state.snapshot();

    match path {
        "/mail/config-v1.1.xml" | "/.well-known/autoconfig/mail/config-v1.1.xml" | "/.well-known/mail-v1.xml" => {
            if !get {
                return Err(AnswerError::MethodNotAllowed);
            }
            let address = optional_address(&params, &["emailaddress", "email"])?;
            let domain = find_domain(&snapshot, &state.settings, address.as_ref(), host.as_deref())?;
            Ok(xml("application/xml; charset=utf-8", render::thunderbird(domain, address.as_ref())))
        }
        p if p.starts_with("/v1.1/") => {
            if !get {
                return Err(AnswerError::MethodNotAllowed);
            }
            let name = DomainName::parse(&p["/v1.1/".len()..]).map_err(|_| AnswerError::NotHosted)?;
            let domain = snapshot.domain(name.as_str()).ok_or(AnswerError::NotHosted)?;
            Ok(xml("application/xml; charset=utf-8", render::thunderbird(domain, None)))
        }
        "/autodiscover/autodiscover.xml" => {
            let address = if method == Method::POST {
                let body = read_capped(request.into_body()).await?;
                let parsed = request::parse_autodiscover_request(&body).map_err(AnswerError::BadRequest)?;
                match parsed.schema {
                    ResponseSchema::Outlook => {}
                    ResponseSchema::MobileSync | ResponseSchema::Other(_) => {
                        return Ok(outlook_error(OutlookError::ProviderNotAvailable));
                    }
                }
                Some(decode(&parsed.email_address)?)
            } else if get {
                optional_address(&params, &["email", "emailaddress"])?
            } else {
                return Err(AnswerError::MethodNotAllowed);
            };
            let domain = find_domain(&snapshot, &state.settings, address.as_ref(), host.as_deref())?;
            let body = match &address {
                Some(a) => render::outlook(&domain.server_set, a),
                None => render::outlook_without_login(&domain.server_set),
            };
            Ok(xml("text/xml; charset=utf-8", body))
        }
        p if p == "/autodiscover/autodiscover.json" || p.starts_with("/autodiscover/autodiscover.json/v1.0/") => {
            if !get {
                return Err(AnswerError::MethodNotAllowed);
            }
            // The address is in the query (`Email=`) or, original case kept, in the path.
            let raw_path = request.uri().path();
            let from_path = raw_path.get("/autodiscover/autodiscover.json/v1.0/".len()..).filter(|s| !s.is_empty());
            let raw = from_path.map(percent_decode).or_else(|| param(&params, &["email"]).map(str::to_string));
            let address = raw.as_deref().map(decode).transpose()?.ok_or(AnswerError::AddressRequired)?;
            find_domain(&snapshot, &state.settings, Some(&address), None)?;
            let protocol = param(&params, &["protocol"]).unwrap_or("AutodiscoverV1");
            if !protocol.eq_ignore_ascii_case("autodiscoverv1") {
                return Ok((StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "application/json")], render::autodiscover_json_error(protocol)).into_response());
            }
            Ok(([(header::CONTENT_TYPE, "application/json")], render::autodiscover_json(&state.settings.public_hostname)).into_response())
        }
        "/mobileconfig" | "/email.mobileconfig" => {
            if !get {
                return Err(AnswerError::MethodNotAllowed);
            }
            let address = optional_address(&params, &["emailaddress", "email"])?.ok_or(AnswerError::AddressRequired)?;
            let domain = find_domain(&snapshot, &state.settings, Some(&address), None)?;
            let ids = ProfileIds {
                profile_uuid: uuid::Uuid::new_v4().to_string().to_uppercase(),
                payload_uuid: uuid::Uuid::new_v4().to_string().to_uppercase(),
            };
            let profile = render::mobileconfig(domain, &address, &ids).ok_or(AnswerError::Incomplete)?;
            let bytes = match &state.settings.signing {
                Some(identity) => sign_profile(profile.as_bytes(), identity).await.map_err(|e| {
                    tracing::error!(error = %e, "signing a mobileconfig profile failed");
                    AnswerError::Signing
                })?,
                None => profile.into_bytes(),
            };
            let disposition = format!("attachment; filename=\"{}.mobileconfig\"", domain.name);
            Ok((
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static("application/x-apple-aspen-config")),
                    (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment"))),
                ],
                bytes,
            )
                .into_response())
        }
        _ => Err(AnswerError::NoSuchPath),
    }
}

fn xml(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn outlook_error(error: OutlookError) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let time = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    xml("text/xml; charset=utf-8", render::outlook_error(error, &id[..8], &time))
}

/// The client's IP: the socket peer, or the proxy's `X-Forwarded-For` entry when the peer is
/// a trusted reverse proxy. Without connection info (in-process tests) every request shares
/// one bucket.
fn client_ip(request: &Request, settings: &Settings) -> IpAddr {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let Some(peer) = peer else { return IpAddr::V4(Ipv4Addr::UNSPECIFIED) };
    if settings.trusted_proxies.contains(&peer) {
        // The proxy appends the address it saw; earlier entries are the client's own claims.
        let forwarded = request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
        if let Some(ip) = forwarded.and_then(|v| v.rsplit(',').next()).and_then(|v| v.trim().parse().ok()) {
            return ip;
        }
    }
    peer
}

fn query_params(request: &Request) -> Vec<(String, String)> {
    Query::<Vec<(String, String)>>::try_from_uri(request.uri()).map(|q| q.0).unwrap_or_default()
}

/// A query parameter by any of its names, ignoring letter case (`EmailAddress`, `emailaddress`).
fn param<'a>(params: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str()))
}

fn optional_address(params: &[(String, String)], names: &[&str]) -> Result<Option<Address>, AnswerError> {
    match param(params, names).map(str::trim) {
        None | Some("") => Ok(None),
        // Thunderbird sends its own placeholder when the user has not typed an address yet.
        Some(p) if p.eq_ignore_ascii_case(render::EMAIL_PLACEHOLDER) => Ok(None),
        Some(raw) => decode(raw).map(Some),
    }
}

fn decode(raw: &str) -> Result<Address, AnswerError> {
    request::decode_address(raw).map_err(|e| match e {
        crate::model::NameError::Address { reason, .. } | crate::model::NameError::Domain { reason, .. } => AnswerError::BadAddress(reason),
    })
}

/// `Host` without port, lowercased; `None` for an IP literal, which names no domain.
fn host_of(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    if host.starts_with('[') {
        return None;
    }
    let name = host.split_once(':').map_or(host, |(name, _)| name);
    Some(name.to_ascii_lowercase())
}

/// The hosted domain for a request: the address's domain when the client sent one, else the
/// `Host` header (`autoconfig.<domain>`, `autodiscover.<domain>` or `<domain>` itself).
fn find_domain<'s>(snapshot: &'s Snapshot, settings: &Settings, address: Option<&Address>, host: Option<&str>) -> Result<&'s HostedDomain, AnswerError> {
    if let Some(address) = address {
        let domain = snapshot.domain(address.domain()).ok_or(AnswerError::NotHosted)?;
        if settings.only_existing_addresses && !snapshot.address_exists(address.local_part(), domain) {
            // Same answer as an unhosted domain: no difference to probe.
            return Err(AnswerError::NotHosted);
        }
        return Ok(domain);
    }
    let host = host.ok_or(AnswerError::NotHosted)?;
    let candidates = [host.strip_prefix("autoconfig."), host.strip_prefix("autodiscover."), Some(host)];
    candidates
        .into_iter()
        .flatten()
        .filter_map(|h| DomainName::parse(h).ok())
        .find_map(|d| snapshot.domain(d.as_str()))
        .ok_or(AnswerError::NotHosted)
}

async fn read_capped(body: Body) -> Result<Bytes, AnswerError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| AnswerError::BadRequest(RequestError::TooLarge))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot run openssl: {0}")]
    Spawn(std::io::Error),
    #[error("openssl smime failed: {0}")]
    Failed(String),
}

/// CMS-signs a profile with `openssl smime` (no Rust CMS crate builds here). The profile goes
/// through stdin, the DER signature with embedded content comes back on stdout.
pub async fn sign_profile(profile: &[u8], identity: &SigningIdentity) -> Result<Vec<u8>, SignError> {
    use tokio::io::AsyncWriteExt;
    let mut command = tokio::process::Command::new("openssl");
    command.args(["smime", "-sign", "-nodetach", "-binary", "-outform", "der", "-signer"]).arg(&identity.certificate).arg("-inkey").arg(&identity.key);
    if let Some(chain) = &identity.chain {
        command.arg("-certfile").arg(chain);
    }
    command.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = command.spawn().map_err(SignError::Spawn)?;
    let mut stdin = child.stdin.take().ok_or_else(|| SignError::Failed("no stdin".into()))?;
    let input = profile.to_vec();
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
    });
    let output = child.wait_with_output().await.map_err(SignError::Spawn)?;
    let _ = writer.await;
    if !output.status.success() {
        return Err(SignError::Failed(String::from_utf8_lossy(&output.stderr).lines().next().unwrap_or("").to_string()));
    }
    Ok(output.stdout)
}
