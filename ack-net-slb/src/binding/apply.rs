//! Carrying out a [`Plan`]: independent steps at once (up to a bound), each after the
//! steps it depends on, every API call counted.

use ack_net_core::ErrorInfo;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use super::diff::full_listener;
use super::error::BindingError;
use super::plan::{Action, GroupRef, LoadBalancerRef, Plan, Step};
use super::spec::Billing;
use crate::{
    BackendKey, HealthStatus, ListenerProtocol, LoadBalancerId, ModificationProtectionStatus, SlbClient, VServerGroupId,
};

/// Called after each step that succeeded.
pub type StepHook = Arc<dyn Fn(&StepReport) + Send + Sync>;

/// Options of [`apply`].
#[derive(Clone)]
pub struct ApplyOptions {
    /// How many independent steps run at once (at least 1).
    pub concurrency: usize,
    /// Called after each step that succeeded, in the order they finish (tests use it to look
    /// at the cloud between steps).
    pub on_step: Option<StepHook>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self { concurrency: 4, on_step: None }
    }
}

impl fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("concurrency", &self.concurrency)
            .field("on_step", &self.on_step.as_ref().map(|_| "Fn"))
            .finish()
    }
}

impl ApplyOptions {
    /// Sets the concurrency.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Sets the hook called after each step.
    pub fn on_step(mut self, hook: impl Fn(&StepReport) + Send + Sync + 'static) -> Self {
        self.on_step = Some(Arc::new(hook));
        self
    }
}

/// One step done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepReport {
    /// The step's id in the plan.
    pub id: usize,
    /// The API action (`"Wait"` for a drain wait).
    pub action: &'static str,
    /// The step, as the plan prints it.
    pub summary: String,
    /// API calls it made (1 for every step but a wait, whose calls are health reads).
    pub calls: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// What [`apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// The load balancer (created by this apply, or the plan's).
    pub load_balancer_id: Option<LoadBalancerId>,
    /// The steps done, in the order they finished.
    pub steps: Vec<StepReport>,
    /// API calls by action, failed ones included (a call the client retried counts once).
    pub calls: BTreeMap<&'static str, u64>,
}

impl ApplyReport {
    /// All API calls.
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Read calls (health polls while draining).
    pub fn reads(&self) -> u64 {
        self.calls.get("DescribeHealthStatus").copied().unwrap_or(0)
    }

    /// Write calls.
    pub fn writes(&self) -> u64 {
        self.total_calls() - self.reads()
    }
}

/// A step failed. The steps before it (and any running beside it) were done, and are in
/// `report`; planning again from a new observation picks up from there.
#[derive(Debug, thiserror::Error)]
#[error("step {step} ({action}) failed: {source}")]
pub struct ApplyError {
    /// The failed step.
    pub step: usize,
    /// Its API action.
    pub action: &'static str,
    /// What was done.
    pub report: ApplyReport,
    /// Why it failed.
    #[source]
    pub source: BindingError,
}

/// What a step made that later steps need.
enum Made {
    Nothing,
    LoadBalancer(LoadBalancerId),
    Group(u16, VServerGroupId),
}

type StepResult = (usize, Duration, u64, Result<Made, BindingError>);
type StepFuture<'a> = Pin<Box<dyn Future<Output = StepResult> + Send + 'a>>;

