//! What EndpointSlices say about a Service port: which pod addresses serve it, on which
//! node and target port, and whether each is ready, terminating or neither.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Service, ServicePort};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};

/// The label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// An endpoint's state as the load balancer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EndpointState {
    /// Neither ready nor terminating: not a backend.
    NotReady,
    /// Terminating (`conditions.terminating`): kept at weight 0 so that its connections
    /// drain, removed once it leaves the EndpointSlice.
    Terminating,
    /// Ready (`conditions.ready` true or unset, as the API says to read it).
    Ready,
}

impl EndpointState {
    /// The state of one endpoint.
    pub fn of(endpoint: &Endpoint) -> Self {
        let c = endpoint.conditions.as_ref();
        if c.and_then(|c| c.terminating) == Some(true) {
            EndpointState::Terminating
        } else if c.and_then(|c| c.ready) != Some(false) {
            EndpointState::Ready
        } else {
            EndpointState::NotReady
        }
    }
}

/// One pod address serving a Service port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortEndpoint {
    /// The pod address.
    pub ip: IpAddr,
    /// The port on the pod (the resolved target port).
    pub port: u16,
    /// The node it runs on, if the slice says.
    pub node: Option<String>,
    /// Ready, terminating or neither.
    pub state: EndpointState,
}

/// The EndpointSlices of `service`: same namespace, labelled with its name.
pub fn slices_of<'a>(service: &Service, slices: impl IntoIterator<Item = &'a EndpointSlice>) -> Vec<&'a EndpointSlice> {
    let ns = service.metadata.namespace.as_deref().unwrap_or("default");
    let name = service.metadata.name.as_deref();
    slices
        .into_iter()
        .filter(|s| s.metadata.namespace.as_deref().unwrap_or("default") == ns)
        .filter(|s| {
            let label = s.metadata.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL));
            name.is_some() && label.map(String::as_str) == name
        })
        .collect()
}

/// A slice's endpoints (a list before Kubernetes 1.36, an optional list since).
#[allow(clippy::needless_return)] // one of the two returns is compiled, depending on the version
fn endpoints(slice: &EndpointSlice) -> &[Endpoint] {
    k8s_openapi::k8s_if_le_1_35! {
        return &slice.endpoints;
    }
    k8s_openapi::k8s_if_ge_1_36! {
        return slice.endpoints.as_deref().unwrap_or_default();
    }
}

fn same_name(a: Option<&str>, b: Option<&str>) -> bool {
    a.unwrap_or_default() == b.unwrap_or_default()
}

fn protocol(p: Option<&str>) -> &str {
    p.unwrap_or("TCP")
}

/// The endpoints serving `port` across `slices` (which should be the Service's own, see
/// [`slices_of`]). An address listed in several slices (while the controller moves it) is
/// reported once, in its best state. FQDN slices are ignored; so are addresses that do not
/// parse and slices without the port. Sorted by address and port.
pub fn port_endpoints(port: &ServicePort, slices: &[&EndpointSlice]) -> Vec<PortEndpoint> {
    let mut best: BTreeMap<(IpAddr, u16), PortEndpoint> = BTreeMap::new();
    for slice in slices {
        if slice.address_type != "IPv4" && slice.address_type != "IPv6" {
            continue;
        }
        let target = slice.ports.as_deref().unwrap_or_default().iter().find(|p| {
            same_name(p.name.as_deref(), port.name.as_deref())
                && protocol(p.protocol.as_deref()) == protocol(port.protocol.as_deref())
        });
        let Some(target) = target.and_then(|p| p.port).and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0) else {
            continue;
        };
        for endpoint in endpoints(slice) {
            let state = EndpointState::of(endpoint);
            for address in &endpoint.addresses {
                let Ok(ip) = address.parse::<IpAddr>() else { continue };
                let candidate = PortEndpoint { ip, port: target, node: endpoint.node_name.clone(), state };
                best.entry((ip, target))
                    .and_modify(|e| {
                        if candidate.state > e.state {
                            *e = candidate.clone();
                        }
                    })
                    .or_insert(candidate);
            }
        }
    }
    best.into_values().collect()
}
