//! [`IngressReconciler`]: the Ingresses of ack-net's IngressClass kept in step with the
//! layer 7 of one load balancer through an [`IngressBinding`].
//!
//! All the Ingresses of the class share the load balancer, so a reconcile is a round over
//! all of them ([`IngressReconciler::reconcile_all`]): one translation, one plan, one apply.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use ack_net_slb::binding::ingress::{IngressBinding, IngressError, IngressOwner, IngressPlanOptions, IngressReport};
use ack_net_slb::{LoadBalancerId, SlbClient};
use futures_util::{stream, FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::events::{EventType, Reporter};
use kube::runtime::{watcher, WatchStreamExt};
use serde_json::json;

use super::{is_ours, key_of, translate, Cluster, Problem};
use crate::events::Events;
use crate::service::{EniMap, NodeFilter};
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
    /// The load balancer could not be brought in step (nothing of a conflict or quota
    /// problem was written: those are found before any write).
    #[error("load balancer: {0}")]
    LoadBalancer(#[from] IngressError),
}

/// What one round did.
#[derive(Clone, Debug, Default)]
pub struct IngressRound {
    /// The Ingresses routed, by `namespace/name`.
    pub served: BTreeSet<String>,
    /// What each Ingress asks that was not done (see [`Problem`]).
    pub problems: BTreeMap<String, Vec<Problem>>,
    /// The cloud writes made.
    pub report: IngressReport,
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
    load_balancer_id: LoadBalancerId,
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
            .field("load_balancer_id", &self.load_balancer_id)
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
        let events = Events::new(
            client.clone(),
            Reporter { controller: INGRESS_CONTROLLER_NAME.to_owned(), instance: std::env::var("POD_NAME").ok() },
        );
        let options = IngressPlanOptions::default().with_batch_size(slb.batch_size());
        Self {
            client,
            slb,
            owner,
            load_balancer_id,
            node_filter: NodeFilter::default(),
            options,
            backoff: Backoff::default(),
            resync: Duration::from_secs(600),
            events,
            reported: Mutex::new(BTreeMap::new()),
        }
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

        let enis = EniMap::default();
        let cluster = Cluster {
            services: &services,
            slices: &slices,
            nodes: &nodes,
            secrets: &secrets,
            enis: &enis,
            filter: &self.node_filter,
        };
        let translated = translate(self.owner.clone(), self.load_balancer_id.clone(), &live, cluster);
        let binding =
            IngressBinding::new(self.slb.clone(), translated.spec.clone())?.with_options(self.options.clone());
        let done = binding.reconcile().await?;
        let address = self.slb.load_balancers().get(&self.load_balancer_id).await.map_err(IngressError::from)?.address;

        for ing in &live {
            let key = key_of(&ing.metadata);
            let want = translated.served.contains(&key).then_some(address);
            self.set_address(ing, want).await?;
            if !done.plan.is_empty() && want.is_some() {
                let note = format!(
                    "rules of {} brought in step: {} write(s) ({})",
                    self.load_balancer_id,
                    done.report.writes(),
                    done.report.calls.iter().map(|(a, n)| format!("{a} x{n}")).collect::<Vec<_>>().join(", ")
                );
                self.publish(ing, EventType::Normal, "EnsuredLoadBalancer", note).await;
            }
            self.report_problems(ing, &key, translated.problems.get(&key).map(Vec::as_slice).unwrap_or_default()).await;
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
        Ok(IngressRound {
            served: translated.served,
            problems: translated.problems,
            report: done.report,
            address: Some(address),
        })
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
