//! [`Plan`]: the ordered steps that turn what was observed into what the spec wants, made
//! by a pure function.

use std::time::Duration;

use serde::Serialize;

use super::ownership::OwnerId;
use super::spec::{InstanceSpec, LoadBalancerAttributes};
use crate::{
    Backend, BackendKey, InternetChargeType, ListenerProtocol, ListenerSpec, LoadBalancerId, Tag, VServerGroupId,
};

/// The backends a VServer group holds unless the account's quota was raised (the cloud's
/// default).
pub const DEFAULT_GROUP_QUOTA: usize = 200;

/// How a leaving backend is drained before it is removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DrainPolicy {
    /// How long a backend set to weight 0 keeps its connections before it is removed. Zero
    /// removes leaving backends at once (no weight-0 step).
    pub period: Duration,
    /// While draining, look at `DescribeHealthStatus` this often and stop waiting once no
    /// draining backend is healthy (it serves no traffic any more). `None` waits the whole
    /// period.
    pub poll_health: Option<Duration>,
}

impl Default for DrainPolicy {
    /// 30 seconds, without health polling.
    fn default() -> Self {
        Self { period: Duration::from_secs(30), poll_health: None }
    }
}

impl DrainPolicy {
    /// No draining: leaving backends are removed at once.
    pub fn none() -> Self {
        Self { period: Duration::ZERO, poll_health: None }
    }

    /// Drain for `period`.
    pub fn for_period(period: Duration) -> Self {
        Self { period, poll_health: None }
    }

    /// Also stop waiting once health checks show no draining backend healthy.
    pub fn with_health_polling(mut self, every: Duration) -> Self {
        self.poll_health = Some(every);
        self
    }
}

/// Settings of [`plan_with`](super::plan_with).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanOptions {
    /// Backends per Add/Remove/Set/Modify call (the API allows 20).
    pub batch_size: usize,
    /// The most backends one VServer group may hold (the account's quota).
    pub group_quota: usize,
    /// How leaving backends are drained.
    pub drain: DrainPolicy,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self { batch_size: crate::DEFAULT_BATCH_SIZE, group_quota: DEFAULT_GROUP_QUOTA, drain: DrainPolicy::default() }
    }
}

impl PlanOptions {
    /// Sets the batch size (at least 1).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Sets the per-group quota.
    pub fn with_group_quota(mut self, n: usize) -> Self {
        self.group_quota = n;
        self
    }

    /// Sets the drain policy.
    pub fn with_drain(mut self, drain: DrainPolicy) -> Self {
        self.drain = drain;
        self
    }
}

/// The load balancer a plan works on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum LoadBalancerRef {
    /// One that exists.
    Existing(LoadBalancerId),
    /// The one the plan's `CreateLoadBalancer` step makes.
    New,
}

/// A VServer group a step works on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum GroupRef {
    /// One that exists.
    Existing(VServerGroupId),
    /// The one the plan's `CreateGroup` step makes for this listener port.
    New(u16),
}

/// Why backends are set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SetPurpose {
    /// New weights or descriptions.
    Update,
    /// Weight 0 before removal: no new connections.
    Drain,
}

