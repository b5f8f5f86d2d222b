//! The backends of one VServer group: what to add, change and remove, in an order that
//! never empties a group that should serve, and drains a leaving backend before removing
//! it.

use std::collections::{HashMap, HashSet};

use super::error::BindingError;
use super::ownership::{FxBuild, IdentityBuild, OwnerId};
use super::plan::{Action, Builder, GroupRef, PlanOptions, SetPurpose};
use super::spec::{key, key_hash, Key};
use crate::{Backend, BackendHealth, BackendKey, HealthStatus, ListenerProtocol};

/// Observed backends by key, from some position on: by the keys' 64-bit hashes (small
/// and quick), or by the keys themselves when two observed keys share a hash.
enum Index<'a> {
    ByHash(HashMap<u64, usize, IdentityBuild>),
    ByKey(HashMap<Key<'a>, usize, FxBuild>),
}

impl<'a> Index<'a> {
    fn new(observed: &'a [Backend], from: usize) -> Self {
        let n = observed.len().saturating_sub(from);
        let mut by_hash = HashMap::with_capacity_and_hasher(n, IdentityBuild::default());
        for (i, o) in observed.iter().enumerate().skip(from) {
            if by_hash.insert(key_hash(o), i).is_some() {
                let mut by_key = HashMap::with_capacity_and_hasher(n, FxBuild::default());
                for (i, o) in observed.iter().enumerate().skip(from) {
                    by_key.insert(key(o), i);
                }
                return Index::ByKey(by_key);
            }
        }
        Index::ByHash(by_hash)
    }

    fn get(&self, observed: &[Backend], k: Key<'_>, hash: u64) -> Option<usize> {
        match self {
            Index::ByHash(m) => m.get(&hash).copied().filter(|i| key(&observed[*i]) == k),
            Index::ByKey(m) => m.get(&k).copied(),
        }
    }
}

/// What the group's plan needs to know.
pub(crate) struct GroupInput<'a> {
    /// The listener port the group serves.
    pub port: u16,
    /// The group (existing, or to create).
    pub group: GroupRef,
    /// The group's name (of a group to create, and in CCM's naming its backends'
    /// description).
    pub name: &'a str,
    /// What the group holds now (empty for a new group).
    pub observed: &'a [Backend],
    /// What it should hold (as the spec gives them, without markers).
    pub wanted: &'a [Backend],
    /// The [`key_hash`] of each wanted backend, when known (from validation).
    pub wanted_hashes: Option<&'a [u64]>,
    /// The listener serving from the group now, for health checks while draining.
    pub listener: Option<(u16, ListenerProtocol)>,
    /// Health of the backends behind that listener, when observed.
    pub health: Option<&'a [BackendHealth]>,
    /// Leave the weights of backends already in the group as they are.
    pub keep_observed_weights: bool,
}

