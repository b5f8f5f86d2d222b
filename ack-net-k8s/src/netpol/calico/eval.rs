//! The tiered evaluation of Calico policies and Kubernetes NetworkPolicies.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::ServiceAccount;

use super::resource::{
    proto, Action, CalicoPolicy, CalicoPort, CalicoResource, CalicoRule, EntityRule, IcmpMatch, DEFAULT_TIER,
    DEFAULT_TIER_ORDER, KUBERNETES_POLICY_ORDER,
};
use crate::netpol::model::{Endpoint, PodId};
use crate::netpol::policy::{Policy, Rule};
use crate::netpol::selector::Labels;
use crate::netpol::{Direction, Error, Peer, PolicyEngine, Protocol};

/// The labels Calico adds to every workload endpoint and namespace.
const LABEL_NAMESPACE: &str = "projectcalico.org/namespace";
const LABEL_ORCHESTRATOR: &str = "projectcalico.org/orchestrator";
const LABEL_SERVICE_ACCOUNT: &str = "projectcalico.org/serviceaccount";
const LABEL_NAME: &str = "projectcalico.org/name";

/// What a query asks about: a protocol and its ports, or an ICMP type and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Traffic {
    protocol: u8,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    icmp: Option<(u8, u8)>,
}

impl Traffic {
    /// TCP to destination port `port`.
    pub fn tcp(port: u16) -> Self {
        Self::ported(proto::TCP, port)
    }

    /// UDP to destination port `port`.
    pub fn udp(port: u16) -> Self {
        Self::ported(proto::UDP, port)
    }

    /// SCTP to destination port `port`.
    pub fn sctp(port: u16) -> Self {
        Self::ported(proto::SCTP, port)
    }

    /// An ICMP (IPv4) message of `kind` (8: echo request) and `code`.
    pub fn icmp(kind: u8, code: u8) -> Self {
        Traffic { protocol: proto::ICMP, src_port: None, dst_port: None, icmp: Some((kind, code)) }
    }

    /// An ICMPv6 message of `kind` (128: echo request) and `code`.
    pub fn icmpv6(kind: u8, code: u8) -> Self {
        Traffic { protocol: proto::ICMPV6, src_port: None, dst_port: None, icmp: Some((kind, code)) }
    }

    /// UDP-Lite to destination port `port`.
    pub fn udplite(port: u16) -> Self {
        Self::ported(proto::UDPLITE, port)
    }

    /// Traffic of an IP protocol by number, without ports (for protocols that have ports, use
    /// the constructors above: a rule with ports cannot judge traffic without them).
    pub fn protocol(number: u8) -> Self {
        Traffic { protocol: number, src_port: None, dst_port: None, icmp: None }
    }

    /// The same traffic from source port `port` (needed when a rule matches source ports).
    pub fn from_port(mut self, port: u16) -> Self {
        if self.dst_port.is_some() {
            self.src_port = Some(port);
        }
        self
    }

    /// The IP protocol number.
    pub fn protocol_number(&self) -> u8 {
        self.protocol
    }

    /// The source port, if the traffic has one.
    pub fn source_port(&self) -> Option<u16> {
        self.src_port
    }

    /// The destination port, if the traffic has one.
    pub fn destination_port(&self) -> Option<u16> {
        self.dst_port
    }

    /// The ICMP type and code of `icmp` and `icmpv6` traffic.
    pub fn icmp_type_code(&self) -> Option<(u8, u8)> {
        self.icmp
    }

    /// The Kubernetes protocol and destination port of `tcp`, `udp` and `sctp` traffic.
    pub fn kubernetes(&self) -> Option<(Protocol, u16)> {
        let protocol = match self.protocol {
            proto::TCP => Protocol::Tcp,
            proto::UDP => Protocol::Udp,
            proto::SCTP => Protocol::Sctp,
            _ => return None,
        };
        Some((protocol, self.dst_port?))
    }

