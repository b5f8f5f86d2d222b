//! [`ServiceReconciler`]: Services of `type: LoadBalancer` kept in step with SLB through
//! [`ServiceBinding`], for kube-runtime's `Controller`.

mod k8s;
mod run;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ack_net_slb::binding::{ObserveMode, ObserveOptions, PlanOptions, ServiceBinding};
use ack_net_slb::{LoadBalancerId, SlbClient};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::controller::Action;
use kube::runtime::events::{EventType, Reporter};
use kube::runtime::reflector::{self, store::Writer, Store};

use super::annotations::ServiceAnnotations;
use super::backends::{resolve_enis, service_key, slices_of, BackendMode, EniLookup};
use super::gate::{self, DrainClock, GatedPod};
use super::{translate, Error, ServiceConfig};
use crate::events::Events;
use crate::Backoff;

pub use self::k8s::FINALIZER;

/// What the reconciler remembers about a Service between runs.
#[derive(Debug, Default)]
struct Remembered {
    load_balancer_id: Option<LoadBalancerId>,
    failures: u32,
    notes: Vec<String>,
    /// When the last full observation was made.
    last_full: Option<tokio::time::Instant>,
    /// ENI mode: since when each terminating address drains.
    drains: DrainClock,
}

/// ENI mode: what the readiness gates and the drain clock make of the EndpointSlices.
#[derive(Debug, Default)]
struct Gated {
    /// The slices with gated pods admitted and drained addresses gone.
    slices: Vec<EndpointSlice>,
    /// The pods behind the Service's gate, open or not.
    gated: Vec<GatedPod>,
    /// When the next drain ends.
    next_drain: Option<tokio::time::Instant>,
}

/// Keeps each Service of `type: LoadBalancer` in step with a load balancer.
///
/// On every reconcile of a Service it wants (see [`ServiceConfig::wants`]) it:
///
/// 1. adds its finalizer [`FINALIZER`] before making anything in the cloud;
/// 2. turns the Service, the cached Nodes and EndpointSlices (and, for ENI backends, the
///    ENIs of the pod addresses) into a spec with [`translate`];
/// 3. observes the load balancer (fast when it is known and the last run succeeded, fully
///    otherwise and every hour), plans, and applies the plan through [`ServiceBinding`]
///    (nothing is written when nothing changed);
/// 4. sets `status.loadBalancer.ingress` to the load balancer's address when it differs;
///    in ENI mode, opens the [readiness gate](super::gate) of each pod waiting at it once the
///    load balancer serves the pod (pods still waiting are checked again after
///    [`with_gate_recheck`](Self::with_gate_recheck)), and removes terminating backends
///    once [`ServiceConfig::terminating_drain`] has passed;
/// 5. records Events: `EnsuredLoadBalancer` when it changed something, `AnnotationNotApplied`
///    for annotations with no effect, `SyncLoadBalancerFailed` with the error otherwise;
/// 6. requeues after [`ServiceReconciler::with_resync`] (drift is found then), or after a
///    [`Backoff`] delay when it failed.
///
/// When the Service is deleted, or stops wanting a load balancer, it removes what the
/// binding owns (keeping the load balancer with `preserve-lb-on-delete`), records
/// `DeletedLoadBalancer`, and removes its finalizer.
///
/// [`ServiceReconciler::run`] wires it into a `Controller` with the watches it needs;
/// [`reconcile`](Self::reconcile) and [`error_policy`](Self::error_policy) can also be given
/// to a `Controller` built by hand (feed the stores from [`ServiceReconciler::take_writers`]).
pub struct ServiceReconciler {
    client: kube::Client,
    slb: SlbClient,
    cfg: ServiceConfig,
    enis: Option<Arc<dyn EniLookup>>,
    plan_options: PlanOptions,
    observe_options: ObserveOptions,
    backoff: Backoff,
    resync: Duration,
    full_every: Duration,
    cache_timeout: Duration,
    gate_recheck: Duration,
    events: Events,
    nodes: Store<Node>,
    slices: Store<EndpointSlice>,
    writers: Mutex<Option<(Writer<Node>, Writer<EndpointSlice>)>>,
    state: Mutex<HashMap<String, Remembered>>,
}

