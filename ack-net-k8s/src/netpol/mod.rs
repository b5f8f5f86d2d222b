//! Kubernetes NetworkPolicy (`networking.k8s.io/v1`) semantics, as a library.
//!
//! Give it the Namespaces, Pods and NetworkPolicies of a cluster (the `k8s-openapi` types, e.g.
//! straight from a kube-runtime reflector store) and it answers whether a connection is allowed,
//! exactly as the Kubernetes API reference defines it, or compiles the policies into a flat,
//! indexed [`RuleSet`] that a data-plane tool (iptables/ipset, nftables, eBPF maps, a security
//! group) can turn into filters.
//!
//! ```
//! use ack_net_k8s::netpol::{Peer, PolicyEngine, Protocol};
//! use k8s_openapi::api::core::v1::{Namespace, Pod};
//! use k8s_openapi::api::networking::v1::NetworkPolicy;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": "shop"}}))?;
//! let pod = |name: &str, app: &str, ip: &str| -> serde_json::Result<Pod> {
//!     serde_json::from_value(serde_json::json!({
//!         "metadata": {"namespace": "shop", "name": name, "labels": {"app": app}},
//!         "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
//!         "status": {"podIPs": [{"ip": ip}]}
//!     }))
//! };
//! let pods = [pod("web", "web", "10.0.0.1")?, pod("db", "db", "10.0.0.2")?, pod("batch", "batch", "10.0.0.3")?];
//! // Only `web` may talk to `db`, and only on the port `db` names "http".
//! let policy: NetworkPolicy = serde_json::from_value(serde_json::json!({
//!     "metadata": {"namespace": "shop", "name": "db-from-web"},
//!     "spec": {
//!         "podSelector": {"matchLabels": {"app": "db"}},
//!         "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": "http"}]}]
//!     }
//! }))?;
//!
//! let engine = PolicyEngine::new([&ns], &pods, [&policy])?;
//! let (web, db, batch) = (Peer::pod("shop", "web"), Peer::pod("shop", "db"), Peer::pod("shop", "batch"));
//! assert!(engine.allowed(web, db, 8080, Protocol::Tcp)?);
//! assert!(!engine.allowed(web, db, 5432, Protocol::Tcp)?);
//! assert!(!engine.allowed(batch, db, 8080, Protocol::Tcp)?);
//! assert!(engine.allowed(db, batch, 9000, Protocol::Udp)?); // batch is not selected: not isolated
//!
//! // The compiled rule set gives the same answers, from IP-level data.
//! let rules = engine.compile();
//! assert!(rules.allowed(Peer::ip([10, 0, 0, 1]), Peer::ip([10, 0, 0, 2]), 8080, Protocol::Tcp)?);
//! assert!(!rules.allowed(batch, db, 8080, Protocol::Tcp)?);
//! # Ok(()) }
//! ```
//!
//! # Semantics
//!
//! - A pod is *isolated for ingress* if any NetworkPolicy in its namespace selects it
//!   (`spec.podSelector`, empty or missing = every pod of the namespace) and has `Ingress` in
//!   its `policyTypes`; likewise for egress. When `policyTypes` is missing or empty it defaults as
//!   the API server does: `Ingress` always, `Egress` if `spec.egress` has at least one rule.
//! - A connection from A to B is allowed iff the egress side allows it (A is not egress-isolated,
//!   or an egress rule of a policy selecting A matches B and the port) *and* the ingress side
//!   allows it (B is not ingress-isolated, or an ingress rule of a policy selecting B matches A
//!   and the port). Policies are additive: any matching rule of any selecting policy suffices.
//! - A rule matches when one of its peers matches (`from`/`to` missing or empty = every peer,
//!   including addresses outside the cluster) and one of its ports matches (`ports` missing or
//!   empty = every port of every protocol).
//! - Peers: `podSelector` alone selects pods of the policy's namespace; `namespaceSelector`
//!   alone selects every pod of the matching namespaces; both in one peer are AND'ed;
//!   `ipBlock` matches addresses in `cidr` and in none of the `except` blocks. Label selectors
//!   AND their `matchLabels` and `matchExpressions` (`In`, `NotIn`, `Exists`, `DoesNotExist`,
//!   with `NotIn` matching objects that lack the key, as in Kubernetes).
//! - Namespaces carry the label `kubernetes.io/metadata.name: <name>` (the API server sets it
//!   on every namespace; it is added here if the object lacks it). A pod whose namespace is not
//!   among the given Namespaces is treated as living in a namespace with only that label.
//! - Ports: `protocol` defaults to TCP; a numeric `port` with optional `endPort` is an inclusive
//!   range; a `port` without a number matches every port of its protocol; a *named* port
//!   matches the number the **destination** pod gives that name (with the same protocol) in
//!   its `containers` or (sidecar) `initContainers` ports, so for egress it depends on the
//!   peer: a destination that is not a pod of the cluster never matches a named port.
//! - Two exceptions the Kubernetes documentation states: a pod cannot block traffic to itself,
//!   and traffic between a pod and the node it runs on (`status.hostIPs`) is always allowed.
//!
//! # Choices where Kubernetes leaves the behaviour to the network plugin
//!
//! - **`ipBlock` and pod traffic.** Kubernetes says `ipBlock` is meant for cluster-external
//!   addresses and leaves its effect on pod-to-pod traffic implementation-defined. Here the
//!   pod's IP is matched against the block like any other address (what most data planes do,
//!   since they only see IPs): a [`Peer::Pod`] matches if *any* of its IPs is in the block; a
//!   [`Peer::Ip`] matches with that one address.
//! - **Addresses are pods.** A [`Peer::Ip`] that is the IP of a (pod-network) pod *is* that pod:
//!   pod selectors match it and named ports resolve against it, as a data plane that sees the
//!   packet would. Any other address is outside the cluster.
//! - **`hostNetwork` pods** follow the documented "most common implementation": policies never
//!   select them (neither as the pods a policy applies to nor as selector peers); traffic to or
//!   from them is traffic to or from their (node) IP, which only `ipBlock` peers match.
//! - **Pods without IPs** (pending, or in phase `Succeeded`/`Failed`, whose IPs may already be
//!   reused) are still selected by policies and matched by selectors, so questions about them
//!   are answered by the policies; no `ipBlock` can match them, no address resolves to them,
//!   and in the [`RuleSet`] they contribute no addresses to a data plane.
//! - Two pod-network pods claiming the same IP (or a pod IP equal to a `hostNetwork` pod's IP)
//!   is inconsistent input and rejected with [`Error::DuplicateIp`].
//!
//! Invalid objects (an unknown selector operator, an unknown protocol or policy type, a bad
//! CIDR, an `except` outside its `cidr`, a port out of range, an `endPort` with a named port,
//! an empty peer...) are rejected by [`PolicyEngine::new`] with a typed [`Error`] naming the
//! object and the field, as the API server's validation would.