/// One step: one API call (a wait makes none, or only health reads).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub enum Action {
    /// `CreateLoadBalancer` with the ownership tags and a `ClientToken` derived from the
    /// owner.
    CreateLoadBalancer {
        /// The attributes.
        attributes: LoadBalancerAttributes,
        /// Every tag (ownership tags first).
        tags: Vec<Tag>,
        /// The `ClientToken`.
        client_token: String,
    },
    /// `SetLoadBalancerName`.
    SetLoadBalancerName {
        /// The name now.
        from: String,
        /// The name wanted.
        to: String,
    },
    /// `ModifyLoadBalancerInstanceSpec`.
    ModifyInstanceSpec {
        /// The spec now.
        from: Option<InstanceSpec>,
        /// The spec wanted.
        to: InstanceSpec,
    },
    /// `ModifyLoadBalancerInternetSpec`.
    ModifyInternetSpec {
        /// A new charge type.
        charge_type: Option<InternetChargeType>,
        /// A new bandwidth.
        bandwidth: Option<u32>,
    },
    /// `SetLoadBalancerDeleteProtection`.
    SetDeleteProtection {
        /// On or off.
        on: bool,
    },
    /// `SetLoadBalancerModificationProtection`.
    SetModificationProtection {
        /// `ConsoleProtection` or `NonProtection`.
        on: bool,
    },
    /// `TagResources`.
    TagLoadBalancer {
        /// Tags added or updated.
        tags: Vec<Tag>,
    },
    /// `UntagResources`: the ownership tags, when a preserved load balancer is let go.
    UntagLoadBalancer {
        /// The keys.
        keys: Vec<String>,
    },
    /// `DeleteLoadBalancer`.
    DeleteLoadBalancer {
        /// The load balancer.
        load_balancer_id: LoadBalancerId,
    },
    /// `CreateVServerGroup` with the first batch of backends.
    CreateGroup {
        /// The listener port it is for.
        port: u16,
        /// Its name (the binding's marker).
        name: String,
        /// The first batch of backends.
        backends: Vec<Backend>,
    },
    /// `AddVServerGroupBackendServers`: one batch.
    AddBackends {
        /// The listener port.
        port: u16,
        /// The group.
        group: GroupRef,
        /// The batch.
        backends: Vec<Backend>,
    },
    /// `SetVServerGroupAttribute` with `BackendServers`: one batch.
    SetBackends {
        /// The listener port.
        port: u16,
        /// The group.
        group: GroupRef,
        /// The batch, with the weights and descriptions wanted.
        backends: Vec<Backend>,
        /// Why.
        purpose: SetPurpose,
    },
    /// No call: wait for backends set to weight 0 to drain.
    WaitDrain {
        /// The listener port.
        port: u16,
        /// The listener, for health polling.
        listener: Option<(u16, ListenerProtocol)>,
        /// The group.
        group: GroupRef,
        /// The draining backends.
        backends: Vec<BackendKey>,
        /// How long.
        period: Duration,
        /// Health polling interval.
        poll_health: Option<Duration>,
    },
    /// `RemoveVServerGroupBackendServers`: one batch.
    RemoveBackends {
        /// The listener port.
        port: u16,
        /// The group.
        group: GroupRef,
        /// The batch.
        backends: Vec<Backend>,
    },
    /// `ModifyVServerGroupBackendServers`: swap one batch of leaving backends for new ones
    /// in one call (used when the group has no room to add first).
    ReplaceBackends {
        /// The listener port.
        port: u16,
        /// The group.
        group: GroupRef,
        /// Leaving.
        old: Vec<Backend>,
        /// Coming.
        new: Vec<Backend>,
    },
    /// `DeleteVServerGroup`.
    DeleteGroup {
        /// The listener port its name gives.
        port: u16,
        /// The group.
        group: VServerGroupId,
    },
    /// `CreateLoadBalancer<P>Listener`, with the binding's group and marker filled in.
    CreateListener {
        /// The settings (backend and description are filled in when the step runs).
        listener: ListenerSpec,
        /// Its group (`None` for a redirect).
        group: Option<GroupRef>,
        /// The settings' fingerprint.
        fingerprint: String,
        /// Whether it replaces a listener deleted just before (visible downtime on the port).
        recreate: bool,
    },
    /// `SetLoadBalancer<P>ListenerAttribute`: the settings changed in place.
    SetListener {
        /// The settings wanted.
        listener: ListenerSpec,
        /// Its group.
        group: Option<GroupRef>,
        /// The settings' fingerprint.
        fingerprint: String,
        /// What changes, as `field: old -> new` lines (when the old settings were read).
        changes: Vec<String>,
    },
    /// `StartLoadBalancerListener`.
    StartListener {
        /// The port.
        port: u16,
        /// The protocol.
        protocol: ListenerProtocol,
    },
    /// `DeleteLoadBalancerListener`.
    DeleteListener {
        /// The port.
        port: u16,
        /// The protocol.
        protocol: ListenerProtocol,
        /// Whether a new listener replaces it on the same port in this plan.
        recreate: bool,
    },
}

