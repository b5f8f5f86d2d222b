//! Garbage collection: release the addresses of pods that are gone, delete the pool's ENIs
//! that are detached and unused, and resync the pool's addresses with the cloud.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use tokio::time::Instant;

use super::cloud::EniInfo;
use super::error::PoolError;
use super::exec::adopt_eni;
use super::metrics::ApiKind;
use super::policy::EniPhase;
use super::state::{PoolState, SlotState};
use super::store::{Intent, IntentOp, PodRecord};
use super::IpPool;
use crate::{EniId, EniStatus, INTENT_TAG_KEY};

/// What [`IpPool::gc`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcReport {
    /// Pods gone past the grace period whose addresses (or journal records) were released.
    pub released_pods: Vec<String>,
    /// Detached ENIs of the pool deleted.
    pub deleted_enis: Vec<EniId>,
    /// Addresses found on the pool's ENIs that the pool did not know, adopted back.
    pub adopted: u32,
    /// Addresses the pool knew that the cloud no longer has, forgotten.
    pub dropped: u32,
    /// Quarantined addresses found fine and given back to the pool.
    pub healed: u32,
    /// Whether the addresses were compared with the cloud (skipped when a change landed
    /// while the cloud was being read; the next GC does it).
    pub resynced: bool,
}

impl IpPool {
    /// Collects garbage, given the pods alive on the node now:
    ///
    /// - pods the pool knows (holding, releasing, quarantined with, or journaled without a
    ///   cloud address) that are not in `live_pods` for the pod grace period are released;
    /// - the pool's ENI quota is recounted from the ENIs others hold on the instance;
    /// - ENIs with the pool's owner tags that are detached (`Available`) and not part of any
    ///   operation for the ENI grace period are deleted;
    /// - the pool's addresses are compared with the cloud's (one DescribeNetworkInterfaces
    ///   by owner tags): addresses the pool lost track of are adopted back (after the
    ///   cooldown), addresses gone from the cloud are forgotten, quarantined addresses no pod
    ///   claims any more are given back to the pool.
    pub async fn gc<I, S>(&self, live_pods: I) -> Result<GcReport, PoolError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let live: HashSet<String> = live_pods.into_iter().map(|s| s.as_ref().to_owned()).collect();
        let inner = &*self.inner;
        let (pod_grace, eni_grace) = inner.cfg.gc_grace_periods();
        let mut report = GcReport::default();

        let gone: Vec<String> = {
            let mut st = inner.st();
            let now = Instant::now();
            let known = st.known_pods();
            st.gone_since.retain(|p, _| known.contains(p) && !live.contains(p));
            known
                .into_iter()
                .filter(|p| !live.contains(p))
                .filter(|p| now.duration_since(*st.gone_since.entry(p.clone()).or_insert(now)) >= pod_grace)
                .collect()
        };
        for pod in gone {
            self.release(&pod).await?;
            let quarantined_with = {
                let st = inner.st();
                st.slots
                    .values()
                    .any(|s| matches!(&s.state, SlotState::Quarantined { pods, .. } if pods.contains(&pod)))
            };
            if quarantined_with {
                self.forget_stale(&pod).await?;
            }
            inner.st().gone_since.remove(&pod);
            report.released_pods.push(pod);
        }

        // Others may have attached or detached ENIs: the pool's ENI quota follows.
        let r = inner.cloud.instance_enis(inner.cfg.instance_id()).await;
        inner.metrics.call(ApiKind::Describe, r.is_ok());
        let on_instance = r?;
        let owner = |e: &EniInfo| inner.owner_tags.iter().all(|t| e.tag(&t.key) == Some(t.value.as_str()));
        let foreign = super::recover::foreign_enis(&on_instance, &owner);
        {
            let mut st = inner.st();
            st.max_enis = inner.policy.max_enis.min(inner.secondary_adapters.saturating_sub(foreign));
        }

