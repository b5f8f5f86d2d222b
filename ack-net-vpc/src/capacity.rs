//! A view of the free addresses of a set of VSwitches (typically those of one zone), that
//! picks the VSwitch to allocate from.
//!
//! The counts come from a [`VSwitchSource`] (the [`VpcClient`] itself, or your own cache or
//! fake) and are refreshed when older than a TTL, on the tokio clock. Between refreshes the
//! view counts what was [reserved](VSwitchCapacityView::reserve) locally, so a burst of
//! allocations spreads instead of piling onto one nearly-full VSwitch. When the cloud answers
//! `InvalidVSwitchId.IpNotEnough` (see [`is_vswitch_full`]), [mark the VSwitch
//! exhausted](VSwitchCapacityView::mark_exhausted) for a while.
//!
//! ```no_run
//! use std::time::Duration;
//! use ack_net_vpc::{ErrorInfo, SelectPolicy, VSwitchCapacityView, VpcClient};
//! use ack_net_vpc::capacity::is_vswitch_full;
//!
//! # async fn demo(client: VpcClient) -> Result<(), ack_net_vpc::Error> {
//! let view = VSwitchCapacityView::new(
//!     client.clone(),
//!     ["vsw-bp1a".parse()?, "vsw-bp1b".parse()?],
//!     SelectPolicy::MostFree,
//! )
//! .with_ttl(Duration::from_secs(30));
//!
//! let vsw = view.reserve(10).await?; // 10 addresses' worth, counted until the next refresh
//! let result: Result<(), ack_net_core::Error> = Ok(()); // ... create an ENI with 10 IPs in `vsw` ...
//! match result {
//!     Ok(()) => {}
//!     Err(e) if e.code().is_some_and(is_vswitch_full) => view.mark_exhausted(&vsw, Duration::from_secs(300)).await,
//!     Err(_) => view.release(&vsw, 10).await,
//! }
//! # Ok(()) }
//! ```

use ack_net_core::ErrorInfo;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::{Error, VSwitchId, VpcClient, ZoneId};

/// The error codes that say a VSwitch has no free address left.
pub const VSWITCH_FULL_CODES: &[&str] = &["InvalidVSwitchId.IpNotEnough", "VSwitchAvailableIpNotExist"];

/// Whether an API error code says the VSwitch is out of addresses.
///
/// ```
/// assert!(ack_net_vpc::capacity::is_vswitch_full("InvalidVSwitchId.IpNotEnough"));
/// assert!(!ack_net_vpc::capacity::is_vswitch_full("Throttling"));
/// ```
pub fn is_vswitch_full(code: &str) -> bool {
    VSWITCH_FULL_CODES.contains(&code)
}

/// The free addresses of one VSwitch, as a [`VSwitchSource`] reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VSwitchCapacity {
    /// The VSwitch.
    pub vswitch_id: VSwitchId,
    /// Its zone.
    pub zone_id: ZoneId,
    /// Its free IPv4 addresses (`AvailableIpAddressCount`).
    pub available_ips: u64,
}

/// Where a [`VSwitchCapacityView`] gets its counts. [`VpcClient`] is one (a
/// DescribeVSwitchAttributes per VSwitch); put your own cache, or a fake in tests, behind it.
#[async_trait]
pub trait VSwitchSource: Send + Sync {
    /// The current counts of `vswitches`. VSwitches that do not exist are left out.
    async fn describe_capacity(&self, vswitches: &[VSwitchId]) -> Result<Vec<VSwitchCapacity>, Error>;
}

