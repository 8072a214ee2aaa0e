//! Decoding what clients send. Pure: bytes and strings in, values or errors out.
//!
//! The autodiscover body is attacker-controlled XML. quick-xml never expands DTDs or custom
//! entities; on top of that we refuse any `<!DOCTYPE`, so an XXE or billion-laughs body is an
//! error before anything is resolved. The body size and element depth are capped too.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::model::{Address, NameError};

/// Outlook sends a few hundred bytes; anything near this is not a real client.
pub const MAX_BODY_BYTES: usize = 8 * 1024;
/// `Autodiscover > Request > EMailAddress` is depth 3; leave room for odd clients.
pub const MAX_DEPTH: usize = 16;

pub const REQUEST_SCHEMA_OUTLOOK: &str = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
pub const RESPONSE_SCHEMA_OUTLOOK: &str = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
pub const RESPONSE_SCHEMA_MOBILESYNC: &str = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request body larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("request body nests elements deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("request body declares a DTD, which is refused")]
    Doctype,
    #[error("request body is not well-formed XML: {0}")]
    Malformed(String),
    #[error("request body has no EMailAddress element")]
    MissingAddress,
    #[error("request body is not an autodiscover request")]
    NotAutodiscover,
}

/// The schema a client asked to be answered in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseSchema {
    /// Outlook's POX schema: the one we answer.
    Outlook,
    /// Exchange ActiveSync (`mobilesync`): answered with an error, we do not offer it.
    MobileSync,
    /// Anything else; answered with an error naming it.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutodiscoverRequest {
    /// As sent; decode with [`decode_address`].
    pub email_address: String,
    pub schema: ResponseSchema,
}

/// Parses an Outlook autodiscover request body. Element names are matched by local name so
/// that any namespace prefix works; a missing `AcceptableResponseSchema` means Outlook's.
pub fn parse_autodiscover_request(body: &[u8]) -> Result<AutodiscoverRequest, RequestError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(RequestError::TooLarge);
    }
    let mut reader = Reader::from_reader(body);
    reader.config_mut().check_end_names = true;
    let mut path: Vec<String> = Vec::new();
    let mut email: Option<String> = None;
    let mut schema: Option<String> = None;
    let mut saw_root = false;
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| RequestError::Malformed(e.to_string()))?;
        match event {
            Event::DocType(_) => return Err(RequestError::Doctype),
            Event::Start(start) => {
                if path.len() >= MAX_DEPTH {
                    return Err(RequestError::TooDeep);
                }
                let name = start.local_name().as_ref().to_ascii_lowercase();
                if path.is_empty() {
                    if name != "autodiscover" {
                        return Err(RequestError::NotAutodiscover);
                    }
                    saw_root = true;
                }
                path.push(name);
            }
            Event::Empty(_) if path.is_empty() => return Err(RequestError::NotAutodiscover),
            Event::End(_) => {
                path.pop();
            }
            Event::Text(text) => {
                let value = text.xml10_content();
                collect(&path, &value, &mut email, &mut schema);
            }
            Event::GeneralRef(r) => {
                // Only the five predefined entities and character references are accepted;
                // anything else would need a DTD, which we refuse.
                let resolved = if let Some(ch) = r.resolve_char_ref().map_err(|e| RequestError::Malformed(e.to_string()))? {
                    ch.to_string()
                } else {
                    let name = r.xml10_content();
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => s.to_string(),
                        None => return Err(RequestError::Malformed(format!("undefined entity '&{}'", crate::model::names::printable(&name)))),
                    }
                };
                collect(&path, &resolved, &mut email, &mut schema);
            }
            Event::CData(data) => {
                let value = data.xml10_content();
                collect(&path, &value, &mut email, &mut schema);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !path.is_empty() {
        return Err(RequestError::Malformed("unclosed element at end of body".into()));
    }
    if !saw_root {
        return Err(RequestError::NotAutodiscover);
    }
    let email_address = email.map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).ok_or(RequestError::MissingAddress)?;
    let schema = match schema.as_deref().map(str::trim) {
        None | Some("") => ResponseSchema::Outlook,
        Some(s) if s.eq_ignore_ascii_case(RESPONSE_SCHEMA_OUTLOOK) => ResponseSchema::Outlook,
        Some(s) if s.eq_ignore_ascii_case(RESPONSE_SCHEMA_MOBILESYNC) => ResponseSchema::MobileSync,
        Some(s) => ResponseSchema::Other(s.to_string()),
    };
    Ok(AutodiscoverRequest { email_address, schema })
}

