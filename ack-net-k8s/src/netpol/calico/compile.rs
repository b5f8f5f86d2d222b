//! The compiled form of the tiered policies: per pod and direction the ordered tiers that apply
//! to it, each rule with its selectors resolved into sets of pods and networks.
//!
//! It is deliberately evaluated by its own code, not the interpreter's: the property test that
//! compares the two answers is only worth something if they do not share the logic.

use std::net::IpAddr;

use ipnet::IpNet;

use super::eval::{CalicoEngine, Decision, Item, RuleRef, Traffic, Verdict};
use super::resource::{Action, CalicoPolicy, CalicoPort, EntityRule};
use crate::netpol::model::{Endpoint, PodId, PodTable};
use crate::netpol::policy::{PortSpec, Rule};
use crate::netpol::{Direction, Error, IpBlock, Peer, PeerSet, Protocol};

/// Tiered policies compiled for a data plane. [`verdict`](Self::verdict) answers from this data
/// alone, as [`CalicoEngine::verdict`] does from the policies (a property test checks it).
///
/// A data plane renders each pod's [`CompiledTier`]s as an ordered chain per direction: each
/// rule a match on protocol, ICMP, the two ends' [`CompiledEnd`]s (sets of addresses) and ports;
/// `Pass` a jump to the next tier's chain; the end of a tier a drop (or a jump, for
/// `defaultAction: Pass`); after the last tier an accept. Not rules: a pod always reaches
/// itself and its node ([`CalicoRuleSet::host_ips`]).
#[derive(Debug, Clone)]
pub struct CalicoRuleSet {
    table: PodTable,
    pods: Vec<CalicoPodRules>,
}

/// The tiers that apply to one pod, per direction (empty: the profile allows everything).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CalicoPodRules {
    /// Traffic into the pod.
    pub ingress: Vec<CompiledTier>,
    /// Traffic out of the pod.
    pub egress: Vec<CompiledTier>,
}

/// A tier in which at least one policy applies to the pod.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CompiledTier {
    /// The tier's name.
    pub tier: String,
    /// At the end of the tier traffic goes on to the next tier (`defaultAction: Pass`) instead
    /// of being denied.
    pub default_pass: bool,
    /// The rules of the applying policies, in evaluation order.
    pub rules: Vec<CompiledRule>,
}

/// One rule with its selectors resolved.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CompiledRule {
    /// What the rule does.
    pub action: Action,
    /// The policy rule it comes from.
    pub origin: RuleRef,
    /// IP protocol number the traffic must have.
    pub protocol: Option<u8>,
    /// IP protocol number the traffic must not have.
    pub not_protocol: Option<u8>,
    /// ICMP type and optional code the traffic must have.
    pub icmp: Option<(u8, Option<u8>)>,
    /// ICMP type and optional code the traffic must not have.
    pub not_icmp: Option<(u8, Option<u8>)>,
    /// Both ends must have an address of this IP version.
    pub ip_version: Option<u8>,
    /// The source end.
    pub source: CompiledEnd,
    /// The destination end.
    pub destination: CompiledEnd,
}

/// What one end of the traffic must be.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CompiledEnd {
    /// The end must be in every one of these sets (nets; the pods the selectors pick).
    pub within: Vec<PeerSet>,
    /// The end must not be in this set (notNets; the pods notSelector picks).
    pub outside: PeerSet,
    /// The end's port must be one of these (`None`: any port).
    pub ports: Option<Vec<PortEntry>>,
    /// The end's port must be none of these (`None`: no `notPorts`; an empty list when no pod
    /// has a named port it lists, which still needs the traffic to have a port).
    pub not_ports: Option<Vec<PortEntry>>,
}

/// A port match of a [`CompiledEnd`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PortEntry {
    /// Ports `first..=last` (of `protocol`, when set; Kubernetes rules name one per entry).
    Range {
        /// The protocol the traffic must have, if the entry names one.
        protocol: Option<Protocol>,
        /// First port.
        first: u16,
        /// Last port (inclusive).
        last: u16,
    },
    /// A named port, resolved: traffic with this pod on this port and protocol.
    Pod {
        /// The pod that names the port.
        pod: PodId,
        /// Its protocol.
        protocol: Protocol,
        /// Its number.
        port: u16,
    },
}