impl std::fmt::Debug for ServiceReconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceReconciler")
            .field("cfg", &self.cfg)
            .field("eni_lookup", &self.enis.is_some())
            .field("backoff", &self.backoff)
            .field("resync", &self.resync)
            .finish_non_exhaustive()
    }
}

/// The controller name Events are reported as.
pub const CONTROLLER_NAME: &str = "ack-net-service-controller";

impl ServiceReconciler {
    /// A reconciler talking to Kubernetes through `client` and to SLB through `slb`, with no
    /// ENI lookup (a Service with `backend-type: eni` is then an error), the default plan
    /// options, [`Backoff::default`] and a resync every 10 minutes.
    pub fn new(client: kube::Client, slb: SlbClient, cfg: ServiceConfig) -> Self {
        let (nodes, node_writer) = reflector::store();
        let (slices, slice_writer) = reflector::store();
        let plan_options = PlanOptions::default().with_batch_size(slb.batch_size());
        let events = Events::new(
            client.clone(),
            Reporter { controller: CONTROLLER_NAME.to_owned(), instance: std::env::var("POD_NAME").ok() },
        );
        Self {
            client,
            slb,
            cfg,
            enis: None,
            plan_options,
            observe_options: ObserveOptions::default(),
            backoff: Backoff::default(),
            resync: Duration::from_secs(600),
            full_every: Duration::from_secs(3600),
            cache_timeout: Duration::from_secs(30),
            gate_recheck: Duration::from_secs(2),
            events,
            nodes,
            slices,
            writers: Mutex::new(Some((node_writer, slice_writer))),
            state: Mutex::new(HashMap::new()),
        }
    }

    /// Finds the ENIs of pod addresses for `backend-type: eni` Services (an
    /// [`ack_net_eni::EcsClient`], or a cache).
    pub fn with_eni_lookup(mut self, lookup: Arc<dyn EniLookup>) -> Self {
        self.enis = Some(lookup);
        self
    }

    /// Sets the binding's plan options (batch size, group quota, drain policy).
    pub fn with_plan_options(mut self, options: PlanOptions) -> Self {
        self.plan_options = options;
        self
    }

    /// Sets the binding's observation options. Their mode is the reconciler's to choose:
    /// a full observation when it knows no load balancer yet, after a failure (a plan may
    /// have stopped half way) and every [`with_full_observation_every`](Self::with_full_observation_every);
    /// a fast one (`1 + ports` reads when nothing changed) otherwise.
    pub fn with_observe_options(mut self, options: ObserveOptions) -> Self {
        self.observe_options = options;
        self
    }

    /// Sets how often a converged Service is observed fully (by default every hour), which
    /// also finds changes people made to its listeners in place.
    pub fn with_full_observation_every(mut self, every: Duration) -> Self {
        self.full_every = every;
        self
    }

    /// Sets the retry delays.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets how often a converged Service is checked again.
    pub fn with_resync(mut self, every: Duration) -> Self {
        self.resync = every;
        self
    }

    /// Sets how long a reconcile waits for the Node and EndpointSlice caches to fill.
    pub fn with_cache_timeout(mut self, timeout: Duration) -> Self {
        self.cache_timeout = timeout;
        self
    }

    /// Sets how soon a Service whose pods still wait at its readiness gate (their backends
    /// not yet in place or not yet healthy) is checked again (2 seconds by default).
    pub fn with_gate_recheck(mut self, every: Duration) -> Self {
        self.gate_recheck = every;
        self
    }

    /// Reports Events as `reporter` (by default [`CONTROLLER_NAME`], instance `$POD_NAME`).
    pub fn with_reporter(mut self, reporter: Reporter) -> Self {
        self.events = Events::new(self.client.clone(), reporter);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.cfg
    }

