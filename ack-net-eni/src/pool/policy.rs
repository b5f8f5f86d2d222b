//! The pool's sizing policy: a pure function from the pool's state ([`PoolView`]) and its
//! numbers ([`PolicyConfig`]) to explicit [`Delta`]s. No I/O, no clock: the executor carries
//! the deltas out, and tests and `plan()` dry runs call it directly.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::EniId;

/// The numbers the policy sizes the pool by (derived from the
/// [`PoolConfig`](crate::pool::PoolConfig) and the instance type by
/// [`PoolConfig::resolve`](crate::pool::PoolConfig::resolve)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyConfig {
    /// Keep at least this many addresses ready (idle or cooling down).
    pub min_idle: u32,
    /// Give back what is ready beyond this many.
    pub max_idle: u32,
    /// At most this many pods.
    pub max_pods: u32,
    /// At most this many ENIs.
    pub max_enis: u32,
    /// Pod addresses one ENI holds (1 in exclusive mode).
    pub slots_per_eni: u32,
    /// Pod addresses an ENI may be created with (its primary address included).
    pub create_slots: u32,
    /// Addresses per assign or unassign call (10).
    pub per_call: u32,
    /// Whether every pod address is an IPv4 and IPv6 pair.
    pub dual_stack: bool,
    /// One ENI per pod.
    pub exclusive: bool,
}

impl PolicyConfig {
    /// Shared-mode IPv4 numbers for `max_enis` ENIs of `slots_per_eni` addresses: `max_pods`
    /// what they hold, created with up to 11 addresses, 10 per call, an empty warm band
    /// (set the public fields to change the rest).
    pub fn new(max_enis: u32, slots_per_eni: u32) -> Self {
        Self {
            min_idle: 0,
            max_idle: 0,
            max_pods: max_enis.saturating_mul(slots_per_eni),
            max_enis,
            slots_per_eni,
            create_slots: slots_per_eni.min(11),
            per_call: 10,
            dual_stack: false,
            exclusive: false,
        }
    }
}

/// Where an ENI of the pool is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EniPhase {
    /// Created, being attached: its addresses are coming.
    Attaching,
    /// Attached: its addresses can be handed out.
    Ready,
    /// Being detached and deleted.
    Deleting,
}

/// One ENI of the pool, as the policy sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EniView {
    /// The ENI.
    pub id: EniId,
    /// Its phase.
    pub phase: EniPhase,
    /// Pod addresses it may hold.
    pub capacity: u32,
    /// Pod addresses it holds (any state).
    pub slots: u32,
    /// Its idle secondary addresses (with their IPv6 in dual stack), which may be given back.
    pub idle: Vec<(Ipv4Addr, Option<Ipv6Addr>)>,
    /// Whether its primary address is an idle pod address (it can only go with the ENI).
    pub idle_primary: bool,
    /// Addresses in use, releasing, cooling down, quarantined or leaving.
    pub busy: u32,
    /// Idle addresses still waiting for their IPv6 (dual stack).
    pub incomplete: u32,
    /// IPv6 addresses not paired with an IPv4 address yet.
    pub spare_v6: Vec<Ipv6Addr>,
    /// IPv4 addresses being assigned.
    pub incoming_v4: u32,
    /// IPv6 addresses being assigned.
    pub incoming_v6: u32,
    /// Whether its VSwitch said it has no more room (set aside for a while).
    pub no_room: bool,
}

impl EniView {
    /// A view of an ENI with `slots` addresses, none idle or busy.
    pub fn new(id: EniId, phase: EniPhase, capacity: u32, slots: u32) -> Self {
        Self {
            id,
            phase,
            capacity,
            slots,
            idle: Vec::new(),
            idle_primary: false,
            busy: 0,
            incomplete: 0,
            spare_v6: Vec::new(),
            incoming_v4: 0,
            incoming_v6: 0,
            no_room: false,
        }
    }

    fn idle_count(&self) -> u32 {
        self.idle.len() as u32 + u32::from(self.idle_primary)
    }

    /// Addresses it may still take.
    fn room(&self) -> u32 {
        if self.no_room {
            0
        } else {
            self.capacity.saturating_sub(self.slots + self.incoming_v4)
        }
    }

    fn settled(&self) -> bool {
        self.busy == 0 && self.incoming_v4 == 0 && self.incoming_v6 == 0 && self.incomplete == 0
    }
}

/// The pool as the policy sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolView {
    /// The ENIs.
    pub enis: Vec<EniView>,
    /// ENIs being created: the addresses each is created with.
    pub creating: Vec<u32>,
    /// Allocations waiting for an address.
    pub waiting: u32,
    /// Released addresses cooling down.
    pub cooling: u32,
    /// Quarantined addresses.
    pub quarantined: u32,
}

