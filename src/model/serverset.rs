//! Mail server sets: what clients are told to connect to (autoconfig), assigned to domains.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Imap,
    Pop3,
    Smtp,
}

/// Transport security of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Implicit TLS (993, 995, 465).
    Tls,
    /// STARTTLS upgrade (143, 110, 587).
    Starttls,
    /// No encryption; only ever announced when the admin configured it explicitly.
    Plain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    /// Password sent over the (encrypted) connection: PLAIN/LOGIN.
    PasswordCleartext,
    /// CRAM-MD5 and similar challenge-response methods.
    PasswordEncrypted,
    OAuth2,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub protocol: Protocol,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub auth: Vec<AuthMethod>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OAuth2 {
    pub issuer: String,
    pub scope: String,
    pub auth_url: String,
    pub token_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSet {
    pub id: i64,
    pub name: String,
    /// Autoconfig `emailProvider id`; defaults to the set's name.
    pub provider_id: String,
    pub display_name: String,
    pub display_short_name: String,
    /// The mail server node (`server.name` in its config) that applies the domains of this
    /// set; `None` = every node.
    pub node: Option<String>,
    /// In the order clients should prefer them.
    pub endpoints: Vec<Endpoint>,
    pub oauth2: Option<OAuth2>,
    pub caldav_url: Option<String>,
    pub carddav_url: Option<String>,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Smtp => "smtp",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "imap" => Protocol::Imap,
            "pop3" | "pop" => Protocol::Pop3,
            "smtp" | "submission" => Protocol::Smtp,
            _ => return None,
        })
    }
}

impl Security {
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Starttls => "starttls",
            Security::Plain => "plain",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "tls" | "ssl" => Security::Tls,
            "starttls" => Security::Starttls,
            "plain" | "none" => Security::Plain,
            _ => return None,
        })
    }
}

impl Endpoint {
    /// Parses the CLI form `PROTOCOL:HOST:PORT:SECURITY`, e.g. `imap:mail.example.org:993:tls`.
    pub fn parse_spec(spec: &str) -> Result<Endpoint, String> {
        let parts: Vec<&str> = spec.split(':').collect();
        let [protocol, host, port, security] = parts.as_slice() else {
            return Err(format!("invalid endpoint '{spec}': expected PROTOCOL:HOST:PORT:SECURITY"));
        };
        let protocol = Protocol::parse(protocol)
            .ok_or_else(|| format!("invalid endpoint '{spec}': protocol must be imap, pop3 or smtp"))?;
        let host = crate::model::names::DomainName::parse(host).map_err(|e| format!("invalid endpoint '{spec}': {e}"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("invalid endpoint '{spec}': port must be 1-65535"))?;
        let security = Security::parse(security)
            .ok_or_else(|| format!("invalid endpoint '{spec}': security must be tls, starttls or plain"))?;
        Ok(Endpoint { protocol, host: host.to_string(), port, security, auth: vec![AuthMethod::PasswordCleartext] })
    }
}