impl CalicoEngine {
    /// Compiles the policies into a [`CalicoRuleSet`] that answers like
    /// [`verdict`](Self::verdict).
    pub fn compile(&self) -> CalicoRuleSet {
        let pods = (0..self.cluster().pod_count())
            .map(|i| {
                // Cannot truncate: the engine numbered the pods with u32.
                let pod = PodId(i as u32);
                CalicoPodRules {
                    ingress: self.compile_side(pod, Direction::Ingress),
                    egress: self.compile_side(pod, Direction::Egress),
                }
            })
            .collect();
        CalicoRuleSet { table: self.cluster().table.clone(), pods }
    }

    fn compile_side(&self, pod: PodId, direction: Direction) -> Vec<CompiledTier> {
        let mut out = Vec::new();
        for tier in &self.tiers {
            let (mut applied, mut rules) = (false, Vec::new());
            for item in &tier.items {
                match *item {
                    Item::Calico(i) => {
                        let policy = &self.policies[i];
                        let Some(list) = policy.rules(direction) else { continue };
                        if !self.applies(policy, pod) {
                            continue;
                        }
                        applied = true;
                        for (index, rule) in list.iter().enumerate() {
                            rules.push(CompiledRule {
                                action: rule.action,
                                origin: RuleRef { policy: policy.object.clone(), kubernetes: false, direction, index },
                                protocol: rule.protocol,
                                not_protocol: rule.not_protocol,
                                icmp: rule.icmp.map(|m| (m.kind, m.code)),
                                not_icmp: rule.not_icmp.map(|m| (m.kind, m.code)),
                                ip_version: rule.ip_version,
                                source: self.compile_end(policy, &rule.source),
                                destination: self.compile_end(policy, &rule.destination),
                            });
                        }
                    }
                    Item::Kubernetes(i) => {
                        let policy = &self.cluster().policies[i];
                        let Some(list) = self.kubernetes_rules(policy, pod, direction) else { continue };
                        applied = true;
                        for (index, rule) in list.iter().enumerate() {
                            let origin = RuleRef { policy: policy.object.clone(), kubernetes: true, direction, index };
                            rules.push(self.compile_kubernetes_rule(policy, rule, origin));
                        }
                    }
                }
            }
            if applied {
                out.push(CompiledTier { tier: tier.name.clone(), default_pass: tier.default_pass, rules });
            }
        }
        out
    }

