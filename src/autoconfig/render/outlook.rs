//! Outlook's "plain old XML" autodiscover answer (`responseschema/2006a`) and its error form.

use super::{XmlOut, first};
use crate::model::{Address, Protocol, Security, ServerSet};

const RESPONSE_ROOT_NS: &str = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
const RESPONSE_OUTLOOK_NS: &str = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

/// The account settings for one address: the first IMAP, POP3 and SMTP endpoint of the set.
pub fn outlook(set: &ServerSet, address: &Address) -> String {
    render(set, Some(address))
}

/// The settings without `LoginName`, for a GET that named no address: the client then logs in
/// with the address its user typed.
pub fn outlook_without_login(set: &ServerSet) -> String {
    render(set, None)
}

fn render(set: &ServerSet, address: Option<&Address>) -> String {
    let mut x = XmlOut::new();
    x.open("Autodiscover", &[("xmlns", RESPONSE_ROOT_NS)]);
    x.open("Response", &[("xmlns", RESPONSE_OUTLOOK_NS)]);
    x.open("User", &[]);
    x.text("DisplayName", &set.display_name);
    x.close("User");
    x.open("Account", &[]);
    x.text("AccountType", "email");
    x.text("Action", "settings");
    for (protocol, name) in [(Protocol::Imap, "IMAP"), (Protocol::Pop3, "POP3"), (Protocol::Smtp, "SMTP")] {
        let Some(endpoint) = first(set, protocol) else { continue };
        x.open("Protocol", &[]);
        x.text("Type", name);
        x.text("Server", &endpoint.host);
        x.text("Port", &endpoint.port.to_string());
        x.text("DomainRequired", "off");
        if let Some(address) = address {
            x.text("LoginName", address.as_str());
        }
        // Outlook would otherwise try NTLM ("secure password authentication").
        x.text("SPA", "off");
        // STARTTLS is SSL=on + Encryption=TLS: Thunderbird reads `SSL off` as plain text.
        let (ssl, encryption) = match endpoint.security {
            Security::Tls => ("on", "SSL"),
            Security::Starttls => ("on", "TLS"),
            Security::Plain => ("off", "None"),
        };
        x.text("SSL", ssl);
        x.text("Encryption", encryption);
        x.text("AuthRequired", "on");
        if protocol == Protocol::Smtp {
            x.text("UsePOPAuth", "off");
            x.text("SMTPLast", "off");
        }
        x.close("Protocol");
    }
    x.close("Account");
    x.close("Response");
    x.close("Autodiscover");
    x.finish()
}

/// Error codes of the autodiscover protocol that we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutlookError {
    /// 600: the request was not understood.
    InvalidRequest,
    /// 601: the requested response schema (e.g. ActiveSync's `mobilesync`) is not offered.
    ProviderNotAvailable,
}

/// The error document. `id` and `time` are passed in (pure); Exchange fills them with a
/// request id and the server time.
pub fn outlook_error(error: OutlookError, id: &str, time: &str) -> String {
    let (code, message) = match error {
        OutlookError::InvalidRequest => ("600", "Invalid Request"),
        OutlookError::ProviderNotAvailable => ("601", "Provider is not available"),
    };
    let mut x = XmlOut::new();
    x.open("Autodiscover", &[("xmlns", RESPONSE_ROOT_NS)]);
    x.open("Response", &[]);
    x.open("Error", &[("Time", time), ("Id", id)]);
    x.text("ErrorCode", code);
    x.text("Message", message);
    x.empty("DebugData");
    x.close("Error");
    x.close("Response");
    x.close("Autodiscover");
    x.finish()
}
