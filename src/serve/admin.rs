//! The admin listener: health and Prometheus metrics (the panel and REST API mount here).

use crate::store::Store;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

pub fn router(store: Store, public_hostname: String) -> Router {
    let api = crate::api::router(crate::api::ApiState { control: crate::control::Control::new(store.clone()), public_hostname });
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(store)
        .merge(api)
}

async fn health(State(store): State<Store>) -> impl IntoResponse {
    match store.last_change_id().await {
        Ok(_) => (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" }))),
        Err(e) => {
            tracing::error!("health check: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "status": "database unavailable" })))
        }
    }
}

async fn metrics(State(store): State<Store>) -> impl IntoResponse {
    let counts = store.object_counts().await;
    match counts {
        Ok(c) => {
            let mut body = String::new();
            for (name, help, value) in [
                ("mailward_domains", "Hosted mail domains.", c.domains),
                ("mailward_mailboxes", "Mailboxes.", c.mailboxes),
                ("mailward_aliases", "Aliases, forwards and catch-alls.", c.aliases),
                ("mailward_change_log_last_id", "Sequence number of the newest change.", c.last_change),
            ] {
                body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"));
            }
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
        }
        Err(e) => {
            tracing::error!("metrics: {e}");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
