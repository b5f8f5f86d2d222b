//! The pool's in-memory state: its ENIs, every pod address ("slot") and what it is doing.
//! No I/O; every transition keeps the indexes (idle set, counts) exact.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr};

use ack_net_core::ErrorClass;
use tokio::time::Instant;

use super::error::ExhaustedReason;
use super::policy::{Delta, EniPhase, EniView, PoolView};
use super::store::PodRecord;
use crate::{EniId, Mac, VSwitchId};

/// What a pod address is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SlotState {
    /// Ready to hand out.
    Idle,
    /// A pod's; `journaled` once the store has the allocation.
    InUse { pod: String, journaled: bool },
    /// Being released (the store is forgetting the allocation).
    Releasing { pod: String },
    /// Released; reusable from `until`.
    Cooling { until: Instant },
    /// Store and cloud disagree about it: never handed out until resolved.
    Quarantined { pods: Vec<String>, reason: String },
    /// Being given back to the cloud.
    Leaving,
}

impl SlotState {
    fn index(&self) -> usize {
        match self {
            SlotState::Idle => 0,
            SlotState::InUse { .. } => 1,
            SlotState::Releasing { .. } => 2,
            SlotState::Cooling { .. } => 3,
            SlotState::Quarantined { .. } => 4,
            SlotState::Leaving => 5,
        }
    }
}

/// One pod address: an IPv4 address (and its IPv6 pair) on an ENI.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub eni: EniId,
    pub v6: Option<Ipv6Addr>,
    pub primary: bool,
    pub state: SlotState,
}

/// One ENI of the pool.
#[derive(Clone, Debug)]
pub(crate) struct EniState {
    pub id: EniId,
    pub mac: Mac,
    pub device_index: Option<u32>,
    pub vswitch_id: VSwitchId,
    pub phase: EniPhase,
    pub v4: BTreeSet<Ipv4Addr>,
    pub spare_v6: BTreeSet<Ipv6Addr>,
    pub incoming_v4: u32,
    pub incoming_v6: u32,
    pub capacity: u32,
    pub no_room_until: Option<Instant>,
}

impl EniState {
    pub fn new(id: EniId, mac: Mac, vswitch_id: VSwitchId, capacity: u32) -> Self {
        Self {
            id,
            mac,
            device_index: None,
            vswitch_id,
            phase: EniPhase::Attaching,
            v4: BTreeSet::new(),
            spare_v6: BTreeSet::new(),
            incoming_v4: 0,
            incoming_v6: 0,
            capacity,
            no_room_until: None,
        }
    }
}

/// A started change, as the executor carries it out.
#[derive(Clone, Debug)]
pub(crate) enum Job {
    /// A new ENI; `job` keys it in `creating`.
    Create {
        job: String,
        secondary_ipv4: u32,
        ipv6: u32,
    },
    /// Finish attaching an ENI an interrupted run created (settles `token`).
    Resume {
        eni: EniId,
        token: String,
    },
    Assign {
        eni: EniId,
        ipv4: u32,
        ipv6: u32,
    },
    /// Give addresses back; `token` is an interrupted run's intent to finish.
    Unassign {
        eni: EniId,
        ipv4: Vec<Ipv4Addr>,
        ipv6: Vec<Ipv6Addr>,
        token: Option<String>,
    },
    /// Detach and delete; `token` is an interrupted run's intent to finish.
    Delete {
        eni: EniId,
        token: Option<String>,
    },
}

/// The pool's state.
#[derive(Debug)]
pub(crate) struct PoolState {
    pub dual: bool,
    pub exclusive: bool,
    pub enis: BTreeMap<EniId, EniState>,
    pub slots: HashMap<Ipv4Addr, Slot>,
    idle: BTreeSet<Ipv4Addr>,
    cooling: VecDeque<(Instant, Ipv4Addr)>,
    counts: [u32; 6],
    /// Pod -> its address.
    pub pods: HashMap<String, Ipv4Addr>,
    /// Journaled allocations the cloud does not back (kept until the pod is gone).
    pub stale: HashMap<String, PodRecord>,
    /// ENIs being created: job id -> addresses.
    pub creating: HashMap<String, u32>,
    /// The ClientTokens (intent tags) of creations in flight.
    pub create_tokens: HashSet<String>,
    pub waiting: u32,
    /// Set when the cloud said a quota or the VSwitches are exhausted.
    pub exhausted: Option<ExhaustedReason>,
    /// Set when the policy cannot plan what is wanted within the quotas.
    pub shortfall: Option<ExhaustedReason>,
    pub last_error: Option<(ErrorClass, String)>,
    /// Bumped whenever a cloud change lands (GC resyncs only across a quiet period).
    pub epoch: u64,
    /// ENIs the pool may hold (lowered when the cloud says the instance is full).
    pub max_enis: u32,
    pub failures: u32,
    pub growth_blocked_until: Option<Instant>,
    pub gone_since: HashMap<String, Instant>,
    pub orphans: HashMap<EniId, Instant>,
}