    /// The Node and EndpointSlice caches the reconciler reads.
    pub fn stores(&self) -> (Store<Node>, Store<EndpointSlice>) {
        (self.nodes.clone(), self.slices.clone())
    }

    /// The writers of the caches, once: for wiring the watches by hand (or feeding them in
    /// tests). [`run`](Self::run) takes them itself.
    pub fn take_writers(&self) -> Option<(Writer<Node>, Writer<EndpointSlice>)> {
        self.writers.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// The load balancer the reconciler last saw for the Service `namespace/name`.
    pub fn load_balancer_of(&self, service_key: &str) -> Option<LoadBalancerId> {
        self.with_state(service_key, |s| s.load_balancer_id.clone())
    }

    fn with_state<T>(&self, key: &str, f: impl FnOnce(&mut Remembered) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(state.entry(key.to_owned()).or_default())
    }

    fn forget(&self, key: &str) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// Reconciles one Service: give it to `Controller::run` with [`error_policy`](Self::error_policy).
    pub async fn reconcile(service: Arc<Service>, ctx: Arc<ServiceReconciler>) -> Result<Action, Error> {
        let key = service_key(&service);
        let result = ctx.reconcile_inner(&service, &key).await;
        match &result {
            Ok(_) => ctx.with_state(&key, |s| s.failures = 0),
            Err(e) => {
                tracing::warn!(service = %key, error = %e, "reconcile failed");
                ctx.publish(&service, EventType::Warning, "SyncLoadBalancerFailed", "Sync", e.to_string()).await;
            }
        }
        result
    }

    /// When to try again after `error`: the [`Backoff`] delay for this Service's failures in
    /// a row, or the longest delay for an error in the Service itself.
    pub fn error_policy(service: Arc<Service>, error: &Error, ctx: Arc<ServiceReconciler>) -> Action {
        let key = service_key(&service);
        let failures = ctx.with_state(&key, |s| {
            s.failures = s.failures.saturating_add(1);
            s.failures
        });
        if error.is_invalid_input() {
            Action::requeue(ctx.backoff.max)
        } else {
            Action::requeue(ctx.backoff.delay(failures))
        }
    }

    async fn reconcile_inner(&self, service: &Service, key: &str) -> Result<Action, Error> {
        let deleting = service.metadata.deletion_timestamp.is_some();
        if deleting || !self.cfg.wants(service) {
            if k8s::has_finalizer(service) {
                self.cleanup(service, key).await?;
                k8s::remove_finalizer(&self.client, service).await?;
                if !deleting {
                    k8s::clear_status(&self.client, service).await?;
                }
            }
            self.forget(key);
            return Ok(Action::await_change());
        }
        let service = if k8s::has_finalizer(service) {
            service.clone()
        } else {
            k8s::add_finalizer(&self.client, service).await?
        };
        self.wait_for_caches().await?;
        let nodes: Vec<Node> = self.nodes.state().iter().map(|n| (**n).clone()).collect();
        let slices: Vec<EndpointSlice> = self
            .slices
            .state()
            .iter()
            .filter(|s| s.metadata.namespace == service.metadata.namespace)
            .map(|s| (**s).clone())
            .collect();
        let annotations = ServiceAnnotations::from_service(&service)?;
        let mode = BackendMode::of(&service, &annotations)?;
        let gated = if mode == BackendMode::Eni {
            self.gated(&service, key, slices).await?
        } else {
            Gated { slices, ..Gated::default() }
        };
        let slices = &gated.slices;
        let enis = match (&self.enis, mode) {
            (Some(lookup), _) => resolve_enis(lookup.as_ref(), &service, &annotations, slices).await?,
            (None, BackendMode::Eni) => {
                return Err(Error::UnsupportedAnnotation {
                    annotation: super::annotations::BACKEND_TYPE.to_owned(),
                    value: "eni".to_owned(),
                    reason: "this controller has no ENI lookup (ServiceReconciler::with_eni_lookup)".to_owned(),
                })
            }
            (None, _) => Default::default(),
        };
        let translated = translate(&service, &nodes, slices, &enis, &self.cfg)?;
        let binding = ServiceBinding::builder(translated.spec.clone())
            .slb(self.slb.clone())
            .plan_options(self.plan_options.clone())
            .build()
            .map_err(Error::Spec)?;
        let now = tokio::time::Instant::now();
        let (remembered, full) = self.with_state(key, |s| {
            let stale = s.last_full.is_none_or(|t| now.duration_since(t) >= self.full_every);
            (s.load_balancer_id.clone(), s.load_balancer_id.is_none() || s.failures > 0 || stale)
        });
        let mode = if full { ObserveMode::Full } else { ObserveMode::Fast };
        let options = ObserveOptions { mode, ..self.observe_options.clone() };
        let observed = binding.observe_with(remembered.as_ref(), &options).await.map_err(Error::LoadBalancer)?;
        if full {
            self.with_state(key, |s| s.last_full = Some(now));
        }
        let plan = binding.plan(&observed).map_err(Error::LoadBalancer)?;
        let mut address: Option<IpAddr> = observed.load_balancer.as_ref().map(|o| o.attributes.address);
        let mut id = observed.load_balancer.as_ref().map(|o| o.attributes.load_balancer_id.clone());
        if !plan.is_empty() {
            let report = binding.apply(&plan).await.map_err(|e| Error::LoadBalancer(e.source))?;
            if let Some(created) = report.load_balancer_id.clone().filter(|c| Some(c) != id.as_ref()) {
                address = Some(
                    self.slb.load_balancers().get(&created).await.map_err(|e| Error::LoadBalancer(e.into()))?.address,
                );
                id = Some(created);
            }
            let summary: Vec<String> = report.steps.iter().map(|s| s.summary.clone()).collect();
            let note = format!(
                "{} on {}: {} step(s), {} API call(s): {}",
                if observed.load_balancer.is_none() { "created" } else { "updated" },
                id.as_ref().map(LoadBalancerId::as_str).unwrap_or("?"),
                report.steps.len(),
                report.total_calls(),
                summary.join("; ")
            );
            self.publish(&service, EventType::Normal, "EnsuredLoadBalancer", "Ensure", note).await;
        }
        self.with_state(key, |s| s.load_balancer_id = id.clone());
        if let Some(address) = address {
            let hostname = translated.annotations.load_balancer.hostname.as_deref();
            k8s::set_ingress(&self.client, &service, address, hostname).await?;
        }
        self.report_notes(&service, key, &translated.notes, !plan.is_empty()).await;
        let mut requeue = self.resync;
        if let Some(end) = gated.next_drain {
            requeue = requeue.min(end.saturating_duration_since(tokio::time::Instant::now()));
        }
        let waiting: Vec<&GatedPod> = gated.gated.iter().filter(|p| !p.open).collect();
        if let (false, Some(id)) = (waiting.is_empty(), id.as_ref()) {
            if !self.open_gates(&service, &binding, id, &waiting).await? {
                requeue = requeue.min(self.gate_recheck);
            }
        }
        Ok(Action::requeue(requeue))
    }

    /// The Service's slices as the ENI-mode spec sees them: pods behind its readiness gate
    /// admitted (read from the API: the not-ready endpoints' pods), terminating
    /// addresses whose drain is over removed.
    async fn gated(&self, service: &Service, key: &str, slices: Vec<EndpointSlice>) -> Result<Gated, Error> {
        let own = slices_of(service, &slices);
        let ns = service.metadata.namespace.as_deref().unwrap_or("default");
        let mut pods = Vec::new();
        for name in gate::not_ready_pods(&own) {
            pods.extend(k8s::get_pod(&self.client, ns, &name).await?);
        }
        let gated = gate::gated_pods(service, &pods);
        let drained = match self.cfg.terminating_drain {
            Some(period) => {
                let terminating = gate::terminating_addresses(&own);
                let now = tokio::time::Instant::now();
                self.with_state(key, |s| s.drains.tick(terminating, now, period))
            }
            None => gate::Drained::default(),
        };
        let slices = gate::drop_terminating(&gate::admit_gated(&slices, &gated), &drained.expired);
        Ok(Gated { slices, gated, next_drain: drained.next })
    }

    /// Opens the gate of each waiting pod the load balancer serves (read afresh, with
    /// health); whether every one was opened.
    async fn open_gates(
        &self,
        service: &Service,
        binding: &ServiceBinding,
        id: &LoadBalancerId,
        waiting: &[&GatedPod],
    ) -> Result<bool, Error> {
        let options = ObserveOptions { mode: ObserveMode::Fast, health: true, ..self.observe_options.clone() };
        let observed = binding.observe_with(Some(id), &options).await.map_err(Error::LoadBalancer)?;
        let Some(lb) = observed.load_balancer.as_ref() else { return Ok(false) };
        let ns = service.metadata.namespace.as_deref().unwrap_or("default");
        let condition = gate::readiness_gate(service.metadata.name.as_deref().unwrap_or_default());
        let mut all = true;
        for pod in waiting {
            if pod.ips.iter().any(|ip| gate::serves(binding.spec(), lb, *ip)) {
                k8s::open_gate(&self.client, ns, &pod.name, &condition).await?;
                tracing::info!(service = %service_key(service), pod = %pod.name, "readiness gate opened");
            } else {
                all = false;
            }
        }
        Ok(all)
    }

    /// Warns about annotations with no effect when they change (or the load balancer did).
    async fn report_notes(&self, service: &Service, key: &str, notes: &[String], changed: bool) {
        let new = self.with_state(key, |s| {
            let new = changed || s.notes != notes;
            s.notes = notes.to_vec();
            new
        });
        if new && !notes.is_empty() {
            self.publish(service, EventType::Warning, "AnnotationNotApplied", "Ensure", notes.join("; ")).await;
        }
    }

    async fn wait_for_caches(&self) -> Result<(), Error> {
        if !matches!(tokio::time::timeout(self.cache_timeout, self.nodes.wait_until_ready()).await, Ok(Ok(()))) {
            return Err(Error::CacheNotReady("Node"));
        }
        if !matches!(tokio::time::timeout(self.cache_timeout, self.slices.wait_until_ready()).await, Ok(Ok(()))) {
            return Err(Error::CacheNotReady("EndpointSlice"));
        }
        Ok(())
    }

    /// Removes what the binding owns for `service`.
    async fn cleanup(&self, service: &Service, key: &str) -> Result<(), Error> {
        let spec = k8s::deletion_spec(service, &self.cfg)?;
        let preserve = spec.preserve_on_delete;
        let binding = ServiceBinding::builder(spec)
            .slb(self.slb.clone())
            .plan_options(self.plan_options.clone())
            .build()
            .map_err(Error::Spec)?;
        let remembered = self.with_state(key, |s| s.load_balancer_id.clone());
        let done = binding.delete(remembered.as_ref()).await.map_err(Error::LoadBalancer)?;
        if !done.plan.is_empty() {
            let id = done.load_balancer_id().or(remembered.as_ref()).map(|i| format!(" on {i}")).unwrap_or_default();
            let (kind, reason) = if preserve {
                (EventType::Warning, "PreservedOnDelete")
            } else {
                (EventType::Normal, "DeletedLoadBalancer")
            };
            let note = format!("{} step(s), {} API call(s){id}", done.report.steps.len(), done.report.total_calls());
            self.publish(service, kind, reason, "Delete", note).await;
        }
        Ok(())
    }

    async fn publish(&self, service: &Service, type_: EventType, reason: &str, action: &str, note: String) {
        if let Err(e) = self.events.publish(service, type_, reason, action, note).await {
            tracing::warn!(service = %service_key(service), error = %e, reason, "could not record an Event");
        }
    }
}

#[cfg(test)]
mod tests;
