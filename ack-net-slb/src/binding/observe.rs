//! Reading the cloud state a plan needs, in as few calls as the mode allows.

use ack_net_core::ErrorInfo;
use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use super::error::BindingError;
use super::ownership::{ListenerMarker, OwnerId};
use super::spec::{LoadBalancerSource, LoadBalancerSpec, PortSpec};
use crate::{
    Backend, BackendHealth, ListenerBackend, ListenerProtocol, ListenerSpec, ListenerStatus, LoadBalancer,
    LoadBalancerId, SlbClient, VServerGroupId,
};

/// How much to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum ObserveMode {
    /// Everything: the load balancer, every listener's settings and status
    /// (`DescribeLoadBalancerListeners`), every group (`DescribeVServerGroups`, so orphans
    /// left by a crash are found) and the backends of each group in use: `3 + ports` reads
    /// with a remembered id. Sees changes people made to the binding's listeners. Use it
    /// after a failed apply, for deletion, and now and then.
    #[default]
    Full,
    /// The least that tells a converged binding from a changed one: the load balancer
    /// with its listeners' descriptions (`DescribeLoadBalancerAttribute`), whose markers say
    /// which settings were applied and which group each uses, and the backends of each
    /// group: `1 + ports` reads with a remembered id. Groups are listed only when a wanted
    /// port has no listener yet. Does not see a listener a person stopped or edited in place
    /// (a full observation does).
    Fast,
}

/// Options of [`observe`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObserveOptions {
    /// How much to read.
    pub mode: ObserveMode,
    /// Also read `DescribeHealthStatus` (one more call), so the plan removes unhealthy
    /// backends first and does not wait to drain them.
    pub health: bool,
    /// How many group reads run at once.
    pub concurrency: usize,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        Self { mode: ObserveMode::Full, health: false, concurrency: 4 }
    }
}

impl ObserveOptions {
    /// A fast observation (see [`ObserveMode::Fast`]).
    pub fn fast() -> Self {
        Self { mode: ObserveMode::Fast, ..Self::default() }
    }

    /// A full observation (see [`ObserveMode::Full`]).
    pub fn full() -> Self {
        Self::default()
    }

    /// Also read backend health.
    pub fn with_health(mut self, on: bool) -> Self {
        self.health = on;
        self
    }
}

/// How the load balancer was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum FoundBy {
    /// By the id the caller remembered.
    RememberedId,
    /// By the binding's ownership tags.
    OwnershipTags,
    /// It is the load balancer the spec reuses.
    Reuse,
}

/// What the cloud holds for a binding, as [`observe`] read it. Plain data: tests and
/// benchmarks build it by hand.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The mode it was read in.
    pub mode: ObserveMode,
    /// The load balancer, or `None` when there is none yet.
    pub load_balancer: Option<ObservedLoadBalancer>,
    /// How many read calls observing took.
    pub reads: u64,
}

/// The load balancer and what is on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedLoadBalancer {
    /// Its attributes and tags (`listeners` lists every listener's port, protocol and
    /// description).
    pub attributes: LoadBalancer,
    /// How it was found.
    pub found_by: FoundBy,
    /// Every listener on it, the binding's and others'.
    pub listeners: Vec<ObservedListener>,
    /// The binding's groups (by their names), with their backends where they were read.
    pub groups: BTreeMap<VServerGroupId, ObservedGroup>,
    /// Whether `groups` holds every group of the binding (the groups were listed).
    pub groups_listed: bool,
    /// Backend health, when it was read.
    pub health: Option<Vec<BackendHealth>>,
}

/// A listener as observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedListener {
    /// The port.
    pub port: u16,
    /// The protocol.
    pub protocol: ListenerProtocol,
    /// Its description (the binding's marker for its own listeners).
    pub description: Option<String>,
    /// The HTTPS port an HTTP listener redirects to.
    pub forward_port: Option<u16>,
    /// Its full settings (full observations).
    pub spec: Option<ListenerSpec>,
    /// Its status (full observations).
    pub status: Option<ListenerStatus>,
}