impl PoolState {
    pub fn new(dual: bool, exclusive: bool, max_enis: u32) -> Self {
        Self {
            dual,
            exclusive,
            enis: BTreeMap::new(),
            slots: HashMap::new(),
            idle: BTreeSet::new(),
            cooling: VecDeque::new(),
            counts: [0; 6],
            pods: HashMap::new(),
            stale: HashMap::new(),
            creating: HashMap::new(),
            create_tokens: HashSet::new(),
            waiting: 0,
            exhausted: None,
            shortfall: None,
            last_error: None,
            epoch: 0,
            max_enis,
            failures: 0,
            growth_blocked_until: None,
            gone_since: HashMap::new(),
            orphans: HashMap::new(),
        }
    }

    fn allocatable(&self, ip: &Ipv4Addr) -> bool {
        let Some(s) = self.slots.get(ip) else { return false };
        s.state == SlotState::Idle
            && (!self.dual || s.v6.is_some())
            && self.enis.get(&s.eni).is_some_and(|e| e.phase == EniPhase::Ready)
    }

    fn refresh(&mut self, ip: Ipv4Addr) {
        if self.allocatable(&ip) {
            self.idle.insert(ip);
        } else {
            self.idle.remove(&ip);
        }
    }

    /// Sets a slot's state, keeping the indexes exact.
    pub fn set_state(&mut self, ip: Ipv4Addr, state: SlotState) {
        let Some(s) = self.slots.get_mut(&ip) else { return };
        self.counts[s.state.index()] -= 1;
        self.counts[state.index()] += 1;
        if let SlotState::Cooling { until } = &state {
            self.cooling.push_back((*until, ip));
        }
        s.state = state;
        self.refresh(ip);
    }

    /// Adds an ENI (its slots come with [`PoolState::add_slot`]).
    pub fn add_eni(&mut self, eni: EniState) {
        self.enis.insert(eni.id.clone(), eni);
    }

    /// Adds a pod address. An address a stale journal record names is quarantined.
    pub fn add_slot(&mut self, eni: &EniId, ip: Ipv4Addr, v6: Option<Ipv6Addr>, primary: bool, state: SlotState) {
        if self.slots.contains_key(&ip) {
            return;
        }
        let Some(e) = self.enis.get_mut(eni) else { return };
        e.v4.insert(ip);
        let claimed: Vec<String> = self.stale.values().filter(|r| r.ipv4 == ip).map(|r| r.pod.clone()).collect();
        let state = if claimed.is_empty() || !matches!(state, SlotState::Idle | SlotState::Cooling { .. }) {
            state
        } else {
            SlotState::Quarantined { pods: claimed, reason: "a journaled allocation names it on another ENI".into() }
        };
        self.counts[state.index()] += 1;
        if let SlotState::Cooling { until } = &state {
            self.cooling.push_back((*until, ip));
        }
        self.slots.insert(ip, Slot { eni: eni.clone(), v6, primary, state });
        self.refresh(ip);
    }

