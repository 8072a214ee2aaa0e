//! The `/api/v1` routes. Each handler is: authenticate (the `Caller` extractor), decode, call
//! one `Control` operation, answer JSON.

use super::auth::Caller;
use super::{ApiError, ApiState};
use crate::control::{MailboxChange, NewMailboxInput};
use crate::model::{Autoresponder, SpamMove};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

/// Request bodies are small JSON objects; anything larger is refused before parsing.
const MAX_BODY: usize = 64 * 1024;

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/domains", get(list_domains).post(add_domain))
        .route("/api/v1/domains/{name}", get(show_domain).patch(update_domain).delete(delete_domain))
        .route("/api/v1/mailboxes", get(list_mailboxes).post(add_mailbox))
        .route("/api/v1/mailboxes/{address}", get(show_mailbox).patch(update_mailbox).delete(delete_mailbox))
        .route("/api/v1/aliases", get(list_aliases).post(add_alias))
        .route("/api/v1/aliases/{source}", axum::routing::delete(delete_alias))
        .route("/api/v1/policies", get(list_policies))
        .route("/api/v1/log", get(read_log))
        .route("/api/v1/dns/records/{domain}", get(dns_records))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

type ApiResult = Result<(StatusCode, Json<Value>), ApiError>;

fn ok(value: impl serde::Serialize) -> ApiResult {
    Ok((StatusCode::OK, Json(serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))?)))
}

fn created(value: impl serde::Serialize) -> ApiResult {
    Ok((StatusCode::CREATED, Json(serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))?)))
}

