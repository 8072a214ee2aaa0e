//! Serving an axum router on a listener someone else bound, until shutdown is signalled.

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub async fn serve_http(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
}

/// The public listener: autoconfig and autodiscover, plus a health check for load balancers.
pub fn public_router(autoconfig: std::sync::Arc<crate::autoconfig::AutoconfigState>) -> Router {
    Router::new().route("/healthz", axum::routing::get(|| async { "ok\n" })).merge(crate::autoconfig::router(autoconfig))
}

pub fn admin_router(store: crate::store::Store, public_hostname: String) -> Router {
    super::admin::router(store, public_hostname)
}