    /// Adds IPv6 addresses to an ENI: each pairs with an address that lacks one, or waits
    /// as a spare.
    pub fn add_v6(&mut self, eni: &EniId, ips: &[Ipv6Addr]) {
        let Some(e) = self.enis.get(eni) else { return };
        let known: BTreeSet<Ipv6Addr> = e.v4.iter().filter_map(|a| self.slots.get(a).and_then(|s| s.v6)).collect();
        let mut lacking: Vec<Ipv4Addr> =
            e.v4.iter()
                .filter(|a| self.slots.get(a).is_some_and(|s| s.v6.is_none() && s.state != SlotState::Leaving))
                .copied()
                .collect();
        lacking.reverse();
        for ip6 in ips {
            if known.contains(ip6) || self.enis.get(eni).is_some_and(|e| e.spare_v6.contains(ip6)) {
                continue;
            }
            match lacking.pop() {
                Some(ip4) => {
                    if let Some(s) = self.slots.get_mut(&ip4) {
                        s.v6 = Some(*ip6);
                    }
                    self.refresh(ip4);
                }
                None => {
                    if let Some(e) = self.enis.get_mut(eni) {
                        e.spare_v6.insert(*ip6);
                    }
                }
            }
        }
        // Spares pair with addresses that arrived before them.
        while let Some(ip4) = lacking.pop() {
            let spare = self.enis.get_mut(eni).and_then(|e| e.spare_v6.pop_first());
            let Some(ip6) = spare else { break };
            if let Some(s) = self.slots.get_mut(&ip4) {
                s.v6 = Some(ip6);
            }
            self.refresh(ip4);
        }
    }

    /// Pairs spare IPv6 addresses with IPv4 addresses that lack one.
    pub fn pair_spares(&mut self, eni: &EniId) {
        self.add_v6(eni, &[]);
    }

    /// Forgets a pod address.
    pub fn remove_slot(&mut self, ip: Ipv4Addr) -> Option<Slot> {
        let s = self.slots.remove(&ip)?;
        self.counts[s.state.index()] -= 1;
        self.idle.remove(&ip);
        if let Some(e) = self.enis.get_mut(&s.eni) {
            e.v4.remove(&ip);
        }
        Some(s)
    }

    /// Forgets an ENI and its addresses.
    pub fn remove_eni(&mut self, eni: &EniId) -> Option<EniState> {
        let ips: Vec<Ipv4Addr> = self.enis.get(eni)?.v4.iter().copied().collect();
        for ip in ips {
            self.remove_slot(ip);
        }
        self.enis.remove(eni)
    }

    /// Moves an ENI to another phase.
    pub fn set_phase(&mut self, eni: &EniId, phase: EniPhase) {
        let Some(e) = self.enis.get_mut(eni) else { return };
        e.phase = phase;
        let ips: Vec<Ipv4Addr> = e.v4.iter().copied().collect();
        for ip in ips {
            self.refresh(ip);
        }
    }

    /// Makes addresses whose cooldown has passed idle.
    pub fn promote(&mut self, now: Instant) {
        while let Some((until, ip)) = self.cooling.front().copied() {
            if until > now {
                break;
            }
            self.cooling.pop_front();
            if self.slots.get(&ip).is_some_and(|s| s.state == SlotState::Cooling { until }) {
                self.set_state(ip, SlotState::Idle);
            }
        }
    }

    /// When the next cooling address becomes idle.
    pub fn next_cooling(&self) -> Option<Instant> {
        self.cooling
            .iter()
            .find(|(u, ip)| self.slots.get(ip).is_some_and(|s| s.state == SlotState::Cooling { until: *u }))
            .map(|(u, _)| *u)
    }

    /// An idle address, if any (the lowest).
    pub fn first_idle(&self) -> Option<Ipv4Addr> {
        self.idle.first().copied()
    }

    /// Idle addresses.
    pub fn idle_count(&self) -> u32 {
        self.idle.len() as u32
    }

    /// Addresses in a state: idle-state (not all allocatable), in use, releasing, cooling,
    /// quarantined, leaving.
    pub fn count(&self, state_index: usize) -> u32 {
        self.counts[state_index]
    }

    pub const IN_USE: usize = 1;
    pub const RELEASING: usize = 2;
    pub const COOLING: usize = 3;
    pub const QUARANTINED: usize = 4;
    pub const LEAVING: usize = 5;

    /// Addresses on their way: being assigned, on ENIs being created or attached, or
    /// waiting for their IPv6.
    pub fn coming(&self) -> u32 {
        let mut n: u32 = self.creating.values().sum();
        for e in self.enis.values() {
            match e.phase {
                EniPhase::Ready => n += e.incoming_v4,
                EniPhase::Attaching => n += e.v4.len() as u32 + e.incoming_v4,
                EniPhase::Deleting => {}
            }
        }
        if self.dual {
            n += self.slots.values().filter(|s| s.v6.is_none() && s.state == SlotState::Idle).count() as u32;
        }
        n
    }

