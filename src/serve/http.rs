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

/// The public listener: autoconfig and autodiscover (mounted by the autoconfig part).
pub fn public_router() -> Router {
    Router::new().route("/healthz", axum::routing::get(|| async { "ok\n" }))
}

pub fn admin_router(store: crate::store::Store) -> Router {
    super::admin::router(store)
}