/// A JSON body, or a 400 that says what was wrong with it.
fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload.map(|Json(v)| v).map_err(|e| match e {
        JsonRejection::BytesRejection(_) => ApiError::BadRequest(format!("request body larger than {MAX_BODY} bytes")),
        other => ApiError::BadRequest(format!("invalid JSON body: {}", other.body_text())),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDomain {
    name: String,
    customer: Option<String>,
    server_set: Option<String>,
    policy: Option<String>,
}

async fn list_domains(State(s): State<ApiState>, Caller(actor): Caller) -> ApiResult {
    ok(s.control.list_domains(&actor).await?)
}

async fn add_domain(State(s): State<ApiState>, Caller(actor): Caller, payload: Result<Json<NewDomain>, JsonRejection>) -> ApiResult {
    let d = body(payload)?;
    created(s.control.add_domain(&actor, &d.name, d.customer.as_deref(), d.server_set.as_deref(), d.policy.as_deref()).await?)
}

async fn show_domain(State(s): State<ApiState>, Caller(actor): Caller, Path(name): Path<String>) -> ApiResult {
    ok(s.control.show_domain(&actor, &name).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainUpdate {
    active: Option<bool>,
    /// `null` detaches the server set; absent leaves it.
    #[serde(default, with = "double_option")]
    server_set: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    policy: Option<Option<String>>,
}

async fn update_domain(State(s): State<ApiState>, Caller(actor): Caller, Path(name): Path<String>, payload: Result<Json<DomainUpdate>, JsonRejection>) -> ApiResult {
    let u = body(payload)?;
    let set = u.server_set.as_ref().map(|o| o.as_deref());
    let policy = u.policy.as_ref().map(|o| o.as_deref());
    ok(s.control.update_domain(&actor, &name, u.active, set, policy).await?)
}

async fn delete_domain(State(s): State<ApiState>, Caller(actor): Caller, Path(name): Path<String>) -> ApiResult {
    s.control.delete_domain(&actor, &name).await?;
    ok(json!({ "deleted": name }))
}

#[derive(Deserialize)]
struct DomainFilter {
    domain: Option<String>,
}

async fn list_mailboxes(State(s): State<ApiState>, Caller(actor): Caller, Query(q): Query<DomainFilter>) -> ApiResult {
    ok(s.control.list_mailboxes(&actor, q.domain.as_deref()).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMailbox {
    address: String,
    password: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    quota_mb: i64,
    spam_move: Option<SpamMove>,
    policy: Option<String>,
}

async fn add_mailbox(State(s): State<ApiState>, Caller(actor): Caller, payload: Result<Json<NewMailbox>, JsonRejection>) -> ApiResult {
    let m = body(payload)?;
    let input = NewMailboxInput {
        address: m.address,
        password: m.password,
        display_name: m.display_name,
        quota_mb: m.quota_mb,
        spam_move: m.spam_move.unwrap_or(SpamMove::Before),
        policy: m.policy,
    };
    created(s.control.add_mailbox(&actor, input).await?)
}

async fn show_mailbox(State(s): State<ApiState>, Caller(actor): Caller, Path(address): Path<String>) -> ApiResult {
    ok(s.control.show_mailbox(&actor, &address).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MailboxUpdate {
    password: Option<String>,
    display_name: Option<String>,
    quota_mb: Option<i64>,
    active: Option<bool>,
    copy_to: Option<Vec<String>>,
    spam_move: Option<SpamMove>,
    junk_purge_days: Option<i64>,
    trash_purge_days: Option<i64>,
    #[serde(default, with = "double_option")]
    policy: Option<Option<String>>,
    autoresponder: Option<Autoresponder>,
}

async fn update_mailbox(State(s): State<ApiState>, Caller(actor): Caller, Path(address): Path<String>, payload: Result<Json<MailboxUpdate>, JsonRejection>) -> ApiResult {
    let u = body(payload)?;
    let change = MailboxChange {
        password: u.password,
        display_name: u.display_name,
        quota_mb: u.quota_mb,
        active: u.active,
        copy_to: u.copy_to,
        spam_move: u.spam_move,
        junk_purge_days: u.junk_purge_days,
        trash_purge_days: u.trash_purge_days,
        policy: u.policy,
        autoresponder: u.autoresponder,
    };
    ok(s.control.update_mailbox(&actor, &address, change).await?)
}

async fn delete_mailbox(State(s): State<ApiState>, Caller(actor): Caller, Path(address): Path<String>) -> ApiResult {
    s.control.delete_mailbox(&actor, &address).await?;
    ok(json!({ "deleted": address }))
}

async fn list_aliases(State(s): State<ApiState>, Caller(actor): Caller, Query(q): Query<DomainFilter>) -> ApiResult {
    ok(s.control.list_aliases(&actor, q.domain.as_deref()).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAlias {
    source: String,
    destinations: Vec<String>,
}

async fn add_alias(State(s): State<ApiState>, Caller(actor): Caller, payload: Result<Json<NewAlias>, JsonRejection>) -> ApiResult {
    let a = body(payload)?;
    created(s.control.add_alias(&actor, &a.source, &a.destinations).await?)
}

async fn delete_alias(State(s): State<ApiState>, Caller(actor): Caller, Path(source): Path<String>) -> ApiResult {
    s.control.delete_alias(&actor, &source).await?;
    ok(json!({ "deleted": source }))
}

async fn list_policies(State(s): State<ApiState>, Caller(_actor): Caller) -> ApiResult {
    ok(s.control.list_policies().await?)
}

#[derive(Deserialize)]
struct LogParams {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn read_log(State(s): State<ApiState>, Caller(actor): Caller, Query(q): Query<LogParams>) -> ApiResult {
    let query = crate::store::LogQuery { after: q.after, limit: q.limit.unwrap_or(100).clamp(1, 10_000), ..Default::default() };
    ok(s.control.read_log(&actor, query).await?)
}

/// The records a domain needs for clients to find us (the `dns records` command as JSON).
async fn dns_records(State(s): State<ApiState>, Caller(actor): Caller, Path(domain): Path<String>) -> ApiResult {
    ok(s.control.dns_records(&actor, &domain, &s.public_hostname).await?)
}

/// `Option<Option<T>>` from JSON: absent -> `None`, `null` -> `Some(None)`.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}
