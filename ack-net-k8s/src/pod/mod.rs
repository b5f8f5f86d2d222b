//! Pods to pod networking, for a node agent: [`PodNetworkReconciler`] gives every pod
//! scheduled on this node a [`PodNetwork`] from an [`IpPool`] keyed by the pod's UID,
//! releases it when the pod is gone or finished, feeds the pool's GC with the live pods, and
//! can write the pod's addresses back as the annotation [`POD_NETWORK_ANNOTATION`] for a CNI
//! plugin or tools to read ([`PodNetworkAnnotation`]).
//!
//! Which pods get an address is a pure function, [`wants_network`]: pods on this node, not on
//! the host network, not finished (`Succeeded` or `Failed`); a pod being deleted keeps the
//! address it has (its containers may still run) but does not get a new one.
//!
//! ```no_run
//! use std::sync::Arc;
//! use ack_net_eni::pool::{FileStore, IpPool, PoolConfig};
//! use ack_net_k8s::pod::PodNetworkReconciler;
//!
//! # async fn demo(kube_client: kube::Client, rpc: ack_net_core::RpcClient, config: PoolConfig) -> Result<(), Box<dyn std::error::Error>> {
//! let store = Arc::new(FileStore::open("/var/lib/ack-net/pool.json").await?);
//! let pool = IpPool::builder(config).ecs(rpc).store(store).start().await?;
//! let node = std::env::var("NODE_NAME")?;
//! PodNetworkReconciler::new(kube_client, pool, node).run().await?;
//! # Ok(()) }
//! ```

mod run;

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ack_net_eni::pod_network::PodNetwork;
use ack_net_eni::pool::{GcReport, IpPool, PoolError, PoolMode, Released};
use ack_net_eni::{EniId, Mac, VSwitchId};
use futures_util::FutureExt;
use ipnet::{Ipv4Net, Ipv6Net};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{EventType, Reporter};
use kube::runtime::reflector::{self, store::Writer, Store};
use serde::{Deserialize, Serialize};

use crate::events::Events;
use crate::Backoff;

/// The annotation the reconciler writes on each pod it gave an address: a
/// [`PodNetworkAnnotation`] as JSON.
pub const POD_NETWORK_ANNOTATION: &str = "k8s.ack-net.io/pod-network";

/// The controller name Events are reported as.
pub const CONTROLLER_NAME: &str = "ack-net-pod-network";

/// Why a pod's network could not be set up or released.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The pod cannot be served (no UID or name).
    #[error("pod {pod}: {reason}")]
    InvalidPod {
        /// `namespace/name`, as far as known.
        pod: String,
        /// What is wrong.
        reason: String,
    },
    /// The pool could not give or take the address.
    #[error("pod {pod}: {source}")]
    Pool {
        /// `namespace/name`.
        pod: String,
        /// The pool's error.
        #[source]
        source: Box<PoolError>,
    },
    /// The pool's garbage collection failed.
    #[error("pool GC: {0}")]
    Gc(#[source] Box<PoolError>),
    /// A Kubernetes API call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The pod cache has not been filled yet: GC would take every pod for gone.
    #[error("the pod cache is not ready")]
    CacheNotReady,
    /// The cache writer was already taken (by an earlier [`run`](PodNetworkReconciler::run)
    /// or [`take_writer`](PodNetworkReconciler::take_writer)): a reconciler runs once.
    #[error("the reconciler's cache writer was already taken")]
    CacheTaken,
}

impl Error {
    fn pool(pod: &Pod, e: PoolError) -> Self {
        Error::Pool { pod: pod_key(pod), source: Box::new(e) }
    }
}

/// What [`POD_NETWORK_ANNOTATION`] holds: the pod's addresses and where they live, in the
/// words of the CNI plugin that wires them (camelCase JSON).
///
/// ```
/// use ack_net_k8s::pod::PodNetworkAnnotation;
/// let a: PodNetworkAnnotation = serde_json::from_str(r#"{
///     "ipv4": "192.168.1.7/24", "gateway4": "192.168.1.253",
///     "eniId": "eni-bp1abc", "mac": "00:16:3e:01:02:03", "vswitchId": "vsw-bp1a",
///     "mode": "shared"
/// }"#).unwrap();
/// assert_eq!(a.ipv4.to_string(), "192.168.1.7/24");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PodNetworkAnnotation {
    /// The IPv4 address with the VSwitch's prefix length.
    pub ipv4: Ipv4Net,
    /// The IPv4 gateway.
    pub gateway4: Ipv4Addr,
    /// The IPv6 address (dual stack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Net>,
    /// The IPv6 gateway (dual stack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway6: Option<Ipv6Addr>,
    /// The ENI holding the address.
    pub eni_id: EniId,
    /// The ENI's MAC address.
    pub mac: Mac,
    /// The ENI's device index on the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_index: Option<u32>,
    /// The ENI's VSwitch.
    pub vswitch_id: VSwitchId,
    /// `shared` (an address of a shared ENI) or `exclusive` (the pod's own ENI).
    pub mode: String,
}