        let epoch = inner.st().epoch;
        let r = inner.cloud.tagged_enis(&inner.owner_tags).await;
        inner.metrics.call(ApiKind::Describe, r.is_ok());
        let ours = r?;
        let orphans = self.resync(&ours, epoch, eni_grace, &mut report);
        for eni in orphans {
            let token = super::exec::new_token();
            inner.store.begin(&Intent::new(&token, IntentOp::DeleteEni { eni_id: eni.clone() })).await?;
            let r = inner
                .retry_removal(ApiKind::DeleteEni, || inner.cloud.detach_and_delete(&eni, inner.cfg.waits()))
                .await;
            inner.store.settle(&token).await?;
            r?;
            let mut st = inner.st();
            st.orphans.remove(&eni);
            report.deleted_enis.push(eni);
        }
        inner.kick.notify_one();
        inner.supply.notify_waiters();
        Ok(report)
    }

    /// Compares the state with the cloud's view of the pool's ENIs; answers the orphans to
    /// delete now.
    fn resync(
        &self,
        ours: &[EniInfo],
        epoch: u64,
        eni_grace: std::time::Duration,
        report: &mut GcReport,
    ) -> Vec<EniId> {
        let inner = &*self.inner;
        let instance = inner.cfg.instance_id();
        let now = Instant::now();
        let mut st = inner.st();
        let quiet = st.epoch == epoch;
        let cooled = || {
            let c = inner.cfg.cooldown_period();
            if c.is_zero() {
                SlotState::Idle
            } else {
                SlotState::Cooling { until: now + c }
            }
        };

        // Orphans: the pool's ENIs that no operation explains.
        let mut orphans = Vec::new();
        let mut seen = HashSet::new();
        for e in ours {
            if st.enis.contains_key(&e.id) || e.tag(INTENT_TAG_KEY).is_some_and(|t| st.create_tokens.contains(t)) {
                continue;
            }
            if e.instance_id.as_ref().is_some_and(|i| i != instance) {
                continue;
            }
            if e.status == EniStatus::Available {
                seen.insert(e.id.clone());
                let since = *st.orphans.entry(e.id.clone()).or_insert(now);
                if now.duration_since(since) >= eni_grace {
                    orphans.push(e.id.clone());
                }
            } else if e.is_in_use_on(instance) && quiet {
                // Attached to this instance, ours, and unknown: a creation the journal lost.
                tracing::warn!(eni = %e.id, "adopting an attached ENI of the pool the state did not know");
                let cap = inner.policy.slots_per_eni;
                let state = cooled();
                adopt_eni(&mut st, e, EniPhase::Ready, state, cap, &|_| None);
                report.adopted += 1 + e.secondary_ips.len() as u32;
            }
        }
        st.orphans.retain(|id, _| seen.contains(id));

        if !quiet {
            return orphans;
        }
        report.resynced = true;
        let ids: Vec<EniId> = st.enis.keys().cloned().collect();
        for id in ids {
            let Some(phase) = st.enis.get(&id).map(|e| e.phase) else { continue };
            if phase != EniPhase::Ready {
                continue;
            }
            match ours.iter().find(|e| e.id == id) {
                Some(e) if e.is_in_use_on(instance) => self.resync_eni(&mut st, e, now, report),
                found => {
                    // Gone, or no longer attached here: forget it; pods on it become stale.
                    tracing::error!(eni = %id, state = ?found.map(|e| &e.status), "an ENI of the pool left the instance");
                    let ips: Vec<Ipv4Addr> =
                        st.enis.get(&id).map(|e| e.v4.iter().copied().collect()).unwrap_or_default();
                    for ip in ips {
                        self.forget_slot(&mut st, ip, report);
                    }
                    st.remove_eni(&id);
                }
            }
        }
        orphans
    }

    fn resync_eni(&self, st: &mut PoolState, e: &EniInfo, now: Instant, report: &mut GcReport) {
        let cooldown = self.inner.cfg.cooldown_period();
        let cooled = || if cooldown.is_zero() { SlotState::Idle } else { SlotState::Cooling { until: now + cooldown } };
        let on_cloud: HashSet<Ipv4Addr> = if st.exclusive {
            std::iter::once(e.primary_ip).collect()
        } else {
            std::iter::once(e.primary_ip).chain(e.secondary_ips.iter().copied()).collect()
        };
        let known: Vec<Ipv4Addr> = st.enis.get(&e.id).map(|x| x.v4.iter().copied().collect()).unwrap_or_default();
        for ip in &known {
            if !on_cloud.contains(ip) {
                self.forget_slot(st, *ip, report);
            }
        }
        for ip in &on_cloud {
            if !known.contains(ip) {
                st.add_slot(&e.id, *ip, None, *ip == e.primary_ip, cooled());
                report.adopted += 1;
            }
        }
        // IPv6: forget what the cloud lost, adopt what the pool lost.
        let v6_cloud: HashSet<Ipv6Addr> = e.ipv6.iter().copied().collect();
        let mut v6_known = HashSet::new();
        let ips: Vec<Ipv4Addr> = st.enis.get(&e.id).map(|x| x.v4.iter().copied().collect()).unwrap_or_default();
        for ip in &ips {
            let lost = st.slots.get(ip).and_then(|s| s.v6).filter(|v6| !v6_cloud.contains(v6));
            if lost.is_some() {
                if let Some(s) = st.slots.get_mut(ip) {
                    s.v6 = None;
                }
                let state = st.slots.get(ip).map(|s| s.state.clone());
                if let Some(state) = state {
                    st.set_state(*ip, state);
                }
                report.dropped += 1;
            }
            v6_known.extend(st.slots.get(ip).and_then(|s| s.v6));
        }
        if let Some(x) = st.enis.get_mut(&e.id) {
            let before = x.spare_v6.len();
            x.spare_v6.retain(|v6| v6_cloud.contains(v6));
            report.dropped += (before - x.spare_v6.len()) as u32;
            v6_known.extend(x.spare_v6.iter().copied());
        }
        let new_v6: Vec<Ipv6Addr> = e.ipv6.iter().filter(|v6| !v6_known.contains(v6)).copied().collect();
        report.adopted += new_v6.len() as u32;
        st.add_v6(&e.id, &new_v6);
        st.pair_spares(&e.id);
        // Quarantined addresses no pod claims (a failed removal): on the cloud, so fine.
        for ip in &ips {
            let heal = matches!(&st.slots.get(ip).map(|s| &s.state), Some(SlotState::Quarantined { pods, .. }) if pods.is_empty());
            if heal {
                st.set_state(*ip, cooled());
                report.healed += 1;
            }
        }
    }

    /// Forgets an address the cloud no longer has; a pod holding it keeps a stale record.
    fn forget_slot(&self, st: &mut PoolState, ip: Ipv4Addr, report: &mut GcReport) {
        let Some(slot) = st.slots.get(&ip).cloned() else { return };
        match &slot.state {
            SlotState::Leaving => return,
            SlotState::InUse { pod, .. } | SlotState::Releasing { pod } => {
                tracing::error!(address = %ip, pod = %pod, "the cloud lost a pod's address");
                st.pods.remove(pod);
                st.stale.insert(pod.clone(), PodRecord::new(pod.clone(), slot.eni.clone(), ip, slot.v6));
            }
            _ => {}
        }
        st.remove_slot(ip);
        st.epoch += 1;
        report.dropped += 1;
    }
}