impl ObservedListener {
    /// The binding marker in its description, if any.
    pub fn marker(&self) -> Option<ListenerMarker> {
        self.description.as_deref().and_then(ListenerMarker::parse)
    }

    /// The VServer group it uses: from its settings when read, else from its marker.
    pub fn group(&self) -> Option<VServerGroupId> {
        match &self.spec {
            Some(s) => match &s.backend {
                Some(ListenerBackend::VServerGroup(g)) => Some(g.clone()),
                _ => None,
            },
            None => self.marker().and_then(|m| m.group),
        }
    }
}

/// One of the binding's VServer groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedGroup {
    /// The group.
    pub id: VServerGroupId,
    /// The listener port its name says it serves.
    pub port: u16,
    /// Its backends, when they were read.
    pub backends: Option<Vec<Backend>>,
}

/// Whether a listener on `port`/`protocol` shares the port space of `other`: TCP, HTTP and
/// HTTPS share one, UDP has its own.
pub(crate) fn same_port_space(a: &ListenerProtocol, b: &ListenerProtocol) -> bool {
    (*a == ListenerProtocol::Udp) == (*b == ListenerProtocol::Udp)
}

/// Reads what the plan for `spec` needs. `remembered` is the load balancer id the caller
/// kept from an earlier apply; without it the load balancer is looked up by its
/// ownership tags.
pub async fn observe(
    client: &SlbClient,
    spec: &LoadBalancerSpec,
    remembered: Option<&LoadBalancerId>,
    options: &ObserveOptions,
) -> Result<Observed, BindingError> {
    let owner = spec.owner.id();
    let mut reads = 0u64;
    let found = find_load_balancer(client, spec, remembered, &mut reads).await?;
    let Some((attributes, found_by)) = found else {
        return Ok(Observed { mode: options.mode, load_balancer: None, reads });
    };
    let lb_id = attributes.load_balancer_id.clone();
    let mut listeners: Vec<ObservedListener> = attributes
        .listeners
        .iter()
        .map(|l| ObservedListener {
            port: l.port,
            protocol: l.protocol.clone(),
            description: l.description.clone(),
            forward_port: l.forward_port,
            spec: None,
            status: None,
        })
        .collect();
    // CCM's listener descriptions carry no fingerprint: only the settings tell a change.
    let full = options.mode == ObserveMode::Full || owner.is_ccm();
    let ours = |l: &ObservedListener| l.marker().is_some_and(|m| m.owner == owner);
    if full && listeners.iter().any(ours) {
        reads += 1;
        let all: Vec<crate::Listener> =
            client.listeners().describe().load_balancer_id(&lb_id).max_results(100).into_stream().try_collect().await?;
        // A stream over several pages counts one read per page.
        reads += (all.len() as u64).saturating_sub(1) / 100;
        for l in all {
            let protocol = l.spec.listener_protocol();
            if let Some(o) = listeners.iter_mut().find(|o| o.port == l.spec.port && o.protocol == protocol) {
                o.description = l.spec.description.clone();
                o.spec = Some(l.spec);
                o.status = Some(l.status);
            }
        }
    }
    let wanted: BTreeSet<u16> = spec.ports.iter().filter(|p| p.redirects_to().is_none()).map(|p| p.port()).collect();
    // The groups the binding's listeners use, by their settings or markers.
    let mut groups: BTreeMap<VServerGroupId, ObservedGroup> = BTreeMap::new();
    let mut covered: BTreeSet<u16> = BTreeSet::new();
    for l in listeners.iter().filter(|l| ours(l)) {
        if let Some(g) = l.group() {
            groups.insert(g.clone(), ObservedGroup { id: g, port: l.port, backends: None });
            if wanted.contains(&l.port) {
                covered.insert(l.port);
            }
        }
    }
    let groups_listed = full || wanted.iter().any(|p| !covered.contains(p));
    if groups_listed {
        reads += 1;
        let mut named: BTreeMap<VServerGroupId, ObservedGroup> = BTreeMap::new();
        for g in client.vserver_groups().describe(&lb_id).send().await? {
            let Some((o, port)) = OwnerId::parse_group_name(&g.name) else { continue };
            if o == owner {
                // A CCM name holds the node or target port: the spec tells the listener's.
                let port = if owner.is_ccm() {
                    let service = spec.owner.service();
                    spec.ports.iter().find(|p| owner.group_name_for(p, service) == g.name).map_or(0, PortSpec::port)
                } else {
                    port
                };
                named
                    .insert(g.vserver_group_id.clone(), ObservedGroup { id: g.vserver_group_id, port, backends: None });
            }
        }
        // Only groups named as the binding's are its own, whatever a listener points at.
        groups = named;
    }
    let to_read: BTreeSet<VServerGroupId> = groups
        .values()
        .filter(|g| {
            let used_by_wanted =
                listeners.iter().any(|l| ours(l) && wanted.contains(&l.port) && l.group().as_ref() == Some(&g.id));
            used_by_wanted || (wanted.contains(&g.port) && !covered.contains(&g.port))
        })
        .map(|g| g.id.clone())
        .collect();
    let results: Vec<(VServerGroupId, Result<Vec<Backend>, crate::Error>)> = stream::iter(to_read)
        .map(|id| async move {
            let r = client.vserver_groups().get(&id).await.map(|g| g.backends);
            (id, r)
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    for (id, r) in results {
        reads += 1;
        match r {
            Ok(backends) => {
                if let Some(g) = groups.get_mut(&id) {
                    g.backends = Some(backends);
                }
            }
            // A marker naming a group that is gone: the plan makes a new one.
            Err(e) if e.is_gone(&["VServerGroupId does not exist"]) => {
                groups.remove(&id);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let health = if options.health && !listeners.is_empty() {
        reads += 1;
        Some(client.health().describe(&lb_id, None).await?)
    } else {
        None
    };
    listeners.sort_by(|a, b| (a.port, a.protocol.as_str()).cmp(&(b.port, b.protocol.as_str())));
    Ok(Observed {
        mode: options.mode,
        load_balancer: Some(ObservedLoadBalancer { attributes, found_by, listeners, groups, groups_listed, health }),
        reads,
    })
}

/// The load balancer: the reused one, the remembered one if it is still the binding's,
/// else the one carrying the ownership tags.
async fn find_load_balancer(
    client: &SlbClient,
    spec: &LoadBalancerSpec,
    remembered: Option<&LoadBalancerId>,
    reads: &mut u64,
) -> Result<Option<(LoadBalancer, FoundBy)>, BindingError> {
    let lbs = client.load_balancers();
    if let LoadBalancerSource::Reuse(id) = &spec.load_balancer {
        *reads += 1;
        return match lbs.get(id).await {
            Ok(lb) => Ok(Some((lb, FoundBy::Reuse))),
            Err(e) if e.is_not_found() => Err(BindingError::ReusedNotFound(id.clone())),
            Err(e) => Err(e.into()),
        };
    }
    if let Some(id) = remembered {
        *reads += 1;
        match lbs.get(id).await {
            Ok(lb) if spec.owner.owns_tags(&lb.tags) => return Ok(Some((lb, FoundBy::RememberedId))),
            // Gone, or no longer carrying our tags: never touch it; look by tags.
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    *reads += 1;
    let mut describe = lbs.describe();
    for t in spec.owner.tags() {
        describe = describe.tag(t);
    }
    let found: Vec<LoadBalancer> = describe.into_stream().try_collect().await?;
    let found: Vec<LoadBalancer> = found.into_iter().filter(|lb| spec.owner.owns_tags(&lb.tags)).collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => {
            *reads += 1;
            match lbs.get(&one.load_balancer_id).await {
                Ok(lb) => Ok(Some((lb, FoundBy::OwnershipTags))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
        many => Err(BindingError::AmbiguousOwnership {
            owner: spec.owner.to_string(),
            ids: many.iter().map(|lb| lb.load_balancer_id.clone()).collect(),
        }),
    }
}