impl Action {
    /// The API action the step calls, or `None` for a wait.
    pub fn api_action(&self) -> Option<&'static str> {
        Some(match self {
            Action::CreateLoadBalancer { .. } => "CreateLoadBalancer",
            Action::SetLoadBalancerName { .. } => "SetLoadBalancerName",
            Action::ModifyInstanceSpec { .. } => "ModifyLoadBalancerInstanceSpec",
            Action::ModifyInternetSpec { .. } => "ModifyLoadBalancerInternetSpec",
            Action::SetDeleteProtection { .. } => "SetLoadBalancerDeleteProtection",
            Action::SetModificationProtection { .. } => "SetLoadBalancerModificationProtection",
            Action::TagLoadBalancer { .. } => "TagResources",
            Action::UntagLoadBalancer { .. } => "UntagResources",
            Action::DeleteLoadBalancer { .. } => "DeleteLoadBalancer",
            Action::CreateGroup { .. } => "CreateVServerGroup",
            Action::AddBackends { .. } => "AddVServerGroupBackendServers",
            Action::SetBackends { .. } => "SetVServerGroupAttribute",
            Action::WaitDrain { .. } => return None,
            Action::RemoveBackends { .. } => "RemoveVServerGroupBackendServers",
            Action::ReplaceBackends { .. } => "ModifyVServerGroupBackendServers",
            Action::DeleteGroup { .. } => "DeleteVServerGroup",
            Action::CreateListener { listener, .. } => match listener.listener_protocol() {
                ListenerProtocol::Udp => "CreateLoadBalancerUDPListener",
                ListenerProtocol::Http => "CreateLoadBalancerHTTPListener",
                ListenerProtocol::Https => "CreateLoadBalancerHTTPSListener",
                _ => "CreateLoadBalancerTCPListener",
            },
            Action::SetListener { listener, .. } => match listener.listener_protocol() {
                ListenerProtocol::Udp => "SetLoadBalancerUDPListenerAttribute",
                ListenerProtocol::Http => "SetLoadBalancerHTTPListenerAttribute",
                ListenerProtocol::Https => "SetLoadBalancerHTTPSListenerAttribute",
                _ => "SetLoadBalancerTCPListenerAttribute",
            },
            Action::StartListener { .. } => "StartLoadBalancerListener",
            Action::DeleteListener { .. } => "DeleteLoadBalancerListener",
        })
    }

    /// The listener port the step is about, if any.
    pub fn port(&self) -> Option<u16> {
        match self {
            Action::CreateGroup { port, .. }
            | Action::AddBackends { port, .. }
            | Action::SetBackends { port, .. }
            | Action::WaitDrain { port, .. }
            | Action::RemoveBackends { port, .. }
            | Action::ReplaceBackends { port, .. }
            | Action::DeleteGroup { port, .. }
            | Action::StartListener { port, .. }
            | Action::DeleteListener { port, .. } => Some(*port),
            Action::CreateListener { listener, .. } | Action::SetListener { listener, .. } => Some(listener.port),
            _ => None,
        }
    }
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Its index in [`Plan::steps`].
    pub id: usize,
    /// What it does.
    pub action: Action,
    /// The steps that must be done first (all earlier in the plan).
    pub after: Vec<usize>,
}

/// What a binding will do: ordered steps with their dependencies, and notes on
/// differences it will not act on. Printed with `{}` it reads as a diff. Applying a
/// prefix of the steps is always valid (each step's dependencies come before it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// The owner id of the binding.
    pub owner: OwnerId,
    /// The owner (`cluster/service`), for display.
    pub service: String,
    /// The load balancer (`None` when a deletion found none).
    pub load_balancer: Option<LoadBalancerRef>,
    /// The steps, in an order that respects their dependencies.
    pub steps: Vec<Step>,
    /// Differences the plan does not act on (attributes that cannot change in place...).
    pub notes: Vec<String>,
    /// Backends per call the steps were cut to.
    pub batch_size: usize,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// How many API calls (all writes) applying it makes, waits and their health reads
    /// aside.
    pub fn writes(&self) -> usize {
        self.steps.iter().filter(|s| s.action.api_action().is_some()).count()
    }

    /// The plan of the first `n` steps only (every dependency of a step comes before it, so
    /// a prefix is a valid plan): what a process that crashed after `n` steps did.
    pub fn truncated(&self, n: usize) -> Plan {
        let mut p = self.clone();
        p.steps.truncate(n);
        p
    }

    /// Steps by API action: `(action, count)`, sorted by action.
    pub fn calls_by_action(&self) -> Vec<(&'static str, usize)> {
        let mut m = std::collections::BTreeMap::new();
        for s in &self.steps {
            if let Some(a) = s.action.api_action() {
                *m.entry(a).or_insert(0) += 1;
            }
        }
        m.into_iter().collect()
    }
}

/// Collects steps.
#[derive(Default)]
pub(crate) struct Builder {
    pub(crate) steps: Vec<Step>,
}

impl Builder {
    /// Adds a step after `after`; returns its id.
    pub(crate) fn push(&mut self, action: Action, mut after: Vec<usize>) -> usize {
        after.sort_unstable();
        after.dedup();
        let id = self.steps.len();
        self.steps.push(Step { id, action, after });
        id
    }
}
