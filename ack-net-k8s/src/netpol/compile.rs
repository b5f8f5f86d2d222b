//! The compiled form: per pod and direction an isolation flag and a list of shared allow rules,
//! each a peer set (pods, addresses, CIDR blocks) and a list of (protocol, port range) entries.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;

use super::engine::PolicyEngine;
use super::model::{Endpoint, PodAddrs, PodTable};
use super::policy::{IpBlock, PeerSpec, Policy, PortSpec, Rule};
use super::{Direction, Error, Peer, PodId, Protocol};

/// The id of an [`AllowRule`] in a [`RuleSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(u32);

impl RuleId {
    /// The position in [`RuleSet::rules`] (ids are dense, from 0).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The id of a [`PeerSet`] in a [`RuleSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerSetId(u32);

impl PeerSetId {
    /// The position in [`RuleSet::peer_sets`] (ids are dense, from 0).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// NetworkPolicies compiled for a data plane: flat, deduplicated and indexed by pod name and
/// address.
///
/// For each pod and direction there is an isolation flag and a list of [`AllowRule`]s; a
/// connection is allowed on a pod's side if the pod is not isolated or one of its rules matches
/// the remote end and the port. Rules and their [`PeerSet`]s are shared between pods (a data
/// plane would make each peer set an ipset and each rule a chain). Named ports are already
/// resolved to numbers. Two things a data plane must add that are not rules: a pod may always
/// talk to itself, and to and from its node's addresses ([`CompiledPod::host_ips`]).
///
/// [`allowed`](Self::allowed) answers from this data alone, exactly as
/// [`PolicyEngine::allowed`] does from the policies (a property test checks it).
#[derive(Debug, Clone)]
pub struct RuleSet {
    table: PodTable,
    pods: Vec<CompiledPod>,
    rules: Vec<AllowRule>,
    peer_sets: Vec<PeerSet>,
}

/// A pod and the rules that apply to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompiledPod {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// The pod's addresses (empty if it has none yet, or has finished).
    pub ips: Vec<IpAddr>,
    /// Its node's addresses: traffic with them is always allowed.
    pub host_ips: Vec<IpAddr>,
    /// A `hostNetwork` pod: never isolated, and its traffic is its node's.
    pub host_network: bool,
    /// Traffic into the pod.
    pub ingress: DirectionRules,
    /// Traffic out of the pod.
    pub egress: DirectionRules,
}

/// Isolation and allow rules of one pod in one direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirectionRules {
    /// Whether a policy isolates the pod in this direction: if not, everything is allowed and
    /// `rules` is empty.
    pub isolated: bool,
    /// The rules any of which allows traffic, ascending.
    pub rules: Vec<RuleId>,
}

/// An allow rule: traffic with a peer in `peers` on one of `ports`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct AllowRule {
    /// The remote ends the rule allows.
    pub peers: PeerSetId,
    /// The destination ports it allows, sorted; never empty.
    pub ports: Vec<PortMatch>,
}

/// A set of remote ends: everything, or the union of some pods, addresses and blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PeerSet {
    /// Every peer, inside the cluster or not (`from`/`to` missing or empty).
    pub any: bool,
    /// Pod-network pods, by id, ascending; a data plane uses their [`CompiledPod::ips`].
    pub pods: Vec<PodId>,
    /// Single addresses, ascending (pod addresses inside an `ipBlock`, for named ports).
    pub addresses: Vec<IpAddr>,
    /// `ipBlock`s.
    pub blocks: Vec<IpBlock>,
}

/// A protocol and an inclusive destination port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct PortMatch {
    /// The protocol, or `None` for every protocol (a rule without `ports`).
    pub protocol: Option<Protocol>,
    /// First port of the range.
    pub first: u16,
    /// Last port of the range (inclusive).
    pub last: u16,
}

impl PortMatch {
    /// Whether `port` over `protocol` is in this entry.
    pub fn matches(&self, port: u16, protocol: Protocol) -> bool {
        self.protocol.is_none_or(|p| p == protocol) && (self.first..=self.last).contains(&port)
    }

    const ANY: PortMatch = PortMatch { protocol: None, first: 0, last: u16::MAX };
}

