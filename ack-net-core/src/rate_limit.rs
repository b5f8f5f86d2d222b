//! Client-side rate limits: a token bucket per action, shared by every task using a client.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::endpoint::Product;

/// A sustained rate and a burst.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Calls per second, sustained.
    pub per_second: f64,
    /// Calls that may go at once after a quiet period.
    pub burst: u32,
}

impl Rate {
    /// `per_minute` calls a minute (how the cloud publishes its throttles), with a burst of
    /// a tenth of that (at least 1).
    pub fn per_minute(per_minute: u32) -> Rate {
        Rate { per_second: f64::from(per_minute) / 60.0, burst: (per_minute / 10).max(1) }
    }
}

#[derive(Debug)]
struct Bucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
}

/// Per-action token buckets. An action is held to the rate set for it, else (with
/// [`RateLimits::recommended`]) the rate its [`Product`] recommends, else the default rate,
/// if any. Waiting happens on the tokio clock, so tests can pause it.
///
/// ```
/// use ack_net_core::{rate_limit::Rate, Product, RateLimits};
/// const VPC: Product = Product::new("vpc", "2016-04-28").with_rate_limits(&[("CreateVpc", 60)]);
/// let limits = RateLimits::recommended().with_action("DescribeVpcs", Rate { per_second: 5.0, burst: 5 });
/// assert_eq!(limits.rate_for(&VPC, "DescribeVpcs"), Some(Rate { per_second: 5.0, burst: 5 }));
/// assert_eq!(limits.rate_for(&VPC, "CreateVpc"), Some(Rate::per_minute(60)));
/// assert_eq!(limits.rate_for(&VPC, "DeleteVpc"), Some(Rate::per_minute(1200)));
/// assert!(RateLimits::unlimited().rate_for(&VPC, "CreateVpc").is_none());
/// ```
#[derive(Debug, Default)]
pub struct RateLimits {
    default: Option<Rate>,
    /// Whether the products' recommended rates apply.
    product_rates: bool,
    per_action: HashMap<String, Rate>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimits {
    /// No limit on any action.
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// Each product's recommended rates ([`Product::with_rate_limits`], a little under the
    /// cloud's published per-account throttles), and 1200/min for every other action.
    pub fn recommended() -> Self {
        Self { default: Some(Rate::per_minute(1200)), product_rates: true, ..Self::default() }
    }

    /// Sets the rate of every action that has none of its own (`None`: unlimited).
    pub fn with_default(mut self, rate: Option<Rate>) -> Self {
        self.default = rate;
        self
    }

    /// Sets one action's rate.
    pub fn with_action(mut self, action: impl Into<String>, rate: Rate) -> Self {
        self.per_action.insert(action.into(), rate);
        self
    }

    /// The rate `product`'s `action` is held to.
    pub fn rate_for(&self, product: &Product, action: &str) -> Option<Rate> {
        self.per_action
            .get(action)
            .copied()
            .or_else(|| self.product_rates.then(|| product.recommended_rate(action)).flatten())
            .or(self.default)
    }

    /// Waits until `product`'s `action` may be called, then takes a token.
    pub async fn acquire(&self, product: &Product, action: &str) {
        let Some(rate) = self.rate_for(product, action) else { return };
        // NaN too: it would pass `<= 0.0` and make the wait below NaN seconds.
        if rate.per_second.is_nan() || rate.per_second <= 0.0 {
            return;
        }
        loop {
            let wait = {
                let mut buckets = crate::lock(&self.buckets);
                let now = Instant::now();
                // Look up before inserting: `entry` would allocate the key at every call.
                if !buckets.contains_key(action) {
                    buckets.insert(action.to_owned(), Bucket { rate, tokens: f64::from(rate.burst.max(1)), last: now });
                }
                let b = buckets.get_mut(action).expect("inserted above");
                let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
                b.tokens = (b.tokens + elapsed * b.rate.per_second).min(f64::from(b.rate.burst.max(1)));
                b.last = now;
                if b.tokens >= 1.0 {
                    b.tokens -= 1.0;
                    return;
                }
                // A tiny rate makes a wait too long for a `Duration`: wait "forever" (tokio
                // caps a sleep at its far future) rather than panic.
                Duration::try_from_secs_f64((1.0 - b.tokens) / b.rate.per_second).unwrap_or(Duration::MAX)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Product = Product::new("p", "2000-01-01");

    #[tokio::test(start_paused = true)]
    async fn bucket_paces_after_burst() {
        let l = RateLimits::unlimited().with_action("X", Rate { per_second: 10.0, burst: 2 });
        let start = Instant::now();
        for _ in 0..12 {
            l.acquire(&P, "X").await;
        }
        // 2 at once, then 10 more at 10/s.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(990) && took <= Duration::from_millis(1100), "{took:?}");
        // Other actions are not limited.
        let start = Instant::now();
        for _ in 0..100 {
            l.acquire(&P, "Y").await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn shared_across_tasks() {
        let l = std::sync::Arc::new(RateLimits::unlimited().with_default(Some(Rate { per_second: 100.0, burst: 1 })));
        let start = Instant::now();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move { l.acquire(&P, "A").await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(480), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn degenerate_rates_neither_panic_nor_block_forever_at_once() {
        // NaN and negative rates mean "no limit", as zero always did.
        for per_second in [f64::NAN, -1.0, 0.0] {
            let l = RateLimits::unlimited().with_action("X", Rate { per_second, burst: 1 });
            let start = Instant::now();
            for _ in 0..10 {
                l.acquire(&P, "X").await;
            }
            assert_eq!(start.elapsed(), Duration::ZERO, "{per_second}");
        }
        // A rate so small that the wait overflows a Duration: the burst goes, the next call waits.
        let l = std::sync::Arc::new(RateLimits::unlimited().with_action("X", Rate { per_second: 1e-300, burst: 1 }));
        l.acquire(&P, "X").await;
        let waiting = tokio::spawn({
            let l = l.clone();
            async move { l.acquire(&P, "X").await }
        });
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(!waiting.is_finished(), "the second call waits");
        waiting.abort();
    }
}
