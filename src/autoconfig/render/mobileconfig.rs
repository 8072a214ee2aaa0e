//! Apple configuration profiles (`.mobileconfig`): an XML property list with one
//! `com.apple.mail.managed` payload. Signing (CMS) happens at the HTTP edge.

use super::{XmlOut, first};
use crate::autoconfig::HostedDomain;
use crate::model::{Address, Endpoint, Protocol, Security};

const PLIST_DOCTYPE: &str = r#"plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd""#;

/// Fresh UUIDs for the profile and its mail payload; iOS refuses to install a profile twice
/// with the same UUID, so the edge makes new ones for every download.
#[derive(Debug, Clone)]
pub struct ProfileIds {
    pub profile_uuid: String,
    pub payload_uuid: String,
}

/// `None` when the set offers no incoming (IMAP, else POP3) or no SMTP endpoint: a mail
/// payload needs both.
pub fn mobileconfig(domain: &HostedDomain, address: &Address, ids: &ProfileIds) -> Option<String> {
    let set = &domain.server_set;
    let incoming = first(set, Protocol::Imap).or_else(|| first(set, Protocol::Pop3))?;
    let outgoing = first(set, Protocol::Smtp)?;
    // Reverse-DNS identifiers: the domain reversed, so profiles of two domains never collide.
    let reversed: Vec<&str> = domain.name.split('.').rev().collect();
    let identifier = format!("{}.mailward.{}", reversed.join("."), address.local_part());

    let mut x = XmlOut::new();
    x.constant_doctype(PLIST_DOCTYPE);
    x.open("plist", &[("version", "1.0")]);
    x.open("dict", &[]);
    x.text("key", "PayloadContent");
    x.open("array", &[]);
    x.open("dict", &[]);
    string(&mut x, "EmailAccountDescription", &set.display_name);
    string(&mut x, "EmailAccountName", address.as_str());
    string(&mut x, "EmailAccountType", if incoming.protocol == Protocol::Imap { "EmailTypeIMAP" } else { "EmailTypePOP" });
    string(&mut x, "EmailAddress", address.as_str());
    server(&mut x, "Incoming", incoming, address);
    server(&mut x, "Outgoing", outgoing, address);
    x.text("key", "OutgoingPasswordSameAsIncomingPassword");
    x.empty("true");
    string(&mut x, "PayloadDescription", &format!("E-mail account {}", address.as_str()));
    string(&mut x, "PayloadDisplayName", &set.display_name);
    string(&mut x, "PayloadIdentifier", &format!("{identifier}.email"));
    string(&mut x, "PayloadType", "com.apple.mail.managed");
    string(&mut x, "PayloadUUID", &ids.payload_uuid);
    integer(&mut x, "PayloadVersion", 1);
    x.close("dict");
    x.close("array");
    string(&mut x, "PayloadDescription", &format!("Configures the e-mail account {}", address.as_str()));
    string(&mut x, "PayloadDisplayName", &set.display_name);
    string(&mut x, "PayloadIdentifier", &identifier);
    string(&mut x, "PayloadOrganization", &set.display_name);
    x.text("key", "PayloadRemovalDisallowed");
    x.empty("false");
    string(&mut x, "PayloadType", "Configuration");
    string(&mut x, "PayloadUUID", &ids.profile_uuid);
    integer(&mut x, "PayloadVersion", 1);
    x.close("dict");
    x.close("plist");
    Some(x.finish())
}

fn server(x: &mut XmlOut, direction: &str, endpoint: &Endpoint, address: &Address) {
    string(x, &format!("{direction}MailServerAuthentication"), "EmailAuthPassword");
    string(x, &format!("{direction}MailServerHostName"), &endpoint.host);
    integer(x, &format!("{direction}MailServerPortNumber"), endpoint.port.into());
    // Apple Mail negotiates STARTTLS on a non-TLS port when UseSSL is set.
    x.text("key", &format!("{direction}MailServerUseSSL"));
    x.empty(if endpoint.security == Security::Plain { "false" } else { "true" });
    string(x, &format!("{direction}MailServerUsername"), address.as_str());
}

fn string(x: &mut XmlOut, key: &str, value: &str) {
    x.text("key", key);
    x.text("string", value);
}

fn integer(x: &mut XmlOut, key: &str, value: i64) {
    x.text("key", key);
    x.text("integer", &value.to_string());
}