/// Carries out `plan` with `client` (its batch size set to the plan's, so every step is
/// one call). Steps run as soon as the steps they depend on are done, at most
/// `options.concurrency` at a time. On the first failure no new step starts; the running
/// ones finish; the error carries the report.
pub async fn apply(client: &SlbClient, plan: &Plan, options: &ApplyOptions) -> Result<ApplyReport, ApplyError> {
    let client = client.clone().with_batch_size(plan.batch_size);
    let mut report = ApplyReport {
        load_balancer_id: match &plan.load_balancer {
            Some(LoadBalancerRef::Existing(id)) => Some(id.clone()),
            _ => None,
        },
        ..ApplyReport::default()
    };
    let n = plan.steps.len();
    for s in &plan.steps {
        if s.id >= n || plan.steps[s.id].id != s.id || s.after.iter().any(|a| *a >= s.id) {
            return Err(ApplyError {
                step: s.id,
                action: s.action.api_action().unwrap_or("Wait"),
                report,
                source: BindingError::UnresolvedReference {
                    step: s.id,
                    missing: "an earlier step it depends on".into(),
                },
            });
        }
    }
    let mut groups: HashMap<u16, VServerGroupId> = HashMap::new();
    let mut done = vec![false; n];
    let mut started = vec![false; n];
    let mut running: FuturesUnordered<StepFuture<'_>> = FuturesUnordered::new();
    let mut failure: Option<(usize, BindingError)> = None;
    let limit = options.concurrency.max(1);
    loop {
        if failure.is_none() {
            for s in &plan.steps {
                if running.len() >= limit {
                    break;
                }
                if started[s.id] || !s.after.iter().all(|a| done[*a]) {
                    continue;
                }
                started[s.id] = true;
                match resolve(s, report.load_balancer_id.as_ref(), &groups) {
                    Ok((lb, group)) => running.push(Box::pin(run(client.clone(), plan, s, lb, group))),
                    Err(e) => {
                        failure = Some((s.id, e));
                        break;
                    }
                }
            }
        }
        let Some((id, elapsed, calls, result)) = running.next().await else { break };
        let step = &plan.steps[id];
        let action = step.action.api_action().unwrap_or("Wait");
        if calls > 0 {
            let key = if action == "Wait" { "DescribeHealthStatus" } else { action };
            *report.calls.entry(key).or_insert(0) += calls;
        }
        match result {
            Ok(made) => {
                done[id] = true;
                match made {
                    Made::Nothing => {}
                    Made::LoadBalancer(lb) => report.load_balancer_id = Some(lb),
                    Made::Group(port, g) => {
                        groups.insert(port, g);
                    }
                }
                let r = StepReport { id, action, summary: step.action.to_string(), calls, elapsed };
                tracing::debug!(step = id, action, calls, "binding step done");
                if let Some(hook) = &options.on_step {
                    hook(&r);
                }
                report.steps.push(r);
            }
            Err(e) => {
                tracing::warn!(step = id, action, error = %e, "binding step failed");
                if failure.is_none() {
                    failure = Some((id, e));
                }
            }
        }
    }
    match failure {
        None => Ok(report),
        Some((step, source)) => {
            let action = plan.steps[step].action.api_action().unwrap_or("Wait");
            Err(ApplyError { step, action, report, source })
        }
    }
}

/// The load balancer and group a step works on, from the plan or from earlier steps.
fn resolve(
    s: &Step,
    lb: Option<&LoadBalancerId>,
    groups: &HashMap<u16, VServerGroupId>,
) -> Result<(Option<LoadBalancerId>, Option<VServerGroupId>), BindingError> {
    let missing = |what: String| BindingError::UnresolvedReference { step: s.id, missing: what };
    let group_ref = match &s.action {
        Action::AddBackends { group, .. }
        | Action::SetBackends { group, .. }
        | Action::WaitDrain { group, .. }
        | Action::RemoveBackends { group, .. }
        | Action::ReplaceBackends { group, .. } => Some(group),
        Action::CreateListener { group, .. } | Action::SetListener { group, .. } => group.as_ref(),
        _ => None,
    };
    let group = match group_ref {
        None => None,
        Some(GroupRef::Existing(g)) => Some(g.clone()),
        Some(GroupRef::New(port)) => {
            Some(groups.get(port).cloned().ok_or_else(|| missing(format!("the new VServer group of port {port}")))?)
        }
    };
    let needs_lb = !matches!(
        s.action,
        Action::CreateLoadBalancer { .. }
            | Action::AddBackends { .. }
            | Action::SetBackends { .. }
            | Action::RemoveBackends { .. }
            | Action::ReplaceBackends { .. }
            | Action::DeleteGroup { .. }
            | Action::DeleteLoadBalancer { .. }
    );
    let lb = match (needs_lb, lb) {
        (true, None) => return Err(missing("the load balancer".into())),
        (_, lb) => lb.cloned(),
    };
    Ok((lb, group))
}

