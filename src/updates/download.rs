//! HTTP downloads from mirrors, with a time limit and a size cap per file.

use crate::error_chain::error_chain;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("GET {url}: {reason}")]
    Failed { url: String, reason: String },
    #[error("GET {url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: more than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
}

impl DownloadError {
    /// A 404 is how a mirror says "I don't have that checksum file": the caller tries the next.
    pub fn is_not_found(&self) -> bool {
        matches!(self, DownloadError::Status { status: 404, .. })
    }
}

pub struct Http {
    client: reqwest::Client,
}

impl Http {
    /// `timeout` bounds each request as a whole (connect and body). Needs the rustls
    /// provider installed (`rustls::crypto::ring::default_provider().install_default()`).
    pub fn new(timeout: Duration) -> Result<Self, DownloadError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("mailward/", env!("CARGO_PKG_VERSION"), " (sa-update compatible)"))
            .build()
            .map_err(|e| DownloadError::Client(e.to_string()))?;
        Ok(Self { client })
    }

    /// Downloads `url` into memory, refusing more than `limit` bytes (checked while reading, so
    /// a lying or absent Content-Length does not matter).
    pub async fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, DownloadError> {
        let failed = |e: reqwest::Error| DownloadError::Failed { url: url.to_string(), reason: error_chain(&e) };
        let mut response = self.client.get(url).send().await.map_err(failed)?;
        if !response.status().is_success() {
            return Err(DownloadError::Status { url: url.to_string(), status: response.status().as_u16() });
        }
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(DownloadError::TooLarge { url: url.to_string(), limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(DownloadError::TooLarge { url: url.to_string(), limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
