//! The warm pool of pod addresses of one node (ECS instance): [`IpPool`].
//!
//! Decision and doing are kept apart: a pure [`plan`] turns the pool's state and its numbers
//! ([`PolicyConfig`]) into explicit [`Delta`]s (create an ENI with N addresses, assign N,
//! unassign these, delete that ENI); a background executor carries them out against a small
//! trait of cloud operations ([`PoolCloud`], implemented over the typed ECS API by
//! [`EcsPoolCloud`]), journaling every mutation with its ClientToken in a [`PoolStore`]
//! before the call and settling it after.
//!
//! - **Warm path in memory.** [`IpPool::allocate`] takes an idle address under a lock and
//!   journals the pod's allocation; no cloud call. It is idempotent per pod key. When
//!   nothing is idle it waits, with a deadline, for the refill that its demand triggered.
//! - **Batching.** Concurrent demand is coalesced into one plan; at most 10 addresses per
//!   assign; new ENIs are created with their addresses in the same call, several at once
//!   (bounded), attached and waited for with backoff.
//! - **Never leaks, never hands out twice.** A restarted pool rebuilds itself from the
//!   journal, the allocations and the cloud (see [`IpPool::builder`]); [`IpPool::gc`]
//!   releases the addresses of pods that are gone and deletes the pool's orphaned ENIs.
//!   ENIs carry the pool's owner tags ([`OWNER_TAG_KEY`], [`CLUSTER_TAG_KEY`]); nothing
//!   else is touched.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use ack_net_core::{Credentials, RpcClient};
//! use ack_net_eni::pool::{FileStore, IpPool, PoolConfig, PoolOwner};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let rpc = RpcClient::builder()
//!     .region("cn-hangzhou")
//!     .credentials(Credentials::new("testid", "testsecret"))
//!     .endpoint("http://127.0.0.1:18080")
//!     .build()?;
//! let config = PoolConfig::new(PoolOwner { cluster_id: "c-prod".into(), pool_id: "node-i-bp1abc".into() }, "i-bp1abc".parse()?, "ecs.g7.large".parse()?)
//!     .vswitch("vsw-bp1a".parse()?)
//!     .security_group("sg-bp1g".parse()?)
//!     .warm_band(2, 6)
//!     .cooldown(Duration::from_secs(30));
//! let store = Arc::new(FileStore::open("/var/lib/my-cni/pool.json").await?);
//! let pool = IpPool::builder(config).ecs(rpc).store(store).start().await?;
//!
//! let a = pool.allocate("default/web-0").await?; // CNI ADD
//! println!("{} on {} ({})", a.ipv4, a.eni_id, a.mac);
//! pool.release("default/web-0").await?; // CNI DEL
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ack_net_vpc::VSwitchSource;
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod builder;
mod cloud;
mod config;
mod error;
mod exec;
mod gc;
mod metrics;
mod policy;
mod recover;
mod state;
mod store;

pub use builder::IpPoolBuilder;
pub use cloud::{CreateEniSpec, EcsPoolCloud, EniInfo, PoolCloud, VSwitchInfo};
pub use config::{IpStack, PoolConfig, PoolMode, PoolOwner, MAX_PER_CALL};
pub use error::{ExhaustedReason, PoolError, StoreError};
pub use exec::{CLUSTER_TAG_KEY, OWNER_TAG_KEY};
pub use gc::GcReport;
pub use metrics::{LatencySummary, PoolMetrics};
pub use policy::{plan, Delta, EniPhase, EniView, Plan, PolicyConfig, PoolView};
pub use store::{FileStore, Intent, IntentOp, MemoryStore, PodRecord, PoolStore, StoreSnapshot};

use exec::Inner;
use state::{PoolState, SlotState};

use crate::{EniId, Mac, VSwitchId};

/// The most bytes a pod key may have.
pub const MAX_POD_KEY_LEN: usize = 512;

/// A pod's address, as [`IpPool::allocate`] answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Allocation {
    /// The pod key.
    pub pod: String,
    /// The IPv4 address.
    pub ipv4: Ipv4Addr,
    /// The IPv6 address (dual stack).
    pub ipv6: Option<Ipv6Addr>,
    /// The ENI holding it.
    pub eni_id: EniId,
    /// The ENI's MAC address.
    pub mac: Mac,
    /// The ENI's device index on the instance.
    pub device_index: Option<u32>,
    /// The ENI's VSwitch.
    pub vswitch_id: VSwitchId,
    /// Whether the ENI is the pod's alone (exclusive mode).
    pub exclusive: bool,
}

/// What [`IpPool::release`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Released {
    /// The pod's address went back to the pool (after the cooldown).
    Released(Ipv4Addr),
    /// The pod held no address (a repeated release): nothing to do.
    NotHeld,
}

