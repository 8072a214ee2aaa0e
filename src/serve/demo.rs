//! `serve --demo`: an example reseller, customer, domain and mailboxes, so a newcomer can try
//! every part at once. Seeded once; a second start finds `demo-reseller` and leaves it alone.

use crate::access::Actor;
use crate::control::{Control, NewMailboxInput};
use crate::model::{AuthMethod, Endpoint, Limits, Protocol, Security, ServerSet, SpamMove};
use crate::store::Store;

pub async fn seed_demo(store: &Store) -> anyhow::Result<Vec<String>> {
    let control = Control::new(store.clone());
    if store.account_by_name("demo-reseller").await?.is_some() {
        return Ok(vec!["demo data already present".into()]);
    }
    let admin = Actor::Admin { name: "demo".into() };
    let password = crate::password::generate_password;
    let mut lines = Vec::new();

    let reseller_pw = password();
    control.add_reseller(&admin, "demo-reseller", &reseller_pw, Limits::UNLIMITED).await?;
    let customer_pw = password();
    control.add_customer(&admin, "demo-customer", Some("demo-reseller"), &customer_pw, Limits::UNLIMITED).await?;
    let endpoint = |protocol, port, security| Endpoint { protocol, host: "mail.example.org".into(), port, security, auth: vec![AuthMethod::PasswordCleartext] };
    let set = ServerSet {
        id: 0,
        name: "mail.example.org".into(),
        provider_id: "example.org".into(),
        display_name: "Example Mail".into(),
        display_short_name: "Example".into(),
        node: None,
        endpoints: vec![
            endpoint(Protocol::Imap, 993, Security::Tls),
            endpoint(Protocol::Smtp, 587, Security::Starttls),
            endpoint(Protocol::Smtp, 465, Security::Tls),
        ],
        oauth2: None,
        caldav_url: None,
        carddav_url: None,
    };
    control.add_server_set(&admin, set).await?;
    control.add_domain(&admin, "example.org", Some("demo-customer"), Some("mail.example.org"), None).await?;
    let alice_pw = password();
    let alice = NewMailboxInput {
        address: "alice@example.org".into(),
        password: alice_pw.clone(),
        display_name: "Alice".into(),
        quota_mb: 1024,
        spam_move: SpamMove::Before,
        policy: Some("Normal".into()),
    };
    control.add_mailbox(&admin, alice).await?;
    let bob_pw = password();
    let bob = NewMailboxInput {
        address: "bob@example.org".into(),
        password: bob_pw.clone(),
        display_name: "Bob".into(),
        quota_mb: 1024,
        spam_move: SpamMove::Before,
        policy: Some("Permissive".into()),
    };
    control.add_mailbox(&admin, bob).await?;
    control.add_alias(&admin, "info@example.org", &["alice@example.org".to_string()]).await?;

    lines.push("demo data (passwords shown once):".into());
    lines.push(format!("  reseller demo-reseller    {reseller_pw}"));
    lines.push(format!("  customer demo-customer    {customer_pw}"));
    lines.push(format!("  mailbox alice@example.org {alice_pw}  (policy Normal, spam to Junk before filters)"));
    lines.push(format!("  mailbox bob@example.org   {bob_pw}  (policy Permissive)"));
    lines.push("  alias info@example.org -> alice@example.org; server set mail.example.org".into());
    Ok(lines)
}