impl IpBlock {
    /// The block as a list of CIDRs with the `except` blocks cut out, for filters that cannot
    /// express exceptions.
    ///
    /// ```
    /// # use ack_net_k8s::netpol::IpBlock;
    /// let block = IpBlock::new("10.0.0.0/22".parse()?, vec!["10.0.1.0/24".parse()?]);
    /// let cidrs: Vec<String> = block.to_cidrs().iter().map(ToString::to_string).collect();
    /// assert_eq!(cidrs, ["10.0.0.0/24", "10.0.2.0/23"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_cidrs(&self) -> Vec<IpNet> {
        fn cut(net: IpNet, except: &[IpNet], out: &mut Vec<IpNet>) {
            if except.iter().any(|e| e.contains(&net)) {
                return;
            }
            let overlapping: Vec<IpNet> = except.iter().copied().filter(|e| net.contains(e)).collect();
            if overlapping.is_empty() {
                out.push(net);
                return;
            }
            // An exception strictly inside `net`: split it in halves (prefix_len < max here).
            if let Ok(halves) = net.subnets(net.prefix_len() + 1) {
                for half in halves {
                    cut(half, &overlapping, out);
                }
            }
        }
        let mut out = Vec::new();
        cut(self.cidr, &self.except, &mut out);
        out
    }
}

impl PeerSet {
    pub(crate) fn matches(&self, remote: &Endpoint<'_>) -> bool {
        self.any
            || remote.pod.is_some_and(|p| self.pods.binary_search(&p).is_ok())
            || remote.ips.iter().any(|ip| self.addresses.binary_search(ip).is_ok())
            || remote.ips.iter().any(|ip| self.blocks.iter().any(|b| b.contains(ip)))
    }

    fn is_empty(&self) -> bool {
        !self.any && self.pods.is_empty() && self.addresses.is_empty() && self.blocks.is_empty()
    }

    fn normalize(&mut self) {
        self.pods.sort_unstable();
        self.pods.dedup();
        self.addresses.sort_unstable();
        self.addresses.dedup();
        self.blocks.sort();
        self.blocks.dedup();
    }
}

impl RuleSet {
    /// Whether a connection from `from` to `to` on destination `port` over `protocol` is allowed
    /// by the compiled rules; the same answer as [`PolicyEngine::allowed`].
    ///
    /// # Errors
    ///
    /// [`Error::UnknownPod`] if a [`Peer::Pod`] names a pod the rule set does not know.
    pub fn allowed(&self, from: Peer<'_>, to: Peer<'_>, port: u16, protocol: Protocol) -> Result<bool, Error> {
        let src = self.table.resolve(&from)?;
        let dst = self.table.resolve(&to)?;
        if src.pod.is_some() && src.pod == dst.pod {
            return Ok(true);
        }
        Ok(src.pod.is_none_or(|s| self.side_allows(s, Direction::Egress, &dst, port, protocol))
            && dst.pod.is_none_or(|d| self.side_allows(d, Direction::Ingress, &src, port, protocol)))
    }

    fn side_allows(
        &self,
        pod: PodId,
        direction: Direction,
        remote: &Endpoint<'_>,
        port: u16,
        protocol: Protocol,
    ) -> bool {
        let pod = &self.pods[pod.index()];
        if remote.ips.iter().any(|ip| pod.host_ips.contains(ip)) {
            return true;
        }
        let side = pod.rules(direction);
        !side.isolated
            || side.rules.iter().any(|&r| {
                let rule = &self.rules[r.index()];
                rule.ports.iter().any(|p| p.matches(port, protocol))
                    && self.peer_sets[rule.peers.index()].matches(remote)
            })
    }

    /// Every pod, in the order the engine was given them ([`PodId::index`]).
    pub fn pods(&self) -> &[CompiledPod] {
        &self.pods
    }

    /// One pod.
    pub fn pod(&self, id: PodId) -> &CompiledPod {
        &self.pods[id.index()]
    }

    /// Looks a pod up by namespace and name.
    pub fn pod_by_name(&self, namespace: &str, name: &str) -> Option<PodId> {
        self.table.id(namespace, name)
    }