/// One change to the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delta {
    /// Create an ENI with these addresses, in a VSwitch the executor picks, and attach it.
    CreateEni {
        /// Secondary IPv4 addresses (its primary address is one more).
        secondary_ipv4: u32,
        /// IPv6 addresses.
        ipv6: u32,
    },
    /// Assign addresses to an ENI (at most 10 of each family).
    Assign {
        /// The ENI.
        eni: EniId,
        /// IPv4 addresses.
        ipv4: u32,
        /// IPv6 addresses.
        ipv6: u32,
    },
    /// Give idle addresses back.
    Unassign {
        /// The ENI.
        eni: EniId,
        /// IPv4 addresses.
        ipv4: Vec<Ipv4Addr>,
        /// IPv6 addresses.
        ipv6: Vec<Ipv6Addr>,
    },
    /// Detach and delete an ENI none of whose addresses is used.
    DeleteEni {
        /// The ENI.
        eni: EniId,
    },
}

/// What the policy wants done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plan {
    /// The changes, in the order to start them.
    pub deltas: Vec<Delta>,
    /// Addresses wanted that the quotas do not allow.
    pub shortfall: u32,
    /// Whether the shortfall is because of the ENI quota (rather than `max_pods` or the
    /// addresses an ENI holds).
    pub eni_bound: bool,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty()
    }
}

