//! Reading the configuration documents clients receive: Thunderbird `config-v1.1` (as served
//! by us, by other providers and by the ISPDB) and Outlook's POX autodiscover answer. Pure.
//!
//! Lenient like the clients: unknown elements are ignored, a server entry with a problem is
//! skipped with a diagnostic, and only a document that is not XML at all (or declares a DTD,
//! which we never expand) is an error.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::Serialize;

/// Real provider files are a few KiB; the cap keeps a hostile server from exhausting memory.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("document larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    #[error("document nests elements deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("document declares a DTD, which is refused")]
    Doctype,
    #[error("document is not well-formed XML: {0}")]
    Malformed(String),
    #[error("document root is <{0}>, expected <clientConfig> or <Autodiscover>")]
    UnexpectedRoot(String),
    #[error("autodiscover error {code}: {message}")]
    AutodiscoverError { code: String, message: String },
}

/// A parsed element: local name (namespace prefix dropped), attributes, text and children.
#[derive(Debug, Clone, Default)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name.eq_ignore_ascii_case(name))
    }
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim()).filter(|t| !t.is_empty())
    }
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub fn parse_tree(bytes: &[u8]) -> Result<Element, DocumentError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge);
    }
    let malformed = |e: &dyn std::fmt::Display| DocumentError::Malformed(e.to_string());
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| malformed(&e))?;
        match event {
            Event::DocType(_) => return Err(DocumentError::Doctype),
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(DocumentError::Malformed("content after the root element".into()));
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(DocumentError::TooDeep);
                }
                stack.push(element(&start)?);
            }
            Event::Empty(start) => {
                let e = element(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None => root = Some(e),
                }
            }
            Event::End(_) => {
                let done = stack.pop().ok_or_else(|| DocumentError::Malformed("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| malformed(&e))? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                        .ok_or_else(|| DocumentError::Malformed(format!("undefined entity '&{};'", crate::model::names::printable(&r.xml10_content()))))?
                        .to_string(),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(DocumentError::Malformed("unclosed element at end of document".into()));
    }
    root.ok_or_else(|| DocumentError::Malformed("no root element".into()))
}

fn element(start: &quick_xml::events::BytesStart) -> Result<Element, DocumentError> {
    let name = start.local_name().as_ref().to_string();
    let mut attributes = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| DocumentError::Malformed(e.to_string()))?;
        let key = attr.key.local_name().as_ref().to_string();
        let value = attr.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| DocumentError::Malformed(e.to_string()))?.into_owned();
        attributes.push((key, value));
    }
    Ok(Element { name, attributes, ..Element::default() })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Thunderbird,
    Outlook,
}

/// One server as a document describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerEntry {
    /// `imap`, `pop3`, `smtp`, or what the document said (`exchange`, `ews`...).
    pub protocol: String,
    pub host: String,
    pub port: u16,
    /// `tls`, `starttls` or `plain`.
    pub security: &'static str,
    pub authentication: Vec<String>,
    pub username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientDocument {
    pub format: Format,
    pub provider_id: Option<String>,
    pub domains: Vec<String>,
    pub incoming: Vec<ServerEntry>,
    pub outgoing: Vec<ServerEntry>,
    /// An Outlook redirect (`redirectUrl` / `redirectAddr`) instead of settings.
    pub redirect: Option<String>,
    /// What was skipped or looks wrong, one line each.
    pub diagnostics: Vec<String>,
}

/// Parses either format, by its root element.
pub fn parse_document(bytes: &[u8]) -> Result<ClientDocument, DocumentError> {
    let root = parse_tree(bytes)?;
    if root.name.eq_ignore_ascii_case("clientConfig") {
        Ok(thunderbird(&root))
    } else if root.name.eq_ignore_ascii_case("Autodiscover") {
        outlook(&root)
    } else {
        Err(DocumentError::UnexpectedRoot(crate::model::names::printable(&root.name)))
    }
}

fn thunderbird(root: &Element) -> ClientDocument {
    let mut doc = ClientDocument { format: Format::Thunderbird, provider_id: None, domains: vec![], incoming: vec![], outgoing: vec![], redirect: None, diagnostics: vec![] };
    let Some(provider) = root.child("emailProvider") else {
        doc.diagnostics.push("no <emailProvider> element".into());
        return doc;
    };
    doc.provider_id = provider.attribute("id").map(str::to_string);
    doc.domains = provider.children_named("domain").map(|d| d.text.trim().to_string()).filter(|d| !d.is_empty()).collect();
    for (element, incoming) in [("incomingServer", true), ("outgoingServer", false)] {
        for (n, server) in provider.children_named(element).enumerate() {
            let what = format!("{element} #{}", n + 1);
            let protocol = server.attribute("type").unwrap_or("").to_ascii_lowercase();
            let Some(host) = server.child_text("hostname") else {
                doc.diagnostics.push(format!("{what} ({protocol}): no hostname, skipped"));
                continue;
            };
            let Some(port) = server.child_text("port").and_then(|p| p.parse::<u16>().ok()).filter(|p| *p != 0) else {
                doc.diagnostics.push(format!("{what} ({protocol}): missing or invalid port, skipped"));
                continue;
            };
            let security = match server.child_text("socketType").map(str::to_ascii_lowercase).as_deref() {
                Some("ssl") | Some("tls") => "tls",
                Some("starttls") => "starttls",
                Some("plain") => {
                    doc.diagnostics.push(format!("{what} ({protocol}): plain-text socket type; Thunderbird for Android rejects such files"));
                    "plain"
                }
                other => {
                    doc.diagnostics.push(format!("{what} ({protocol}): unknown socketType {:?}, skipped", other.unwrap_or("")));
                    continue;
                }
            };
            let entry = ServerEntry {
                protocol,
                host: host.to_string(),
                port,
                security,
                authentication: server.children_named("authentication").map(|a| a.text.trim().to_string()).filter(|a| !a.is_empty()).collect(),
                username: server.child_text("username").map(str::to_string),
            };
            if incoming { doc.incoming.push(entry) } else { doc.outgoing.push(entry) }
        }
    }
    doc
}