    /// Looks up the pod-network pod that owns an address (`hostNetwork` pods own none).
    pub fn pod_by_ip(&self, ip: &IpAddr) -> Option<PodId> {
        self.table.by_ip(ip)
    }

    /// Every allow rule with its id.
    pub fn rules(&self) -> impl ExactSizeIterator<Item = (RuleId, &AllowRule)> {
        self.rules.iter().enumerate().map(|(i, r)| (RuleId(i as u32), r))
    }

    /// One allow rule.
    pub fn rule(&self, id: RuleId) -> &AllowRule {
        &self.rules[id.index()]
    }

    /// Every peer set with its id; each is used by at least one rule.
    pub fn peer_sets(&self) -> impl ExactSizeIterator<Item = (PeerSetId, &PeerSet)> {
        self.peer_sets.iter().enumerate().map(|(i, s)| (PeerSetId(i as u32), s))
    }

    /// One peer set.
    pub fn peer_set(&self, id: PeerSetId) -> &PeerSet {
        &self.peer_sets[id.index()]
    }

    /// Whether a peer set matches `peer` (as the remote end of a connection).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownPod`] if a [`Peer::Pod`] names a pod the rule set does not know.
    pub fn peer_set_matches(&self, id: PeerSetId, peer: Peer<'_>) -> Result<bool, Error> {
        Ok(self.peer_set(id).matches(&self.table.resolve(&peer)?))
    }

    /// A peer set as CIDRs (pods as host routes, blocks with exceptions cut out), sorted and
    /// deduplicated; `0.0.0.0/0` and `::/0` for [`PeerSet::any`]. An address is in this list
    /// exactly when the set matches it as a [`Peer::Ip`].
    pub fn networks(&self, id: PeerSetId) -> Vec<IpNet> {
        self.peer_set(id).networks(|p| &self.pod(p).ips)
    }
}

impl PeerSet {
    /// The set as CIDRs (pods by their addresses as host routes, blocks with exceptions cut
    /// out), sorted and aggregated; `0.0.0.0/0` and `::/0` for [`PeerSet::any`].
    pub(crate) fn networks<'a>(&self, ips_of: impl Fn(PodId) -> &'a [IpAddr]) -> Vec<IpNet> {
        let mut out: Vec<IpNet> = if self.any {
            vec![IpNet::V4(Default::default()), IpNet::V6(Default::default())]
        } else {
            let pod_ips = self.pods.iter().flat_map(|&p| ips_of(p).iter().copied());
            pod_ips.chain(self.addresses.iter().copied()).map(IpNet::from).collect()
        };
        out.extend(self.blocks.iter().flat_map(IpBlock::to_cidrs));
        IpNet::aggregate(&out)
    }
}

impl CompiledPod {
    /// The rules for one direction.
    pub fn rules(&self, direction: Direction) -> &DirectionRules {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }
}

/// Interns peer sets and rules while compiling.
struct Builder<'e> {
    engine: &'e PolicyEngine,
    peer_sets: Vec<PeerSet>,
    peer_set_ids: HashMap<PeerSet, PeerSetId>,
    rules: Vec<AllowRule>,
    rule_ids: HashMap<AllowRule, RuleId>,
    /// (protocol, name) -> (pod, number), over pod-network pods.
    named: HashMap<(Protocol, &'e str), Vec<(PodId, u16)>>,
}

