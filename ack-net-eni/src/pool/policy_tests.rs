//! Unit and property tests of the pure policy.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;

fn eni(n: u32) -> EniId {
    EniId::new(format!("eni-{n:04}")).unwrap()
}

fn v4(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 + n)
}

fn v6(n: u32) -> Ipv6Addr {
    Ipv6Addr::from(0x2408_0000_0000_0000_0000_0000_0000_0000u128 + u128::from(n))
}

fn cfg(max_enis: u32, slots: u32, min_idle: u32, max_idle: u32) -> PolicyConfig {
    let mut c = PolicyConfig::new(max_enis, slots);
    c.min_idle = min_idle;
    c.max_idle = max_idle;
    c
}

/// A simulated pool that applies deltas at once.
#[derive(Clone, Debug)]
struct Sim {
    enis: Vec<SimEni>,
    waiting: u32,
    next: u32,
}

#[derive(Clone, Debug)]
struct SimEni {
    id: EniId,
    capacity: u32,
    idle_primary: bool,
    /// Idle secondary addresses.
    idle: Vec<(Ipv4Addr, Option<Ipv6Addr>)>,
    in_use: u32,
    cooling: u32,
}

impl SimEni {
    fn slots(&self) -> u32 {
        self.idle.len() as u32 + u32::from(self.idle_primary) + self.in_use + self.cooling
    }
}

impl Sim {
    fn view(&self) -> PoolView {
        let mut v = PoolView { waiting: self.waiting, ..PoolView::default() };
        for e in &self.enis {
            let mut ev = EniView::new(e.id.clone(), EniPhase::Ready, e.capacity, e.slots());
            ev.idle = e.idle.clone();
            ev.idle_primary = e.idle_primary;
            ev.busy = e.in_use + e.cooling;
            v.cooling += e.cooling;
            v.enis.push(ev);
        }
        v
    }

    fn addr(&mut self, dual: bool) -> (Ipv4Addr, Option<Ipv6Addr>) {
        self.next += 1;
        (v4(self.next), dual.then(|| v6(self.next)))
    }

    /// Waiters take idle addresses.
    fn serve(&mut self) {
        for e in &mut self.enis {
            while self.waiting > 0 && (e.idle_primary || !e.idle.is_empty()) {
                if e.idle_primary {
                    e.idle_primary = false;
                } else {
                    e.idle.pop();
                }
                e.in_use += 1;
                self.waiting -= 1;
            }
        }
    }

    fn apply(&mut self, plan: &Plan, c: &PolicyConfig) {
        for d in &plan.deltas {
            match d {
                Delta::CreateEni { secondary_ipv4, .. } => {
                    self.next += 1;
                    let id = eni(10_000 + self.next);
                    let mut e = SimEni {
                        id,
                        capacity: c.slots_per_eni,
                        idle_primary: true,
                        idle: Vec::new(),
                        in_use: 0,
                        cooling: 0,
                    };
                    for _ in 0..*secondary_ipv4 {
                        e.idle.push(self.addr(c.dual_stack));
                    }
                    self.enis.push(e);
                }
                Delta::Assign { eni, ipv4, .. } => {
                    let addrs: Vec<_> = (0..*ipv4).map(|_| self.addr(c.dual_stack)).collect();
                    let e = self.enis.iter_mut().find(|e| &e.id == eni).expect("assign to a known ENI");
                    e.idle.extend(addrs);
                }
                Delta::Unassign { eni, ipv4, .. } => {
                    let e = self.enis.iter_mut().find(|e| &e.id == eni).expect("unassign on a known ENI");
                    e.idle.retain(|(a, _)| !ipv4.contains(a));
                }
                Delta::DeleteEni { eni } => self.enis.retain(|e| &e.id != eni),
            }
        }
        self.serve();
    }

    fn idle(&self) -> u32 {
        self.enis.iter().map(|e| e.idle.len() as u32 + u32::from(e.idle_primary)).sum()
    }

    fn cooling(&self) -> u32 {
        self.enis.iter().map(|e| e.cooling).sum()
    }

    fn busy(&self) -> u32 {
        self.enis.iter().map(|e| e.in_use + e.cooling).sum()
    }
}