async fn run(
    client: SlbClient,
    plan: &Plan,
    s: &Step,
    lb: Option<LoadBalancerId>,
    group: Option<VServerGroupId>,
) -> StepResult {
    let started = Instant::now();
    let mut calls = 0u64;
    let result = execute(&client, plan, s, lb, group, &mut calls).await;
    (s.id, started.elapsed(), calls, result)
}

async fn execute(
    client: &SlbClient,
    plan: &Plan,
    s: &Step,
    lb: Option<LoadBalancerId>,
    group: Option<VServerGroupId>,
    calls: &mut u64,
) -> Result<Made, BindingError> {
    let lb_id =
        || lb.clone().ok_or_else(|| BindingError::UnresolvedReference { step: s.id, missing: "load balancer".into() });
    let group_id = || {
        group.clone().ok_or_else(|| BindingError::UnresolvedReference { step: s.id, missing: "VServer group".into() })
    };
    if s.action.api_action().is_some() {
        *calls += 1;
    }
    let lbs = client.load_balancers();
    let groups = client.vserver_groups();
    let listeners = client.listeners();
    match &s.action {
        Action::CreateLoadBalancer { attributes: a, tags, client_token } => {
            let mut c = lbs.create().address_type(a.address_type.clone()).tags(tags.iter().cloned());
            if let Some(v) = &a.address_ip_version {
                c = c.address_ip_version(v.clone());
            }
            if let Some(v) = &a.vswitch_id {
                c = c.vswitch_id(v.clone());
            }
            if let Some(v) = a.address {
                c = c.address(v);
            }
            c = match &a.billing {
                Billing::PayBySpec(spec) => c.spec(spec.clone()),
                Billing::PayByClcu => c.pay_by_clcu(),
            };
            if let Some(v) = &a.name {
                c = c.name(v.clone());
            }
            if let Some(v) = &a.internet_charge_type {
                c = c.internet_charge_type(v.clone());
            }
            if let Some(v) = a.bandwidth {
                c = c.bandwidth(v);
            }
            if let Some(v) = &a.master_zone_id {
                c = c.master_zone_id(v.clone());
            }
            if let Some(v) = &a.slave_zone_id {
                c = c.slave_zone_id(v.clone());
            }
            if let Some(v) = &a.resource_group_id {
                c = c.resource_group_id(v.clone());
            }
            if a.modification_protection {
                c = c.modification_protection(ModificationProtectionStatus::ConsoleProtection, None);
            }
            let created = c.delete_protection(a.delete_protection).client_token(client_token.clone()).send().await?;
            Ok(Made::LoadBalancer(created.load_balancer_id))
        }
        Action::SetLoadBalancerName { to, .. } => unit(lbs.set_name(&lb_id()?, to).send().await),
        Action::ModifyInstanceSpec { to, .. } => unit(lbs.modify_instance_spec(&lb_id()?, to.clone()).send().await),
        Action::ModifyInternetSpec { charge_type, bandwidth } => {
            unit(lbs.modify_internet_spec(&lb_id()?, charge_type.clone(), *bandwidth).send().await)
        }
        Action::SetDeleteProtection { on } => unit(lbs.set_delete_protection(&lb_id()?, *on).send().await),
        Action::SetModificationProtection { on } => {
            let status = if *on {
                ModificationProtectionStatus::ConsoleProtection
            } else {
                ModificationProtectionStatus::NonProtection
            };
            unit(lbs.set_modification_protection(&lb_id()?, status, None).send().await)
        }
        Action::TagLoadBalancer { tags } => unit(client.tags().tag(&[lb_id()?], tags).send().await),
        Action::UntagLoadBalancer { keys } => {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            unit(client.tags().untag(&[lb_id()?], &keys).send().await)
        }
        Action::DeleteLoadBalancer { load_balancer_id } => unit(lbs.delete(load_balancer_id).await.map(drop)),
        Action::CreateGroup { port, name, backends } => {
            let created = groups.create(&lb_id()?, name.clone()).backends(backends.clone()).send().await?;
            Ok(Made::Group(*port, created.vserver_group_id))
        }
        Action::AddBackends { backends, .. } => {
            unit(groups.add_backends(&group_id()?, backends.clone()).send().await.map(drop))
        }
        Action::SetBackends { backends, .. } => {
            unit(groups.set_backends(&group_id()?, backends.clone()).send().await.map(drop))
        }
        Action::RemoveBackends { backends, .. } => {
            unit(groups.remove_backends(&group_id()?, backends.clone()).send().await.map(drop))
        }
        Action::ReplaceBackends { old, new, .. } => {
            unit(groups.replace_backends(&group_id()?, old.clone(), new.clone()).send().await.map(drop))
        }
        Action::DeleteGroup { group, .. } => unit(groups.delete(group).await.map(drop)),
        Action::WaitDrain { listener, backends, period, poll_health, .. } => {
            wait_drain(client, lb.as_ref(), listener.as_ref(), backends, *period, *poll_health, calls).await;
            Ok(Made::Nothing)
        }
        Action::CreateListener { listener, fingerprint, .. } => {
            let spec = full_listener(listener, &plan.owner, fingerprint, group.as_ref());
            unit(listeners.create(&lb_id()?, spec).send().await)
        }
        Action::SetListener { listener, fingerprint, .. } => {
            let spec = full_listener(listener, &plan.owner, fingerprint, group.as_ref());
            unit(listeners.set(&lb_id()?, spec).send().await)
        }
        Action::StartListener { port, protocol } => {
            unit(listeners.start(&lb_id()?, *port, protocol.clone()).send().await.map(drop))
        }
        Action::DeleteListener { port, protocol, .. } => {
            unit(listeners.delete(&lb_id()?, *port, protocol.clone()).send().await.map(drop))
        }
    }
}