pub(crate) fn compile(engine: &PolicyEngine) -> RuleSet {
    let mut named: HashMap<(Protocol, &str), Vec<(PodId, u16)>> = HashMap::new();
    for (i, addrs) in engine.table.pods.iter().enumerate() {
        let id = PodId(i as u32);
        if !addrs.host_network {
            for np in engine.named_ports(id) {
                let entry = named.entry((np.protocol, np.name.as_str())).or_default();
                if !entry.contains(&(id, np.port)) {
                    entry.push((id, np.port));
                }
            }
        }
    }
    let mut b = Builder {
        engine,
        peer_sets: Vec::new(),
        peer_set_ids: HashMap::new(),
        rules: Vec::new(),
        rule_ids: HashMap::new(),
        named,
    };
    let mut pods: Vec<CompiledPod> = engine.table.pods.iter().map(CompiledPod::new).collect();

    for policy in &engine.policies {
        let selected: Vec<PodId> = engine
            .ns_pods
            .get(&policy.namespace)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&p| !engine.table.get(p).host_network && policy.pod_selector.matches(engine.labels(p)))
            .collect();
        if selected.is_empty() {
            continue;
        }
        if let Some(rules) = &policy.ingress {
            for &p in &selected {
                pods[p.index()].ingress.isolated = true;
            }
            for rule in rules {
                let peers = b.peer_set(policy, rule);
                if peers.is_empty() {
                    continue;
                }
                let named = rule.ports.iter().flatten().any(|p| matches!(p, PortSpec::Named { .. }));
                if !named {
                    let peers = b.intern_peer_set(peers);
                    let id = b.intern_rule(peers, compile_ports(rule, &[]));
                    for &p in &selected {
                        pods[p.index()].ingress.rules.push(id);
                    }
                    continue;
                }
                // Ingress named ports resolve against the pod the policy applies to.
                let mut interned = None;
                for &p in &selected {
                    let ports = compile_ports(rule, engine.named_ports(p));
                    if !ports.is_empty() {
                        let peers = *interned.get_or_insert_with(|| b.intern_peer_set(peers.clone()));
                        pods[p.index()].ingress.rules.push(b.intern_rule(peers, ports));
                    }
                }
            }
        }
        if let Some(rules) = &policy.egress {
            for &p in &selected {
                pods[p.index()].egress.isolated = true;
            }
            for rule in rules {
                let ids = b.egress_rules(policy, rule);
                for &p in &selected {
                    pods[p.index()].egress.rules.extend_from_slice(&ids);
                }
            }
        }
    }
    for pod in &mut pods {
        for side in [&mut pod.ingress, &mut pod.egress] {
            side.rules.sort_unstable();
            side.rules.dedup();
        }
    }
    RuleSet { table: engine.table.clone(), pods, rules: b.rules, peer_sets: b.peer_sets }
}

impl CompiledPod {
    fn new(addrs: &PodAddrs) -> Self {
        CompiledPod {
            namespace: addrs.namespace.clone(),
            name: addrs.name.clone(),
            ips: addrs.ips.clone(),
            host_ips: addrs.host_ips.clone(),
            host_network: addrs.host_network,
            ingress: DirectionRules::default(),
            egress: DirectionRules::default(),
        }
    }
}

