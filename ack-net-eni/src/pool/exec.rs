//! The executor: a background task that plans (with the pure policy) whenever something
//! changes, and carries each delta out against the [`PoolCloud`], journaling every
//! mutation before its call and settling it after. Deltas run concurrently; ENI
//! preparations are bounded by a semaphore; removals are retried until they are done.

use ack_net_core::ErrorInfo;
use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ack_net_core::ErrorClass;
use ack_net_vpc::capacity::is_vswitch_full;
use ack_net_vpc::{VSwitchCapacityView, VSwitchSource};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::cloud::{CreateEniSpec, EniInfo, PoolCloud, VSwitchInfo};
use super::config::PoolConfig;
use super::error::ExhaustedReason;
use super::metrics::{ApiKind, Metrics};
use super::policy::{plan, Delta, EniPhase, PolicyConfig};
use super::state::{EniState, Job, PoolState, SlotState};
use super::store::{Intent, IntentOp, PoolStore};
use crate::{EniId, Error, Removed, Tag, VSwitchId, INTENT_TAG_KEY};

/// The tag key naming the pool that owns an ENI.
pub const OWNER_TAG_KEY: &str = "ack-net-pool";
/// The tag key naming the cluster of the pool that owns an ENI.
pub const CLUSTER_TAG_KEY: &str = "ack-net-cluster";

/// A fresh ClientToken (also the journal's key).
pub(crate) fn new_token() -> String {
    format!("ackp-{}", uuid::Uuid::new_v4().simple())
}

/// Backoff after the `n`th consecutive failure: 200 ms doubling up to 10 s.
pub(crate) fn backoff(n: u32) -> Duration {
    Duration::from_millis(200).saturating_mul(1 << n.saturating_sub(1).min(6)).min(Duration::from_secs(10))
}

/// Everything the pool's tasks share.
pub(crate) struct Inner {
    pub cfg: PoolConfig,
    pub policy: PolicyConfig,
    pub cloud: Arc<dyn PoolCloud>,
    pub store: Arc<dyn PoolStore>,
    pub view: VSwitchCapacityView<Arc<dyn VSwitchSource>>,
    pub vswitches: Mutex<HashMap<VSwitchId, VSwitchInfo>>,
    pub owner_tags: Vec<Tag>,
    pub state: Mutex<PoolState>,
    /// Wakes the driver.
    pub kick: Notify,
    /// Wakes allocations waiting for an address (or for the news that none will come).
    pub supply: Notify,
    pub metrics: Metrics,
    pub eni_permits: Semaphore,
    /// ENIs the instance type holds besides the primary one.
    pub secondary_adapters: u32,
}

