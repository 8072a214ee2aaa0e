//! A per-client-IP token bucket. Time is passed in, so the limiter itself is deterministic.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Shards keep requests from different clients from queueing on one lock.
const SHARDS: usize = 16;
/// Past this many tracked clients per shard, buckets that have refilled are forgotten, so a
/// scan from many addresses cannot grow memory without bound.
const MAX_TRACKED_PER_SHARD: usize = 4096;

pub struct RateLimiter {
    /// Requests per minute and burst size; 0 turns the limit off.
    per_minute: u32,
    shards: Vec<Mutex<HashMap<IpAddr, Bucket>>>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter { per_minute, shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect() }
    }

    /// Takes one token for `ip`; false when its bucket is empty.
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let burst = f64::from(self.per_minute);
        let per_second = burst / 60.0;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        ip.hash(&mut hasher);
        let shard = &self.shards[hasher.finish() as usize % SHARDS];
        let mut buckets = shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_TRACKED_PER_SHARD && !buckets.contains_key(&ip) {
            buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * per_second < burst);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket { tokens: burst, last: now });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_client_over_its_budget_is_refused_and_recovers() {
        let limiter = RateLimiter::new(3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow(a, t0)));
        assert!(!limiter.allow(a, t0));
        assert!(limiter.allow(b, t0), "another client has its own budget");
        assert!(limiter.allow(a, t0 + Duration::from_secs(20)), "one token back after 20 s at 3/min");
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        assert!((0..10_000).all(|_| limiter.allow("192.0.2.1".parse().unwrap(), t0)));
    }
}