    /// The pool as the policy sees it at `now`.
    pub fn view(&self, now: Instant) -> PoolView {
        let mut v = PoolView {
            waiting: self.waiting,
            cooling: self.counts[Self::COOLING],
            quarantined: self.counts[Self::QUARANTINED],
            creating: self.creating.values().copied().collect(),
            ..PoolView::default()
        };
        for e in self.enis.values() {
            let mut ev = EniView::new(e.id.clone(), e.phase, e.capacity, e.v4.len() as u32);
            ev.incoming_v4 = e.incoming_v4;
            ev.incoming_v6 = e.incoming_v6;
            ev.spare_v6 = e.spare_v6.iter().copied().collect();
            ev.no_room = e.no_room_until.is_some_and(|t| now < t);
            for ip in &e.v4 {
                let Some(s) = self.slots.get(ip) else { continue };
                match s.state {
                    SlotState::Idle if self.dual && s.v6.is_none() => ev.incomplete += 1,
                    SlotState::Idle if s.primary => ev.idle_primary = true,
                    SlotState::Idle => ev.idle.push((*ip, s.v6)),
                    _ => ev.busy += 1,
                }
            }
            v.enis.push(ev);
        }
        v
    }

    /// Marks a planned change as started and turns it into a job.
    pub fn begin(&mut self, delta: Delta, token: impl FnOnce() -> String) -> Option<Job> {
        match delta {
            Delta::CreateEni { secondary_ipv4, ipv6 } => {
                let job = token();
                let slots = if self.exclusive { 1 } else { secondary_ipv4 + 1 };
                self.creating.insert(job.clone(), slots);
                Some(Job::Create { job, secondary_ipv4, ipv6 })
            }
            Delta::Assign { eni, ipv4, ipv6 } => {
                let e = self.enis.get_mut(&eni)?;
                e.incoming_v4 += ipv4;
                e.incoming_v6 += ipv6;
                Some(Job::Assign { eni, ipv4, ipv6 })
            }
            Delta::Unassign { eni, ipv4, ipv6 } => {
                let mut v4 = Vec::new();
                let mut v6 = Vec::new();
                for ip in ipv4 {
                    let Some(s) = self.slots.get(&ip) else { continue };
                    if s.state != SlotState::Idle || s.eni != eni || s.primary {
                        continue;
                    }
                    v6.extend(s.v6);
                    self.set_state(ip, SlotState::Leaving);
                    v4.push(ip);
                }
                if let Some(e) = self.enis.get_mut(&eni) {
                    for ip in ipv6 {
                        if e.spare_v6.remove(&ip) {
                            v6.push(ip);
                        }
                    }
                }
                (!v4.is_empty() || !v6.is_empty()).then_some(Job::Unassign { eni, ipv4: v4, ipv6: v6, token: None })
            }
            Delta::DeleteEni { eni } => {
                let e = self.enis.get(&eni)?;
                let ips: Vec<Ipv4Addr> = e.v4.iter().copied().collect();
                if ips.iter().any(|ip| self.slots.get(ip).is_some_and(|s| s.state != SlotState::Idle)) {
                    return None;
                }
                for ip in ips {
                    self.set_state(ip, SlotState::Leaving);
                }
                self.set_phase(&eni, EniPhase::Deleting);
                Some(Job::Delete { eni, token: None })
            }
        }
    }

    /// Every pod the pool knows of: holding, releasing, quarantined with, or stale.
    pub fn known_pods(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.pods.keys().cloned().collect();
        out.extend(self.stale.keys().cloned());
        for s in self.slots.values() {
            match &s.state {
                SlotState::Releasing { pod } => {
                    out.insert(pod.clone());
                }
                SlotState::Quarantined { pods, .. } => out.extend(pods.iter().cloned()),
                _ => {}
            }
        }
        out
    }

    /// The slot a pod is releasing, if a release was interrupted.
    pub fn releasing_slot(&self, pod: &str) -> Option<Ipv4Addr> {
        self.slots
            .iter()
            .find(|(_, s)| matches!(&s.state, SlotState::Releasing { pod: p } if p == pod))
            .map(|(ip, _)| *ip)
    }