impl From<&PodNetwork> for PodNetworkAnnotation {
    fn from(net: &PodNetwork) -> Self {
        Self {
            ipv4: net.ipv4,
            gateway4: net.gateway4,
            ipv6: net.ipv6,
            gateway6: net.gateway6,
            eni_id: net.eni_id.clone(),
            mac: net.mac,
            device_index: net.device_index,
            vswitch_id: net.vswitch_id.clone(),
            mode: match net.mode {
                PoolMode::Exclusive => "exclusive",
                _ => "shared",
            }
            .to_owned(),
        }
    }
}

impl PodNetworkAnnotation {
    /// The annotation of `pod`, if it has a valid one.
    pub fn of(pod: &Pod) -> Option<Self> {
        let raw = pod.metadata.annotations.as_ref()?.get(POD_NETWORK_ANNOTATION)?;
        serde_json::from_str(raw).ok()
    }
}

/// `namespace/name` of a pod.
fn pod_key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

/// The pod's UID: the key of its address in the pool.
fn uid(pod: &Pod) -> Result<&str, Error> {
    pod.metadata
        .uid
        .as_deref()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::InvalidPod { pod: pod_key(pod), reason: "it has no UID".to_owned() })
}

/// Whether the pod has finished for good (`Succeeded` or `Failed`): its address can go.
pub fn is_finished(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

/// Whether `pod` needs an address from the pool of `node`: it is scheduled there, is not on
/// the host network and has not finished. (A pod being deleted still needs the address it
/// has; [`PodNetworkReconciler`] gives none to such a pod that has none.)
pub fn wants_network(pod: &Pod, node: &str) -> bool {
    on_pod_network(pod, node) && !is_finished(pod)
}

/// Whether `pod` is scheduled on `node` and not on the host network: the pool's business.
fn on_pod_network(pod: &Pod, node: &str) -> bool {
    let spec = pod.spec.as_ref();
    spec.and_then(|s| s.node_name.as_deref()) == Some(node) && !spec.and_then(|s| s.host_network).unwrap_or(false)
}

/// Keeps the pod addresses of one node in step with the pods scheduled on it; see the
/// [module](self).
///
/// On every reconcile of a pod it:
///
/// 1. ignores pods on other nodes and on the host network;
/// 2. releases the address of a finished pod;
/// 3. otherwise gives the pod its address ([`PodNetwork::setup`], idempotent per UID: the
///    same address every time), except to a pod being deleted that holds none;
/// 4. writes [`POD_NETWORK_ANNOTATION`] when it differs (unless
///    [`without_annotation`](Self::without_annotation));
/// 5. records a Warning Event `AllocateAddressFailed` when the pool cannot give an address,
///    and retries with a [`Backoff`].
///
/// Deleted pods release their address as soon as the watch reports them
/// ([`release`](Self::release)); the pool's GC, fed with the pods of the cache
/// ([`gc`](Self::gc), run once the cache is filled and then periodically), releases what a
/// missed event or a restart left behind, after the pool's grace period.
pub struct PodNetworkReconciler {
    client: kube::Client,
    pool: IpPool,
    node: String,
    annotate: bool,
    backoff: Backoff,
    gc_every: Duration,
    events: Events,
    pods: Store<Pod>,
    writer: Mutex<Option<Writer<Pod>>>,
    failures: Mutex<HashMap<String, u32>>,
}

impl std::fmt::Debug for PodNetworkReconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodNetworkReconciler")
            .field("node", &self.node)
            .field("pool", &self.pool)
            .field("annotate", &self.annotate)
            .field("backoff", &self.backoff)
            .field("gc_every", &self.gc_every)
            .finish_non_exhaustive()
    }
}