fn outlook(root: &Element) -> Result<ClientDocument, DocumentError> {
    let mut doc = ClientDocument { format: Format::Outlook, provider_id: None, domains: vec![], incoming: vec![], outgoing: vec![], redirect: None, diagnostics: vec![] };
    let response = root.child("Response").ok_or_else(|| DocumentError::Malformed("no <Response> element".into()))?;
    if let Some(error) = response.child("Error") {
        return Err(DocumentError::AutodiscoverError {
            code: error.child_text("ErrorCode").unwrap_or("?").to_string(),
            message: error.child_text("Message").unwrap_or("").to_string(),
        });
    }
    let account = response.child("Account").ok_or_else(|| DocumentError::Malformed("no <Account> element".into()))?;
    match account.child_text("Action").map(str::to_ascii_lowercase).as_deref() {
        Some("redirecturl") => doc.redirect = account.child_text("RedirectUrl").map(str::to_string),
        Some("redirectaddr") => doc.redirect = account.child_text("RedirectAddr").map(str::to_string),
        _ => {}
    }
    for (n, protocol) in account.children_named("Protocol").enumerate() {
        let kind = protocol.child_text("Type").unwrap_or("").to_ascii_lowercase();
        let what = format!("Protocol #{} ({kind})", n + 1);
        let Some(host) = protocol.child_text("Server") else {
            if !matches!(kind.as_str(), "web" | "exch" | "expr" | "exhttp") {
                doc.diagnostics.push(format!("{what}: no Server, skipped"));
            }
            continue;
        };
        let ssl = protocol.child_text("SSL").map(str::to_ascii_lowercase);
        let encryption = protocol.child_text("Encryption").map(str::to_ascii_lowercase);
        let security = match (ssl.as_deref(), encryption.as_deref()) {
            (_, Some("ssl")) => "tls",
            (_, Some("tls")) => "starttls",
            (_, Some("auto")) => "tls",
            (_, Some("none")) => "plain",
            (Some("off"), _) => {
                doc.diagnostics.push(format!("{what}: SSL off, which Thunderbird reads as plain text"));
                "plain"
            }
            _ => "tls",
        };
        let port = protocol.child_text("Port").and_then(|p| p.parse::<u16>().ok());
        let default_port = match (kind.as_str(), security) {
            ("imap", "tls") => 993,
            ("imap", _) => 143,
            ("pop3", "tls") => 995,
            ("pop3", _) => 110,
            ("smtp", "tls") => 465,
            ("smtp", _) => 587,
            _ => 443,
        };
        let port = port.unwrap_or_else(|| {
            doc.diagnostics.push(format!("{what}: no Port, assuming {default_port}"));
            default_port
        });
        if protocol.child_text("SPA").is_some_and(|s| s.eq_ignore_ascii_case("on")) {
            doc.diagnostics.push(format!("{what}: SPA on makes Outlook try NTLM instead of the password"));
        }
        let entry = ServerEntry {
            protocol: kind.clone(),
            host: host.to_string(),
            port,
            security,
            authentication: vec!["password-cleartext".into()],
            username: protocol.child_text("LoginName").map(str::to_string),
        };
        if kind == "smtp" { doc.outgoing.push(entry) } else { doc.incoming.push(entry) }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thunderbird_file_with_problems_yields_the_good_entries_and_diagnostics() {
        let xml = br#"<clientConfig version="1.1"><emailProvider id="x"><domain>x.org</domain>
          <incomingServer type="imap"><hostname>imap.x.org</hostname><port>993</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>
          <incomingServer type="pop3"><port>995</port></incomingServer>
          <outgoingServer type="smtp"><hostname>smtp.x.org</hostname><port>587</port><socketType>STARTTLS</socketType></outgoingServer>
          <unknownThing/></emailProvider></clientConfig>"#;
        let doc = parse_document(xml).unwrap();
        assert_eq!(doc.incoming.len(), 1);
        assert_eq!(doc.incoming[0].security, "tls");
        assert_eq!(doc.outgoing[0].security, "starttls");
        assert_eq!(doc.diagnostics, ["incomingServer #2 (pop3): no hostname, skipped"]);
    }

    #[test]
    fn hostile_documents_are_errors() {
        assert_eq!(parse_document(br#"<!DOCTYPE a [<!ENTITY b "c">]><clientConfig/>"#), Err(DocumentError::Doctype));
        assert!(matches!(parse_document(b"<clientConfig><a>"), Err(DocumentError::Malformed(_))));
        assert!(matches!(parse_document(b"<html></html>"), Err(DocumentError::UnexpectedRoot(_))));
        let deep = format!("<clientConfig>{}{}</clientConfig>", "<a>".repeat(50), "</a>".repeat(50));
        assert_eq!(parse_document(deep.as_bytes()), Err(DocumentError::TooDeep));
    }

    #[test]
    fn outlook_error_answer_is_reported() {
        let xml = br#"<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response><Error><ErrorCode>601</ErrorCode><Message>Provider is not available</Message></Error></Response></Autodiscover>"#;
        assert_eq!(parse_document(xml), Err(DocumentError::AutodiscoverError { code: "601".into(), message: "Provider is not available".into() }));
    }
}