/// Aborts the driver when the last handle goes.
#[derive(Debug)]
struct Driver(JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The warm pool of pod addresses of one ECS instance; see the [module](self). Cheap to
/// clone (clones share the pool); the pool stops when the last clone is dropped, at any
/// point (its journal makes that safe: a new pool on the same store carries on).
#[derive(Clone)]
pub struct IpPool {
    inner: Arc<Inner>,
    _driver: Arc<Driver>,
}

impl std::fmt::Debug for IpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpPool").field("pool_id", &self.inner.cfg.pool_id()).finish_non_exhaustive()
    }
}

fn check_pod(pod: &str) -> Result<(), PoolError> {
    if pod.is_empty() || pod.len() > MAX_POD_KEY_LEN || pod.chars().any(char::is_control) {
        return Err(PoolError::InvalidInput {
            what: "pod key",
            reason: format!("must be 1-{MAX_POD_KEY_LEN} bytes without control characters"),
        });
    }
    Ok(())
}

/// Takes the pool's count of waiting allocations back if an allocation stops waiting
/// (answered, failed or cancelled).
struct Waiting<'a> {
    inner: &'a Inner,
    registered: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.registered {
            let mut st = self.inner.st();
            st.waiting = st.waiting.saturating_sub(1);
        }
    }
}

enum Step {
    Got(Allocation, bool),
    Wait(Option<Instant>),
    Fail(PoolError),
}

impl IpPool {
    /// A pool of `config`, started by [`IpPoolBuilder::start`]: it loads the journal, checks
    /// the configuration against the instance type and the VSwitches (a typed error before
    /// any mutating call), rebuilds the pool from the journal and the cloud (finishing or
    /// rolling back what a previous run left unfinished, adopting its own orphaned addresses,
    /// quarantining addresses where journal and cloud disagree), and starts the executor.
    pub fn builder(config: PoolConfig) -> IpPoolBuilder {
        IpPoolBuilder::new(config)
    }

    async fn start_parts(
        config: PoolConfig,
        cloud: Arc<dyn PoolCloud>,
        capacity: Arc<dyn VSwitchSource>,
        store: Arc<dyn PoolStore>,
    ) -> Result<IpPool, PoolError> {
        let (inner, jobs) = recover::start(config, cloud, capacity, store).await?;
        let driver = tokio::spawn(exec::drive(inner.clone(), jobs));
        Ok(IpPool { inner, _driver: Arc::new(Driver(driver)) })
    }