impl Inner {
    pub fn st(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The policy's numbers, with the ENI quota the cloud may have lowered.
    pub fn effective_policy(&self, st: &PoolState) -> PolicyConfig {
        let mut p = self.policy.clone();
        p.max_enis = p.max_enis.min(st.max_enis);
        p
    }

    pub fn vswitch_info(&self, id: &VSwitchId) -> Option<VSwitchInfo> {
        self.vswitches.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// Plans at `now` and starts what the plan says; answers the jobs and when to look
    /// again (when growth was held back by a backoff).
    fn plan_round(&self) -> (Vec<Job>, Option<Instant>) {
        let now = Instant::now();
        let mut st = self.st();
        st.promote(now);
        let policy = self.effective_policy(&st);
        let p = plan(&st.view(now), &policy);
        let shortfall =
            (p.shortfall > 0).then_some(if p.eni_bound { ExhaustedReason::EniQuota } else { ExhaustedReason::IpQuota });
        let news = shortfall.is_some() && st.shortfall != shortfall;
        st.shortfall = shortfall;
        if news && st.waiting > 0 {
            self.supply.notify_waiters();
        }
        let blocked = st.growth_blocked_until.filter(|t| *t > now);
        let mut jobs = Vec::new();
        let mut deferred = false;
        for d in p.deltas {
            if blocked.is_some() && matches!(d, Delta::CreateEni { .. } | Delta::Assign { .. }) {
                deferred = true;
                continue;
            }
            if let Some(job) = st.begin(d, new_token) {
                jobs.push(job);
            }
        }
        (jobs, if deferred { blocked } else { None })
    }

    fn succeeded(&self, st: &mut PoolState) {
        st.failures = 0;
        st.growth_blocked_until = None;
        st.exhausted = None;
        st.last_error = None;
        st.epoch += 1;
    }

    fn failed(&self, st: &mut PoolState, class: ErrorClass, message: String, exhausted: Option<ExhaustedReason>) {
        st.failures += 1;
        st.growth_blocked_until = Some(Instant::now() + backoff(st.failures));
        st.last_error = Some((class, message));
        if exhausted.is_some() {
            st.exhausted = exhausted;
        }
    }

    /// Wakes waiters and the driver after a change.
    fn changed(&self) {
        self.supply.notify_waiters();
        self.kick.notify_one();
    }

    async fn journal(&self, intent: &Intent) -> bool {
        match self.store.begin(intent).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, token = %intent.token, "cannot journal an intent; not acting");
                let mut st = self.st();
                self.failed(&mut st, ErrorClass::Other, e.to_string(), None);
                false
            }
        }
    }

    async fn settle(&self, token: &str) {
        if let Err(e) = self.store.settle(token).await {
            // The intent stays open: a restart re-checks it against the cloud, harmlessly.
            tracing::warn!(error = %e, token, "cannot settle an intent");
        }
    }

    /// Runs one job to its end.
    pub async fn run(self: Arc<Self>, job: Job) {
        match job {
            Job::Create { job, secondary_ipv4, ipv6 } => self.create(job, secondary_ipv4, ipv6).await,
            Job::Resume { eni, token } => self.resume(eni, token).await,
            Job::Assign { eni, ipv4, ipv6 } => {
                if ipv4 > 0 {
                    self.assign(&eni, ipv4, false).await;
                }
                if ipv6 > 0 {
                    self.assign(&eni, ipv6, true).await;
                }
            }
            Job::Unassign { eni, ipv4, ipv6, token } => self.unassign(eni, ipv4, ipv6, token).await,
            Job::Delete { eni, token } => self.delete(eni, token).await,
        }
        self.changed();
    }

    fn create_failed(&self, job: &str, token: Option<&str>, e: &Error, exhausted: Option<ExhaustedReason>) {
        let mut st = self.st();
        st.creating.remove(job);
        if let Some(t) = token {
            st.create_tokens.remove(t);
        }
        tracing::warn!(error = %e, "preparing an ENI failed");
        self.failed(&mut st, e.class(), e.to_string(), exhausted);
    }

    async fn create(&self, job: String, secondary_ipv4: u32, ipv6: u32) {
        let _permit = self.eni_permits.acquire().await;
        let slots = u64::from(secondary_ipv4) + 1;
        let (eni, token) = loop {
            let vswitch = match self.view.reserve(slots).await {
                Ok(v) => v,
                Err(ack_net_vpc::Error::NoVSwitchAvailable { .. }) => {
                    let e = Error::invalid_input("VSwitch", "no VSwitch of the pool has room");
                    return self.create_failed(&job, None, &e, Some(ExhaustedReason::NoVSwitchRoom));
                }
                Err(e) => {
                    let e = match e {
                        ack_net_vpc::Error::Api(e) => Error::Api(e),
                        other => Error::invalid_input("VSwitch", other.to_string()),
                    };
                    return self.create_failed(&job, None, &e, None);
                }
            };
            let token = new_token();
            self.st().create_tokens.insert(token.clone());
            let intent = Intent::new(&token, IntentOp::CreateEni { vswitch_id: vswitch.clone(), secondary_ipv4, ipv6 });
            if !self.journal(&intent).await {
                self.view.release(&vswitch, slots).await;
                let mut st = self.st();
                st.creating.remove(&job);
                st.create_tokens.remove(&token);
                return;
            }
            let mut tags = self.owner_tags.clone();
            tags.push(Tag::new(INTENT_TAG_KEY, token.as_str()));
            let spec = CreateEniSpec {
                vswitch_id: vswitch.clone(),
                security_groups: self.cfg.security_group_ids().to_vec(),
                secondary_ipv4,
                ipv6,
                tags,
                client_token: token.clone(),
            };
            let r = self.cloud.create_eni(&spec).await;
            self.metrics.call(ApiKind::CreateEni, r.is_ok());
            match r {
                Ok(eni) => break (eni, token),
                Err(e) if e.code().is_some_and(is_vswitch_full) => {
                    tracing::info!(vswitch = %vswitch, "VSwitch is full; setting it aside");
                    self.view.mark_exhausted(&vswitch, self.cfg.set_aside()).await;
                    self.settle(&token).await;
                    self.st().create_tokens.remove(&token);
                }
                Err(e) => {
                    self.view.release(&vswitch, slots).await;
                    // If the call did create the ENI after all, it is an orphan that GC
                    // finds by its owner tags; the intent says what it was for.
                    self.settle(&token).await;
                    let exhausted = e.is_capacity().then_some(ExhaustedReason::IpQuota);
                    return self.create_failed(&job, Some(&token), &e, exhausted);
                }
            }
        };
        {
            let mut st = self.st();
            st.creating.remove(&job);
            adopt_eni(&mut st, &eni, EniPhase::Attaching, SlotState::Idle, self.policy.slots_per_eni, &|_| None);
        }
        self.bring_up(eni.id, token).await;
    }

    /// Attaches a new (or interrupted) ENI and waits until it is in use; on failure, deletes
    /// it. Settles `token` at the end.
    async fn bring_up(&self, eni: EniId, token: String) {
        let instance = self.cfg.instance_id().clone();
        let attached = self.attach(&eni, &instance).await;
        let result = match attached {
            Ok(()) => {
                let r = self.cloud.wait_in_use(&eni, &instance, self.cfg.waits()).await;
                self.metrics.call(ApiKind::WaitEni, r.is_ok());
                r
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(info) => {
                let mut st = self.st();
                if let Some(e) = st.enis.get_mut(&eni) {
                    e.device_index = info.device_index;
                }
                st.set_phase(&eni, EniPhase::Ready);
                st.create_tokens.remove(&token);
                self.succeeded(&mut st);
            }
            Err(e) => {
                tracing::warn!(eni = %eni, error = %e, "attaching failed; deleting the ENI");
                let quota = e.is_code("EniPerInstanceLimitExceeded") || e.is_code("MaxEniCountExceeded");
                {
                    let mut st = self.st();
                    if quota {
                        // Others hold ENIs on the instance: hold at what the pool has.
                        let ours = st.enis.values().filter(|x| x.phase != EniPhase::Deleting && x.id != eni).count();
                        st.max_enis = st.max_enis.min(ours as u32);
                    }
                    let ips: Vec<Ipv4Addr> =
                        st.enis.get(&eni).map(|x| x.v4.iter().copied().collect()).unwrap_or_default();
                    for ip in ips {
                        st.set_state(ip, SlotState::Leaving);
                    }
                    st.set_phase(&eni, EniPhase::Deleting);
                    self.failed(&mut st, e.class(), e.to_string(), quota.then_some(ExhaustedReason::EniQuota));
                }
                match self
                    .retry_removal(ApiKind::DeleteEni, || self.cloud.detach_and_delete(&eni, self.cfg.waits()))
                    .await
                {
                    Ok(()) => {
                        let mut st = self.st();
                        st.remove_eni(&eni);
                        st.epoch += 1;
                    }
                    Err(e) => self.removal_failed(&eni, &[], &e),
                }
                self.st().create_tokens.remove(&token);
            }
        }
        self.settle(&token).await;
    }

    /// AttachNetworkInterface, retried while the ENI is still `Available` after a
    /// retryable failure (an attach in flight or done already is left to the wait).
    async fn attach(&self, eni: &EniId, instance: &crate::InstanceId) -> Result<(), Error> {
        let mut n = 0;
        loop {
            n += 1;
            let r = self.cloud.attach_eni(eni, instance).await;
            self.metrics.call(ApiKind::AttachEni, r.is_ok());
            let e = match r {
                Ok(()) => return Ok(()),
                Err(e) if e.is_retryable() || e.class() == ErrorClass::Conflict => e,
                Err(e) => return Err(e),
            };
            if n >= 5 {
                return Err(e);
            }
            tokio::time::sleep(backoff(n)).await;
            let r = self.cloud.eni(eni).await;
            self.metrics.call(ApiKind::Describe, r.is_ok());
            match r {
                Ok(Some(x)) if x.status == crate::EniStatus::Available => {}
                Ok(Some(_)) => return Ok(()),
                Ok(None) => return Err(e),
                Err(_) => {}
            }
        }
    }

    async fn resume(&self, eni: EniId, token: String) {
        let _permit = self.eni_permits.acquire().await;
        self.bring_up(eni, token).await;
    }

    async fn assign(&self, eni: &EniId, count: u32, v6: bool) {
        let token = new_token();
        let op = if v6 {
            IntentOp::AssignIpv6 { eni_id: eni.clone(), count }
        } else {
            IntentOp::AssignIpv4 { eni_id: eni.clone(), count }
        };
        let journaled = self.journal(&Intent::new(&token, op)).await;
        let result: Result<(Vec<Ipv4Addr>, Vec<Ipv6Addr>), Error> = if !journaled {
            Err(Error::invalid_input("journal", "the intent could not be journaled"))
        } else if v6 {
            let r = self.cloud.assign_ipv6(eni, count, &token).await;
            self.metrics.call(ApiKind::AssignIpv6, r.is_ok());
            r.map(|ips| (Vec::new(), ips))
        } else {
            let r = self.cloud.assign_ipv4(eni, count, &token).await;
            self.metrics.call(ApiKind::AssignIpv4, r.is_ok());
            r.map(|ips| (ips, Vec::new()))
        };
        let mut vswitch_full = None;
        {
            let mut st = self.st();
            if let Some(e) = st.enis.get_mut(eni) {
                if v6 {
                    e.incoming_v6 = e.incoming_v6.saturating_sub(count);
                } else {
                    e.incoming_v4 = e.incoming_v4.saturating_sub(count);
                }
            }
            match result {
                Ok((v4s, v6s)) => {
                    for ip in v4s {
                        st.add_slot(eni, ip, None, false, SlotState::Idle);
                    }
                    st.add_v6(eni, &v6s);
                    st.pair_spares(eni);
                    self.succeeded(&mut st);
                }
                Err(e) if !journaled => drop(e),
                Err(e) => {
                    tracing::warn!(eni = %eni, error = %e, "assigning addresses failed");
                    let now = Instant::now();
                    let mut exhausted = None;
                    if let Some(x) = st.enis.get_mut(eni) {
                        if e.is_code("InvalidOperation.Ipv4CountExceeded")
                            || e.is_code("InvalidOperation.Ipv6CountExceeded")
                        {
                            x.capacity = x.v4.len() as u32;
                        } else if e.code().is_some_and(is_vswitch_full) {
                            x.no_room_until = Some(now + self.cfg.set_aside());
                            vswitch_full = Some(x.vswitch_id.clone());
                        } else if e.is_capacity() {
                            exhausted = Some(ExhaustedReason::IpQuota);
                        }
                    }
                    self.failed(&mut st, e.class(), e.to_string(), exhausted);
                }
            }
        }
        if let Some(vsw) = vswitch_full {
            self.view.mark_exhausted(&vsw, self.cfg.set_aside()).await;
        }
        if journaled {
            self.settle(&token).await;
        }
    }

    /// Retries a removal (idempotent: "already gone" is success) until it is done, with
    /// backoff; an error retrying cannot fix is returned.
    pub async fn retry_removal<F, Fut>(&self, kind: ApiKind, mut f: F) -> Result<(), Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Removed, Error>>,
    {
        let mut n = 0u32;
        loop {
            n += 1;
            let r = f().await;
            self.metrics.call(kind, r.is_ok());
            match r {
                Ok(_) => return Ok(()),
                Err(e) if e.is_retryable() || e.class() == ErrorClass::Conflict => {
                    tracing::debug!(error = %e, attempt = n, "removal failed; retrying");
                    tokio::time::sleep(backoff(n)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A removal failed for good: hold the addresses back until GC checks them.
    fn removal_failed(&self, eni: &EniId, ips: &[Ipv4Addr], e: &Error) {
        tracing::error!(eni = %eni, error = %e, "giving addresses back failed; quarantined until GC checks them");
        let mut st = self.st();
        let ips: Vec<Ipv4Addr> = if ips.is_empty() {
            st.enis.get(eni).map(|x| x.v4.iter().copied().collect()).unwrap_or_default()
        } else {
            ips.to_vec()
        };
        for ip in ips {
            st.set_state(ip, SlotState::Quarantined { pods: Vec::new(), reason: format!("removal failed: {e}") });
        }
        if st.enis.get(eni).is_some_and(|x| x.phase == EniPhase::Deleting) {
            st.set_phase(eni, EniPhase::Ready);
        }
        st.epoch += 1;
    }

    async fn unassign(&self, eni: EniId, v4: Vec<Ipv4Addr>, v6: Vec<Ipv6Addr>, token: Option<String>) {
        let token = match token {
            Some(t) => t,
            None => {
                let t = new_token();
                let op = IntentOp::Unassign { eni_id: eni.clone(), ipv4: v4.clone(), ipv6: v6.clone() };
                if !self.journal(&Intent::new(&t, op)).await {
                    let mut st = self.st();
                    for ip in &v4 {
                        st.set_state(*ip, SlotState::Idle);
                    }
                    let paired: Vec<Ipv6Addr> =
                        v4.iter().filter_map(|ip| st.slots.get(ip).and_then(|s| s.v6)).collect();
                    if let Some(e) = st.enis.get_mut(&eni) {
                        e.spare_v6.extend(v6.iter().filter(|x| !paired.contains(x)));
                    }
                    return;
                }
                t
            }
        };
        let mut ok4 = true;
        if !v4.is_empty() {
            if let Err(e) = self.retry_removal(ApiKind::UnassignIpv4, || self.cloud.unassign_ipv4(&eni, &v4)).await {
                ok4 = false;
                self.removal_failed(&eni, &v4, &e);
            }
        }
        if !v6.is_empty() {
            if let Err(e) = self.retry_removal(ApiKind::UnassignIpv6, || self.cloud.unassign_ipv6(&eni, &v6)).await {
                // The IPv6 addresses stay on the ENI untracked; GC adopts them back.
                tracing::warn!(eni = %eni, error = %e, "giving IPv6 addresses back failed");
            }
        }
        {
            let mut st = self.st();
            if ok4 {
                for ip in &v4 {
                    st.remove_slot(*ip);
                }
            }
            st.epoch += 1;
        }
        self.settle(&token).await;
    }

    async fn delete(&self, eni: EniId, token: Option<String>) {
        let token = match token {
            Some(t) => t,
            None => {
                let t = new_token();
                if !self.journal(&Intent::new(&t, IntentOp::DeleteEni { eni_id: eni.clone() })).await {
                    let mut st = self.st();
                    let ips: Vec<Ipv4Addr> =
                        st.enis.get(&eni).map(|x| x.v4.iter().copied().collect()).unwrap_or_default();
                    st.set_phase(&eni, EniPhase::Ready);
                    for ip in ips {
                        st.set_state(ip, SlotState::Idle);
                    }
                    return;
                }
                t
            }
        };
        match self.retry_removal(ApiKind::DeleteEni, || self.cloud.detach_and_delete(&eni, self.cfg.waits())).await {
            Ok(()) => {
                let mut st = self.st();
                st.remove_eni(&eni);
                st.epoch += 1;
            }
            Err(e) => self.removal_failed(&eni, &[], &e),
        }
        self.settle(&token).await;
    }
}

/// Adds a described ENI and its addresses to the state, every address in `state`; IPv6
/// addresses pair as `claimed` says first (what the journal recorded), then in order.
pub(crate) fn adopt_eni(
    st: &mut PoolState,
    eni: &EniInfo,
    phase: EniPhase,
    state: SlotState,
    capacity: u32,
    claimed: &dyn Fn(Ipv4Addr) -> Option<Ipv6Addr>,
) {
    let mut e = EniState::new(eni.id.clone(), eni.mac, eni.vswitch_id.clone(), capacity);
    e.device_index = eni.device_index;
    e.phase = phase;
    st.add_eni(e);
    let mut ips = vec![(eni.primary_ip, true)];
    if !st.exclusive {
        ips.extend(eni.secondary_ips.iter().map(|ip| (*ip, false)));
    }
    let mut used = Vec::new();
    for (ip, primary) in ips {
        let v6 = claimed(ip).filter(|v6| eni.ipv6.contains(v6) && !used.contains(v6));
        used.extend(v6);
        st.add_slot(&eni.id, ip, v6, primary, state.clone());
    }
    let rest: Vec<Ipv6Addr> = eni.ipv6.iter().filter(|v6| !used.contains(v6)).copied().collect();
    st.add_v6(&eni.id, &rest);
}

/// The driver: plans whenever it is kicked, a job ends or a backoff passes, and runs the
/// jobs. Dropping it (aborting its task) drops every job with it.
pub(crate) async fn drive(inner: Arc<Inner>, initial: Vec<Job>) {
    let mut tasks = JoinSet::new();
    for job in initial {
        tasks.spawn(inner.clone().run(job));
    }
    loop {
        let (jobs, wake) = inner.plan_round();
        for job in jobs {
            tasks.spawn(inner.clone().run(job));
        }
        let sleep = async {
            match wake {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = inner.kick.notified() => {}
            Some(r) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = r {
                    if e.is_panic() {
                        tracing::error!(error = %e, "a pool job panicked");
                    }
                }
            }
            _ = sleep => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_backoff() {
        let t = new_token();
        assert!(t.len() <= 64 && t.starts_with("ackp-"));
        assert_ne!(t, new_token());
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(30), Duration::from_secs(10));
    }
}