    fn ported(protocol: u8, port: u16) -> Self {
        Traffic { protocol, src_port: None, dst_port: Some(port), icmp: None }
    }
}

impl From<(Protocol, u16)> for Traffic {
    fn from((protocol, port): (Protocol, u16)) -> Self {
        match protocol {
            Protocol::Tcp => Traffic::tcp(port),
            Protocol::Udp => Traffic::udp(port),
            Protocol::Sctp => Traffic::sctp(port),
        }
    }
}

/// A rule of a policy: the policy's object name, the direction and the rule's index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuleRef {
    /// The policy (`NetworkPolicy shop/db`, `GlobalNetworkPolicy deny-egress`; Kubernetes
    /// policies as `NetworkPolicy ns/name` too, distinguished by [`RuleRef::kubernetes`]).
    pub policy: String,
    /// Whether the policy is a Kubernetes NetworkPolicy.
    pub kubernetes: bool,
    /// The rule list.
    pub direction: Direction,
    /// The rule's index in that list.
    pub index: usize,
}

/// How one side (the source's egress or the destination's ingress) decided.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// The side is not a pod of the cluster network (an outside address or a `hostNetwork`
    /// pod): no policy applies, the traffic passes this side.
    NotAPod,
    /// Traffic of a pod with itself or with its own node: always allowed.
    Exempt,
    /// A rule decided, with its action ([`Action::Allow`] or [`Action::Deny`]).
    Rule {
        /// The rule.
        rule: RuleRef,
        /// What it did.
        action: Action,
    },
    /// Some policy of the tier applied but no rule decided: denied at the end of the tier.
    EndOfTier {
        /// The tier.
        tier: String,
    },
    /// No tier decided (no policy applied, or every applying tier passed): the profile
    /// allows.
    Profile,
}

impl Decision {
    /// Whether the side lets the traffic through.
    pub fn allows(&self) -> bool {
        match self {
            Decision::NotAPod | Decision::Exempt | Decision::Profile => true,
            Decision::Rule { action, .. } => *action == Action::Allow,
            Decision::EndOfTier { .. } => false,
        }
    }
}

/// The answer to a query: both sides' decisions and the `Log` rules the traffic hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the connection is allowed: both sides allow it.
    pub allowed: bool,
    /// The source pod's egress decision.
    pub egress: Decision,
    /// The destination pod's ingress decision (not evaluated, [`Decision::Profile`], when the
    /// egress side already denied).
    pub ingress: Decision,
    /// `Log` rules that matched, in evaluation order (egress first).
    pub logged: Vec<RuleRef>,
}

/// One policy in a tier's evaluation order.
#[derive(Debug, Clone, Copy)]
pub(super) enum Item {
    Calico(usize),
    Kubernetes(usize),
}

#[derive(Debug, Clone)]
pub(super) struct Tier {
    pub(super) name: String,
    pub(super) default_pass: bool,
    pub(super) items: Vec<Item>,
}

/// Kubernetes NetworkPolicies and Calico policies of one snapshot of a cluster, evaluated as
/// Calico does. See the [module docs](super).
#[derive(Debug, Clone)]
pub struct CalicoEngine {
    cluster: PolicyEngine,
    pub(super) policies: Vec<CalicoPolicy>,
    pub(super) tiers: Vec<Tier>,
    /// Selector labels of each pod (its own and Calico's), by [`PodId`].
    pub(super) pod_labels: Vec<Labels>,
    /// Namespace labels with `projectcalico.org/name`.
    namespace_labels: HashMap<String, Labels>,
    /// ServiceAccount labels by namespace and name.
    service_accounts: HashMap<(String, String), Labels>,
}

fn order_key(a: (Option<f64>, &str), b: (Option<f64>, &str)) -> Ordering {
    let by_order = match (a.0, b.0) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_order.then_with(|| a.1.cmp(b.1))
}