/// Adds the group's steps after `after`; returns the last step (the group is then as
/// wanted), or `None` when nothing changes.
pub(crate) fn plan_group(
    b: &mut Builder,
    owner: &OwnerId,
    input: &GroupInput<'_>,
    options: &PlanOptions,
    after: Vec<usize>,
) -> Result<Option<usize>, BindingError> {
    let port = input.port;
    let batch = options.batch_size.max(1);
    let marked = |w: &Backend| Backend {
        description: Some(owner.backend_description_in(input.name, w.description.as_deref())),
        ..w.clone()
    };
    let mut chain = Chain { last: None, after };

    if let GroupRef::New(_) = input.group {
        let (first, rest) = input.wanted.split_at(input.wanted.len().min(batch));
        chain.push(
            b,
            Action::CreateGroup { port, name: input.name.to_owned(), backends: first.iter().map(marked).collect() },
        );
        for c in rest.chunks(batch) {
            chain.push(
                b,
                Action::AddBackends { port, group: input.group.clone(), backends: c.iter().map(marked).collect() },
            );
        }
        return Ok(chain.last);
    }

    let observed = input.observed;
    let owned: Vec<bool> = observed.iter().map(|o| owner.owns_backend(o)).collect();
    let mut seen = vec![false; observed.len()];
    let mut adds = Vec::new();
    let mut updates = Vec::new();
    // The cloud lists a group's backends in the order they were added, which is usually
    // the spec's order: match position by position while the keys agree, and index the
    // rest only from the first difference on (the prefix is matched one to one, and the
    // spec's keys are unique, so no later wanted backend can be in it).
    let mut index: Option<Index<'_>> = None;
    for (n, w) in input.wanted.iter().enumerate() {
        let wk = key(w);
        let found = if index.is_none() && observed.get(n).is_some_and(|o| key(o) == wk) {
            Some(n)
        } else {
            let hash = input.wanted_hashes.and_then(|h| h.get(n).copied()).unwrap_or_else(|| key_hash(w));
            index.get_or_insert_with(|| Index::new(observed, n)).get(observed, wk, hash)
        };
        match found {
            None => adds.push(marked(w)),
            Some(i) => {
                let o = &observed[i];
                seen[i] = true;
                if !owned[i] {
                    return Err(BindingError::ForeignBackend {
                        port,
                        server_id: w.server_id.clone(),
                        backend_port: w.port,
                    });
                }
                let same_description =
                    owner.backend_description_in_is(o.description.as_deref(), input.name, w.description.as_deref());
                if input.keep_observed_weights && !same_description {
                    updates.push(Backend { weight: o.weight, ..marked(w) });
                } else if (o.weight != w.weight && !input.keep_observed_weights) || !same_description {
                    updates.push(marked(w));
                }
            }
        }
    }
    let foreign = owned.iter().filter(|o| !**o).count();
    if input.wanted.len() + foreign > options.group_quota {
        return Err(BindingError::TooManyBackends {
            port,
            wanted: input.wanted.len(),
            foreign,
            quota: options.group_quota,
        });
    }
    let unhealthy: HashSet<Key<'_>, FxBuild> = input
        .health
        .unwrap_or_default()
        .iter()
        .filter(|h| input.listener.as_ref().is_some_and(|(p, pr)| h.listener_port == *p && h.protocol == *pr))
        .filter(|h| h.status != HealthStatus::Normal)
        .map(|h| (h.server_id.as_str(), h.server_ip, h.port))
        .collect();
    let is_unhealthy = |o: &Backend| {
        let (id, ip, p) = key(o);
        unhealthy.contains(&(id, ip, p)) || unhealthy.contains(&(id, o.server_ip, p))
    };
    // Leaving: the binding's backends not wanted any more, those that carry no traffic
    // (unhealthy) first.
    let mut leaving: Vec<&Backend> = observed
        .iter()
        .zip(seen.iter().zip(&owned))
        .filter(|(_, (seen, owned))| !**seen && **owned)
        .map(|(o, _)| o)
        .collect();
    if !unhealthy.is_empty() {
        leaving.sort_by_key(|o| !is_unhealthy(o));
    }

    let room = options.group_quota.saturating_sub(observed.len());
    let (now, later) = adds.split_at(adds.len().min(room));
    for c in now.chunks(batch) {
        chain.push(b, Action::AddBackends { port, group: input.group.clone(), backends: c.to_vec() });
    }
    for c in updates.chunks(batch) {
        chain.push(
            b,
            Action::SetBackends { port, group: input.group.clone(), backends: c.to_vec(), purpose: SetPurpose::Update },
        );
    }
    let drains = !options.drain.period.is_zero();
    let drain = |b: &mut Builder, chain: &mut Chain, set: &[&Backend]| {
        // Already at weight 0 (an earlier run began draining): no need to set it again,
        // but the wait still runs. Unhealthy backends carry no traffic: no drain at all.
        let serving: Vec<&&Backend> = set.iter().filter(|o| !is_unhealthy(o)).collect();
        let to_zero: Vec<Backend> =
            serving.iter().filter(|o| o.weight > 0).map(|o| Backend { weight: 0, ..(***o).clone() }).collect();
        for c in to_zero.chunks(batch) {
            chain.push(
                b,
                Action::SetBackends {
                    port,
                    group: input.group.clone(),
                    backends: c.to_vec(),
                    purpose: SetPurpose::Drain,
                },
            );
        }
        if !serving.is_empty() {
            chain.push(
                b,
                Action::WaitDrain {
                    port,
                    listener: input.listener.clone(),
                    group: input.group.clone(),
                    backends: serving.iter().map(|o| o.key()).collect::<Vec<BackendKey>>(),
                    period: options.drain.period,
                    poll_health: options.drain.poll_health,
                },
            );
        }
    };
    // No room for the rest: swap leaving backends for new ones a batch at a time
    // (ModifyVServerGroupBackendServers is one atomic call), so the group never shrinks
    // by more than one batch, and never below what both old and new states share.
    let (swapped, rest) = leaving.split_at(later.len().min(leaving.len()));
    for (old, new) in swapped.chunks(batch).zip(later.chunks(batch)) {
        if drains {
            drain(b, &mut chain, old);
        }
        chain.push(
            b,
            Action::ReplaceBackends {
                port,
                group: input.group.clone(),
                old: old.iter().map(|o| (*o).clone()).collect(),
                new: new.to_vec(),
            },
        );
    }
    if !rest.is_empty() {
        if drains {
            drain(b, &mut chain, rest);
        }
        for c in rest.chunks(batch) {
            chain.push(
                b,
                Action::RemoveBackends {
                    port,
                    group: input.group.clone(),
                    backends: c.iter().map(|o| (*o).clone()).collect(),
                },
            );
        }
    }
    Ok(chain.last)
}

/// Steps of one group run one after the other.
struct Chain {
    last: Option<usize>,
    after: Vec<usize>,
}

impl Chain {
    fn push(&mut self, b: &mut Builder, action: Action) {
        let after = match self.last {
            Some(l) => vec![l],
            None => self.after.clone(),
        };
        self.last = Some(b.push(action, after));
    }
}
