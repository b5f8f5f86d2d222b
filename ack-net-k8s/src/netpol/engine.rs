//! The interpreter: answers queries by evaluating the policies directly.

use std::collections::HashMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::model::{self, Endpoint, NamedPort, PodId, PodMeta, PodTable, NAMESPACE_NAME_LABEL};
use super::policy::{NamespaceScope, PeerSpec, Policy, Rule};
use super::selector::Labels;
use super::{Direction, Error, Peer, Protocol, RuleSet};

/// The NetworkPolicy semantics of one snapshot of a cluster: Namespaces, Pods and
/// NetworkPolicies, validated and indexed.
///
/// [`allowed`](Self::allowed) evaluates the policies directly (the reference semantics);
/// [`compile`](Self::compile) turns them into a [`RuleSet`] that gives the same answers from
/// flat, address-level data. See the [module docs](super) for the semantics and an example.
#[derive(Debug, Clone)]
pub struct PolicyEngine {
    pub(crate) table: PodTable,
    pub(crate) meta: Vec<PodMeta>,
    /// Labels of every namespace given or used by a pod.
    pub(crate) namespaces: HashMap<String, Labels>,
    /// Pod ids per namespace, ascending.
    pub(crate) ns_pods: HashMap<String, Vec<PodId>>,
    pub(crate) policies: Vec<Policy>,
    /// Policy indices per namespace.
    by_namespace: HashMap<String, Vec<usize>>,
}

