//! Starting a pool: rebuild it from the journal, the pod allocations and the cloud.
//!
//! - ENIs are found by the pool's owner tags, never by anything else; one attached to
//!   another instance is left alone.
//! - Interrupted creations are finished: an ENI that carries the tag of an open create
//!   intent is attached (or its attach waited for), and deleted if that fails.
//! - Interrupted deletions and unassignments are finished (an unassignment may still be on
//!   the wire: its addresses are never handed out again).
//! - Addresses on the pool's attached ENIs that no allocation names are adopted back (after
//!   the cooldown); allocations the cloud backs are restored; any address where journal
//!   and cloud disagree is quarantined rather than handed out.
//! - Available ENIs of the pool that no intent explains are orphans: GC deletes them after
//!   its grace period.

use ack_net_core::ErrorInfo;
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use ack_net_vpc::{VSwitchCapacityView, VSwitchSource};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

use super::cloud::{EniInfo, PoolCloud};
use super::config::PoolConfig;
use super::error::PoolError;
use super::exec::{adopt_eni, Inner, CLUSTER_TAG_KEY, OWNER_TAG_KEY};
use super::metrics::{ApiKind, Metrics};
use super::policy::EniPhase;
use super::state::{Job, PoolState, SlotState};
use super::store::{IntentOp, PodRecord, PoolStore};
use crate::{EniId, EniStatus, EniType, Tag, VSwitchId, INTENT_TAG_KEY};

