//! Pod readiness gates for ENI-mode Services: a rolling update waits for the load balancer.
//!
//! Without a gate, a new pod is Ready as soon as its containers are, the Deployment
//! controller deletes an old pod, and for as long as the controller takes to add the new pod
//! to the load balancer's VServer groups, clients lose connections. A pod that lists
//! [`readiness_gate`] of its Service in `spec.readinessGates` is not Ready (and so not
//! counted as available by the rollout) until the condition of that type is `True`, and the
//! [`ServiceReconciler`](super::ServiceReconciler) sets it only once the load balancer
//! serves the pod:
//!
//! 1. a pod behind the gate ([`gated_pods`]: it carries the gate, its containers are ready,
//!    it is not being deleted) is a backend with its final weight ([`admit_gated`]), whether
//!    its gate is open yet or not (and in the moment between the gate opening and the
//!    EndpointSlice saying Ready);
//! 2. after the plan is applied, the reconciler reads the load balancer again and opens the
//!    gate of each waiting pod it [`serves`]: the pod's address is a backend of every VServer
//!    group the Service gives backends, with the weight the spec wants, and no health check
//!    reports it `abnormal`;
//! 3. a terminating pod's backend goes to weight 0 at once (no new connections, existing ones
//!    flow), and with [`ServiceConfig::terminating_drain`](super::ServiceConfig::terminating_drain)
//!    it is removed once that period has passed ([`DrainClock`]), before the pod is gone
//!    when the period is shorter than the pod's termination grace period.
//!
//! The condition type is the one ACK's cloud controller manager uses,
//! `service.readiness.alibabacloud.com/<service name>`, so manifests need no change.
//!
//! ```
//! use ack_net_k8s::service::{gated_pods, readiness_gate};
//! use k8s_openapi::api::core::v1::{Pod, Service};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let svc: Service = serde_json::from_value(serde_json::json!({"metadata": {"namespace": "shop", "name": "web"}}))?;
//! assert_eq!(readiness_gate("web"), "service.readiness.alibabacloud.com/web");
//! let pod: Pod = serde_json::from_value(serde_json::json!({
//!     "metadata": {"namespace": "shop", "name": "web-1"},
//!     "spec": {"containers": [], "readinessGates": [{"conditionType": "service.readiness.alibabacloud.com/web"}]},
//!     "status": {"podIP": "10.0.0.7", "conditions": [{"type": "ContainersReady", "status": "True"}]}
//! }))?;
//! let gated = gated_pods(&svc, &[pod]);
//! assert_eq!(gated[0].name, "web-1");
//! assert_eq!(gated[0].ips, vec!["10.0.0.7".parse::<std::net::IpAddr>()?]);
//! assert!(!gated[0].open);
//! # Ok(()) }
//! ```

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use ack_net_slb::binding::{LoadBalancerSpec, ObservedLoadBalancer};
use ack_net_slb::HealthStatus;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointSlice};
use tokio::time::Instant;

/// The prefix of the readiness gate condition types (CCM's).
pub const READINESS_GATE_PREFIX: &str = "service.readiness.alibabacloud.com/";

/// The condition type of the readiness gate of Service `service_name` (in the pod's
/// namespace).
pub fn readiness_gate(service_name: &str) -> String {
    format!("{READINESS_GATE_PREFIX}{service_name}")
}

/// The names of the Services (in the pod's namespace) whose readiness gates `pod` carries.
pub fn gated_services(pod: &Pod) -> Vec<String> {
    let gates = pod.spec.as_ref().and_then(|s| s.readiness_gates.as_deref()).unwrap_or_default();
    gates
        .iter()
        .filter_map(|g| g.condition_type.strip_prefix(READINESS_GATE_PREFIX))
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A pod behind a Service's readiness gate, whose containers are ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatedPod {
    /// The pod's name (in the Service's namespace).
    pub name: String,
    /// Its addresses (`status.podIPs`, or `status.podIP`).
    pub ips: Vec<IpAddr>,
    /// Whether the gate's condition is `True` already.
    pub open: bool,
}

fn condition<'a>(pod: &'a Pod, type_: &str) -> Option<&'a str> {
    let conditions = pod.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    conditions.iter().find(|c| c.type_ == type_).map(|c| c.status.as_str())
}

fn pod_ips(pod: &Pod) -> Vec<IpAddr> {
    let Some(status) = pod.status.as_ref() else { return Vec::new() };
    let mut ips: BTreeSet<IpAddr> = status.pod_ips.iter().flatten().filter_map(|p| p.ip.parse().ok()).collect();
    ips.extend(status.pod_ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()));
    ips.into_iter().collect()
}