fn unit(r: Result<(), crate::Error>) -> Result<Made, BindingError> {
    r.map(|()| Made::Nothing).map_err(BindingError::from)
}

/// Waits `period`; with `poll` and a listener, looks at its backends' health that often
/// and stops once none of `backends` is healthy (it serves nothing any more).
async fn wait_drain(
    client: &SlbClient,
    lb: Option<&LoadBalancerId>,
    listener: Option<&(u16, ListenerProtocol)>,
    backends: &[BackendKey],
    period: Duration,
    poll: Option<Duration>,
    calls: &mut u64,
) {
    let deadline = Instant::now() + period;
    let (Some(every), Some(lb), Some((port, protocol))) = (poll, lb, listener) else {
        tokio::time::sleep_until(deadline).await;
        return;
    };
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        *calls += 1;
        match client.health().describe(lb, Some((*port, protocol.clone()))).await {
            Ok(health) => {
                let serving = backends.iter().any(|k| {
                    health.iter().any(|h| {
                        h.status == HealthStatus::Normal
                            && h.server_id == k.server_id
                            && h.port == k.port
                            && (k.server_ip.is_none() || h.server_ip == k.server_ip)
                    })
                });
                if !serving {
                    return;
                }
            }
            // The listener is gone: nothing is served through it.
            Err(e) if e.is_not_found() => return,
            // Health could not be read: keep waiting the period out.
            Err(e) => tracing::debug!(error = %e, "health read failed while draining"),
        }
        tokio::time::sleep(every.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}
