//! A Service's backends: nodes on their node port (Cluster and Local traffic policies) or
//! pods by their ENI address (`backend-type: eni`), with weights.
//!
//! - **Cluster** (`externalTrafficPolicy: Cluster`, the default): every eligible node (see
//!   [`NodeFilter`]) on the port's `nodePort`, weight 100.
//! - **Local** (`externalTrafficPolicy: Local`): only eligible nodes that host a ready
//!   endpoint of the port, weighted by how many (capped at 100), so that each pod gets an
//!   equal share; a node whose endpoints are all terminating stays at weight 0 until they are
//!   gone.
//! - **ENI** (`service.beta.kubernetes.io/backend-type: eni`): every ready pod address as an
//!   `eni` backend on the resolved target port, weight 100; the ENI holding each address
//!   comes from an [`EniLookup`].
//!
//! Terminating endpoints (EndpointSlice `conditions.terminating`) are kept at weight 0, so
//! the load balancer sends them no new connections while existing ones drain; they leave the
//! backends when they leave the EndpointSlice (the Alibaba Cloud controller manager, CCM,
//! drops them at once: [`ServiceConfig::drain_terminating`](super::ServiceConfig::drain_terminating)
//! off does the same). With the `weight` annotation the Service's total weight `W` is spread
//! as CCM does: `W / n` per backend in Cluster and ENI modes, `W * pods on the node / pods`
//! in Local mode (at least 1; `W = 0` sets every backend to 0).
//!
//! ```
//! use ack_net_k8s::service::annotations::ServiceAnnotations;
//! use ack_net_k8s::service::{service_backends, BackendMode, EniMap, NodeFilter};
//! use k8s_openapi::api::core::v1::{Node, Service};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let svc: Service = serde_json::from_value(serde_json::json!({
//!     "metadata": {"namespace": "default", "name": "web"},
//!     "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}
//! }))?;
//! let node = |name: &str, id: &str, ready: &str| -> serde_json::Result<Node> {
//!     serde_json::from_value(serde_json::json!({
//!         "metadata": {"name": name},
//!         "spec": {"providerID": format!("cn-hangzhou.{id}")},
//!         "status": {"conditions": [{"type": "Ready", "status": ready}]}
//!     }))
//! };
//! let nodes = [node("a", "i-a", "True")?, node("b", "i-b", "False")?];
//! let annotations = ServiceAnnotations::from_service(&svc)?;
//! let b = service_backends(&svc, &annotations, &nodes, &[], &EniMap::new(), &NodeFilter::default())?;
//! assert_eq!(b.mode, BackendMode::Cluster);
//! assert_eq!(b.ports[0].backends, vec![ack_net_slb::Backend::ecs(&"i-a".parse().unwrap(), 30080)]);
//! assert_eq!(b.skipped_nodes[0].node, "b");
//! # Ok(()) }
//! ```

mod endpoints;
mod eni;
mod nodes;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ack_net_slb::Backend;
use k8s_openapi::api::core::v1::{Node, Service, ServicePort};
use k8s_openapi::api::discovery::v1::EndpointSlice;

pub use self::endpoints::{port_endpoints, slices_of, EndpointState, PortEndpoint, SERVICE_NAME_LABEL};
pub use self::eni::{lookup_enis, EniLookup, EniMap};
pub use self::nodes::{
    instance_id_from_provider_id, is_ready, EligibleNode, NodeFilter, NodeSelection, SkipReason, SkippedNode,
    CCM_EXCLUDE_LABELS, CONTROL_PLANE_LABELS, EXCLUDE_LABEL, EXCLUDE_LABEL_DEPRECATED, TO_BE_DELETED_TAINT,
};
use super::annotations::{BackendKind, ServiceAnnotations};
use super::Error;

/// How the load balancer reaches a Service's pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendMode {
    /// Every eligible node on the node port (`externalTrafficPolicy: Cluster`).
    Cluster,
    /// Nodes hosting ready pods, on the node port (`externalTrafficPolicy: Local`).
    Local,
    /// Pods directly, by their ENI address (`backend-type: eni`).
    Eni,
}

impl BackendMode {
    /// The mode of `service`: ENI when the backend type says so, else its external traffic
    /// policy.
    pub fn of(service: &Service, annotations: &ServiceAnnotations) -> Result<Self, Error> {
        if annotations.backend.backend_type == Some(BackendKind::Eni) {
            return Ok(BackendMode::Eni);
        }
        match service.spec.as_ref().and_then(|s| s.external_traffic_policy.as_deref()) {
            None | Some("") | Some("Cluster") => Ok(BackendMode::Cluster),
            Some("Local") => Ok(BackendMode::Local),
            Some(other) => Err(Error::service(
                &service_key(service),
                format!("spec.externalTrafficPolicy {other:?} is not Cluster or Local"),
            )),
        }
    }
}

