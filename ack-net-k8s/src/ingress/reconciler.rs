//! [`IngressReconciler`]: the Ingresses of ack-net's IngressClass kept in step with the
//! layer 7 of one load balancer through an [`IngressBinding`].
//!
//! All the Ingresses of the class share the load balancer, so a reconcile is a round over
//! all of them ([`IngressReconciler::reconcile_all`]): one translation, one plan, one apply.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ack_net_slb::binding::ingress::{IngressBinding, IngressError, IngressOwner, IngressPlanOptions, IngressReport};
use ack_net_slb::binding::{ApplyReport, BindingError, ObserveOptions, ServiceBinding};
use ack_net_slb::{LoadBalancerId, SlbClient};
use futures_util::{stream, FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::events::{EventType, Reporter};
use kube::runtime::{watcher, WatchStreamExt};
use serde_json::json;

use super::{ingress_enis, ingress_load_balancer, is_ours, key_of, translate, Cluster, Problem};
use crate::events::Events;
use crate::service::{EniLookup, EniMap, NodeFilter, ServiceConfig};
use crate::Backoff;

/// The finalizer the reconciler puts on the Ingresses it serves, so that their rules leave
/// the load balancer before they go.
pub const INGRESS_FINALIZER: &str = "ingress.ack-net.io/load-balancer";

/// The controller name Events are reported as (and the field manager of its patches).
pub const INGRESS_CONTROLLER_NAME: &str = "ack-net-ingress-controller";

/// What can stop a round of the [`IngressReconciler`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngressReconcileError {
    /// A Kubernetes API call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The load balancer's layer 7 could not be brought in step (nothing of a conflict or
    /// quota problem was written: those are found before any write).
    #[error("load balancer: {0}")]
    LoadBalancer(#[from] IngressError),
    /// The load balancer itself (made from the Ingresses' annotations) could not be
    /// created, found or deleted.
    #[error("load balancer: {0}")]
    Binding(#[from] BindingError),
    /// The Ingresses' load balancer annotations, each valid, do not fit together; or the
    /// ENIs of ENI-mode Services' pods could not be looked up.
    #[error("{0}")]
    Service(#[from] crate::service::Error),
}

/// Which load balancer the Ingresses share.
#[derive(Clone, Debug)]
enum Source {
    /// This one, as it is.
    Given(LoadBalancerId),
    /// The one their annotations say (see [`ingress_load_balancer`]), with these defaults.
    Annotations(Box<ServiceConfig>),
}

/// What one round did.
#[derive(Clone, Debug, Default)]
pub struct IngressRound {
    /// The Ingresses routed, by `namespace/name`.
    pub served: BTreeSet<String>,
    /// What each Ingress asks that was not done (see [`Problem`]).
    pub problems: BTreeMap<String, Vec<Problem>>,
    /// The cloud writes made on the layer 7.
    pub report: IngressReport,
    /// The writes made on the load balancer itself (its creation or deletion; empty with a
    /// given load balancer).
    pub load_balancer_report: ApplyReport,
    /// The load balancer (none once the last Ingress is gone and it was deleted).
    pub load_balancer_id: Option<LoadBalancerId>,
    /// The load balancer's address.
    pub address: Option<IpAddr>,
}

/// Keeps the Ingresses of ack-net's IngressClass (see [`is_ours`]) in step with the
/// layer 7 of one load balancer.
///
/// A round ([`reconcile_all`](Self::reconcile_all)):
///
/// 1. lists the IngressClasses, Ingresses, Services, EndpointSlices, Nodes and
///    `kubernetes.io/tls` Secrets;
/// 2. adds [`INGRESS_FINALIZER`] to each Ingress it serves before anything is written in
///    the cloud;
///    (with [`from_annotations`](Self::from_annotations)) creates or finds the load balancer
///    the Ingresses' annotations make, and deletes it once the last Ingress is gone (after
///    its rules) if it was made for them; finds the ENIs of ENI-mode Services' pods when it
///    has an [`EniLookup`] ([`with_eni_lookup`](Self::with_eni_lookup));
/// 3. translates them ([`translate`]: a broken Ingress is left out, the others keep
///    working), plans and applies through [`IngressBinding`] (0 writes when converged);
/// 4. sets `status.loadBalancer.ingress` of each served Ingress to the load balancer's
///    address, and empties it for an Ingress left out;
/// 5. records Events when what it says changes: `EnsuredLoadBalancer` (the rules changed),
///    `IngressNotServed` (an error: the Ingress is left out), `PathNotApplied` (a path
///    routed more narrowly than asked, or not at all), `AnnotationNotApplied` (an
///    annotation unknown, or meaningless on an Ingress);
/// 6. removes its finalizer from Ingresses deleted (or no longer of the class) once their
///    rules are gone from the load balancer.
///
/// `networking.k8s.io/v1` Ingress status has no conditions: what an Ingress asks that was
/// not done is in its Events, and an Ingress left out has no address in its status.
pub struct IngressReconciler {
    client: kube::Client,
    slb: SlbClient,
    owner: IngressOwner,
    source: Source,
    enis: Option<Arc<dyn EniLookup>>,
    node_filter: NodeFilter,
    options: IngressPlanOptions,
    backoff: Backoff,
    resync: Duration,
    events: Events,
    /// The problems last reported, by Ingress.
    reported: Mutex<BTreeMap<String, Vec<Problem>>>,
}

impl std::fmt::Debug for IngressReconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngressReconciler")
            .field("owner", &self.owner)
            .field("source", &self.source)
            .field("eni_lookup", &self.enis.is_some())
            .field("resync", &self.resync)
            .finish_non_exhaustive()
    }
}

fn api<K>(client: &kube::Client, meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(client.clone(), meta.namespace.as_deref().unwrap_or("default"))
}

fn has_finalizer(ing: &Ingress) -> bool {
    ing.metadata.finalizers.iter().flatten().any(|f| f == INGRESS_FINALIZER)
}

fn current_address(ing: &Ingress) -> Vec<Option<String>> {
    let lb = ing.status.as_ref().and_then(|s| s.load_balancer.as_ref());
    lb.and_then(|l| l.ingress.as_ref()).map(|i| i.iter().map(|i| i.ip.clone()).collect()).unwrap_or_default()
}

impl IngressReconciler {
    /// A reconciler of load balancer `load_balancer_id` for the Ingresses of ack-net's
    /// class, owning what `owner` marks; every Node may serve, the default plan options
    /// (with the client's batch size), [`Backoff::default`], a resync every 10 minutes.
    pub fn new(client: kube::Client, slb: SlbClient, owner: IngressOwner, load_balancer_id: LoadBalancerId) -> Self {
        Self::with_source(client, slb, owner, Source::Given(load_balancer_id))
    }

    /// A reconciler whose load balancer the Ingresses' annotations make (see
    /// [`ingress_load_balancer`]; `cfg` gives the defaults and the VSwitch of intranet ones, as
    /// for Services): created with [`load_balancer_owner`](super::load_balancer_owner)'s
    /// tags when none is found by them (or reused by the `id` annotation), and deleted once
    /// the last Ingress of the class is gone, if it was created so (and
    /// `preserve-lb-on-delete` is not set). Otherwise as [`new`](Self::new).
    pub fn from_annotations(client: kube::Client, slb: SlbClient, owner: IngressOwner, cfg: ServiceConfig) -> Self {
        Self::with_source(client, slb, owner, Source::Annotations(Box::new(cfg)))
    }

    fn with_source(client: kube::Client, slb: SlbClient, owner: IngressOwner, source: Source) -> Self {
        let events = Events::new(
            client.clone(),
            Reporter { controller: INGRESS_CONTROLLER_NAME.to_owned(), instance: std::env::var("POD_NAME").ok() },
        );
        let options = IngressPlanOptions::default().with_batch_size(slb.batch_size());
        Self {
            client,
            slb,
            owner,
            source,
            enis: None,
            node_filter: NodeFilter::default(),
            options,
            backoff: Backoff::default(),
            resync: Duration::from_secs(600),
            events,
            reported: Mutex::new(BTreeMap::new()),
        }
    }

    /// Finds the ENIs holding the pod addresses of ENI-mode Services (`backend-type: eni`):
    /// an [`ack_net_eni::EcsClient`], or a cache. Without one, such a Service's pods are no
    /// backends (the Ingress is told so).
    pub fn with_eni_lookup(mut self, lookup: Arc<dyn EniLookup>) -> Self {
        self.enis = Some(lookup);
        self
    }

    /// Sets which Nodes may serve (as for Services).
    pub fn with_node_filter(mut self, filter: NodeFilter) -> Self {
        self.node_filter = filter;
        self
    }

    /// Sets the plan options (quotas raised, drain policy).
    pub fn with_plan_options(mut self, options: IngressPlanOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets the retry delays of [`run`](Self::run).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets how often [`run`](Self::run) makes a round when nothing changed.
    pub fn with_resync(mut self, every: Duration) -> Self {
        self.resync = every;
        self
    }

    /// One round over every Ingress of the class (see the type's docs).
    pub async fn reconcile_all(&self) -> Result<IngressRound, IngressReconcileError> {
        let c = &self.client;
        let classes = Api::<IngressClass>::all(c.clone()).list(&ListParams::default()).await?.items;
        let ingresses = Api::<Ingress>::all(c.clone()).list(&ListParams::default()).await?.items;
        let services = Api::<Service>::all(c.clone()).list(&ListParams::default()).await?.items;
        let slices = Api::<EndpointSlice>::all(c.clone()).list(&ListParams::default()).await?.items;
        let nodes = Api::<Node>::all(c.clone()).list(&ListParams::default()).await?.items;
        let tls_only = ListParams::default().fields("type=kubernetes.io/tls");
        let secrets = Api::<Secret>::all(c.clone()).list(&tls_only).await?.items;

        let (mut live, leaving): (Vec<Ingress>, Vec<Ingress>) = ingresses
            .into_iter()
            .filter(|i| is_ours(i, &classes) || has_finalizer(i))
            .partition(|i| i.metadata.deletion_timestamp.is_none() && is_ours(i, &classes));
        for ing in live.iter_mut().filter(|i| !has_finalizer(i)) {
            let mut finalizers = ing.metadata.finalizers.clone().unwrap_or_default();
            finalizers.push(INGRESS_FINALIZER.to_owned());
            *ing = self.set_finalizers(ing, finalizers).await?;
        }

        // The load balancer: the given one, or the one the annotations make: of the Ingresses
        // that stay, else of those leaving (so that a reused one is still found and cleaned).
        let (lb, mut problems) = match &self.source {
            Source::Given(_) => (None, BTreeMap::new()),
            Source::Annotations(cfg) => {
                let made = ingress_load_balancer(&self.owner, if live.is_empty() { &leaving } else { &live }, cfg)?;
                let binding = ServiceBinding::builder(made.spec).slb(self.slb.clone()).build()?;
                (Some((binding, made.rejected, made.acl)), made.problems)
            }
        };
        if live.is_empty() {
            problems.clear();
        }
        let rejected = lb.as_ref().map(|(_, r, _)| r.clone()).unwrap_or_default();
        let acl = lb.as_ref().and_then(|(_, _, a)| a.clone());
        let served: Vec<Ingress> = live.iter().filter(|i| !rejected.contains(&key_of(&i.metadata))).cloned().collect();
        let mut load_balancer_report = ApplyReport::default();
        let id = match (&self.source, &lb) {
            (Source::Given(id), _) => Some(id.clone()),
            (Source::Annotations(_), Some((binding, _, _))) => {
                let observed = binding.observe_with(None, &ObserveOptions::full()).await?;
                let found = observed.load_balancer.as_ref().map(|o| o.attributes.load_balancer_id.clone());
                if served.is_empty() {
                    // Nothing to serve: no load balancer is made for it.
                    found
                } else {
                    let plan = binding.plan(&observed)?;
                    load_balancer_report = binding.apply(&plan).await.map_err(|e| e.source)?;
                    load_balancer_report.load_balancer_id.clone().or(found)
                }
            }
            (Source::Annotations(_), None) => None,
        };

        let enis = match &self.enis {
            Some(lookup) => ingress_enis(lookup.as_ref(), &served, &services, &slices).await?,
            None => EniMap::default(),
        };
        let cluster = Cluster {
            services: &services,
            slices: &slices,
            nodes: &nodes,
            secrets: &secrets,
            enis: &enis,
            filter: &self.node_filter,
        };
        let mut translated = None;
        let mut done = None;
        let mut address = None;
        if let Some(id) = &id {
            let mut t = translate(self.owner.clone(), id.clone(), &served, cluster);
            t.spec.acl = acl;
            let binding = IngressBinding::new(self.slb.clone(), t.spec.clone())?.with_options(self.options.clone());
            done = Some(binding.reconcile().await?);
            translated = Some(t);
        }
        let mut id = id;
        if let (true, Some((binding, _, _)), Some(lb_id)) = (live.is_empty(), &lb, id.clone()) {
            // The last Ingress is gone, and its rules with it: the load balancer goes if it
            // was made for the Ingresses.
            let observed = binding.observe_with(Some(&lb_id), &ObserveOptions::full()).await?;
            let report = binding.apply(&binding.plan_delete(&observed)?).await.map_err(|e| e.source)?;
            if report.calls.contains_key("DeleteLoadBalancer") {
                id = None;
            }
            load_balancer_report = report;
        }
        if let Some(id) = &id {
            address = Some(self.slb.load_balancers().get(id).await.map_err(IngressError::from)?.address);
        }
        let (served_keys, translated_problems) = translated.map(|t| (t.served, t.problems)).unwrap_or_default();
        for (k, ps) in translated_problems {
            problems.entry(k).or_default().extend(ps);
        }
        let report = done.as_ref().map(|d| d.report.clone()).unwrap_or_default();
        let changed = done.as_ref().is_some_and(|d| !d.plan.is_empty()) || load_balancer_report.writes() > 0;

        for ing in &live {
            let key = key_of(&ing.metadata);
            let want = if served_keys.contains(&key) { address } else { None };
            self.set_address(ing, want).await?;
            if let (true, Some(_), Some(lb_id)) = (changed, want, &id) {
                let calls = load_balancer_report.calls.iter().chain(&report.calls);
                let note = format!(
                    "rules of {lb_id} brought in step: {} write(s) ({})",
                    load_balancer_report.writes() + report.writes(),
                    calls.map(|(a, n)| format!("{a} x{n}")).collect::<Vec<_>>().join(", ")
                );
                self.publish(ing, EventType::Normal, "EnsuredLoadBalancer", note).await;
            }
            self.report_problems(ing, &key, problems.get(&key).map(Vec::as_slice).unwrap_or_default()).await;
        }
        for ing in &leaving {
            if ing.metadata.deletion_timestamp.is_none() {
                self.set_address(ing, None).await?;
            }
            let rest: Vec<String> =
                ing.metadata.finalizers.iter().flatten().filter(|f| *f != INGRESS_FINALIZER).cloned().collect();
            self.set_finalizers(ing, rest).await?;
            self.forget(&key_of(&ing.metadata));
        }
        Ok(IngressRound { served: served_keys, problems, report, load_balancer_report, load_balancer_id: id, address })
    }

    /// Runs rounds until Ctrl-C or SIGTERM: one at the start, one whenever an Ingress,
    /// IngressClass, Service, EndpointSlice, Node or Secret changes (changes that come
    /// during a round make one more), one every [`with_resync`](Self::with_resync), and
    /// after a failed round one after a [`Backoff`] delay.
    ///
    /// It needs RBAC permission to list and watch `ingresses` and `ingressclasses`
    /// (`networking.k8s.io`), `services`, `nodes`, `secrets` and
    /// `endpointslices.discovery.k8s.io`, to patch `ingresses` and `ingresses/status`, and to
    /// create and patch `events.events.k8s.io`.
    ///
    /// ```no_run
    /// use ack_net_core::{Credentials, RpcClient};
    /// use ack_net_k8s::ingress::IngressReconciler;
    /// use ack_net_slb::binding::ingress::IngressOwner;
    /// use ack_net_slb::{LoadBalancerId, SlbClient};
    ///
    /// # async fn demo(kube_client: kube::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let rpc = RpcClient::builder()
    ///     .region("cn-hangzhou")
    ///     .credentials(Credentials::new("testid", "testsecret"))
    ///     .build()?;
    /// let lb = "lb-bp1o94dp5i6earr9g6d1l".parse::<LoadBalancerId>()?;
    /// IngressReconciler::new(kube_client, SlbClient::new(rpc), IngressOwner::new("c-1234", "ack-net"), lb)
    ///     .run()
    ///     .await;
    /// # Ok(()) }
    /// ```
    pub async fn run(self) {
        fn changes<K>(api: Api<K>, config: watcher::Config) -> stream::BoxStream<'static, ()>
        where
            K: kube::Resource<DynamicType = ()>
                + Clone
                + serde::de::DeserializeOwned
                + std::fmt::Debug
                + Send
                + 'static,
        {
            watcher(api, config).default_backoff().touched_objects().map(|_| ()).boxed()
        }
        let c = &self.client;
        let mut triggers = stream::select_all([
            changes(Api::<Ingress>::all(c.clone()), watcher::Config::default()),
            changes(Api::<IngressClass>::all(c.clone()), watcher::Config::default()),
            changes(Api::<Service>::all(c.clone()), watcher::Config::default()),
            changes(Api::<EndpointSlice>::all(c.clone()), watcher::Config::default()),
            changes(Api::<Node>::all(c.clone()), watcher::Config::default()),
            changes(Api::<Secret>::all(c.clone()), watcher::Config::default().fields("type=kubernetes.io/tls")),
        ]);
        let mut failures = 0u32;
        let shutdown = tokio::signal::ctrl_c();
        tokio::pin!(shutdown);
        loop {
            let wait = match self.reconcile_all().await {
                Ok(round) => {
                    failures = 0;
                    tracing::debug!(served = round.served.len(), writes = round.report.writes(), "ingress round");
                    self.resync
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, "ingress round failed");
                    let delay = self.backoff.delay(failures);
                    tokio::select! {
                        _ = &mut shutdown => return,
                        () = tokio::time::sleep(delay) => {}
                    }
                    Duration::ZERO
                }
            };
            tokio::select! {
                _ = &mut shutdown => return,
                // (Were every watch to end, only the timer would be left.)
                Some(()) = triggers.next() => {}
                () = tokio::time::sleep(wait) => {}
            }
            // Everything that came meanwhile is seen by the next round.
            while let Some(Some(())) = triggers.next().now_or_never() {}
        }
    }

    async fn set_finalizers(&self, ing: &Ingress, finalizers: Vec<String>) -> Result<Ingress, kube::Error> {
        let patch = json!({
            "metadata": {"finalizers": finalizers, "resourceVersion": ing.metadata.resource_version}
        });
        let pp = PatchParams { field_manager: Some(INGRESS_CONTROLLER_NAME.to_owned()), ..PatchParams::default() };
        api::<Ingress>(&self.client, &ing.metadata)
            .patch(ing.metadata.name.as_deref().unwrap_or_default(), &pp, &Patch::Merge(&patch))
            .await
    }

    /// Sets `status.loadBalancer.ingress` to `address` (or empties it), unless it already is.
    async fn set_address(&self, ing: &Ingress, address: Option<IpAddr>) -> Result<(), kube::Error> {
        let want: Vec<Option<String>> = address.iter().map(|a| Some(a.to_string())).collect();
        if current_address(ing) == want {
            return Ok(());
        }
        let entries = address.map(|a| json!([{"ip": a.to_string()}])).unwrap_or(json!(null));
        let patch = json!({"status": {"loadBalancer": {"ingress": entries}}});
        let pp = PatchParams { field_manager: Some(INGRESS_CONTROLLER_NAME.to_owned()), ..PatchParams::default() };
        api::<Ingress>(&self.client, &ing.metadata)
            .patch_status(ing.metadata.name.as_deref().unwrap_or_default(), &pp, &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    /// Records the problems of an Ingress when they differ from those last recorded.
    async fn report_problems(&self, ing: &Ingress, key: &str, problems: &[Problem]) {
        let changed = {
            let mut reported = self.reported.lock().unwrap_or_else(PoisonError::into_inner);
            let before = reported.insert(key.to_owned(), problems.to_vec());
            before.as_deref().unwrap_or_default() != problems
        };
        if !changed {
            return;
        }
        let (errors, others): (Vec<&Problem>, Vec<&Problem>) = problems.iter().partition(|p| p.is_error());
        let (annotations, others): (Vec<&Problem>, Vec<&Problem>) =
            others.into_iter().partition(|p| matches!(p, Problem::Annotation(_)));
        let join = |ps: &[&Problem]| ps.iter().map(|p| p.message()).collect::<Vec<_>>().join("; ");
        if !errors.is_empty() {
            self.publish(ing, EventType::Warning, "IngressNotServed", join(&errors)).await;
        }
        if !others.is_empty() {
            self.publish(ing, EventType::Warning, "PathNotApplied", join(&others)).await;
        }
        if !annotations.is_empty() {
            self.publish(ing, EventType::Warning, "AnnotationNotApplied", join(&annotations)).await;
        }
    }

    fn forget(&self, key: &str) {
        self.reported.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    async fn publish(&self, ing: &Ingress, type_: EventType, reason: &str, note: String) {
        if let Err(e) = self.events.publish(ing, type_, reason, "Ensure", note).await {
            tracing::warn!(ingress = %key_of(&ing.metadata), error = %e, reason, "could not record an Event");
        }
    }
}
