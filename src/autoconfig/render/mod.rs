//! The answers clients read, rendered from a server set. Pure: the caller passes everything,
//! including the profile UUIDs and the public hostname, so output is reproducible in tests.
//!
//! Every document is written through [`XmlOut`], a thin layer over quick-xml's writer that
//! escapes every text node; no markup is ever assembled with `format!`.

mod mobileconfig;
mod outlook;
mod thunderbird;

pub use mobileconfig::{ProfileIds, mobileconfig};
pub use outlook::{OutlookError, outlook, outlook_error, outlook_without_login};
pub use thunderbird::{EMAIL_PLACEHOLDER, thunderbird};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::model::{AuthMethod, Endpoint, Protocol, ServerSet};

/// The JSON the autodiscover v2 stub answers: Outlook and iOS ask it where the POX endpoint is.
pub fn autodiscover_json(public_hostname: &str) -> String {
    serde_json::json!({
        "Protocol": "AutodiscoverV1",
        "Url": format!("https://{public_hostname}/autodiscover/autodiscover.xml"),
    })
    .to_string()
}

/// The JSON error for a protocol other than AutodiscoverV1, in Exchange Online's shape.
pub fn autodiscover_json_error(protocol: &str) -> String {
    serde_json::json!({
        "ErrorCode": "InvalidProtocol",
        "ErrorMessage": format!("The given protocol value '{protocol}' is invalid. Supported values are 'AutodiscoverV1'"),
    })
    .to_string()
}

/// Authentication methods in the order clients should try them: OAuth2 first (only if the set
/// has an OAuth2 issuer, otherwise a client would be sent nowhere), then the password methods,
/// so a client without OAuth2 support still finds a password method after it.
pub(crate) fn ordered_auth(endpoint: &Endpoint, set: &ServerSet) -> Vec<AuthMethod> {
    let mut methods: Vec<AuthMethod> = Vec::new();
    if set.oauth2.is_some() && endpoint.auth.contains(&AuthMethod::OAuth2) {
        methods.push(AuthMethod::OAuth2);
    }
    for m in &endpoint.auth {
        if *m != AuthMethod::OAuth2 && !methods.contains(m) {
            methods.push(*m);
        }
    }
    if !methods.iter().any(|m| *m != AuthMethod::OAuth2) {
        methods.push(AuthMethod::PasswordCleartext);
    }
    methods
}

/// The first endpoint of a protocol: the one the admin prefers.
pub(crate) fn first(set: &ServerSet, protocol: Protocol) -> Option<&Endpoint> {
    set.endpoints.iter().find(|e| e.protocol == protocol)
}

/// An XML document under construction. Writing into a `Vec` cannot fail, so the methods do
/// not return `Result`.
pub(crate) struct XmlOut {
    writer: Writer<Vec<u8>>,
}

impl XmlOut {
    pub(crate) fn new() -> XmlOut {
        let mut writer = Writer::new_with_indent(Vec::with_capacity(2048), b' ', 2);
        write(writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))));
        XmlOut { writer }
    }

    /// A raw markup line that is a constant of the format (the plist DOCTYPE); never user data.
    pub(crate) fn constant_doctype(&mut self, doctype: &'static str) {
        write(self.writer.write_event(Event::DocType(quick_xml::events::BytesText::from_escaped(doctype))));
    }

    pub(crate) fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        let mut start = BytesStart::new(name);
        for (k, v) in attrs {
            start.push_attribute((*k, *v));
        }
        write(self.writer.write_event(Event::Start(start)));
    }

    pub(crate) fn close(&mut self, name: &str) {
        write(self.writer.write_event(Event::End(BytesEnd::new(name))));
    }

    /// `<name>text</name>`, text escaped.
    pub(crate) fn text(&mut self, name: &str, text: &str) {
        write(self.writer.create_element(name).write_text_content(BytesText::new(text)).map(|_| ()));
    }

    pub(crate) fn empty(&mut self, name: &str) {
        write(self.writer.create_element(name).write_empty().map(|_| ()));
    }

    pub(crate) fn finish(self) -> String {
        let mut bytes = self.writer.into_inner();
        bytes.push(b'\n');
        // Only &str went in, so the bytes are UTF-8.
        String::from_utf8(bytes).unwrap_or_default()
    }
}

fn write(result: std::io::Result<()>) {
    // A Vec<u8> sink never returns an I/O error.
    debug_assert!(result.is_ok());
}