impl PodNetworkReconciler {
    /// A reconciler for the pods of node `node`, giving addresses from `pool`, writing the
    /// annotation, with [`Backoff::default`] and a GC every minute.
    pub fn new(client: kube::Client, pool: IpPool, node: impl Into<String>) -> Self {
        let (pods, writer) = reflector::store();
        let events = Events::new(
            client.clone(),
            Reporter { controller: CONTROLLER_NAME.to_owned(), instance: std::env::var("POD_NAME").ok() },
        );
        Self {
            client,
            pool,
            node: node.into(),
            annotate: true,
            backoff: Backoff::default(),
            gc_every: Duration::from_secs(60),
            events,
            pods,
            writer: Mutex::new(Some(writer)),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Does not write [`POD_NETWORK_ANNOTATION`] (the agent then needs no permission to patch
    /// pods).
    pub fn without_annotation(mut self) -> Self {
        self.annotate = false;
        self
    }

    /// Sets the retry delays.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets how often [`run`](Self::run) collects garbage.
    pub fn with_gc_every(mut self, every: Duration) -> Self {
        self.gc_every = every;
        self
    }

    /// Reports Events as `reporter` (by default [`CONTROLLER_NAME`], instance `$POD_NAME`).
    pub fn with_reporter(mut self, reporter: Reporter) -> Self {
        self.events = Events::new(self.client.clone(), reporter);
        self
    }

    /// The node.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The pool.
    pub fn pool(&self) -> &IpPool {
        &self.pool
    }

    /// The pod cache the reconciler reads (for [`gc`](Self::gc)).
    pub fn store(&self) -> Store<Pod> {
        self.pods.clone()
    }

    /// The writer of the pod cache, once: for wiring the watch by hand (or feeding it in
    /// tests). [`run`](Self::run) takes it itself.
    pub fn take_writer(&self) -> Option<Writer<Pod>> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reconciles one pod: give it to `Controller::run` with [`error_policy`](Self::error_policy).
    pub async fn reconcile(pod: Arc<Pod>, ctx: Arc<PodNetworkReconciler>) -> Result<Action, Error> {
        let result = ctx.reconcile_inner(&pod).await;
        match &result {
            Ok(_) => {
                if let Ok(uid) = uid(&pod) {
                    ctx.failures().remove(uid);
                }
            }
            Err(e) => {
                tracing::warn!(pod = %pod_key(&pod), error = %e, "pod network failed");
                if let Err(err) = ctx
                    .events
                    .publish(&*pod, EventType::Warning, "AllocateAddressFailed", "Allocate", e.to_string())
                    .await
                {
                    tracing::warn!(pod = %pod_key(&pod), error = %err, "could not record an Event");
                }
            }
        }
        result
    }

    /// When to try again after `error`: the [`Backoff`] delay for this pod's failures in a
    /// row, or the longest delay for a pod that cannot be served as it is.
    pub fn error_policy(pod: Arc<Pod>, error: &Error, ctx: Arc<PodNetworkReconciler>) -> Action {
        let Ok(uid) = uid(&pod) else { return Action::requeue(ctx.backoff.max) };
        let failures = {
            let mut all = ctx.failures();
            let n = all.entry(uid.to_owned()).or_default();
            *n = n.saturating_add(1);
            *n
        };
        match error {
            Error::InvalidPod { .. } => Action::requeue(ctx.backoff.max),
            _ => Action::requeue(ctx.backoff.delay(failures)),
        }
    }

    async fn reconcile_inner(&self, pod: &Pod) -> Result<Action, Error> {
        if !on_pod_network(pod, &self.node) {
            return Ok(Action::await_change());
        }
        let uid = uid(pod)?;
        if is_finished(pod) {
            self.release(pod).await?;
            return Ok(Action::await_change());
        }
        if pod.metadata.deletion_timestamp.is_some() && !self.pool.pods().contains(uid) {
            return Ok(Action::await_change());
        }
        let net = PodNetwork::setup(&self.pool, uid).await.map_err(|e| Error::pool(pod, e))?;
        if self.annotate {
            self.annotate(pod, &net).await?;
        }
        Ok(Action::await_change())
    }

    /// Writes the pod's network annotation unless it already says the same.
    async fn annotate(&self, pod: &Pod, net: &PodNetwork) -> Result<(), Error> {
        let want = PodNetworkAnnotation::from(net);
        if PodNetworkAnnotation::of(pod).as_ref() == Some(&want) {
            return Ok(());
        }
        let value =
            serde_json::to_string(&want).map_err(|e| Error::InvalidPod { pod: pod_key(pod), reason: e.to_string() })?;
        let patch = serde_json::json!({"metadata": {"annotations": {POD_NETWORK_ANNOTATION: value}}});
        let pp = PatchParams { field_manager: Some(CONTROLLER_NAME.to_owned()), ..PatchParams::default() };
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), pod.metadata.namespace.as_deref().unwrap_or("default"));
        api.patch(pod.metadata.name.as_deref().unwrap_or_default(), &pp, &Patch::Merge(&patch)).await?;
        Ok(())
    }

    /// Gives the address of `pod` (gone or finished) back to the pool. Idempotent.
    pub async fn release(&self, pod: &Pod) -> Result<Released, Error> {
        let uid = uid(pod)?;
        let released = self.pool.release(uid).await.map_err(|e| Error::pool(pod, e))?;
        self.failures().remove(uid);
        if let Released::Released(ip) = released {
            tracing::info!(pod = %pod_key(pod), %ip, "released the pod's address");
        }
        Ok(released)
    }

    /// The UIDs of the pods in the cache that need their address.
    pub fn live_pods(&self) -> Result<HashSet<String>, Error> {
        if !matches!(self.pods.wait_until_ready().now_or_never(), Some(Ok(()))) {
            return Err(Error::CacheNotReady);
        }
        Ok(self
            .pods
            .state()
            .iter()
            .filter(|p| wants_network(p, &self.node))
            .filter_map(|p| p.metadata.uid.clone())
            .collect())
    }

    /// Collects the pool's garbage with the live pods of the cache ([`IpPool::gc`]): the
    /// addresses of pods gone for the pool's grace period are released. Refuses to run
    /// before the cache is filled, when every pod would look gone.
    pub async fn gc(&self) -> Result<GcReport, Error> {
        let live = self.live_pods()?;
        let report = self.pool.gc(&live).await.map_err(|e| Error::Gc(Box::new(e)))?;
        if !report.released_pods.is_empty() || !report.deleted_enis.is_empty() {
            tracing::info!(released = ?report.released_pods, deleted_enis = ?report.deleted_enis, "pool GC");
        }
        Ok(report)
    }
}