    /// Pods that can be an end of traffic a policy sees (pod-network pods).
    fn network_pods(&self) -> impl Iterator<Item = PodId> + '_ {
        (0..self.cluster().pod_count())
            // Cannot truncate: the engine numbered the pods with u32.
            .map(|i| PodId(i as u32))
            .filter(|&p| !self.cluster().table.get(p).host_network)
    }

    fn compile_end(&self, policy: &CalicoPolicy, e: &EntityRule) -> CompiledEnd {
        let blocks = |nets: &[IpNet]| nets.iter().map(|n| IpBlock::new(*n, Vec::new())).collect::<Vec<_>>();
        let mut within = Vec::new();
        if !e.nets.is_empty() {
            within.push(PeerSet { blocks: blocks(&e.nets), ..PeerSet::default() });
        }
        if self.selects_positively(policy, e) {
            let pods = self.network_pods().filter(|&p| self.end_selects(policy, e, p)).collect();
            within.push(PeerSet { pods, ..PeerSet::default() });
        }
        let outside_pods = match &e.not_selector {
            Some(s) => self.network_pods().filter(|&p| s.matches(&self.pod_labels[p.index()])).collect(),
            None => Vec::new(),
        };
        let outside = PeerSet { pods: outside_pods, blocks: blocks(&e.not_nets), ..PeerSet::default() };
        let entries = |ports: &[CalicoPort]| -> Vec<PortEntry> {
            ports
                .iter()
                .flat_map(|p| match p {
                    CalicoPort::Range(first, last) => {
                        vec![PortEntry::Range { protocol: None, first: *first, last: *last }]
                    }
                    CalicoPort::Named(name) => self.named_port_entries(name, None),
                })
                .collect()
        };
        CompiledEnd {
            within,
            outside,
            ports: (!e.ports.is_empty()).then(|| entries(&e.ports)),
            not_ports: (!e.not_ports.is_empty()).then(|| entries(&e.not_ports)),
        }
    }

    /// Every pod's port called `name` (of `protocol`, if given).
    fn named_port_entries(&self, name: &str, protocol: Option<Protocol>) -> Vec<PortEntry> {
        self.network_pods()
            .flat_map(|pod| {
                self.cluster()
                    .named_ports(pod)
                    .iter()
                    .filter(move |n| n.name == name && protocol.is_none_or(|p| p == n.protocol))
                    .map(move |n| PortEntry::Pod { pod, protocol: n.protocol, port: n.port })
            })
            .collect()
    }

    fn compile_kubernetes_rule(
        &self,
        policy: &crate::netpol::policy::Policy,
        rule: &Rule,
        origin: RuleRef,
    ) -> CompiledRule {
        let remote = match &rule.peers {
            None => PeerSet { any: true, ..PeerSet::default() },
            Some(peers) => {
                let mut set = PeerSet::default();
                for peer in peers {
                    match peer {
                        crate::netpol::policy::PeerSpec::Block(b) => set.blocks.push(b.clone()),
                        crate::netpol::policy::PeerSpec::Pods { .. } => {
                            set.pods.extend(self.network_pods().filter(|&p| {
                                let end = Endpoint { pod: Some(p), ips: &[] };
                                self.cluster().peer_matches(policy, peer, &end)
                            }))
                        }
                    }
                }
                set.pods.sort_unstable();
                set.pods.dedup();
                set
            }
        };
        let ports = rule.ports.as_ref().map(|ports| {
            ports
                .iter()
                .flat_map(|p| match p {
                    PortSpec::All(protocol) => {
                        vec![PortEntry::Range { protocol: Some(*protocol), first: 0, last: u16::MAX }]
                    }
                    PortSpec::Range { protocol, first, last } => {
                        vec![PortEntry::Range { protocol: Some(*protocol), first: *first, last: *last }]
                    }
                    PortSpec::Named { protocol, name } => self.named_port_entries(name, Some(*protocol)),
                })
                .collect()
        });
        let remote_end = CompiledEnd { within: vec![remote], ..CompiledEnd::default() };
        let (source, destination) = match origin.direction {
            Direction::Ingress => (remote_end, CompiledEnd { ports, ..CompiledEnd::default() }),
            Direction::Egress => (CompiledEnd::default(), CompiledEnd { ports, ..remote_end }),
        };
        CompiledRule {
            action: Action::Allow,
            origin,
            protocol: None,
            not_protocol: None,
            icmp: None,
            not_icmp: None,
            ip_version: None,
            source,
            destination,
        }
    }
}

impl CalicoRuleSet {
    /// The tiers of every pod, by [`PodId`].
    pub fn pods(&self) -> &[CalicoPodRules] {
        &self.pods
    }

    /// Looks a pod up by namespace and name.
    pub fn pod_by_name(&self, namespace: &str, name: &str) -> Option<PodId> {
        self.table.id(namespace, name)
    }

    /// A pod's namespace and name.
    pub fn pod_name(&self, pod: PodId) -> (&str, &str) {
        let p = self.table.get(pod);
        (&p.namespace, &p.name)
    }

    /// A pod's addresses (empty if it has none yet, or has finished).
    pub fn pods_ips(&self, pod: PodId) -> &[IpAddr] {
        &self.table.get(pod).ips
    }

    /// A pod's node addresses: traffic with them is always allowed.
    pub fn host_ips(&self, pod: PodId) -> &[IpAddr] {
        &self.table.get(pod).host_ips
    }

    /// Whether `traffic` from `from` to `to` is allowed.
    ///
    /// # Errors
    ///
    /// As [`verdict`](Self::verdict).
    pub fn allowed(&self, from: Peer<'_>, to: Peer<'_>, traffic: Traffic) -> Result<bool, Error> {
        Ok(self.verdict(from, to, traffic)?.allowed)
    }

