//! The reconciler wired into a kube-runtime `Controller`: Services, their EndpointSlices,
//! and Nodes whose eligibility changes.

use std::collections::HashMap;
use std::sync::Arc;

use ack_net_core::InstanceId;
use futures_util::{future, Stream, StreamExt};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{watcher, Controller, WatchStreamExt};

use super::ServiceReconciler;
use crate::service::backends::{NodeFilter, SERVICE_NAME_LABEL};
use crate::service::gate::gated_services;
use crate::service::Error;

/// The Service an EndpointSlice belongs to.
pub(super) fn service_of(slice: &EndpointSlice) -> Option<ObjectRef<Service>> {
    let name = slice.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
    let ns = slice.metadata.namespace.as_deref()?;
    Some(ObjectRef::new(name).within(ns))
}

/// The Services whose readiness gates a pod carries (a change of the pod may open one).
pub(super) fn services_gating(pod: &Pod) -> Vec<ObjectRef<Service>> {
    let Some(ns) = pod.metadata.namespace.as_deref() else { return Vec::new() };
    gated_services(pod).into_iter().map(|name| ObjectRef::new(&name).within(ns)).collect()
}

/// Turns Node watch events into one `()` whenever the set of eligible nodes (or their
/// instance ids) changes: heartbeats, label changes that do not matter and nodes that
/// cannot serve anyway trigger nothing.
pub(super) fn eligibility_changes<S>(events: S, filter: NodeFilter) -> impl Stream<Item = ()> + Send
where
    S: Stream<Item = Result<watcher::Event<Node>, watcher::Error>> + Send,
{
    // Eligible nodes: name to instance id.
    let mut serving: HashMap<String, InstanceId> = HashMap::new();
    let mut relisting: Option<HashMap<String, InstanceId>> = None;
    let name = |n: &Node| n.metadata.name.clone().unwrap_or_default();
    events.filter_map(move |event| {
        let changed = match event {
            Ok(watcher::Event::Apply(node)) => match filter.check(&node) {
                Ok(id) => serving.insert(name(&node), id.clone()).as_ref() != Some(&id),
                Err(_) => serving.remove(&name(&node)).is_some(),
            },
            Ok(watcher::Event::Delete(node)) => serving.remove(&name(&node)).is_some(),
            Ok(watcher::Event::Init) => {
                relisting = Some(HashMap::new());
                false
            }
            Ok(watcher::Event::InitApply(node)) => {
                if let Ok(id) = filter.check(&node) {
                    relisting.get_or_insert_with(HashMap::new).insert(name(&node), id);
                }
                false
            }
            Ok(watcher::Event::InitDone) => {
                let listed = relisting.take().unwrap_or_default();
                let changed = listed != serving;
                serving = listed;
                changed
            }
            Err(e) => {
                tracing::warn!(error = %e, "Node watch failed; retrying");
                false
            }
        };
        future::ready(changed.then_some(()))
    })
}

impl ServiceReconciler {
    /// Runs the reconciler in a kube-runtime `Controller` until the process receives SIGTERM
    /// or Ctrl-C (in-flight reconciles finish first). It watches:
    ///
    /// - Services (all namespaces); those the configuration does not want and that carry
    ///   no finalizer cost nothing;
    /// - EndpointSlices labelled `kubernetes.io/service-name`, mapped to their Service, into
    ///   the cache the reconciler reads (one watch for both);
    /// - Nodes, into the cache; every Service is reconciled again when the set of eligible
    ///   nodes changes;
    /// - Pods, mapped to the Services whose [readiness gates](crate::service::gate) they
    ///   carry (pods without one trigger nothing).
    ///
    /// It needs RBAC permission to get, list, watch and patch `services`, patch
    /// `services/status`, list and watch `nodes` and `endpointslices.discovery.k8s.io`, get,
    /// list and watch `pods`, patch `pods/status` (readiness gates), and
    /// create and patch `events.events.k8s.io`. It does no leader election itself: to run
    /// several replicas, wrap it in [`LeaderElector::run`](crate::leader::LeaderElector::run).
    ///
    /// ```no_run
    /// use ack_net_core::{Credentials, RpcClient};
    /// use ack_net_k8s::service::{ServiceConfig, ServiceReconciler};
    /// use ack_net_slb::SlbClient;
    ///
    /// # async fn demo(kube_client: kube::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let rpc = RpcClient::builder()
    ///     .region("cn-hangzhou")
    ///     .credentials(Credentials::new("testid", "testsecret"))
    ///     .build()?;
    /// ServiceReconciler::new(kube_client, SlbClient::new(rpc), ServiceConfig::new("c-1234")).run().await?;
    /// # Ok(()) }
    /// ```
    pub async fn run(self) -> Result<(), Error> {
        let (node_writer, slice_writer) = self.take_writers().ok_or(Error::CachesTaken)?;
        let client = self.client.clone();
        let node_events = watcher(Api::<Node>::all(client.clone()), watcher::Config::default())
            .default_backoff()
            .reflect(node_writer);
        let node_changes = eligibility_changes(node_events, self.cfg.node_filter.clone());
        let slices =
            watcher(Api::<EndpointSlice>::all(client.clone()), watcher::Config::default().labels(SERVICE_NAME_LABEL))
                .default_backoff()
                .reflect(slice_writer)
                .touched_objects();
        let pods = Api::<Pod>::all(client.clone());
        let ctx = Arc::new(self);
        Controller::new(Api::<Service>::all(client), watcher::Config::default())
            .watches_stream(slices, |slice| service_of(&slice))
            .watches(pods, watcher::Config::default(), |pod| services_gating(&pod))
            .reconcile_all_on(node_changes)
            .shutdown_on_signal()
            .run(Self::reconcile, Self::error_policy, ctx)
            .for_each(|result| async move {
                match result {
                    Ok((service, _)) => tracing::debug!(service = %service, "reconciled"),
                    Err(e) => tracing::debug!(error = %e, "reconcile did not complete"),
                }
            })
            .await;
        Ok(())
    }
}