/// Decides what to change so that the pool serves its waiters and keeps its ready
/// addresses inside `[min_idle, max_idle]`, within every quota:
///
/// - **grow** by what waiters and `min_idle` need beyond what is idle, cooling down or
///   coming: first on attached ENIs with room (the fullest first, at most `per_call`
///   addresses per assign), then as new ENIs created with their addresses in the same call
///   (as many as `create_slots` allows), counting the room ENIs being prepared will have;
///   a call's batch is filled beyond the need while that stays within `max_idle`, so that
///   demand arriving in pieces does not cost a call per piece;
/// - **complete** dual-stack pairs (assign the missing IPv6 addresses);
/// - **shrink**, once nothing is waiting or coming, what is ready beyond `max_idle`: whole
///   ENIs none of whose addresses is used first (the smallest first), then idle secondary
///   addresses in batches of `per_call`, from the least used ENIs.
///
/// It never plans more addresses than `max_pods` (plus quarantined ones) or the ENIs hold,
/// more ENIs than `max_enis`, nor to remove an address that is not idle.
///
/// ```
/// use ack_net_eni::pool::{plan, Delta, PolicyConfig, PoolView};
/// // 60 pods waiting on an empty pool of an instance with 3 ENIs x 20 addresses:
/// let mut cfg = PolicyConfig::new(3, 20);
/// cfg.max_idle = 60;
/// let mut view = PoolView::default();
/// view.waiting = 60;
/// let p = plan(&view, &cfg);
/// assert_eq!(p.deltas, vec![Delta::CreateEni { secondary_ipv4: 10, ipv6: 0 }; 3]);
/// ```
pub fn plan(view: &PoolView, cfg: &PolicyConfig) -> Plan {
    let mut deltas = Vec::new();
    let live = || view.enis.iter().filter(|e| e.phase != EniPhase::Deleting);
    let ready = || view.enis.iter().filter(|e| e.phase == EniPhase::Ready);
    let per_call = cfg.per_call.max(1);

    let idle: u32 = ready().map(EniView::idle_count).sum();
    let coming: u32 = ready().map(|e| e.incoming_v4 + e.incomplete).sum::<u32>()
        + view
            .enis
            .iter()
            .filter(|e| e.phase == EniPhase::Attaching)
            .map(|e| e.slots - e.busy.min(e.slots))
            .sum::<u32>()
        + view.creating.iter().sum::<u32>();
    let total: u32 = live().map(|e| e.slots + e.incoming_v4).sum::<u32>() + view.creating.iter().sum::<u32>();
    // ENIs being deleted still hold their place on the instance until they are gone.
    let enis = view.enis.len() as u32 + view.creating.len() as u32;
    let supply = idle + view.cooling + coming;

    let eni_capacity: u32 = live().map(|e| if e.no_room { e.slots + e.incoming_v4 } else { e.capacity }).sum::<u32>()
        + (view.creating.len() as u32 + cfg.max_enis.saturating_sub(enis)) * cfg.slots_per_eni;
    let pod_capacity = cfg.max_pods + view.quarantined;
    let capacity = eni_capacity.min(pod_capacity);
    let need = view.waiting.saturating_sub(idle + coming).max((cfg.min_idle + view.waiting).saturating_sub(supply));
    let mut grow = need.min(capacity.saturating_sub(total));
    let shortfall = need - grow;
    // What may be added beyond the need without going over max_idle or a quota: used to
    // fill a call's batch rather than make another call for the rest later.
    let mut spare =
        (cfg.max_idle + view.waiting).saturating_sub(supply + need).min(capacity.saturating_sub(total + grow));

    // Complete dual-stack pairs, and give back IPv6 addresses no IPv4 address needs.
    if cfg.dual_stack {
        for e in ready() {
            let missing = e.incomplete.saturating_sub(e.spare_v6.len() as u32 + e.incoming_v6);
            let mut left = missing;
            while left > 0 {
                let n = left.min(per_call);
                deltas.push(Delta::Assign { eni: e.id.clone(), ipv4: 0, ipv6: n });
                left -= n;
            }
            let extra = (e.spare_v6.len() as u32).saturating_sub(e.incomplete);
            if extra > 0 && e.incoming_v6 == 0 && e.incoming_v4 == 0 {
                for chunk in e.spare_v6[..extra as usize].chunks(per_call as usize) {
                    deltas.push(Delta::Unassign { eni: e.id.clone(), ipv4: Vec::new(), ipv6: chunk.to_vec() });
                }
            }
        }
    }

    // Grow on attached ENIs with room, the fullest first.
    if grow > 0 && !cfg.exclusive {
        let mut with_room: Vec<&EniView> = ready().filter(|e| e.room() > 0).collect();
        with_room.sort_by(|a, b| (b.slots + b.incoming_v4).cmp(&(a.slots + a.incoming_v4)).then(a.id.cmp(&b.id)));
        for e in with_room {
            let want = e.room().min(grow);
            grow -= want;
            let extra = (want.div_ceil(per_call) * per_call - want).min(e.room() - want).min(spare);
            spare -= extra;
            let mut k = want + extra;
            while k > 0 {
                let n = k.min(per_call);
                let v6 = if cfg.dual_stack { n } else { 0 };
                deltas.push(Delta::Assign { eni: e.id.clone(), ipv4: n, ipv6: v6 });
                k -= n;
            }
            if grow == 0 {
                break;
            }
        }
    }

    // The room that ENIs being prepared will have once attached.
    if grow > 0 && !cfg.exclusive {
        let future: u32 = view.creating.iter().map(|s| cfg.slots_per_eni.saturating_sub(*s)).sum::<u32>()
            + view.enis.iter().filter(|e| e.phase == EniPhase::Attaching).map(EniView::room).sum::<u32>();
        grow -= grow.min(future);
    }

    // New ENIs, created with as many addresses as one call allows.
    let mut n_enis = enis;
    while grow > 0 && n_enis < cfg.max_enis {
        let want = grow.min(cfg.create_slots.max(1));
        let extra = (cfg.create_slots.max(1) - want).min(spare);
        spare -= extra;
        let k = want + extra;
        let secondary_ipv4 = if cfg.exclusive { 0 } else { k - 1 };
        let ipv6 = if cfg.dual_stack { k } else { 0 };
        deltas.push(Delta::CreateEni { secondary_ipv4, ipv6 });
        grow -= grow.min(cfg.slots_per_eni.max(1));
        n_enis += 1;
    }

    // Shrink what is ready beyond max_idle, once nothing is waiting or coming.
    if need == 0 && view.waiting == 0 && coming == 0 {
        let mut give = (idle + view.cooling).saturating_sub(cfg.max_idle).min(idle);
        if give > 0 {
            let mut whole: Vec<&EniView> =
                ready().filter(|e| e.settled() && e.spare_v6.is_empty() && e.idle_count() == e.slots).collect();
            whole.sort_by(|a, b| a.slots.cmp(&b.slots).then(a.id.cmp(&b.id)));
            let mut deleted: Vec<&EniId> = Vec::new();
            for e in whole {
                if e.slots <= give {
                    give -= e.slots;
                    deltas.push(Delta::DeleteEni { eni: e.id.clone() });
                    deleted.push(&e.id);
                }
            }
            let mut rest: Vec<&EniView> =
                ready().filter(|e| !deleted.contains(&&e.id) && e.incoming_v4 == 0 && !e.idle.is_empty()).collect();
            rest.sort_by(|a, b| a.busy.cmp(&b.busy).then(a.slots.cmp(&b.slots)).then(a.id.cmp(&b.id)));
            for e in rest {
                if give == 0 {
                    break;
                }
                let take = (e.idle.len() as u32).min(give);
                give -= take;
                for chunk in e.idle[..take as usize].chunks(per_call as usize) {
                    deltas.push(Delta::Unassign {
                        eni: e.id.clone(),
                        ipv4: chunk.iter().map(|(v4, _)| *v4).collect(),
                        ipv6: chunk.iter().filter_map(|(_, v6)| *v6).collect(),
                    });
                }
            }
        }
    }

    Plan { deltas, shortfall, eni_bound: shortfall > 0 && eni_capacity < pod_capacity }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