#[async_trait]
impl VSwitchSource for VpcClient {
    async fn describe_capacity(&self, vswitches: &[VSwitchId]) -> Result<Vec<VSwitchCapacity>, Error> {
        let mut out = Vec::with_capacity(vswitches.len());
        for id in vswitches {
            match self.vswitches().get(id).await {
                Ok(v) => out.push(VSwitchCapacity {
                    vswitch_id: v.vswitch_id,
                    zone_id: v.zone_id,
                    available_ips: v.available_ip_address_count,
                }),
                Err(e) if e.is_not_found() => tracing::warn!(vswitch = %id, "VSwitch not found; skipped"),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl<T: VSwitchSource + ?Sized> VSwitchSource for Arc<T> {
    async fn describe_capacity(&self, vswitches: &[VSwitchId]) -> Result<Vec<VSwitchCapacity>, Error> {
        (**self).describe_capacity(vswitches).await
    }
}

/// How a [`VSwitchCapacityView`] picks among the VSwitches that have room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SelectPolicy {
    /// The one with the most free addresses (ties: the earlier in the view's order).
    #[default]
    MostFree,
    /// The first in the view's order that has room.
    Ordered,
}

/// One VSwitch as the view sees it now; from [`VSwitchCapacityView::snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VSwitchFree {
    /// The VSwitch.
    pub vswitch_id: VSwitchId,
    /// Its zone, once known.
    pub zone_id: Option<ZoneId>,
    /// Free addresses at the last refresh, less what was reserved since.
    pub free: u64,
    /// Whether it is marked exhausted now.
    pub exhausted: bool,
    /// Whether the last refresh found it.
    pub found: bool,
}

#[derive(Debug, Default)]
struct Entry {
    reported: u64,
    reserved: u64,
    zone_id: Option<ZoneId>,
    found: bool,
    exhausted_until: Option<Instant>,
}

impl Entry {
    fn free(&self) -> u64 {
        self.reported.saturating_sub(self.reserved)
    }

    fn exhausted(&self, now: Instant) -> bool {
        self.exhausted_until.is_some_and(|t| now < t)
    }
}

#[derive(Debug, Default)]
struct ViewState {
    fetched_at: Option<Instant>,
    retry_at: Option<Instant>,
    entries: HashMap<VSwitchId, Entry>,
}

/// Free addresses per VSwitch, refreshed with a TTL, and a choice by [`SelectPolicy`].
/// Share it (`Arc`) between the tasks that allocate; its methods take `&self`.
#[derive(Debug)]
pub struct VSwitchCapacityView<S = VpcClient> {
    source: S,
    order: Vec<VSwitchId>,
    policy: SelectPolicy,
    ttl: Duration,
    state: Mutex<ViewState>,
}

impl<S: VSwitchSource> VSwitchCapacityView<S> {
    /// A view of `vswitches` (their order is the [`SelectPolicy::Ordered`] order; duplicates
    /// are dropped), fetched from `source` on first use and then every 60 s.
    pub fn new(source: S, vswitches: impl IntoIterator<Item = VSwitchId>, policy: SelectPolicy) -> Self {
        let mut order: Vec<VSwitchId> = Vec::new();
        for v in vswitches {
            if !order.contains(&v) {
                order.push(v);
            }
        }
        Self { source, order, policy, ttl: Duration::from_secs(60), state: Mutex::new(ViewState::default()) }
    }

    /// How long counts are trusted before the next use refreshes them.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The VSwitches watched, in order.
    pub fn vswitches(&self) -> &[VSwitchId] {
        &self.order
    }

    /// Picks a VSwitch with at least `addresses` free (by the policy, skipping exhausted ones)
    /// and counts them as used until the next refresh. Refreshes first if the counts are
    /// older than the TTL. [`Error::NoVSwitchAvailable`] when none has room.
    ///
    /// If a refresh fails but counts were fetched before, the old counts are used (and a
    /// refresh is tried again a few seconds later); with no counts at all, the error is
    /// returned.
    pub async fn reserve(&self, addresses: u64) -> Result<VSwitchId, Error> {
        if addresses == 0 {
            return Err(Error::invalid_input("addresses", "reserve at least one address"));
        }
        let mut state = self.state.lock().await;
        self.refresh_if_stale(&mut state).await?;
        let now = Instant::now();
        let fits = self.order.iter().enumerate().filter_map(|(i, id)| {
            let e = state.entries.get(id)?;
            (e.found && !e.exhausted(now) && e.free() >= addresses).then_some((i, id, e.free()))
        });
        let chosen = match self.policy {
            SelectPolicy::Ordered => fits.map(|(_, id, _)| id).next(),
            SelectPolicy::MostFree => fits.max_by(|a, b| a.2.cmp(&b.2).then(b.0.cmp(&a.0))).map(|(_, id, _)| id),
        };
        let Some(id) = chosen.cloned() else {
            return Err(Error::NoVSwitchAvailable { wanted: addresses, vswitches: self.order.len() });
        };
        if let Some(e) = state.entries.get_mut(&id) {
            e.reserved = e.reserved.saturating_add(addresses);
        }
        tracing::debug!(vswitch = %id, addresses, "reserved");
        Ok(id)
    }

    /// Gives back addresses [`reserve`](Self::reserve)d but not used (the allocation failed
    /// for another reason than capacity). After a refresh there is nothing to give back, so
    /// this never goes below the refreshed count.
    pub async fn release(&self, vswitch: &VSwitchId, addresses: u64) {
        let mut state = self.state.lock().await;
        if let Some(e) = state.entries.get_mut(vswitch) {
            e.reserved = e.reserved.saturating_sub(addresses);
        }
    }

    /// Skips `vswitch` for `for_duration` (call it when the cloud says
    /// `InvalidVSwitchId.IpNotEnough`), whatever refreshes report meanwhile.
    pub async fn mark_exhausted(&self, vswitch: &VSwitchId, for_duration: Duration) {
        let mut state = self.state.lock().await;
        if let Some(e) = state.entries.get_mut(vswitch) {
            e.exhausted_until = Some(Instant::now() + for_duration);
            tracing::info!(vswitch = %vswitch, ?for_duration, "VSwitch marked exhausted");
        } else if self.order.contains(vswitch) {
            let e = Entry { exhausted_until: Some(Instant::now() + for_duration), ..Entry::default() };
            state.entries.insert(vswitch.clone(), e);
        }
    }

    /// Fetches the counts now, whatever their age.
    pub async fn refresh(&self) -> Result<(), Error> {
        let mut state = self.state.lock().await;
        self.fetch(&mut state).await
    }

    /// Every watched VSwitch as the view sees it now (no refresh).
    pub async fn snapshot(&self) -> Vec<VSwitchFree> {
        let state = self.state.lock().await;
        let now = Instant::now();
        self.order
            .iter()
            .map(|id| {
                let e = state.entries.get(id);
                VSwitchFree {
                    vswitch_id: id.clone(),
                    zone_id: e.and_then(|e| e.zone_id.clone()),
                    free: e.map_or(0, Entry::free),
                    exhausted: e.is_some_and(|e| e.exhausted(now)),
                    found: e.is_some_and(|e| e.found),
                }
            })
            .collect()
    }

    async fn refresh_if_stale(&self, state: &mut ViewState) -> Result<(), Error> {
        let now = Instant::now();
        let stale = state.fetched_at.is_none_or(|t| now >= t + self.ttl);
        let may_retry = state.retry_at.is_none_or(|t| now >= t);
        if !stale || !may_retry {
            return Ok(());
        }
        match self.fetch(state).await {
            Ok(()) => Ok(()),
            Err(e) if state.fetched_at.is_some() => {
                tracing::warn!(error = %e, "VSwitch capacity refresh failed; using the previous counts");
                state.retry_at = Some(Instant::now() + self.ttl.min(Duration::from_secs(5)));
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn fetch(&self, state: &mut ViewState) -> Result<(), Error> {
        let found = self.source.describe_capacity(&self.order).await?;
        for id in &self.order {
            let e = state.entries.entry(id.clone()).or_default();
            e.found = false;
            e.reported = 0;
            e.reserved = 0;
        }
        for c in found {
            if let Some(e) = state.entries.get_mut(&c.vswitch_id) {
                e.found = true;
                e.reported = c.available_ips;
                e.zone_id = Some(c.zone_id);
            }
        }
        state.fetched_at = Some(Instant::now());
        state.retry_at = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    #[derive(Debug, Default)]
    struct Fake {
        counts: StdMutex<HashMap<String, u64>>,
        calls: StdMutex<u32>,
        fail: StdMutex<bool>,
    }

    impl Fake {
        fn with(counts: &[(&str, u64)]) -> Arc<Fake> {
            let f = Fake::default();
            for (k, v) in counts {
                f.counts.lock().unwrap().insert((*k).to_owned(), *v);
            }
            Arc::new(f)
        }
        fn set(&self, id: &str, n: u64) {
            self.counts.lock().unwrap().insert(id.to_owned(), n);
        }
        fn calls(&self) -> u32 {
            *self.calls.lock().unwrap()
        }
    }

    #[async_trait]
    impl VSwitchSource for Fake {
        async fn describe_capacity(&self, ids: &[VSwitchId]) -> Result<Vec<VSwitchCapacity>, Error> {
            *self.calls.lock().unwrap() += 1;
            if *self.fail.lock().unwrap() {
                return Err(Error::Api(ack_net_core::Error::Api {
                    action: "DescribeVSwitchAttributes".into(),
                    error: Box::new(ack_net_core::ApiError {
                        code: "ServiceUnavailable".into(),
                        status: 503,
                        ..Default::default()
                    }),
                }));
            }
            let counts = self.counts.lock().unwrap();
            Ok(ids
                .iter()
                .filter_map(|id| {
                    counts.get(id.as_str()).map(|n| VSwitchCapacity {
                        vswitch_id: id.clone(),
                        zone_id: "cn-hangzhou-h".parse().unwrap(),
                        available_ips: *n,
                    })
                })
                .collect())
        }
    }

    fn ids(v: &[&str]) -> Vec<VSwitchId> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn most_free_spreads_with_local_consumption() {
        let fake = Fake::with(&[("vsw-a", 30), ("vsw-b", 25), ("vsw-c", 5)]);
        let view = VSwitchCapacityView::new(fake.clone(), ids(&["vsw-a", "vsw-b", "vsw-c"]), SelectPolicy::MostFree);
        let picks: Vec<String> = {
            let mut v = Vec::new();
            for _ in 0..4 {
                v.push(view.reserve(10).await.unwrap().to_string());
            }
            v
        };
        // 30/25 -> a (20/25) -> b (20/15) -> a (10/15) -> b (10/5)
        assert_eq!(picks, ["vsw-a", "vsw-b", "vsw-a", "vsw-b"]);
        assert_eq!(fake.calls(), 1, "one refresh within the TTL");
        let e = view.reserve(11).await.unwrap_err();
        assert!(matches!(e, Error::NoVSwitchAvailable { wanted: 11, vswitches: 3 }), "{e}");
        assert_eq!(e.class(), ack_net_core::ErrorClass::Capacity);
        view.release(&"vsw-a".parse().unwrap(), 10).await;
        assert_eq!(view.reserve(11).await.unwrap().as_str(), "vsw-a");
    }

    #[tokio::test(start_paused = true)]
    async fn ordered_takes_the_first_with_room_and_ttl_refreshes() {
        let fake = Fake::with(&[("vsw-a", 3), ("vsw-b", 100)]);
        let view = VSwitchCapacityView::new(fake.clone(), ids(&["vsw-a", "vsw-b", "vsw-a"]), SelectPolicy::Ordered)
            .with_ttl(Duration::from_secs(30));
        assert_eq!(view.vswitches().len(), 2);
        assert_eq!(view.reserve(2).await.unwrap().as_str(), "vsw-a");
        assert_eq!(view.reserve(2).await.unwrap().as_str(), "vsw-b", "a has 1 left locally");
        fake.set("vsw-a", 50);
        assert_eq!(view.reserve(2).await.unwrap().as_str(), "vsw-b", "not refreshed yet");
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(view.reserve(2).await.unwrap().as_str(), "vsw-a");
        assert_eq!(fake.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn exhausted_vswitches_are_skipped_until_expiry() {
        let fake = Fake::with(&[("vsw-a", 100), ("vsw-b", 10)]);
        let view = VSwitchCapacityView::new(fake.clone(), ids(&["vsw-a", "vsw-b"]), SelectPolicy::MostFree)
            .with_ttl(Duration::from_secs(10));
        let a: VSwitchId = "vsw-a".parse().unwrap();
        assert_eq!(view.reserve(1).await.unwrap(), a);
        view.mark_exhausted(&a, Duration::from_secs(60)).await;
        assert_eq!(view.reserve(1).await.unwrap().as_str(), "vsw-b");
        tokio::time::advance(Duration::from_secs(30)).await;
        // Refreshed (a still reports 100), but still exhausted.
        assert_eq!(view.reserve(1).await.unwrap().as_str(), "vsw-b");
        let snap = view.snapshot().await;
        assert!(snap[0].exhausted && snap[0].found && snap[0].free == 100);
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(view.reserve(1).await.unwrap(), a);
    }

    #[tokio::test(start_paused = true)]
    async fn missing_vswitches_and_failed_refreshes() {
        let fake = Fake::with(&[("vsw-b", 10)]);
        let view = VSwitchCapacityView::new(fake.clone(), ids(&["vsw-a", "vsw-b"]), SelectPolicy::Ordered)
            .with_ttl(Duration::from_secs(10));
        *fake.fail.lock().unwrap() = true;
        assert!(view.reserve(1).await.unwrap_err().is_retryable(), "no counts yet: the error");
        *fake.fail.lock().unwrap() = false;
        assert_eq!(view.reserve(1).await.unwrap().as_str(), "vsw-b", "a is not found");
        assert!(!view.snapshot().await[0].found);
        *fake.fail.lock().unwrap() = true;
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(view.reserve(1).await.unwrap().as_str(), "vsw-b", "stale counts are used");
        let calls = fake.calls();
        assert_eq!(view.reserve(1).await.unwrap().as_str(), "vsw-b");
        assert_eq!(fake.calls(), calls, "no refresh storm while it fails");
        assert!(view.refresh().await.is_err());
        assert!(view.reserve(0).await.unwrap_err().is_invalid_input());
    }
}