pub mod calico;
mod compile;
pub mod enforce;
mod engine;
mod error;
mod model;
mod policy;
mod selector;

pub use compile::{AllowRule, CompiledPod, DirectionRules, PeerSet, PeerSetId, PortMatch, RuleId, RuleSet};
pub use enforce::NetworkPolicyReconciler;
pub use engine::PolicyEngine;
pub use error::Error;
pub use model::PodId;
pub use policy::IpBlock;

use std::fmt;
use std::net::IpAddr;

/// One end of a connection: a pod of the cluster, named by namespace and name, or an IP address.
///
/// An address that belongs to a pod-network pod is treated as that pod (see the
/// [module docs](self)); any other address is outside the cluster (or a node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Peer<'a> {
    /// A pod, by `metadata.namespace` and `metadata.name`.
    Pod {
        /// The pod's namespace.
        namespace: &'a str,
        /// The pod's name.
        name: &'a str,
    },
    /// An IP address.
    Ip(IpAddr),
}

impl<'a> Peer<'a> {
    /// The pod `namespace/name`.
    ///
    /// ```
    /// # use ack_net_k8s::netpol::Peer;
    /// let web = Peer::pod("shop", "web-0");
    /// assert!(matches!(web, Peer::Pod { namespace: "shop", .. }));
    /// ```
    pub fn pod(namespace: &'a str, name: &'a str) -> Self {
        Peer::Pod { namespace, name }
    }

    /// An IP address (`[10, 0, 0, 1]`, an `Ipv4Addr`, an `Ipv6Addr` or an `IpAddr`).
    ///
    /// ```
    /// # use ack_net_k8s::netpol::Peer;
    /// assert_eq!(Peer::ip([192, 168, 0, 1]), Peer::Ip("192.168.0.1".parse().unwrap()));
    /// ```
    pub fn ip(ip: impl Into<IpAddr>) -> Self {
        Peer::Ip(ip.into())
    }
}

impl From<IpAddr> for Peer<'_> {
    fn from(ip: IpAddr) -> Self {
        Peer::Ip(ip)
    }
}

impl fmt::Display for Peer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Pod { namespace, name } => write!(f, "pod {namespace}/{name}"),
            Peer::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// A transport protocol NetworkPolicy can name in `ports[].protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// `TCP` (the default when a policy port or container port names no protocol).
    Tcp,
    /// `UDP`.
    Udp,
    /// `SCTP`.
    Sctp,
}

impl Protocol {
    /// Every protocol, in a fixed order.
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    /// Parses the exact, case-sensitive API spelling (`TCP`, `UDP`, `SCTP`), as the API server
    /// does; `None` for anything else.
    ///
    /// ```
    /// # use ack_net_k8s::netpol::Protocol;
    /// assert_eq!(Protocol::from_api("UDP"), Some(Protocol::Udp));
    /// assert_eq!(Protocol::from_api("udp"), None);
    /// ```
    pub fn from_api(s: &str) -> Option<Self> {
        match s {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// The name the Kubernetes API uses (`TCP`, `UDP`, `SCTP`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The direction of traffic relative to a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Traffic into the pod (`policyTypes: [Ingress]`, `spec.ingress`).
    Ingress,
    /// Traffic out of the pod (`policyTypes: [Egress]`, `spec.egress`).
    Egress,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        })
    }
}