    /// Checks the indexes against the slots (tests).
    #[cfg(test)]
    pub fn check(&self) {
        let mut counts = [0u32; 6];
        for (ip, s) in &self.slots {
            counts[s.state.index()] += 1;
            assert_eq!(self.idle.contains(ip), self.allocatable(ip), "{ip}");
            assert!(self.enis.get(&s.eni).is_some_and(|e| e.v4.contains(ip)), "{ip}");
        }
        assert_eq!(counts, self.counts);
        for (pod, ip) in &self.pods {
            assert!(matches!(&self.slots[ip].state, SlotState::InUse { pod: p, .. } if p == pod), "{pod}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, n)
    }

    fn state(dual: bool) -> (PoolState, EniId) {
        let mut st = PoolState::new(dual, false, 3);
        let id: EniId = "eni-1".parse().unwrap();
        let e = EniState::new(id.clone(), Mac::new([0, 0x16, 0x3e, 0, 0, 1]), "vsw-1".parse().unwrap(), 10);
        st.add_eni(e);
        st.add_slot(&id, ip(1), None, true, SlotState::Idle);
        st.add_slot(&id, ip(2), None, false, SlotState::Idle);
        (st, id)
    }

    #[test]
    fn idle_index_follows_phase_state_and_pairs() {
        let (mut st, id) = state(true);
        assert_eq!(st.idle_count(), 0, "attaching, and no IPv6 yet");
        st.set_phase(&id, EniPhase::Ready);
        assert_eq!(st.idle_count(), 0);
        assert_eq!(st.coming(), 2, "two addresses wait for their IPv6");
        st.add_v6(&id, &["2408::1".parse().unwrap()]);
        assert_eq!(st.idle_count(), 1);
        st.add_v6(&id, &["2408::2".parse().unwrap(), "2408::3".parse().unwrap(), "2408::1".parse().unwrap()]);
        assert_eq!(st.idle_count(), 2);
        assert_eq!(st.enis[&id].spare_v6.len(), 1, "one spare, the repeat ignored");
        st.add_slot(&id, ip(3), None, false, SlotState::Idle);
        st.pair_spares(&id);
        assert_eq!(st.idle_count(), 3);
        st.check();
    }

    #[test]
    fn cooling_promotes_in_order_and_begin_marks_work() {
        let (mut st, id) = state(false);
        st.set_phase(&id, EniPhase::Ready);
        let t0 = Instant::now();
        st.set_state(ip(2), SlotState::Cooling { until: t0 + Duration::from_secs(5) });
        assert_eq!(st.idle_count(), 1);
        assert_eq!(st.next_cooling(), Some(t0 + Duration::from_secs(5)));
        st.promote(t0 + Duration::from_secs(4));
        assert_eq!(st.count(PoolState::COOLING), 1);
        st.promote(t0 + Duration::from_secs(5));
        assert_eq!(st.idle_count(), 2);
        assert_eq!(st.next_cooling(), None);
        let job = st.begin(Delta::Unassign { eni: id.clone(), ipv4: vec![ip(1), ip(2)], ipv6: vec![] }, String::new);
        assert!(matches!(job, Some(Job::Unassign { ipv4, .. }) if ipv4 == vec![ip(2)]), "never the primary");
        assert_eq!(st.count(PoolState::LEAVING), 1);
        assert!(st.begin(Delta::DeleteEni { eni: id.clone() }, String::new).is_none(), "an address is leaving");
        let v = st.view(t0);
        assert_eq!((v.enis[0].busy, v.enis[0].idle_primary), (1, true));
        st.remove_slot(ip(2));
        assert!(matches!(st.begin(Delta::DeleteEni { eni: id.clone() }, String::new), Some(Job::Delete { .. })));
        assert_eq!(st.idle_count(), 0);
        st.remove_eni(&id);
        assert!(st.slots.is_empty() && st.enis.is_empty());
        st.check();
    }

    #[test]
    fn stale_records_quarantine_the_address() {
        let (mut st, id) = state(false);
        st.stale.insert("ns/old".into(), PodRecord::new("ns/old", "eni-9".parse().unwrap(), ip(7), None));
        st.add_slot(&id, ip(7), None, false, SlotState::Idle);
        assert!(matches!(&st.slots[&ip(7)].state, SlotState::Quarantined { pods, .. } if pods == &["ns/old"]));
        assert!(st.known_pods().contains("ns/old"));
        st.check();
    }
}