/// Something about a port's backends worth telling the user (as an Event), that is not an
/// error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendNote {
    /// ENI mode: no ENI holds this ready pod address, so it is not a backend.
    NoEni {
        /// The pod address.
        ip: IpAddr,
    },
    /// Local mode: ready endpoints on a node that may not serve.
    IneligibleNode {
        /// The node.
        node: String,
        /// How many ready endpoints it hosts.
        endpoints: usize,
    },
    /// Local mode: ready endpoints whose EndpointSlice names no node.
    NoNode {
        /// How many.
        endpoints: usize,
    },
}

/// The backends of one Service port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortBackends {
    /// `spec.ports[].port`.
    pub port: u16,
    /// `spec.ports[].protocol` (`TCP`, `UDP`, `SCTP`).
    pub protocol: String,
    /// `spec.ports[].name`.
    pub name: Option<String>,
    /// The backends, sorted by server, address and port.
    pub backends: Vec<Backend>,
    /// What did not become a backend, and why.
    pub notes: Vec<BackendNote>,
}

/// The backends of every port of a Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceBackends {
    /// The mode.
    pub mode: BackendMode,
    /// One entry per Service port, in the Service's order.
    pub ports: Vec<PortBackends>,
    /// Nodes that may not serve, and why (empty in ENI mode).
    pub skipped_nodes: Vec<SkippedNode>,
}

/// `namespace/name` of a Service.
pub(crate) fn service_key(service: &Service) -> String {
    format!(
        "{}/{}",
        service.metadata.namespace.as_deref().unwrap_or("default"),
        service.metadata.name.as_deref().unwrap_or_default()
    )
}

/// The backends of every port of `service`. `nodes` and `slices` may be the whole
/// cluster's (only the Service's own slices are read); `enis` is only read in ENI mode
/// (fill it with [`resolve_enis`]).
pub fn service_backends(
    service: &Service,
    annotations: &ServiceAnnotations,
    nodes: &[Node],
    slices: &[EndpointSlice],
    enis: &EniMap,
    filter: &NodeFilter,
) -> Result<ServiceBackends, Error> {
    let key = service_key(service);
    let mode = BackendMode::of(service, annotations)?;
    let own = slices_of(service, slices);
    let mut filter = filter.clone();
    if let Some(on) = annotations.backend.remove_unscheduled {
        filter.remove_unschedulable = on;
    }
    if !annotations.backend.backend_label.is_empty() {
        filter.required_labels.extend(annotations.backend.backend_label.clone());
    }
    let selection = if mode == BackendMode::Eni { NodeSelection::default() } else { filter.select(nodes) };
    let weight = annotations.backend.weight;
    let mut ports = Vec::new();
    for sp in service.spec.as_ref().and_then(|s| s.ports.as_deref()).unwrap_or_default() {
        let port = u16::try_from(sp.port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| Error::service(&key, format!("port {} is not 1-65535", sp.port)))?;
        let eps = port_endpoints(sp, &own);
        let (backends, notes) = match mode {
            BackendMode::Cluster => (cluster(&selection, node_port(&key, sp)?, weight), Vec::new()),
            BackendMode::Local => local(&selection, node_port(&key, sp)?, &eps, weight),
            BackendMode::Eni => eni_mode(&eps, enis, weight),
        };
        ports.push(PortBackends {
            port,
            protocol: sp.protocol.clone().unwrap_or_else(|| "TCP".into()),
            name: sp.name.clone().filter(|n| !n.is_empty()),
            backends,
            notes,
        });
    }
    Ok(ServiceBackends { mode, ports, skipped_nodes: selection.skipped })
}

/// The pod addresses of `service` whose ENI an ENI-mode spec needs: ready and terminating
/// endpoints of every port.
pub fn eni_addresses(service: &Service, slices: &[EndpointSlice]) -> Vec<IpAddr> {
    let own = slices_of(service, slices);
    let ports = service.spec.as_ref().and_then(|s| s.ports.as_deref()).unwrap_or_default();
    let set: BTreeSet<IpAddr> = ports
        .iter()
        .flat_map(|p| port_endpoints(p, &own))
        .filter(|e| e.state != EndpointState::NotReady)
        .map(|e| e.ip)
        .collect();
    set.into_iter().collect()
}

