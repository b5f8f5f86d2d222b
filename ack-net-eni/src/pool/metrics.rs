//! The pool's metrics: addresses by state, ENIs, API calls per kind, allocation latency.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The cloud calls the pool makes, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ApiKind {
    CreateEni,
    AttachEni,
    WaitEni,
    DeleteEni,
    AssignIpv4,
    AssignIpv6,
    UnassignIpv4,
    UnassignIpv6,
    Describe,
}

impl ApiKind {
    const ALL: [ApiKind; 9] = [
        ApiKind::CreateEni,
        ApiKind::AttachEni,
        ApiKind::WaitEni,
        ApiKind::DeleteEni,
        ApiKind::AssignIpv4,
        ApiKind::AssignIpv6,
        ApiKind::UnassignIpv4,
        ApiKind::UnassignIpv6,
        ApiKind::Describe,
    ];

    fn name(self) -> &'static str {
        match self {
            ApiKind::CreateEni => "CreateNetworkInterface",
            ApiKind::AttachEni => "AttachNetworkInterface",
            ApiKind::WaitEni => "WaitNetworkInterface",
            ApiKind::DeleteEni => "DetachAndDeleteNetworkInterface",
            ApiKind::AssignIpv4 => "AssignPrivateIpAddresses",
            ApiKind::AssignIpv6 => "AssignIpv6Addresses",
            ApiKind::UnassignIpv4 => "UnassignPrivateIpAddresses",
            ApiKind::UnassignIpv6 => "UnassignIpv6Addresses",
            ApiKind::Describe => "DescribeNetworkInterfaces",
        }
    }
}

/// Latency buckets: powers of two in nanoseconds, from 128 ns to about 69 s.
const BUCKETS: usize = 30;
const FIRST_BUCKET_NS: u64 = 128;

#[derive(Debug)]
pub(crate) struct Metrics {
    calls: [AtomicU64; 9],
    failures: [AtomicU64; 9],
    latency: [AtomicU64; BUCKETS],
    latency_sum_ns: AtomicU64,
    latency_max_ns: AtomicU64,
    allocations: AtomicU64,
    allocation_failures: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            calls: std::array::from_fn(|_| AtomicU64::new(0)),
            failures: std::array::from_fn(|_| AtomicU64::new(0)),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_sum_ns: AtomicU64::new(0),
            latency_max_ns: AtomicU64::new(0),
            allocations: AtomicU64::new(0),
            allocation_failures: AtomicU64::new(0),
        }
    }
}

fn bucket(ns: u64) -> usize {
    let mut b = 0;
    let mut bound = FIRST_BUCKET_NS;
    while ns > bound && b < BUCKETS - 1 {
        bound <<= 1;
        b += 1;
    }
    b
}

