//! Client autoconfiguration: what Thunderbird, Outlook, Apple Mail, K-9, Evolution and GNOME
//! fetch to configure themselves for a hosted domain.
//!
//! Layers, pure first:
//! - [`snapshot`]: an in-memory, read-only picture of the hosted domains, their server sets and
//!   (optionally) the existing addresses. The daemon builds a new one whenever the store changes
//!   and swaps it into [`http::AutoconfigState`]; requests never touch the store.
//! - [`request`]: decoding what clients send: the autodiscover XML body (no DTD, no entities,
//!   8 KiB and depth caps) and the lenient e-mail address decoding clients need (`+` sent as a
//!   space, mixed case, IDN).
//! - [`render`]: the answers, each written with quick-xml's escaping writer (never `format!`
//!   into markup): Thunderbird `config-v1.1`, Outlook POX `responseschema/2006a`, the
//!   autodiscover JSON stub and the Apple `mobileconfig` plist.
//! - [`http`] (edge): the axum router for the public listener: case-insensitive paths, `Host`
//!   header fallback, per-IP rate limit, no logging of headers (clients send real passwords in
//!   `Authorization`), and CMS signing of profiles by `openssl smime` when configured.
//!
//! Invariant: an address in a hosted domain gets the same answer whether or not the mailbox
//! exists, unless the admin turned on `only_existing_addresses`; an unhosted domain gets 404.
//! Invariant: we never redirect, so we cannot redirect a client to a host we do not serve.

pub mod http;
pub mod rate_limit;
mod refresh;
pub mod render;
pub mod request;
pub mod snapshot;

pub use http::{AutoconfigState, Settings, SigningIdentity, router};
pub use snapshot::{HostedDomain, Snapshot};
