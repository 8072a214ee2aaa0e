//! Thunderbird's `config-v1.1.xml`, also read by Evolution, K-9 / Thunderbird for Android,
//! KMail and GNOME Online Accounts.

use super::{XmlOut, ordered_auth};
use crate::autoconfig::HostedDomain;
use crate::model::{Address, AuthMethod, Protocol, Security};

/// What the client substitutes with the address the user typed, when the request did not say.
pub const EMAIL_PLACEHOLDER: &str = "%EMAILADDRESS%";

pub fn thunderbird(domain: &HostedDomain, address: Option<&Address>) -> String {
    let set = &domain.server_set;
    let username = address.map_or(EMAIL_PLACEHOLDER, |a| a.as_str());
    let mut x = XmlOut::new();
    x.open("clientConfig", &[("version", "1.1")]);
    x.open("emailProvider", &[("id", &set.provider_id)]);
    x.text("domain", &domain.name);
    x.text("displayName", &set.display_name);
    x.text("displayShortName", &set.display_short_name);
    // Endpoints are only what the admin configured, in their order: a `plain` socket type is
    // never added by us (Thunderbird for Android rejects the whole file when it sees one the
    // admin did not intend).
    for (protocol, element) in [(Protocol::Imap, "incomingServer"), (Protocol::Pop3, "incomingServer"), (Protocol::Smtp, "outgoingServer")] {
        for endpoint in set.endpoints.iter().filter(|e| e.protocol == protocol) {
            x.open(element, &[("type", protocol.as_str())]);
            x.text("hostname", &endpoint.host);
            x.text("port", &endpoint.port.to_string());
            x.text("socketType", socket_type(endpoint.security));
            for method in ordered_auth(endpoint, set) {
                x.text("authentication", auth_name(method));
            }
            x.text("username", username);
            x.close(element);
        }
    }
    x.close("emailProvider");
    if let Some(oauth) = &set.oauth2 {
        x.open("oAuth2", &[]);
        x.text("issuer", &oauth.issuer);
        x.text("scope", &oauth.scope);
        x.text("authURL", &oauth.auth_url);
        x.text("tokenURL", &oauth.token_url);
        x.close("oAuth2");
    }
    for (element, kind, url) in [("addressBook", "carddav", &set.carddav_url), ("calendar", "caldav", &set.caldav_url)] {
        if let Some(url) = url {
            x.open(element, &[("type", kind)]);
            x.text("username", username);
            x.text("authentication", "http-basic");
            x.text("serverURL", url);
            x.close(element);
        }
    }
    x.close("clientConfig");
    x.finish()
}

fn socket_type(security: Security) -> &'static str {
    match security {
        Security::Tls => "SSL",
        Security::Starttls => "STARTTLS",
        Security::Plain => "plain",
    }
}

fn auth_name(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::PasswordCleartext => "password-cleartext",
        AuthMethod::PasswordEncrypted => "password-encrypted",
        AuthMethod::OAuth2 => "OAuth2",
    }
}