impl Metrics {
    pub fn call(&self, kind: ApiKind, ok: bool) {
        let i = kind as usize;
        self.calls[i].fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failures[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn allocation(&self, took: Duration, ok: bool) {
        if !ok {
            self.allocation_failures.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let ns = took.as_nanos().min(u128::from(u64::MAX)) as u64;
        self.allocations.fetch_add(1, Ordering::Relaxed);
        self.latency[bucket(ns)].fetch_add(1, Ordering::Relaxed);
        // Saturating: `fetch_add` wraps, and a wrapped sum would report a tiny mean after one
        // very long allocation.
        let _ = self.latency_sum_ns.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| Some(s.saturating_add(ns)));
        self.latency_max_ns.fetch_max(ns, Ordering::Relaxed);
    }

    pub fn snapshot_calls(&self) -> (BTreeMap<&'static str, u64>, BTreeMap<&'static str, u64>) {
        let mut calls = BTreeMap::new();
        let mut failures = BTreeMap::new();
        for k in ApiKind::ALL {
            let c = self.calls[k as usize].load(Ordering::Relaxed);
            if c > 0 {
                calls.insert(k.name(), c);
            }
            let f = self.failures[k as usize].load(Ordering::Relaxed);
            if f > 0 {
                failures.insert(k.name(), f);
            }
        }
        (calls, failures)
    }

    pub fn latency(&self) -> LatencySummary {
        let counts: Vec<u64> = self.latency.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        let n: u64 = counts.iter().sum();
        let quantile = |q: f64| -> Duration {
            if n == 0 {
                return Duration::ZERO;
            }
            let rank = ((n as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return Duration::from_nanos(FIRST_BUCKET_NS << i);
                }
            }
            Duration::from_nanos(FIRST_BUCKET_NS << (BUCKETS - 1))
        };
        let sum = self.latency_sum_ns.load(Ordering::Relaxed);
        LatencySummary {
            count: n,
            failures: self.allocation_failures.load(Ordering::Relaxed),
            mean: Duration::from_nanos(sum.checked_div(n).unwrap_or(0)),
            p50: quantile(0.5),
            p99: quantile(0.99),
            max: Duration::from_nanos(self.latency_max_ns.load(Ordering::Relaxed)),
        }
    }
}

/// Allocation latency: from the call to [`allocate`](crate::pool::IpPool::allocate) to its
/// answer (quantiles are upper bounds of power-of-two buckets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LatencySummary {
    /// Successful allocations.
    pub count: u64,
    /// Failed allocations.
    pub failures: u64,
    /// Mean latency.
    pub mean: Duration,
    /// Median (bucket bound).
    pub p50: Duration,
    /// 99th percentile (bucket bound).
    pub p99: Duration,
    /// Slowest.
    pub max: Duration,
}

/// A snapshot of an [`IpPool`](crate::pool::IpPool).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolMetrics {
    /// Addresses ready to hand out.
    pub idle: u32,
    /// Released addresses resting before reuse.
    pub cooling: u32,
    /// Addresses held by pods (releasing ones included).
    pub in_use: u32,
    /// Addresses held back because store and cloud disagree.
    pub quarantined: u32,
    /// Addresses being given back.
    pub leaving: u32,
    /// Addresses on their way (being assigned, on ENIs being prepared).
    pub coming: u32,
    /// ENIs of the pool (being prepared included).
    pub enis: u32,
    /// Allocations waiting for a refill.
    pub waiting: u32,
    /// Journaled allocations the cloud does not back (kept until their pod is gone).
    pub stale_allocations: u32,
    /// Cloud operations per kind (a wait counts once, however many looks it takes).
    pub api_calls: BTreeMap<&'static str, u64>,
    /// Failed cloud operations per kind.
    pub api_failures: BTreeMap<&'static str, u64>,
    /// Allocation latency.
    pub allocation_latency: LatencySummary,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_quantiles_and_calls() {
        let m = Metrics::default();
        for _ in 0..98 {
            m.allocation(Duration::from_nanos(900), true);
        }
        m.allocation(Duration::from_micros(50), true);
        m.allocation(Duration::from_micros(50), true);
        m.allocation(Duration::ZERO, false);
        let l = m.latency();
        assert_eq!((l.count, l.failures), (100, 1));
        assert_eq!(l.p50, Duration::from_nanos(1024));
        assert_eq!(l.p99, Duration::from_nanos(65_536));
        assert_eq!(l.max, Duration::from_micros(50));
        m.call(ApiKind::AssignIpv4, true);
        m.call(ApiKind::AssignIpv4, false);
        let (calls, failures) = m.snapshot_calls();
        assert_eq!(calls["AssignPrivateIpAddresses"], 2);
        assert_eq!(failures["AssignPrivateIpAddresses"], 1);
        assert_eq!(calls.len(), 1);
    }

    #[test]
    fn the_latency_sum_saturates_instead_of_wrapping() {
        let m = Metrics::default();
        m.allocation(Duration::MAX, true);
        m.allocation(Duration::from_secs(1), true);
        let l = m.latency();
        assert_eq!(l.count, 2);
        assert_eq!(l.mean, Duration::from_nanos(u64::MAX / 2), "not the 1 s a wrapped sum would give");
        assert_eq!(l.max, Duration::from_nanos(u64::MAX));
    }
}
