//! The administrator account, created on first start.

use crate::model::{AccountKind, Limits};
use crate::store::{NewAccount, Store};

/// Creates the `admin` account when there is none. Returns the password when it was generated
/// (to be shown once); a password from the environment is not echoed.
pub async fn ensure_admin(store: &Store, from_env: Option<String>) -> anyhow::Result<Option<String>> {
    if store.count_accounts(AccountKind::Admin).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match from_env.filter(|p| !p.is_empty()) {
        Some(p) => (p, false),
        None => (crate::password::generate_password(), true),
    };
    let hash = crate::password::hash_password(&password).map_err(|e| anyhow::anyhow!("MAILWARD_ADMIN_PASSWORD: {e}"))?;
    let new = NewAccount { kind: AccountKind::Admin, name: "admin".into(), password_hash: hash, parent_id: None, limits: Limits::UNLIMITED, api_functions: vec![] };
    store.create_account("system", new).await?;
    Ok(generated.then_some(password))
}