/// Text inside `EMailAddress` may arrive in several events (split by entity references).
fn collect(path: &[String], text: &str, email: &mut Option<String>, schema: &mut Option<String>) {
    let Some(leaf) = path.last() else { return };
    let target = match leaf.as_str() {
        "emailaddress" => email,
        "acceptableresponseschema" => schema,
        _ => return,
    };
    target.get_or_insert_with(String::new).push_str(text);
}

/// Decodes an address the way clients actually send it: a `+` that a form decoder turned into
/// a space, surrounding whitespace, a `mailto:` prefix, mixed case and IDN domains are all
/// accepted; the result is canonical (lowercase local part, punycode domain).
pub fn decode_address(raw: &str) -> Result<Address, NameError> {
    let trimmed = raw.trim();
    let trimmed = trimmed
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .map_or(trimmed, |_| &trimmed[7..]);
    Address::parse(&trimmed.replace(' ', "+"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(address: &str, schema: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>{address}</EMailAddress><AcceptableResponseSchema>{schema}</AcceptableResponseSchema></Request></Autodiscover>"#
        )
    }

    #[test]
    fn outlook_request_is_understood() {
        let r = parse_autodiscover_request(request("Alice@Example.org", RESPONSE_SCHEMA_OUTLOOK).as_bytes()).unwrap();
        assert_eq!(r.email_address, "Alice@Example.org");
        assert_eq!(r.schema, ResponseSchema::Outlook);
    }

    #[test]
    fn mobilesync_request_is_recognised() {
        let r = parse_autodiscover_request(request("a@example.org", RESPONSE_SCHEMA_MOBILESYNC).as_bytes()).unwrap();
        assert_eq!(r.schema, ResponseSchema::MobileSync);
    }

    #[test]
    fn predefined_entities_are_decoded() {
        let r = parse_autodiscover_request(request("a&amp;b@example.org", RESPONSE_SCHEMA_OUTLOOK).as_bytes()).unwrap();
        assert_eq!(r.email_address, "a&b@example.org");
    }

    #[test]
    fn hostile_bodies_are_refused() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>"#;
        assert_eq!(parse_autodiscover_request(xxe.as_bytes()), Err(RequestError::Doctype));
        let undefined = r#"<Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>"#;
        assert!(matches!(parse_autodiscover_request(undefined.as_bytes()), Err(RequestError::Malformed(_))));
        let deep = format!("<Autodiscover>{}{}</Autodiscover>", "<a>".repeat(40), "</a>".repeat(40));
        assert_eq!(parse_autodiscover_request(deep.as_bytes()), Err(RequestError::TooDeep));
        let big = request(&"a".repeat(MAX_BODY_BYTES), "");
        assert_eq!(parse_autodiscover_request(big.as_bytes()), Err(RequestError::TooLarge));
        assert!(matches!(parse_autodiscover_request(b"<Autodiscover><Request>"), Err(RequestError::Malformed(_))));
        assert!(matches!(parse_autodiscover_request(b"<Autodiscover><a></b></Autodiscover>"), Err(RequestError::Malformed(_))));
        assert_eq!(parse_autodiscover_request(b"<html/>"), Err(RequestError::NotAutodiscover));
        assert_eq!(parse_autodiscover_request(b"<Autodiscover><Request/></Autodiscover>"), Err(RequestError::MissingAddress));
    }

    #[test]
    fn addresses_are_decoded_leniently() {
        assert_eq!(decode_address(" Alice+Tag@Example.ORG ").unwrap().as_str(), "alice+tag@example.org");
        assert_eq!(decode_address("alice tag@example.org").unwrap().as_str(), "alice+tag@example.org");
        assert_eq!(decode_address("mailto:bob@bücher.example").unwrap().as_str(), "bob@xn--bcher-kva.example");
        assert!(decode_address("a\"<>@example.org").is_err());
        assert!(decode_address("a@example.org\nX-Injected: 1").is_err());
    }
}