/// The pods among `pods` behind `service`'s gate: they carry it, live in the Service's
/// namespace, have an address, are not being deleted, and their containers are ready
/// (`ContainersReady`). Sorted by name.
pub fn gated_pods(service: &Service, pods: &[Pod]) -> Vec<GatedPod> {
    let ns = service.metadata.namespace.as_deref().unwrap_or("default");
    let Some(name) = service.metadata.name.as_deref() else { return Vec::new() };
    let gate = readiness_gate(name);
    let mut out: Vec<GatedPod> = pods
        .iter()
        .filter(|p| p.metadata.namespace.as_deref().unwrap_or("default") == ns)
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| gated_services(p).iter().any(|s| s == name))
        .filter(|p| condition(p, "ContainersReady") == Some("True"))
        .filter_map(|p| {
            let ips = pod_ips(p);
            let open = condition(p, &gate) == Some("True");
            (!ips.is_empty()).then(|| GatedPod { name: p.metadata.name.clone().unwrap_or_default(), ips, open })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The pods named by the not-ready endpoints of `slices` (their `targetRef`): the only ones
/// a gate can hold back from Ready.
pub fn not_ready_pods(slices: &[&EndpointSlice]) -> BTreeSet<String> {
    slices
        .iter()
        .flat_map(|s| s.endpoints.iter().flatten())
        .filter(|e| {
            let c = e.conditions.as_ref();
            c.and_then(|c| c.ready) == Some(false) && !is_terminating(e)
        })
        .filter_map(|e| e.target_ref.as_ref())
        .filter(|r| r.kind.as_deref() == Some("Pod"))
        .filter_map(|r| r.name.clone())
        .collect()
}

/// `slices` with the endpoints of the `gated` pods counted as ready and serving: the gate
/// keeps such a pod from Ready only until the load balancer serves it, so it is a backend
/// with its final weight already. An endpoint is matched by its `targetRef` when it has one,
/// else by its address.
pub fn admit_gated(slices: &[EndpointSlice], gated: &[GatedPod]) -> Vec<EndpointSlice> {
    let mut out = slices.to_vec();
    if gated.is_empty() {
        return out;
    }
    for slice in &mut out {
        for e in slice.endpoints.iter_mut().flatten() {
            let c = e.conditions.get_or_insert_with(EndpointConditions::default);
            if c.ready != Some(false) || c.terminating == Some(true) {
                continue;
            }
            let target =
                e.target_ref.as_ref().filter(|r| r.kind.as_deref() == Some("Pod")).and_then(|r| r.name.as_deref());
            let matches = gated.iter().any(|w| match target {
                Some(name) => name == w.name,
                None => e.addresses.iter().any(|a| a.parse().is_ok_and(|ip: IpAddr| w.ips.contains(&ip))),
            });
            if matches {
                c.ready = Some(true);
                c.serving = Some(true);
            }
        }
    }
    out
}

/// Whether the load balancer serves address `ip`: for every port of `spec` that has `ip`
/// among its backends (at least one), the VServer group observed for that port holds the
/// backend with the weight the spec wants; and no health check of those ports reports it
/// `abnormal` (when `observed` carries health; a listener without health checks reports
/// `unavailable`, which does not hold the gate).
pub fn serves(spec: &LoadBalancerSpec, observed: &ObservedLoadBalancer, ip: IpAddr) -> bool {
    let mut ports = 0;
    for port in &spec.ports {
        let Some(want) = port.backends.iter().find(|b| b.server_ip == Some(ip)) else { continue };
        ports += 1;
        let listener_port = port.port();
        let held = observed
            .groups
            .values()
            .filter(|g| g.port == listener_port)
            .filter_map(|g| g.backends.as_ref())
            .flatten()
            .any(|b| b.key() == want.key() && b.weight == want.weight);
        if !held {
            return false;
        }
        let abnormal = observed.health.iter().flatten().any(|h| {
            h.listener_port == listener_port
                && h.server_ip == Some(ip)
                && h.port == want.port
                && h.status == HealthStatus::Abnormal
        });
        if abnormal {
            return false;
        }
    }
    ports > 0
}

/// When terminating backends leave: each address drains at weight 0 for a period from the
/// moment it was first seen terminating, then it is removed. Time is tokio's, so tests run
/// it on a paused clock.
#[derive(Clone, Debug, Default)]
pub struct DrainClock {
    since: HashMap<IpAddr, Instant>,
}

/// What a [`DrainClock`] says at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// The addresses whose drain period is over: remove them.
    pub expired: BTreeSet<IpAddr>,
    /// When the next drain period ends, if one is running.
    pub next: Option<Instant>,
}

impl DrainClock {
    /// A clock that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `terminating` are the addresses terminating `now` (others are forgotten)
    /// and says which have drained for `period`.
    pub fn tick(&mut self, terminating: impl IntoIterator<Item = IpAddr>, now: Instant, period: Duration) -> Drained {
        let current: BTreeSet<IpAddr> = terminating.into_iter().collect();
        self.since.retain(|ip, _| current.contains(ip));
        let mut out = Drained::default();
        for ip in current {
            let end = *self.since.entry(ip).or_insert(now) + period;
            if end <= now {
                out.expired.insert(ip);
            } else {
                out.next = Some(out.next.map_or(end, |n| n.min(end)));
            }
        }
        out
    }
}

/// The addresses of the terminating endpoints of `slices`.
pub fn terminating_addresses(slices: &[&EndpointSlice]) -> BTreeSet<IpAddr> {
    slices
        .iter()
        .flat_map(|s| s.endpoints.iter().flatten())
        .filter(|e| is_terminating(e))
        .flat_map(|e| e.addresses.iter().filter_map(|a| a.parse().ok()))
        .collect()
}

fn is_terminating(e: &Endpoint) -> bool {
    e.conditions.as_ref().and_then(|c| c.terminating) == Some(true)
}

/// `slices` without the terminating endpoints at `addresses` (whose drain is over).
pub fn drop_terminating(slices: &[EndpointSlice], addresses: &BTreeSet<IpAddr>) -> Vec<EndpointSlice> {
    let mut out = slices.to_vec();
    if addresses.is_empty() {
        return out;
    }
    for slice in &mut out {
        if let Some(endpoints) = slice.endpoints.as_mut() {
            endpoints.retain(|e| {
                !is_terminating(e)
                    || !e.addresses.iter().any(|a| a.parse().is_ok_and(|ip: IpAddr| addresses.contains(&ip)))
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