/// The numeric ports of a rule; named ports resolved against `dst_ports` (pass `&[]` to leave
/// them out). Empty if the rule has ports but none applies.
fn compile_ports(rule: &Rule, dst_ports: &[super::model::NamedPort]) -> Vec<PortMatch> {
    let Some(specs) = &rule.ports else { return vec![PortMatch::ANY] };
    let mut out = Vec::new();
    for spec in specs {
        match spec {
            PortSpec::All(p) => out.push(PortMatch { protocol: Some(*p), first: 0, last: u16::MAX }),
            PortSpec::Range { protocol, first, last } => {
                out.push(PortMatch { protocol: Some(*protocol), first: *first, last: *last })
            }
            PortSpec::Named { protocol, name } => {
                out.extend(dst_ports.iter().filter(|n| n.protocol == *protocol && n.name == *name).map(|n| PortMatch {
                    protocol: Some(*protocol),
                    first: n.port,
                    last: n.port,
                }))
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

impl Builder<'_> {
    /// The peers of a rule: everything, or the pods its selectors match plus its blocks.
    fn peer_set(&self, policy: &Policy, rule: &Rule) -> PeerSet {
        let Some(peers) = &rule.peers else { return PeerSet { any: true, ..PeerSet::default() } };
        let e = self.engine;
        let mut set = PeerSet::default();
        for peer in peers {
            match peer {
                PeerSpec::Block(block) => set.blocks.push(block.clone()),
                PeerSpec::Pods { namespaces, pods } => {
                    for (ns, ids) in &e.ns_pods {
                        if e.namespace_in_scope(policy, namespaces, ns) {
                            set.pods.extend(
                                ids.iter()
                                    .copied()
                                    .filter(|&p| !e.table.get(p).host_network && pods.matches(e.labels(p))),
                            );
                        }
                    }
                }
            }
        }
        set.normalize();
        set
    }

    /// The rules of one egress rule: its numeric ports towards its peers, plus, per named port,
    /// the destination pods that give the name a number (named ports resolve against the
    /// destination, so each number gets its own peer set).
    fn egress_rules(&mut self, policy: &Policy, rule: &Rule) -> Vec<RuleId> {
        let base = self.peer_set(policy, rule);
        let mut ids = Vec::new();
        if base.is_empty() {
            return ids;
        }
        let numeric = compile_ports(rule, &[]);
        if !numeric.is_empty() {
            let peers = self.intern_peer_set(base.clone());
            ids.push(self.intern_rule(peers, numeric));
        }
        for spec in rule.ports.iter().flatten() {
            let PortSpec::Named { protocol, name } = spec else { continue };
            let mut by_number: BTreeMap<u16, PeerSet> = BTreeMap::new();
            for &(pod, number) in self.named.get(&(*protocol, name.as_str())).into_iter().flatten() {
                if base.any || base.pods.binary_search(&pod).is_ok() {
                    by_number.entry(number).or_default().pods.push(pod);
                } else {
                    let ips = self.engine.ips(pod).iter().filter(|ip| base.blocks.iter().any(|b| b.contains(ip)));
                    let addresses: Vec<IpAddr> = ips.copied().collect();
                    if !addresses.is_empty() {
                        by_number.entry(number).or_default().addresses.extend(addresses);
                    }
                }
            }
            for (number, mut set) in by_number {
                set.normalize();
                let peers = self.intern_peer_set(set);
                ids.push(
                    self.intern_rule(peers, vec![PortMatch { protocol: Some(*protocol), first: number, last: number }]),
                );
            }
        }
        ids
    }

    fn intern_peer_set(&mut self, set: PeerSet) -> PeerSetId {
        if let Some(&id) = self.peer_set_ids.get(&set) {
            return id;
        }
        let id = PeerSetId(self.peer_sets.len() as u32);
        self.peer_sets.push(set.clone());
        self.peer_set_ids.insert(set, id);
        id
    }

    fn intern_rule(&mut self, peers: PeerSetId, ports: Vec<PortMatch>) -> RuleId {
        let rule = AllowRule { peers, ports };
        if let Some(&id) = self.rule_ids.get(&rule) {
            return id;
        }
        let id = RuleId(self.rules.len() as u32);
        self.rules.push(rule.clone());
        self.rule_ids.insert(rule, id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    proptest! {
        #[test]
        fn to_cidrs_covers_exactly_the_block(
            prefix in 20u8..=28,
            excepts in prop::collection::vec((0u32..4096, 1u8..=6), 0..4),
            probes in prop::collection::vec(0u32..8192, 64),
        ) {
            let cidr: IpNet = format!("10.0.0.0/{prefix}").parse().unwrap();
            let except: Vec<IpNet> = excepts
                .into_iter()
                .filter_map(|(offset, extra)| {
                    let len = (prefix + extra).min(32);
                    let addr = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + offset);
                    let net = IpNet::new(IpAddr::V4(addr), len).ok()?.trunc();
                    cidr.contains(&net).then_some(net)
                })
                .collect();
            let block = IpBlock::new(cidr, except);
            let cidrs = block.to_cidrs();
            for probe in probes {
                let ip = IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + probe));
                prop_assert_eq!(block.contains(&ip), cidrs.iter().any(|c| c.contains(&ip)), "{} {:?}", ip, cidrs);
            }
        }
    }

    #[test]
    fn port_match_any_covers_every_protocol_and_port() {
        for p in Protocol::ALL {
            assert!(PortMatch::ANY.matches(0, p) && PortMatch::ANY.matches(u16::MAX, p));
        }
        let udp = PortMatch { protocol: Some(Protocol::Udp), first: 53, last: 54 };
        assert!(udp.matches(54, Protocol::Udp) && !udp.matches(55, Protocol::Udp) && !udp.matches(53, Protocol::Tcp));
    }
}