/// The ENIs an ENI-mode Service needs, looked up through `lookup`; empty (no call) in the
/// other modes.
pub async fn resolve_enis(
    lookup: &dyn EniLookup,
    service: &Service,
    annotations: &ServiceAnnotations,
    slices: &[EndpointSlice],
) -> Result<EniMap, Error> {
    if BackendMode::of(service, annotations)? != BackendMode::Eni {
        return Ok(EniMap::new());
    }
    lookup_enis(lookup, &eni_addresses(service, slices)).await
}

fn node_port(key: &str, sp: &ServicePort) -> Result<u16, Error> {
    sp.node_port.and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0).ok_or_else(|| {
        Error::service(
            key,
            format!(
                "port {} has no nodePort: Cluster and Local modes serve through node ports \
                 (set allocateLoadBalancerNodePorts, or use backend-type eni)",
                sp.port
            ),
        )
    })
}

/// `W / n` (at least 1), or 0 for `W = 0`, or the default.
fn even_share(weight: Option<u8>, n: usize, default: u8) -> u8 {
    match weight {
        None => default,
        Some(0) => 0,
        Some(w) => u8::try_from(usize::from(w) / n.max(1)).unwrap_or(100).max(1),
    }
}

fn sorted(mut backends: Vec<Backend>) -> Vec<Backend> {
    backends.sort();
    backends
}

fn cluster(selection: &NodeSelection, node_port: u16, weight: Option<u8>) -> Vec<Backend> {
    let w = even_share(weight, selection.eligible.len(), Backend::DEFAULT_WEIGHT);
    sorted(selection.eligible.values().map(|n| Backend::ecs(&n.instance_id, node_port).with_weight(w)).collect())
}

fn local(
    selection: &NodeSelection,
    node_port: u16,
    endpoints: &[PortEndpoint],
    weight: Option<u8>,
) -> (Vec<Backend>, Vec<BackendNote>) {
    // Ready and terminating endpoints per node.
    let mut per_node: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut no_node = 0;
    for e in endpoints {
        let Some(node) = e.node.as_deref() else {
            no_node += usize::from(e.state == EndpointState::Ready);
            continue;
        };
        let entry = per_node.entry(node).or_default();
        match e.state {
            EndpointState::Ready => entry.0 += 1,
            EndpointState::Terminating => entry.1 += 1,
            EndpointState::NotReady => {}
        }
    }
    let mut notes = Vec::new();
    if no_node > 0 {
        notes.push(BackendNote::NoNode { endpoints: no_node });
    }
    let total: usize = per_node.iter().filter(|(n, _)| selection.eligible.contains_key(**n)).map(|(_, c)| c.0).sum();
    let mut backends = Vec::new();
    for (node, (ready, terminating)) in per_node {
        let Some(n) = selection.eligible.get(node) else {
            if ready > 0 {
                notes.push(BackendNote::IneligibleNode { node: node.to_owned(), endpoints: ready });
            }
            continue;
        };
        let w = match (ready, weight) {
            (0, _) if terminating > 0 => 0,
            (0, _) => continue,
            (r, None) => u8::try_from(r.min(100)).unwrap_or(100),
            (_, Some(0)) => 0,
            (r, Some(w)) => u8::try_from(usize::from(w) * r / total.max(1)).unwrap_or(100).max(1),
        };
        backends.push(Backend::ecs(&n.instance_id, node_port).with_weight(w));
    }
    (sorted(backends), notes)
}

fn eni_mode(endpoints: &[PortEndpoint], enis: &EniMap, weight: Option<u8>) -> (Vec<Backend>, Vec<BackendNote>) {
    let ready = endpoints.iter().filter(|e| e.state == EndpointState::Ready && enis.contains_key(&e.ip)).count();
    let w = even_share(weight, ready, Backend::DEFAULT_WEIGHT);
    let mut notes = Vec::new();
    let mut backends = Vec::new();
    for e in endpoints {
        let weight = match e.state {
            EndpointState::Ready => w,
            EndpointState::Terminating => 0,
            EndpointState::NotReady => continue,
        };
        match enis.get(&e.ip) {
            Some(eni) => backends.push(Backend::eni(eni, e.ip, e.port).with_weight(weight)),
            // A terminating pod whose address is already released has nothing to drain.
            None if e.state == EndpointState::Ready => notes.push(BackendNote::NoEni { ip: e.ip }),
            None => {}
        }
    }
    (sorted(backends), notes)
}

#[cfg(test)]
mod tests;
