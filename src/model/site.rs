//! Websites of customers, kept for their GDPR-relevant settings (log retention, statistics).

use serde::Serialize;

/// Log retention of a new site in days: the GDPR default from the seed how-tos.
pub const DEFAULT_LOG_RETENTION_DAYS: i64 = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
    pub log_retention_days: i64,
    /// Visitor statistics (AWStats/Webalizer) are off by default: they keep full IPs.
    pub statistics: bool,
}