impl CalicoEngine {
    /// Adds Calico resources (and the ServiceAccounts their `serviceAccountSelector`s read) to
    /// a cluster's Kubernetes policy engine.
    ///
    /// # Errors
    ///
    /// [`Error::Duplicate`] for two resources with one name, [`Error::InvalidCalico`] for a
    /// policy whose tier has no Tier resource (only `default` needs none).
    pub fn new<'a>(
        cluster: PolicyEngine,
        service_accounts: impl IntoIterator<Item = &'a ServiceAccount>,
        resources: impl IntoIterator<Item = &'a CalicoResource>,
    ) -> Result<Self, Error> {
        let mut policies = Vec::new();
        let mut tiers: Vec<(String, Option<f64>, bool)> = Vec::new();
        let mut names = HashSet::new();
        for resource in resources {
            match resource {
                CalicoResource::NetworkPolicy(p) | CalicoResource::GlobalNetworkPolicy(p) => {
                    if !names.insert(p.object.clone()) {
                        return Err(Error::Duplicate { object: p.object.clone() });
                    }
                    policies.push(p.clone());
                }
                CalicoResource::Tier(t) => {
                    if tiers.iter().any(|(n, ..)| *n == t.name) {
                        return Err(Error::Duplicate { object: format!("Tier {}", t.name) });
                    }
                    tiers.push((t.name.clone(), t.order, t.default_pass));
                }
            }
        }
        if !tiers.iter().any(|(n, ..)| n == DEFAULT_TIER) {
            tiers.push((DEFAULT_TIER.to_owned(), Some(DEFAULT_TIER_ORDER), false));
        }
        tiers.sort_by(|a, b| order_key((a.1, &a.0), (b.1, &b.0)));
        let mut tiers: Vec<Tier> =
            tiers.into_iter().map(|(name, _, default_pass)| Tier { name, default_pass, items: Vec::new() }).collect();

        let sort_name = |p: &CalicoPolicy| match &p.namespace {
            Some(ns) => format!("{ns}/{}", p.name),
            None => p.name.clone(),
        };
        let mut keyed: Vec<(String, Option<f64>, String, Item)> = Vec::new();
        for (i, p) in policies.iter().enumerate() {
            if !tiers.iter().any(|t| t.name == p.tier) {
                return Err(Error::InvalidCalico {
                    object: p.object.clone(),
                    field: "spec.tier".into(),
                    reason: format!("no Tier named {:?} was given", p.tier),
                });
            }
            keyed.push((p.tier.clone(), p.order, sort_name(p), Item::Calico(i)));
        }
        for (i, p) in cluster.policies.iter().enumerate() {
            let name = format!("{}/knp.default.{}", p.namespace, p.name);
            keyed.push((DEFAULT_TIER.to_owned(), Some(KUBERNETES_POLICY_ORDER), name, Item::Kubernetes(i)));
        }
        keyed.sort_by(|a, b| order_key((a.1, &a.2), (b.1, &b.2)));
        for (tier, _, _, item) in keyed {
            if let Some(t) = tiers.iter_mut().find(|t| t.name == tier) {
                t.items.push(item);
            }
        }

        let service_accounts: HashMap<(String, String), Labels> = service_accounts
            .into_iter()
            .filter_map(|sa| {
                let m = &sa.metadata;
                Some(((m.namespace.clone()?, m.name.clone()?), m.labels.clone().unwrap_or_default()))
            })
            .collect();
        let mut namespace_labels = cluster.namespaces.clone();
        for (name, labels) in &mut namespace_labels {
            labels.insert(LABEL_NAME.to_owned(), name.clone());
        }
        let pod_labels = (0..cluster.pod_count())
            .map(|i| {
                // Cannot truncate: the engine numbered these pods with u32.
                let id = PodId(i as u32);
                let (addrs, meta) = (cluster.table.get(id), &cluster.meta[i]);
                let mut labels = meta.labels.clone();
                labels.insert(LABEL_NAMESPACE.to_owned(), addrs.namespace.clone());
                labels.insert(LABEL_ORCHESTRATOR.to_owned(), "k8s".to_owned());
                labels.insert(LABEL_SERVICE_ACCOUNT.to_owned(), meta.service_account.clone());
                labels
            })
            .collect();
        Ok(CalicoEngine { cluster, policies, tiers, pod_labels, namespace_labels, service_accounts })
    }

    /// The Kubernetes side of the engine.
    pub fn cluster(&self) -> &PolicyEngine {
        &self.cluster
    }

    /// The tiers in evaluation order.
    pub fn tiers(&self) -> impl Iterator<Item = &str> {
        self.tiers.iter().map(|t| t.name.as_str())
    }

    /// Whether `traffic` from `from` to `to` is allowed.
    ///
    /// # Errors
    ///
    /// As [`verdict`](Self::verdict).
    pub fn allowed(&self, from: Peer<'_>, to: Peer<'_>, traffic: Traffic) -> Result<bool, Error> {
        Ok(self.verdict(from, to, traffic)?.allowed)
    }

    /// Evaluates `traffic` from `from` to `to`: the source's egress policies, then (if they
    /// allow it) the destination's ingress policies.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownPod`] for a pod the engine was not given; [`Error::PortNeeded`] when a
    /// rule that the evaluation reaches matches source ports and `traffic` has none (see
    /// [`Traffic::from_port`]), or destination ports and `traffic` has none.
    pub fn verdict(&self, from: Peer<'_>, to: Peer<'_>, traffic: Traffic) -> Result<Verdict, Error> {
        let src = self.cluster.table.resolve(&from)?;
        let dst = self.cluster.table.resolve(&to)?;
        let mut logged = Vec::new();
        if src.pod.is_some() && src.pod == dst.pod {
            return Ok(Verdict { allowed: true, egress: Decision::Exempt, ingress: Decision::Exempt, logged });
        }
        let flow = Flow { src: &src, dst: &dst, traffic: &traffic };
        let egress = match src.pod {
            Some(pod) => self.side(pod, Direction::Egress, &flow, &mut logged)?,
            None => Decision::NotAPod,
        };
        if !egress.allows() {
            return Ok(Verdict { allowed: false, egress, ingress: Decision::Profile, logged });
        }
        let ingress = match dst.pod {
            Some(pod) => self.side(pod, Direction::Ingress, &flow, &mut logged)?,
            None => Decision::NotAPod,
        };
        Ok(Verdict { allowed: ingress.allows(), egress, ingress, logged })
    }

    fn side(
        &self,
        pod: PodId,
        direction: Direction,
        flow: &Flow<'_>,
        logged: &mut Vec<RuleRef>,
    ) -> Result<Decision, Error> {
        let remote = match direction {
            Direction::Ingress => flow.src,
            Direction::Egress => flow.dst,
        };
        // "Traffic to and from the node where a Pod is running is always allowed."
        let host_ips = &self.cluster.table.get(pod).host_ips;
        if remote.ips.iter().any(|ip| host_ips.contains(ip)) {
            return Ok(Decision::Exempt);
        }
        'tiers: for tier in &self.tiers {
            let mut applied = false;
            for item in &tier.items {
                match *item {
                    Item::Calico(i) => {
                        let policy = &self.policies[i];
                        let Some(rules) = policy.rules(direction) else { continue };
                        if !self.applies(policy, pod) {
                            continue;
                        }
                        applied = true;
                        for (index, rule) in rules.iter().enumerate() {
                            if !self.rule_matches(policy, rule, flow)? {
                                continue;
                            }
                            let rule_ref =
                                RuleRef { policy: policy.object.clone(), kubernetes: false, direction, index };
                            match rule.action {
                                Action::Allow | Action::Deny => {
                                    return Ok(Decision::Rule { rule: rule_ref, action: rule.action })
                                }
                                Action::Pass => continue 'tiers,
                                Action::Log => logged.push(rule_ref),
                            }
                        }
                    }
                    Item::Kubernetes(i) => {
                        let policy = &self.cluster.policies[i];
                        let Some(rules) = self.kubernetes_rules(policy, pod, direction) else { continue };
                        applied = true;
                        if let Some(index) =
                            rules.iter().position(|r| self.kubernetes_rule_matches(policy, r, remote, flow))
                        {
                            let rule = RuleRef { policy: policy.object.clone(), kubernetes: true, direction, index };
                            return Ok(Decision::Rule { rule, action: Action::Allow });
                        }
                    }
                }
            }
            if applied && !tier.default_pass {
                return Ok(Decision::EndOfTier { tier: tier.name.clone() });
            }
        }
        Ok(Decision::Profile)
    }

    /// Whether a Calico policy applies to a pod (ignoring direction).
    pub(super) fn applies(&self, policy: &CalicoPolicy, pod: PodId) -> bool {
        let namespace = &self.cluster.table.get(pod).namespace;
        let in_scope = match (&policy.namespace, &policy.namespace_selector) {
            (Some(ns), _) => ns == namespace,
            (None, Some(sel)) => self.namespace_labels.get(namespace).is_some_and(|l| sel.matches(l)),
            (None, None) => true,
        };
        in_scope
            && policy.selector.matches(&self.pod_labels[pod.index()])
            && policy.service_account_selector.as_ref().is_none_or(|s| s.matches(self.service_account_labels(pod)))
    }

    fn service_account_labels(&self, pod: PodId) -> &Labels {
        static EMPTY: Labels = Labels::new();
        let key =
            (self.cluster.table.get(pod).namespace.clone(), self.cluster.meta[pod.index()].service_account.clone());
        self.service_accounts.get(&key).unwrap_or(&EMPTY)
    }

    fn rule_matches(&self, policy: &CalicoPolicy, rule: &CalicoRule, flow: &Flow<'_>) -> Result<bool, Error> {
        let t = flow.traffic;
        let icmp_matches =
            |m: &IcmpMatch| t.icmp.is_some_and(|(kind, code)| m.kind == kind && m.code.is_none_or(|c| c == code));
        let has_version = |ips: &[IpAddr], v: u8| ips.iter().any(|ip| if v == 4 { ip.is_ipv4() } else { ip.is_ipv6() });
        let header = rule.protocol.is_none_or(|p| p == t.protocol)
            && rule.not_protocol.is_none_or(|p| p != t.protocol)
            && rule.icmp.as_ref().is_none_or(icmp_matches)
            && rule.not_icmp.as_ref().is_none_or(|m| !icmp_matches(m))
            && rule.ip_version.is_none_or(|v| has_version(flow.src.ips, v) && has_version(flow.dst.ips, v));
        Ok(header
            && self.entity_matches(policy, &rule.source, flow.src, (t.src_port, "source"), t.protocol)?
            && self.entity_matches(policy, &rule.destination, flow.dst, (t.dst_port, "destination"), t.protocol)?)
    }

    /// Whether one side of the traffic (`end`, using `port`) matches a rule's `source` or
    /// `destination`.
    fn entity_matches(
        &self,
        policy: &CalicoPolicy,
        e: &EntityRule,
        end: &Endpoint<'_>,
        (port, side): (Option<u16>, &'static str),
        protocol: u8,
    ) -> Result<bool, Error> {
        let in_nets = |nets: &[ipnet::IpNet]| end.ips.iter().any(|ip| nets.iter().any(|n| n.contains(ip)));
        if (!e.nets.is_empty() && !in_nets(&e.nets)) || in_nets(&e.not_nets) {
            return Ok(false);
        }
        if self.selects_positively(policy, e) && !end.pod.is_some_and(|pod| self.end_selects(policy, e, pod)) {
            return Ok(false);
        }
        if let Some(not) = &e.not_selector {
            if end.pod.is_some_and(|pod| not.matches(&self.pod_labels[pod.index()])) {
                return Ok(false);
            }
        }
        if e.ports.is_empty() && e.not_ports.is_empty() {
            return Ok(true);
        }
        let Some(port) = port else {
            return Err(Error::PortNeeded { policy: policy.object.clone(), side });
        };
        let named = end.pod.map(|p| self.cluster.named_ports(p)).unwrap_or_default();
        let kube_protocol = match protocol {
            proto::TCP => Some(Protocol::Tcp),
            proto::UDP => Some(Protocol::Udp),
            proto::SCTP => Some(Protocol::Sctp),
            _ => None,
        };
        let port_matches = |p: &CalicoPort| match p {
            CalicoPort::Range(first, last) => (*first..=*last).contains(&port),
            CalicoPort::Named(name) => {
                named.iter().any(|n| n.name == *name && n.port == port && Some(n.protocol) == kube_protocol)
            }
        };
        Ok((e.ports.is_empty() || e.ports.iter().any(port_matches)) && !e.not_ports.iter().any(port_matches))
    }

    /// Whether a rule side picks pods, so that only pods it selects match: it has a selector, a
    /// namespace or service-account match, or (in a namespaced policy, which Calico scopes to
    /// its namespace by adding a namespace term to `selector`) a `notSelector`.
    pub(super) fn selects_positively(&self, policy: &CalicoPolicy, e: &EntityRule) -> bool {
        e.selector.is_some()
            || e.namespace_selector.is_some()
            || e.service_account_names.is_some()
            || e.service_account_selector.is_some()
            || (e.not_selector.is_some() && policy.namespace.is_some())
    }

    /// Whether a pod passes a rule side's positive selection (namespace scope, `selector`,
    /// service accounts); `notSelector` is separate.
    pub(super) fn end_selects(&self, policy: &CalicoPolicy, e: &EntityRule, pod: PodId) -> bool {
        let namespace = &self.cluster.table.get(pod).namespace;
        let scoped = match (&e.namespace_selector, &policy.namespace) {
            (Some(sel), _) => self.namespace_labels.get(namespace).is_some_and(|l| sel.matches(l)),
            (None, Some(own)) => own == namespace,
            (None, None) => true,
        };
        let sa = &self.cluster.meta[pod.index()].service_account;
        scoped
            && e.selector.as_ref().is_none_or(|s| s.matches(&self.pod_labels[pod.index()]))
            && e.service_account_names.as_ref().is_none_or(|names| names.contains(sa))
            && e.service_account_selector.as_ref().is_none_or(|s| s.matches(self.service_account_labels(pod)))
    }

    /// The rules of a Kubernetes policy for `direction` if it selects `pod`.
    pub(super) fn kubernetes_rules<'p>(
        &self,
        policy: &'p Policy,
        pod: PodId,
        direction: Direction,
    ) -> Option<&'p [Rule]> {
        let addrs = self.cluster.table.get(pod);
        let rules = match direction {
            Direction::Ingress => policy.ingress.as_deref(),
            Direction::Egress => policy.egress.as_deref(),
        }?;
        (policy.namespace == addrs.namespace
            && !addrs.host_network
            && policy.pod_selector.matches(self.cluster.labels(pod)))
        .then_some(rules)
    }

    fn kubernetes_rule_matches(&self, policy: &Policy, rule: &Rule, remote: &Endpoint<'_>, flow: &Flow<'_>) -> bool {
        let peers =
            rule.peers.as_ref().is_none_or(|peers| peers.iter().any(|p| self.cluster.peer_matches(policy, p, remote)));
        let ports = match (&rule.ports, flow.traffic.kubernetes()) {
            (None, _) => true,
            (Some(_), Some((protocol, port))) => {
                rule.ports_match(port, protocol, flow.dst.pod.map(|d| self.cluster.named_ports(d)))
            }
            (Some(_), None) => false,
        };
        peers && ports
    }
}

/// The two ends of a query and its traffic.
struct Flow<'a> {
    src: &'a Endpoint<'a>,
    dst: &'a Endpoint<'a>,
    traffic: &'a Traffic,
}