impl PolicyEngine {
    /// Validates and indexes a snapshot.
    ///
    /// Accepts anything that iterates over references: slices, `Vec`s, arrays of references,
    /// or `store.state().iter().map(|o| o.as_ref())` for a kube-runtime reflector store.
    ///
    /// # Errors
    ///
    /// A typed [`Error`] for the first invalid object: missing names, duplicates, invalid
    /// selectors, peers, CIDRs, ports, protocols, policy types or pod IPs, or an IP claimed by
    /// two pods.
    pub fn new<'a>(
        namespaces: impl IntoIterator<Item = &'a Namespace>,
        pods: impl IntoIterator<Item = &'a Pod>,
        policies: impl IntoIterator<Item = &'a NetworkPolicy>,
    ) -> Result<Self, Error> {
        let mut ns_labels = HashMap::new();
        for ns in namespaces {
            let (name, labels) = model::namespace_labels(ns)?;
            if ns_labels.insert(name.clone(), labels).is_some() {
                return Err(Error::Duplicate { object: format!("Namespace {name}") });
            }
        }
        let (mut addrs, mut meta) = (Vec::new(), Vec::new());
        for pod in pods {
            let (a, m) = model::parse_pod(pod)?;
            addrs.push(a);
            meta.push(m);
        }
        let table = PodTable::new(addrs)?;
        let mut ns_pods: HashMap<String, Vec<PodId>> = HashMap::new();
        for (i, pod) in table.pods.iter().enumerate() {
            // Cannot truncate: PodTable::new numbered the same pods.
            ns_pods.entry(pod.namespace.clone()).or_default().push(PodId(i as u32));
            ns_labels
                .entry(pod.namespace.clone())
                .or_insert_with(|| Labels::from([(NAMESPACE_NAME_LABEL.to_owned(), pod.namespace.clone())]));
        }
        let mut parsed = Vec::new();
        let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
        let mut names = std::collections::HashSet::new();
        for np in policies {
            let policy = Policy::parse(np)?;
            if !names.insert(policy.object.clone()) {
                return Err(Error::Duplicate { object: policy.object });
            }
            by_namespace.entry(policy.namespace.clone()).or_default().push(parsed.len());
            parsed.push(policy);
        }
        Ok(PolicyEngine { table, meta, namespaces: ns_labels, ns_pods, policies: parsed, by_namespace })
    }

    /// Whether a connection from `from` to `to` on destination `port` over `protocol` is
    /// allowed: the egress side of `from` and the ingress side of `to` must both allow it.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownPod`] if a [`Peer::Pod`] names a pod the engine was not given.
    pub fn allowed(&self, from: Peer<'_>, to: Peer<'_>, port: u16, protocol: Protocol) -> Result<bool, Error> {
        let src = self.table.resolve(&from)?;
        let dst = self.table.resolve(&to)?;
        if src.pod.is_some() && src.pod == dst.pod {
            // "A pod cannot block access to itself."
            return Ok(true);
        }
        let egress = src.pod.is_none_or(|s| self.side_allows(s, Direction::Egress, &dst, port, protocol, dst.pod));
        Ok(egress && dst.pod.is_none_or(|d| self.side_allows(d, Direction::Ingress, &src, port, protocol, Some(d))))
    }

    /// Whether the pod is isolated in `direction`: some policy in its namespace selects it and
    /// has that policy type. `hostNetwork` pods never are.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownPod`] if the engine was not given that pod.
    pub fn is_isolated(&self, namespace: &str, name: &str, direction: Direction) -> Result<bool, Error> {
        let id = self
            .table
            .id(namespace, name)
            .ok_or_else(|| Error::UnknownPod { namespace: namespace.to_owned(), name: name.to_owned() })?;
        Ok(self.selecting(id, direction).next().is_some())
    }

    /// Compiles the policies into a flat, indexed [`RuleSet`] that answers like
    /// [`allowed`](Self::allowed).
    pub fn compile(&self) -> RuleSet {
        super::compile::compile(self)
    }

    /// The number of pods.
    pub fn pod_count(&self) -> usize {
        self.table.pods.len()
    }

    /// The number of NetworkPolicies.
    pub fn policy_count(&self) -> usize {
        self.policies.len()
    }

    /// The rules of the policies that select `pod` for `direction` (empty: not isolated).
    pub(crate) fn selecting(&self, pod: PodId, direction: Direction) -> impl Iterator<Item = (&Policy, &[Rule])> {
        let addrs = self.table.get(pod);
        let labels = &self.meta[pod.index()].labels;
        self.by_namespace
            .get(&addrs.namespace)
            .into_iter()
            .flatten()
            .map(|&i| &self.policies[i])
            .filter(move |p| !addrs.host_network && p.pod_selector.matches(labels))
            .filter_map(move |p| {
                let rules = match direction {
                    Direction::Ingress => p.ingress.as_deref(),
                    Direction::Egress => p.egress.as_deref(),
                }?;
                Some((p, rules))
            })
    }

    /// Whether `pod`'s `direction` side lets traffic with `remote` through.
    fn side_allows(
        &self,
        pod: PodId,
        direction: Direction,
        remote: &Endpoint<'_>,
        port: u16,
        protocol: Protocol,
        dst: Option<PodId>,
    ) -> bool {
        // "Traffic to and from the node where a Pod is running is always allowed."
        let host_ips = &self.table.get(pod).host_ips;
        if remote.ips.iter().any(|ip| host_ips.contains(ip)) {
            return true;
        }
        let dst_ports = dst.map(|d| self.meta[d.index()].named_ports.as_slice());
        let mut isolated = false;
        for (policy, rules) in self.selecting(pod, direction) {
            isolated = true;
            if rules.iter().any(|r| self.peers_match(policy, r, remote) && r.ports_match(port, protocol, dst_ports)) {
                return true;
            }
        }
        !isolated
    }

    fn peers_match(&self, policy: &Policy, rule: &Rule, remote: &Endpoint<'_>) -> bool {
        rule.peers.as_ref().is_none_or(|peers| peers.iter().any(|p| self.peer_matches(policy, p, remote)))
    }

    /// Whether one `from`/`to` entry of `policy` matches `remote`.
    pub(crate) fn peer_matches(&self, policy: &Policy, peer: &PeerSpec, remote: &Endpoint<'_>) -> bool {
        match peer {
            PeerSpec::Block(block) => remote.ips.iter().any(|ip| block.contains(ip)),
            PeerSpec::Pods { namespaces, pods } => remote.pod.is_some_and(|id| {
                let ns = &self.table.get(id).namespace;
                pods.matches(&self.meta[id.index()].labels) && self.namespace_in_scope(policy, namespaces, ns)
            }),
        }
    }

    pub(crate) fn namespace_in_scope(&self, policy: &Policy, scope: &NamespaceScope, ns: &str) -> bool {
        match scope {
            NamespaceScope::Own => policy.namespace == ns,
            NamespaceScope::Matching(sel) => self.namespaces.get(ns).is_some_and(|l| sel.matches(l)),
        }
    }

    pub(crate) fn named_ports(&self, pod: PodId) -> &[NamedPort] {
        &self.meta[pod.index()].named_ports
    }

    pub(crate) fn labels(&self, pod: PodId) -> &Labels {
        &self.meta[pod.index()].labels
    }

    /// The addresses of a pod.
    pub(crate) fn ips(&self, pod: PodId) -> &[IpAddr] {
        &self.table.get(pod).ips
    }
}