#[test]
fn cold_burst_creates_three_enis_at_once_then_fills_them() {
    let c = cfg(3, 20, 0, 60);
    let mut sim = Sim { enis: Vec::new(), waiting: 60, next: 0 };
    let p = plan(&sim.view(), &c);
    assert_eq!(p.deltas, vec![Delta::CreateEni { secondary_ipv4: 10, ipv6: 0 }; 3]);
    assert_eq!(p.shortfall, 0);
    sim.apply(&p, &c);
    assert_eq!(sim.waiting, 27);
    let p = plan(&sim.view(), &c);
    let assigned: Vec<u32> = p
        .deltas
        .iter()
        .map(|d| match d {
            Delta::Assign { ipv4, ipv6: 0, .. } => *ipv4,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(assigned, vec![9, 9, 9], "one assign per ENI, each within 10");
    sim.apply(&p, &c);
    assert_eq!(sim.waiting, 0);
    assert!(plan(&sim.view(), &c).is_empty());
}

#[test]
fn coming_addresses_are_not_asked_twice() {
    let c = cfg(3, 20, 5, 10);
    let mut v = PoolView { creating: vec![6], ..PoolView::default() };
    assert!(plan(&v, &c).is_empty(), "the ENI being created brings 6 >= 5");
    v.waiting = 3;
    // 3 waiters + 5 idle wanted = 8 > 6 coming, but the new ENI will have room for 14 more.
    assert!(plan(&v, &c).is_empty());
    let mut e = EniView::new(eni(1), EniPhase::Ready, 20, 6);
    e.incoming_v4 = 4;
    e.busy = 6;
    let v = PoolView { enis: vec![e], ..PoolView::default() };
    // 4 are coming, min_idle is 5: one more is needed, not five; the call's batch is
    // filled up to max_idle (4 + 6 = 10).
    assert_eq!(plan(&v, &c).deltas, vec![Delta::Assign { eni: eni(1), ipv4: 6, ipv6: 0 }]);
    let tight = cfg(3, 20, 5, 5);
    assert_eq!(plan(&v, &tight).deltas, vec![Delta::Assign { eni: eni(1), ipv4: 1, ipv6: 0 }]);
}

#[test]
fn quotas_bound_growth() {
    let mut c = cfg(2, 10, 0, 0);
    c.max_pods = 15;
    let v = PoolView { waiting: 30, ..PoolView::default() };
    let p = plan(&v, &c);
    assert_eq!(
        p.deltas,
        vec![Delta::CreateEni { secondary_ipv4: 9, ipv6: 0 }, Delta::CreateEni { secondary_ipv4: 4, ipv6: 0 }]
    );
    assert_eq!(p.shortfall, 15);
    assert!(!p.eni_bound, "max_pods binds first");
    c.max_pods = 100;
    let p = plan(&v, &c);
    assert_eq!(p.shortfall, 10);
    assert!(p.eni_bound);
}

#[test]
fn shrinks_whole_enis_first_then_in_batches() {
    let c = cfg(3, 20, 2, 4);
    let mut idle_eni = EniView::new(eni(1), EniPhase::Ready, 20, 3);
    idle_eni.idle = vec![(v4(1), None), (v4(2), None)];
    idle_eni.idle_primary = true;
    let mut busy_eni = EniView::new(eni(2), EniPhase::Ready, 20, 20);
    busy_eni.busy = 2;
    busy_eni.idle = (10..27).map(|n| (v4(n), None)).collect();
    busy_eni.idle_primary = true;
    let v = PoolView { enis: vec![idle_eni, busy_eni], ..PoolView::default() };
    // 21 idle, max 4: give back 17: the idle ENI (3), then 14 secondaries of the other.
    let p = plan(&v, &c);
    assert_eq!(p.deltas[0], Delta::DeleteEni { eni: eni(1) });
    let sizes: Vec<usize> = p.deltas[1..]
        .iter()
        .map(|d| match d {
            Delta::Unassign { eni: e, ipv4, .. } if *e == eni(2) => ipv4.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sizes, vec![10, 4]);
}

#[test]
fn exclusive_mode_is_one_eni_per_address() {
    let mut c = cfg(3, 1, 1, 1);
    c.exclusive = true;
    c.create_slots = 1;
    c.dual_stack = true;
    let v = PoolView { waiting: 2, ..PoolView::default() };
    let p = plan(&v, &c);
    assert_eq!(p.deltas, vec![Delta::CreateEni { secondary_ipv4: 0, ipv6: 1 }; 3]);
    let idle = |n| {
        let mut e = EniView::new(eni(n), EniPhase::Ready, 1, 1);
        e.idle_primary = true;
        e
    };
    let v = PoolView { enis: vec![idle(1), idle(2), idle(3)], ..PoolView::default() };
    let p = plan(&v, &c);
    assert_eq!(p.deltas, vec![Delta::DeleteEni { eni: eni(1) }, Delta::DeleteEni { eni: eni(2) }]);
}

#[test]
fn dual_stack_completes_pairs_and_returns_spare_ipv6() {
    let mut c = cfg(2, 10, 0, 10);
    c.dual_stack = true;
    let mut e = EniView::new(eni(1), EniPhase::Ready, 10, 4);
    e.incomplete = 3;
    e.spare_v6 = vec![v6(1)];
    let v = PoolView { enis: vec![e.clone()], ..PoolView::default() };
    assert_eq!(plan(&v, &c).deltas, vec![Delta::Assign { eni: eni(1), ipv4: 0, ipv6: 2 }]);
    e.incomplete = 0;
    e.idle = vec![(v4(1), Some(v6(2)))];
    e.spare_v6 = vec![v6(1), v6(3)];
    let v = PoolView { enis: vec![e], ..PoolView::default() };
    assert_eq!(plan(&v, &c).deltas, vec![Delta::Unassign { eni: eni(1), ipv4: vec![], ipv6: vec![v6(1), v6(3)] }]);
}

#[test]
fn nothing_moves_while_things_are_in_flight_or_deleting() {
    let c = cfg(2, 10, 0, 0);
    let mut e = EniView::new(eni(1), EniPhase::Ready, 10, 5);
    e.idle = (1..5).map(|n| (v4(n), None)).collect();
    e.idle_primary = true;
    e.incoming_v4 = 2;
    let v = PoolView { enis: vec![e.clone()], ..PoolView::default() };
    assert!(plan(&v, &c).is_empty(), "no shrink while an assign is in flight");
    e.incoming_v4 = 0;
    e.phase = EniPhase::Deleting;
    let v = PoolView { enis: vec![e], ..PoolView::default() };
    assert!(plan(&v, &c).is_empty());
}

#[derive(Clone, Debug)]
struct Case {
    cfg: PolicyConfig,
    sim: Sim,
}

fn case() -> impl Strategy<Value = Case> {
    (1u32..5, 1u32..21, any::<bool>(), any::<bool>(), 0u32..12, 0u32..12, 0u32..40)
        .prop_flat_map(|(max_enis, slots, exclusive, dual, min_idle, extra, waiting)| {
            let slots = if exclusive { 1 } else { slots };
            let enis = proptest::collection::vec((0..=slots, 0..=slots, 0..=slots), 0..=max_enis as usize);
            (Just((max_enis, slots, exclusive, dual, min_idle, extra, waiting)), enis, 0u32..=max_enis * slots)
        })
        .prop_map(|((max_enis, slots, exclusive, dual, min_idle, extra, waiting), enis, pods_cut)| {
            let mut c = cfg(max_enis, slots, min_idle, min_idle + extra);
            c.exclusive = exclusive;
            c.dual_stack = dual;
            c.create_slots = if exclusive {
                1
            } else if dual {
                slots.min(10)
            } else {
                slots.min(11)
            };
            c.max_pods = (max_enis * slots).saturating_sub(pods_cut).max(1);
            let mut sim = Sim { enis: Vec::new(), waiting: 0, next: 0 };
            let mut in_use_total = 0;
            for (i, (total, in_use, cooling)) in enis.into_iter().enumerate() {
                let total = total.max(1);
                let in_use = in_use.min(total).min(c.max_pods - in_use_total);
                in_use_total += in_use;
                let cooling = cooling.min(total - in_use);
                let idle = total - in_use - cooling;
                let idle_primary = in_use + cooling == 0;
                let mut e =
                    SimEni { id: eni(i as u32), capacity: slots, idle_primary, idle: Vec::new(), in_use, cooling };
                for _ in 0..idle - u32::from(idle_primary) {
                    e.idle.push(sim.addr(dual));
                }
                sim.enis.push(e);
            }
            sim.waiting = waiting.min(c.max_pods - in_use_total);
            Case { cfg: c, sim }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Never beyond a quota, never more than 10 per call, never an address that is not idle.
    #[test]
    fn plans_stay_within_quotas_and_touch_only_idle_addresses(case in case()) {
        let c = &case.cfg;
        let view = case.sim.view();
        let p = plan(&view, c);
        let total_before: u32 = view.enis.iter().map(|e| e.slots).sum();
        let mut added = 0u32;
        let mut creates = 0u32;
        let mut removed = BTreeSet::new();
        for d in &p.deltas {
            match d {
                Delta::CreateEni { secondary_ipv4, ipv6 } => {
                    creates += 1;
                    prop_assert!(*secondary_ipv4 <= 10 && *ipv6 <= 10);
                    prop_assert!(*secondary_ipv4 < c.create_slots);
                    if c.exclusive { prop_assert_eq!(*secondary_ipv4, 0); }
                    prop_assert_eq!(*ipv6, if c.dual_stack { secondary_ipv4 + 1 } else { 0 });
                    added += secondary_ipv4 + 1;
                }
                Delta::Assign { eni, ipv4, ipv6 } => {
                    prop_assert!(*ipv4 <= c.per_call && *ipv6 <= c.per_call && ipv4 + ipv6 > 0);
                    let e = view.enis.iter().find(|e| &e.id == eni).unwrap();
                    prop_assert_eq!(e.phase, EniPhase::Ready);
                    added += ipv4;
                    let to_this: u32 = p.deltas.iter().map(|d| match d {
                        Delta::Assign { eni: x, ipv4, .. } if x == eni => *ipv4,
                        _ => 0,
                    }).sum();
                    prop_assert!(e.slots + to_this <= e.capacity, "ENI over its quota");
                }
                Delta::Unassign { eni, ipv4, .. } => {
                    prop_assert!(ipv4.len() as u32 <= c.per_call);
                    let e = view.enis.iter().find(|e| &e.id == eni).unwrap();
                    for a in ipv4 {
                        prop_assert!(e.idle.iter().any(|(x, _)| x == a), "{} is not idle", a.to_string());
                        prop_assert!(removed.insert(*a), "{} removed twice", a.to_string());
                    }
                }
                Delta::DeleteEni { eni } => {
                    let e = view.enis.iter().find(|e| &e.id == eni).unwrap();
                    prop_assert_eq!(e.busy, 0, "deleting an ENI with busy addresses");
                    let also_unassigned = p.deltas.iter().any(|d| matches!(d, Delta::Unassign { eni: x, .. } if x == eni));
                    prop_assert!(!also_unassigned, "unassign on a deleted ENI");
                }
            }
        }
        prop_assert!(view.enis.len() as u32 + creates <= c.max_enis.max(view.enis.len() as u32));
        let capacity = (c.max_enis * c.slots_per_eni).min(c.max_pods + view.quarantined);
        prop_assert!(added == 0 || total_before + added <= capacity, "{} + {} > {}", total_before, added, capacity);
    }

    /// Applied round after round, the plan serves every waiter the quotas allow and settles
    /// inside the warm band.
    #[test]
    fn converges_into_the_warm_band(case in case()) {
        let c = &case.cfg;
        let mut sim = case.sim.clone();
        sim.serve();
        let mut rounds = 0;
        loop {
            let p = plan(&sim.view(), c);
            if p.is_empty() {
                break;
            }
            sim.apply(&p, c);
            rounds += 1;
            prop_assert!(rounds <= 20, "no convergence: {:?}", sim);
        }
        let busy = sim.busy();
        let cap = (c.max_enis * c.slots_per_eni).min(c.max_pods);
        let reachable = cap.saturating_sub(busy);
        prop_assert!(sim.waiting == 0 || reachable == 0, "waiters left: {}", sim.waiting);
        let ready = sim.idle() + sim.cooling();
        prop_assert!(ready >= c.min_idle.min(reachable), "{} ready < min {}", ready, c.min_idle);
        // Beyond max_idle only idle primary addresses of ENIs with busy addresses may stay:
        // they can only go with their ENI.
        let stuck = sim.enis.iter().filter(|e| e.idle_primary && e.in_use + e.cooling > 0).count() as u32;
        prop_assert!(ready <= c.max_idle || sim.idle() == stuck, "{} ready > max {}: {:?}", ready, c.max_idle, sim);
    }
}