    /// The configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.inner.cfg
    }

    /// The policy's numbers, as derived from the configuration and the instance type.
    pub fn policy(&self) -> &PolicyConfig {
        &self.inner.policy
    }

    /// The VSwitch `id`, as the pool described it when it started.
    pub fn vswitch(&self, id: &VSwitchId) -> Option<VSwitchInfo> {
        self.inner.vswitch_info(id)
    }

    fn allocation(&self, st: &PoolState, pod: &str, ip: Ipv4Addr) -> Option<Allocation> {
        let s = st.slots.get(&ip)?;
        let e = st.enis.get(&s.eni)?;
        Some(Allocation {
            pod: pod.to_owned(),
            ipv4: ip,
            ipv6: s.v6,
            eni_id: e.id.clone(),
            mac: e.mac,
            device_index: e.device_index,
            vswitch_id: e.vswitch_id.clone(),
            exclusive: st.exclusive,
        })
    }

    fn step(&self, st: &mut PoolState, pod: &str, registered: bool) -> Step {
        if let Some(ip) = st.pods.get(pod).copied() {
            let journaled =
                matches!(&st.slots.get(&ip).map(|s| &s.state), Some(SlotState::InUse { journaled: true, .. }));
            return match self.allocation(st, pod, ip) {
                Some(a) => Step::Got(a, !journaled),
                None => {
                    Step::Fail(PoolError::InvalidInput { what: "pod key", reason: "inconsistent pool state".into() })
                }
            };
        }
        let now = Instant::now();
        st.promote(now);
        if let Some(ip) = st.first_idle() {
            st.set_state(ip, SlotState::InUse { pod: pod.to_owned(), journaled: false });
            st.pods.insert(pod.to_owned(), ip);
            if let Some(a) = self.allocation(st, pod, ip) {
                return Step::Got(a, true);
            }
        }
        let policy = self.inner.effective_policy(st);
        let others_waiting = st.waiting - u32::from(registered);
        if st.pods.len() as u32 + others_waiting >= policy.max_pods {
            return Step::Fail(PoolError::Exhausted(ExhaustedReason::IpQuota));
        }
        let nothing_coming = st.coming() == 0 && st.count(PoolState::COOLING) == 0;
        if nothing_coming && registered {
            if let Some(r) = &st.shortfall {
                return Step::Fail(PoolError::Exhausted(r.clone()));
            }
            let blocked = st.growth_blocked_until.is_some_and(|t| t > now);
            if let (Some(r), true) = (&st.exhausted, blocked) {
                return Step::Fail(PoolError::Exhausted(r.clone()));
            }
        }
        Step::Wait(st.next_cooling())
    }

    /// The pod's address: from the warm pool at once (one journal write, no cloud call), or
    /// after the refill this demand triggers, within the configured deadline. Idempotent:
    /// the same pod key gets the same address until it is released.
    ///
    /// Errors: [`PoolError::Exhausted`] when a quota or the VSwitches leave no room,
    /// [`PoolError::Throttled`] or [`PoolError::Timeout`] at the deadline,
    /// [`PoolError::Store`] when the allocation cannot be journaled (nothing is handed out
    /// then), [`PoolError::InvalidInput`] for an empty pod key.
    pub async fn allocate(&self, pod: &str) -> Result<Allocation, PoolError> {
        let started = std::time::Instant::now();
        let r = self.allocate_inner(pod).await;
        self.inner.metrics.allocation(started.elapsed(), r.is_ok());
        r
    }

    async fn allocate_inner(&self, pod: &str) -> Result<Allocation, PoolError> {
        check_pod(pod)?;
        let inner = &*self.inner;
        let deadline = Instant::now() + inner.cfg.allocate_deadline();
        let mut waiting = Waiting { inner, registered: false };
        let (alloc, journal) = loop {
            let notified = inner.supply.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let step = {
                let mut st = inner.st();
                let step = self.step(&mut st, pod, waiting.registered);
                match step {
                    Step::Wait(_) if !waiting.registered => {
                        st.waiting += 1;
                        waiting.registered = true;
                        inner.kick.notify_one();
                    }
                    Step::Got(..) | Step::Fail(_) if waiting.registered => {
                        st.waiting = st.waiting.saturating_sub(1);
                        waiting.registered = false;
                    }
                    _ => {}
                }
                step
            };
            match step {
                Step::Got(a, journal) => break (a, journal),
                Step::Fail(e) => return Err(e),
                Step::Wait(wake) => {
                    let now = Instant::now();
                    if now >= deadline {
                        let waited = inner.cfg.allocate_deadline();
                        let last = inner.st().last_error.clone();
                        return Err(match last {
                            Some((ack_net_core::ErrorClass::Throttled, e)) => {
                                PoolError::Throttled { waited, last_error: e }
                            }
                            other => PoolError::Timeout { waited, last_error: other.map(|(_, e)| e) },
                        });
                    }
                    let until = wake.map_or(deadline, |w| w.min(deadline));
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep_until(until) => {}
                    }
                }
            }
        };
        drop(waiting);
        {
            let st = inner.st();
            let policy = &inner.policy;
            if st.idle_count() + st.count(PoolState::COOLING) < policy.min_idle {
                inner.kick.notify_one();
            }
        }
        if journal {
            let record = PodRecord::new(pod, alloc.eni_id.clone(), alloc.ipv4, alloc.ipv6);
            if let Err(e) = inner.store.put_allocation(&record).await {
                let mut st = inner.st();
                let unjournaled = matches!(&st.slots.get(&alloc.ipv4).map(|s| &s.state),
                    Some(SlotState::InUse { pod: p, journaled: false }) if p == pod);
                if unjournaled {
                    st.pods.remove(pod);
                    st.set_state(alloc.ipv4, SlotState::Idle);
                }
                return Err(e.into());
            }
            let mut st = inner.st();
            if let Some(s) = st.slots.get_mut(&alloc.ipv4) {
                if let SlotState::InUse { pod: p, journaled } = &mut s.state {
                    if p == pod {
                        *journaled = true;
                    }
                }
            }
        }
        Ok(alloc)
    }

    /// Releases the pod's address: the journal forgets the allocation, then the address
    /// rests for the cooldown and goes back to the pool. Idempotent: a pod that holds
    /// nothing is [`Released::NotHeld`].
    pub async fn release(&self, pod: &str) -> Result<Released, PoolError> {
        check_pod(pod)?;
        let inner = &*self.inner;
        let ip = {
            let mut st = inner.st();
            match st.pods.remove(pod) {
                Some(ip) => {
                    st.set_state(ip, SlotState::Releasing { pod: pod.to_owned() });
                    Some(ip)
                }
                None => st.releasing_slot(pod),
            }
        };
        let stale = inner.st().stale.contains_key(pod);
        let Some(ip) = ip else {
            if stale {
                self.forget_stale(pod).await?;
            }
            return Ok(Released::NotHeld);
        };
        if let Err(e) = inner.store.remove_allocation(pod).await {
            let mut st = inner.st();
            if matches!(&st.slots.get(&ip).map(|s| &s.state), Some(SlotState::Releasing { pod: p }) if p == pod) {
                st.set_state(ip, SlotState::InUse { pod: pod.to_owned(), journaled: true });
                st.pods.insert(pod.to_owned(), ip);
            }
            return Err(e.into());
        }
        if stale {
            self.forget_stale(pod).await?;
        }
        {
            let mut st = inner.st();
            if matches!(&st.slots.get(&ip).map(|s| &s.state), Some(SlotState::Releasing { pod: p }) if p == pod) {
                let cooldown = inner.cfg.cooldown_period();
                let next = if cooldown.is_zero() {
                    SlotState::Idle
                } else {
                    SlotState::Cooling { until: Instant::now() + cooldown }
                };
                st.set_state(ip, next);
            }
            if st.idle_count() + st.count(PoolState::COOLING) > inner.policy.max_idle {
                inner.kick.notify_one();
            }
        }
        inner.supply.notify_waiters();
        Ok(Released::Released(ip))
    }

    /// Forgets a stale record, and un-quarantines what only it held back.
    async fn forget_stale(&self, pod: &str) -> Result<(), PoolError> {
        self.inner.store.remove_allocation(pod).await?;
        let mut st = self.inner.st();
        st.stale.remove(pod);
        let held: Vec<(Ipv4Addr, Vec<String>, String)> = st
            .slots
            .iter()
            .filter_map(|(ip, s)| match &s.state {
                SlotState::Quarantined { pods, reason } if pods.iter().any(|p| p == pod) => {
                    Some((*ip, pods.iter().filter(|p| *p != pod).cloned().collect(), reason.clone()))
                }
                _ => None,
            })
            .collect();
        for (ip, pods, reason) in held {
            let next = if pods.is_empty() {
                SlotState::Cooling { until: Instant::now() + self.inner.cfg.cooldown_period() }
            } else {
                SlotState::Quarantined { pods, reason }
            };
            st.set_state(ip, next);
        }
        Ok(())
    }

    /// What the policy would do now (a dry run: nothing is started).
    pub fn plan(&self) -> Plan {
        let st = self.inner.st();
        plan(&st.view(Instant::now()), &self.inner.effective_policy(&st))
    }

    /// The pool's numbers now.
    pub fn metrics(&self) -> PoolMetrics {
        let (api_calls, api_failures) = self.inner.metrics.snapshot_calls();
        let st = self.inner.st();
        PoolMetrics {
            idle: st.idle_count(),
            cooling: st.count(PoolState::COOLING),
            in_use: st.count(PoolState::IN_USE) + st.count(PoolState::RELEASING),
            quarantined: st.count(PoolState::QUARANTINED),
            leaving: st.count(PoolState::LEAVING),
            coming: st.coming(),
            enis: (st.enis.len() + st.creating.len()) as u32,
            waiting: st.waiting,
            stale_allocations: st.stale.len() as u32,
            api_calls,
            api_failures,
            allocation_latency: self.inner.metrics.latency(),
        }
    }

    /// The address `pod` holds now, if any (no allocation, no cloud call): what a CNI DEL or
    /// CHECK looks up.
    pub fn held(&self, pod: &str) -> Option<Allocation> {
        let st = self.inner.st();
        let ip = st.pods.get(pod).copied()?;
        self.allocation(&st, pod, ip)
    }

    /// The pods holding an address now.
    pub fn pods(&self) -> HashSet<String> {
        self.inner.st().pods.keys().cloned().collect()
    }

    /// Every address the pool holds, with its ENI (IPv6 pairs included): what the cloud
    /// should show on the pool's ENIs.
    pub fn addresses(&self) -> Vec<(EniId, Ipv4Addr, Option<Ipv6Addr>)> {
        let st = self.inner.st();
        let mut out: Vec<_> = st.slots.iter().map(|(ip, s)| (s.eni.clone(), *ip, s.v6)).collect();
        out.sort();
        out
    }

    /// The pool's ENIs.
    pub fn enis(&self) -> Vec<EniId> {
        self.inner.st().enis.keys().cloned().collect()
    }

    /// Whether nothing is being changed on the cloud now (no job in flight).
    pub fn is_quiet(&self) -> bool {
        let st = self.inner.st();
        st.creating.is_empty()
            && st.count(PoolState::LEAVING) == 0
            && st.enis.values().all(|e| e.phase == EniPhase::Ready && e.incoming_v4 == 0 && e.incoming_v6 == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_keys_are_checked() {
        assert!(check_pod("default/web-0").is_ok());
        assert!(check_pod("").is_err());
        assert!(check_pod("a\nb").is_err());
        assert!(check_pod(&"x".repeat(MAX_POD_KEY_LEN + 1)).is_err());
    }
}