    /// The same answer as [`CalicoEngine::verdict`], from the compiled data.
    ///
    /// # Errors
    ///
    /// As [`CalicoEngine::verdict`].
    pub fn verdict(&self, from: Peer<'_>, to: Peer<'_>, traffic: Traffic) -> Result<Verdict, Error> {
        let src = self.table.resolve(&from)?;
        let dst = self.table.resolve(&to)?;
        let mut logged = Vec::new();
        if src.pod.is_some() && src.pod == dst.pod {
            return Ok(Verdict { allowed: true, egress: Decision::Exempt, ingress: Decision::Exempt, logged });
        }
        let mut decide = |pod: Option<PodId>, direction: Direction| -> Result<Decision, Error> {
            let Some(pod) = pod else { return Ok(Decision::NotAPod) };
            let remote = if direction == Direction::Ingress { &src } else { &dst };
            if remote.ips.iter().any(|ip| self.table.get(pod).host_ips.contains(ip)) {
                return Ok(Decision::Exempt);
            }
            let tiers = if direction == Direction::Ingress {
                &self.pods[pod.index()].ingress
            } else {
                &self.pods[pod.index()].egress
            };
            'tiers: for tier in tiers {
                for rule in &tier.rules {
                    if !rule_matches(rule, &src, &dst, &traffic)? {
                        continue;
                    }
                    match rule.action {
                        Action::Allow | Action::Deny => {
                            return Ok(Decision::Rule { rule: rule.origin.clone(), action: rule.action })
                        }
                        Action::Pass => continue 'tiers,
                        Action::Log => logged.push(rule.origin.clone()),
                    }
                }
                if !tier.default_pass {
                    return Ok(Decision::EndOfTier { tier: tier.tier.clone() });
                }
            }
            Ok(Decision::Profile)
        };
        let egress = decide(src.pod, Direction::Egress)?;
        if !egress.allows() {
            return Ok(Verdict { allowed: false, egress, ingress: Decision::Profile, logged });
        }
        let ingress = decide(dst.pod, Direction::Ingress)?;
        Ok(Verdict { allowed: ingress.allows(), egress, ingress, logged })
    }
}

fn rule_matches(rule: &CompiledRule, src: &Endpoint<'_>, dst: &Endpoint<'_>, t: &Traffic) -> Result<bool, Error> {
    let icmp = |(kind, code): (u8, Option<u8>)| {
        t.icmp_type_code().is_some_and(|(k, c)| k == kind && code.is_none_or(|x| x == c))
    };
    let version = |ips: &[IpAddr], v: u8| ips.iter().any(|ip| (v == 4) == ip.is_ipv4());
    if !(rule.protocol.is_none_or(|p| p == t.protocol_number())
        && rule.not_protocol.is_none_or(|p| p != t.protocol_number())
        && rule.icmp.is_none_or(icmp)
        && rule.not_icmp.is_none_or(|m| !icmp(m))
        && rule.ip_version.is_none_or(|v| version(src.ips, v) && version(dst.ips, v)))
    {
        return Ok(false);
    }
    Ok(end_matches(rule, &rule.source, src, t.source_port(), t, "source")?
        && end_matches(rule, &rule.destination, dst, t.destination_port(), t, "destination")?)
}

fn end_matches(
    rule: &CompiledRule,
    end: &CompiledEnd,
    who: &Endpoint<'_>,
    port: Option<u16>,
    t: &Traffic,
    side: &'static str,
) -> Result<bool, Error> {
    if !end.within.iter().all(|s| s.matches(who)) || end.outside.matches(who) {
        return Ok(false);
    }
    if end.ports.is_none() && end.not_ports.is_none() {
        return Ok(true);
    }
    let Some(port) = port else {
        if rule.origin.kubernetes {
            // A Kubernetes rule with ports matches only TCP, UDP and SCTP traffic.
            return Ok(false);
        }
        return Err(Error::PortNeeded { policy: rule.origin.policy.clone(), side });
    };
    let protocol = t.kubernetes().map(|(p, _)| p);
    let hit = |e: &PortEntry| match *e {
        PortEntry::Range { protocol: p, first, last } => {
            p.is_none_or(|p| Some(p) == protocol) && (first..=last).contains(&port)
        }
        PortEntry::Pod { pod, protocol: p, port: n } => who.pod == Some(pod) && Some(p) == protocol && n == port,
    };
    Ok(end.ports.as_ref().is_none_or(|list| list.iter().any(hit)) && !end.not_ports.iter().flatten().any(hit))
}
