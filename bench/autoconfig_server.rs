//! The autoconfig router alone on a loopback port, seeded with N generated domains, for
//! `bench/autoconfig.sh`. Usage: autoconfig_server PORT DOMAINS
//! Domains are `d0.bench.example` .. `d{N-1}.bench.example`, all on one server set (the same
//! data the script seeds into automx2).

use std::net::SocketAddr;

use mailward::autoconfig::{AutoconfigState, Settings, Snapshot, router};
use mailward::model::{AuthMethod, Domain, Endpoint, Protocol, Security, ServerSet};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|a| a.parse().ok()).expect("usage: autoconfig_server PORT DOMAINS");
    let count: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let endpoint = |protocol, port, security| Endpoint { protocol, host: "mail.bench.example".into(), port, security, auth: vec![AuthMethod::PasswordCleartext] };
    let set = ServerSet {
        id: 1,
        name: "bench".into(),
        provider_id: "bench.example".into(),
        display_name: "Bench Mail".into(),
        display_short_name: "Bench".into(),
        node: None,
        endpoints: vec![endpoint(Protocol::Imap, 993, Security::Tls), endpoint(Protocol::Pop3, 995, Security::Tls), endpoint(Protocol::Smtp, 465, Security::Tls)],
        oauth2: None,
        caldav_url: None,
        carddav_url: None,
    };
    let domains: Vec<Domain> = (0..count)
        .map(|i| Domain { id: i + 1, name: format!("d{i}.bench.example"), customer_id: 1, active: true, server_set_id: Some(1), policy_id: None, created_at: 0 })
        .collect();
    let snapshot = Snapshot::build(&domains, &[set], Vec::<String>::new(), &[]);
    let mut settings = Settings::new("autoconfig.bench.example");
    settings.rate_limit_per_minute = 0;
    let state = AutoconfigState::new(settings, snapshot);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await.expect("bind");
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>()).await.expect("serve");
}