/// Rebuilds the pool; answers its shared state and the jobs that finish interrupted work.
pub(crate) async fn start(
    cfg: PoolConfig,
    cloud: Arc<dyn PoolCloud>,
    source: Arc<dyn VSwitchSource>,
    store: Arc<dyn PoolStore>,
) -> Result<(Arc<Inner>, Vec<Job>), PoolError> {
    cfg.validate()?;
    let metrics = Metrics::default();
    let snapshot = store.load().await?;
    let limits = cloud.instance_limits(cfg.instance_type()).await?;
    let instance = cfg.instance_id().clone();
    let r = cloud.instance_enis(&instance).await;
    metrics.call(ApiKind::Describe, r.is_ok());
    let on_instance = r?;
    let owner_tags = vec![Tag::new(OWNER_TAG_KEY, cfg.pool_id()), Tag::new(CLUSTER_TAG_KEY, cfg.cluster_id())];
    let r = cloud.tagged_enis(&owner_tags).await;
    metrics.call(ApiKind::Describe, r.is_ok());
    let ours: Vec<EniInfo> = r?;
    let is_ours = |e: &EniInfo| ours.iter().any(|o| o.id == e.id);
    let zone = on_instance.iter().find(|e| e.eni_type == EniType::Primary).and_then(|e| e.zone_id.clone());
    let foreign = foreign_enis(&on_instance, &is_ours);

    let mut ids: Vec<VSwitchId> = cfg.vswitch_ids().to_vec();
    for e in &ours {
        if !ids.contains(&e.vswitch_id) {
            ids.push(e.vswitch_id.clone());
        }
    }
    let mut infos = Vec::new();
    for id in &ids {
        match cloud.vswitch(id).await {
            Ok(v) => infos.push(v),
            Err(e) if e.is_not_found() && cfg.vswitch_ids().contains(id) => {
                return Err(PoolError::invalid_config(format!("VSwitch {id} was not found")));
            }
            Err(e) if e.is_not_found() => tracing::warn!(vswitch = %id, "the VSwitch of an ENI of the pool is gone"),
            Err(e) => return Err(e.into()),
        }
    }
    let (policy, usable) = cfg.resolve(&limits, foreign, zone.as_ref(), &infos)?;

    let now = Instant::now();
    let initial = if cfg.cooldown_period().is_zero() {
        SlotState::Idle
    } else {
        // Released before the restart, or not: rest them all once.
        SlotState::Cooling { until: now + cfg.cooldown_period() }
    };
    let mut st = PoolState::new(policy.dual_stack, policy.exclusive, policy.max_enis);
    let mut jobs = Vec::new();
    let mut settle_now: Vec<String> = Vec::new();

    let mut creates: HashMap<String, ()> = HashMap::new();
    let mut deletes: HashMap<EniId, String> = HashMap::new();
    let mut unassigns: Vec<(String, EniId, Vec<Ipv4Addr>, Vec<Ipv6Addr>)> = Vec::new();
    for i in &snapshot.intents {
        match &i.op {
            IntentOp::CreateEni { .. } => {
                creates.insert(i.token.clone(), ());
            }
            IntentOp::DeleteEni { eni_id } => {
                deletes.insert(eni_id.clone(), i.token.clone());
            }
            IntentOp::Unassign { eni_id, ipv4, ipv6 } => {
                unassigns.push((i.token.clone(), eni_id.clone(), ipv4.clone(), ipv6.clone()))
            }
            // Whatever an interrupted assign did is on the ENI: adopted below.
            _ => settle_now.push(i.token.clone()),
        }
    }
    let records: Vec<&PodRecord> = snapshot.allocations.values().collect();
    let claimed: HashSet<Ipv4Addr> = records.iter().map(|r| r.ipv4).collect();
    let claims: HashMap<Ipv4Addr, Ipv6Addr> = records.iter().filter_map(|r| r.ipv6.map(|v6| (r.ipv4, v6))).collect();
    let claim = |ip: Ipv4Addr| claims.get(&ip).copied();
    let cap = policy.slots_per_eni;

    let mut handled_creates = HashSet::new();
    for e in &ours {
        if e.instance_id.as_ref().is_some_and(|i| *i != instance) {
            tracing::warn!(eni = %e.id, instance = ?e.instance_id, "an ENI with the pool's tags is on another instance: left alone");
            continue;
        }
        let holds_pods = std::iter::once(&e.primary_ip).chain(&e.secondary_ips).any(|ip| claimed.contains(ip));
        if let Some(token) = deletes.remove(&e.id) {
            if holds_pods {
                tracing::warn!(eni = %e.id, "an interrupted deletion of an ENI holding pods is dropped");
                settle_now.push(token);
            } else {
                adopt_eni(&mut st, e, EniPhase::Deleting, SlotState::Leaving, cap, &claim);
                jobs.push(Job::Delete { eni: e.id.clone(), token: Some(token) });
                continue;
            }
        }
        let intent = e.tag(INTENT_TAG_KEY).filter(|t| creates.contains_key(*t)).map(str::to_owned);
        let resumes = matches!(e.status, EniStatus::Attaching)
            || (e.status == EniStatus::Available && (intent.is_some() || holds_pods));
        if let (Some(t), true) = (&intent, resumes) {
            // The resumed attach settles it; any other outcome settles it now.
            handled_creates.insert(t.clone());
        }
        match &e.status {
            EniStatus::InUse => adopt_eni(&mut st, e, EniPhase::Ready, initial.clone(), cap, &claim),
            EniStatus::Attaching => {
                adopt_eni(&mut st, e, EniPhase::Attaching, initial.clone(), cap, &claim);
                st.create_tokens.extend(intent.clone());
                let token = intent.unwrap_or_else(super::exec::new_token);
                jobs.push(Job::Resume { eni: e.id.clone(), token });
            }
            EniStatus::Available if intent.is_some() || holds_pods => {
                adopt_eni(&mut st, e, EniPhase::Attaching, initial.clone(), cap, &claim);
                st.create_tokens.extend(intent.clone());
                let token = intent.unwrap_or_else(super::exec::new_token);
                jobs.push(Job::Resume { eni: e.id.clone(), token });
            }
            EniStatus::Available => {
                st.orphans.insert(e.id.clone(), now);
            }
            EniStatus::Detaching if !holds_pods => {
                adopt_eni(&mut st, e, EniPhase::Deleting, SlotState::Leaving, cap, &claim);
                jobs.push(Job::Delete { eni: e.id.clone(), token: None });
            }
            other => {
                tracing::warn!(eni = %e.id, status = %other, "an ENI of the pool in an unexpected state: left alone")
            }
        }
    }
    // Creations that left no ENI behind, deletions of ENIs that are gone.
    settle_now.extend(creates.into_keys().filter(|t| !handled_creates.contains(t)));
    settle_now.extend(deletes.into_values());

    // Pod allocations: restored where the cloud backs them, quarantined where it disagrees.
    for rec in &records {
        let slot = st.slots.get(&rec.ipv4).map(|s| (s.eni.clone(), s.v6, s.state.clone()));
        match slot {
            Some((eni, v6, SlotState::Idle | SlotState::Cooling { .. }))
                if eni == rec.eni_id && (!policy.dual_stack || v6 == rec.ipv6) =>
            {
                st.set_state(rec.ipv4, SlotState::InUse { pod: rec.pod.clone(), journaled: true });
                st.pods.insert(rec.pod.clone(), rec.ipv4);
            }
            Some((_, _, SlotState::InUse { pod: other, .. })) => {
                tracing::error!(address = %rec.ipv4, pods = ?[&other, &rec.pod], "two journaled pods hold one address: quarantined");
                st.pods.remove(&other);
                if let Some(first) = snapshot.allocations.get(&other) {
                    st.stale.insert(other.clone(), first.clone());
                }
                st.stale.insert(rec.pod.clone(), (*rec).clone());
                let reason = "two journaled allocations name it".to_owned();
                st.set_state(rec.ipv4, SlotState::Quarantined { pods: vec![other, rec.pod.clone()], reason });
            }
            Some((_, _, SlotState::Quarantined { mut pods, reason })) => {
                pods.push(rec.pod.clone());
                st.stale.insert(rec.pod.clone(), (*rec).clone());
                st.set_state(rec.ipv4, SlotState::Quarantined { pods, reason });
            }
            Some((eni, _, _)) => {
                tracing::error!(address = %rec.ipv4, pod = %rec.pod, journal = %rec.eni_id, cloud = %eni, "journal and cloud disagree: quarantined");
                st.stale.insert(rec.pod.clone(), (*rec).clone());
                let reason = format!("journaled on {} (IPv6 {:?}), found on {eni}", rec.eni_id, rec.ipv6);
                st.set_state(rec.ipv4, SlotState::Quarantined { pods: vec![rec.pod.clone()], reason });
            }
            None => {
                tracing::error!(address = %rec.ipv4, pod = %rec.pod, "a journaled address is not on the pool's ENIs");
                st.stale.insert(rec.pod.clone(), (*rec).clone());
            }
        }
    }

    // Interrupted unassignments: finished, for what is still there and no pod holds.
    for (token, eni, v4, v6) in unassigns {
        let mut left4 = Vec::new();
        let mut left6 = Vec::new();
        for ip in v4 {
            let Some(s) = st.slots.get(&ip) else { continue };
            if s.eni != eni || s.primary || !matches!(s.state, SlotState::Idle | SlotState::Cooling { .. }) {
                continue;
            }
            left6.extend(s.v6);
            st.set_state(ip, SlotState::Leaving);
            left4.push(ip);
        }
        if let Some(e) = st.enis.get_mut(&eni) {
            for ip in v6 {
                if e.spare_v6.remove(&ip) {
                    left6.push(ip);
                }
            }
        }
        if left4.is_empty() && left6.is_empty() {
            settle_now.push(token);
        } else {
            jobs.push(Job::Unassign { eni, ipv4: left4, ipv6: left6, token: Some(token) });
        }
    }

    for token in settle_now {
        store.settle(&token).await?;
    }

    let (select, ttl) = cfg.selection();
    let view = VSwitchCapacityView::new(source, usable.iter().map(|v| v.vswitch_id.clone()), select).with_ttl(ttl);
    // Counted now, so that the first refill does not wait for them.
    if let Err(e) = view.refresh().await {
        tracing::warn!(error = %e, "cannot count the VSwitches' free addresses yet");
    }
    let vswitches = infos.into_iter().map(|v| (v.vswitch_id.clone(), v)).collect();
    tracing::info!(
        pool = cfg.pool_id(),
        enis = st.enis.len(),
        addresses = st.slots.len(),
        pods = st.pods.len(),
        stale = st.stale.len(),
        orphans = st.orphans.len(),
        resumed = jobs.len(),
        "pool rebuilt"
    );
    let permits = cfg.concurrent_enis();
    let inner = Inner {
        cfg,
        policy,
        cloud,
        store,
        view,
        vswitches: Mutex::new(vswitches),
        owner_tags,
        state: Mutex::new(st),
        kick: Notify::new(),
        supply: Notify::new(),
        metrics,
        eni_permits: Semaphore::new(permits),
        secondary_adapters: limits.secondary_adapters(),
    };
    Ok((Arc::new(inner), jobs))
}

/// ENIs on the instance that take an adapter and are not the pool's.
pub(crate) fn foreign_enis(on_instance: &[EniInfo], is_ours: &dyn Fn(&EniInfo) -> bool) -> u32 {
    on_instance.iter().filter(|e| matches!(e.eni_type, EniType::Secondary | EniType::Trunk) && !is_ours(e)).count()
        as u32
}
