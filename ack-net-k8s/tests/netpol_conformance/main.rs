//! Kubernetes' own NetworkPolicy conformance cases (kubernetes/kubernetes,
//! `test/e2e/network/netpol/network_policy.go`), ported as a table: the same pods (`x/a`,
//! `y/b`...), the same policies and, for every probe upstream makes, the reachability matrix
//! exactly as upstream states it (default allow, then its `Expect`, `ExpectPeer`,
//! `ExpectAllIngress` and `ExpectAllEgress` calls, in order). Each matrix is checked through
//! the interpreter (`PolicyEngine::allowed`), the compiled `RuleSet` and the `CalicoEngine`
//! (Kubernetes policies only), for every (from, to) pair by pod name and by pod IP.
//!
//! How the upstream cluster is modelled (from `model.go`):
//! - namespaces `x`, `y` and `z` always exist (labelled `ns: <name>`; the engine adds
//!   `kubernetes.io/metadata.name`), holding only the pods a case names;
//! - a pod `x/a` is labelled `pod: a` and has one container port per (port, protocol) the case
//!   serves, named `serve-<port>-<protocol in lower case>`;
//! - every pod has one IPv4 address (the `ipBlock` cases derive their CIDRs from it as upstream
//!   does: the pod's `/32`, and the `/4` around it from `makeLargeCIDRForIP`).
//!
//! Upstream ignores a pod's connection to itself (`ignoreLoopback`: its semantics are left to
//! the plugin), so the matrices here skip the diagonal too. A case that changes state over time
//! (a policy updated, added or deleted, a label added) is one snapshot per state, each with the
//! matrices upstream checks in that state.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource, Traffic};
use ack_net_k8s::netpol::{Peer, PolicyEngine, Protocol, RuleSet};
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::{json, Value};

use Protocol::{Sctp, Tcp, Udp};

mod cases;
use cases::{protocol_cases, tcp_cases};

/// The label the API server puts on every namespace (`namespaceLabelKey` upstream).
const NS_LABEL: &str = "kubernetes.io/metadata.name";
pub(crate) const NAMESPACES: [&str; 3] = ["x", "y", "z"];
const NODE_IP: &str = "192.168.0.10";

// --- The cluster -----------------------------------------------------------------------------

/// Addresses given by a data plane (`ns/name` -> address), for the packet run of the table
/// (`tests/netpol_conformance_packets.rs`); unset, the model's own.
pub(crate) static ADDRESSES: std::sync::OnceLock<std::collections::HashMap<String, Ipv4Addr>> =
    std::sync::OnceLock::new();

/// The address of pod `ns/name`: 10.<namespace>.<pod>.10, with x=1, y=2, z=3 and a=1, b=2, c=3
/// (or the one in [`ADDRESSES`]).
pub(crate) fn ip_of(pod: &str) -> Ipv4Addr {
    if let Some(ip) = ADDRESSES.get().and_then(|a| a.get(pod)) {
        return *ip;
    }
    let (ns, name) = pod.split_once('/').expect("pod strings are ns/name");
    let index = |s: &str, all: &str| all.find(s).map(|i| i as u8 + 1).expect("known name");
    Ipv4Addr::new(10, index(ns, "xyz"), index(name, "abc"), 10)
}

/// `podIP/32` (the `hostMask` CIDR upstream builds from a pod's status).
fn host_cidr(pod: &str) -> String {
    format!("{}/32", ip_of(pod))
}

/// Upstream's `makeLargeCIDRForIP`: the /4 that contains the pod's address.
fn large_cidr(pod: &str) -> String {
    let base = u32::from(ip_of(pod)) & 0xf000_0000;
    format!("{}/4", Ipv4Addr::from(base))
}

fn protocol_name(protocol: Protocol) -> String {
    protocol.as_str().to_lowercase()
}

// --- Policies, as upstream's GenNetworkPolicy* and SetSpec*Rules build them ------------------

/// A NetworkPolicy in `namespace`: `SetSpecIngressRules` / `SetSpecEgressRules` add their
/// policy type the first time they are called, even with no rules.
#[derive(Clone)]
struct Policy {
    namespace: &'static str,
    name: &'static str,
    pod_selector: Value,
    ingress: Option<Vec<Value>>,
    egress: Option<Vec<Value>>,
    /// Set explicitly (one case assigns `Spec.PolicyTypes` itself).
    policy_types: Option<Vec<&'static str>>,
}

/// `GenNetworkPolicyWithNameAndPodSelector(name, selector, ...)`, created in `namespace`.
fn policy(namespace: &'static str, name: &'static str, pod_selector: Value) -> Policy {
    Policy { namespace, name, pod_selector, ingress: None, egress: None, policy_types: None }
}

/// `GenNetworkPolicyWithNameAndPodMatchLabel(name, {"pod": pod}, ...)`.
fn policy_for_pod(namespace: &'static str, name: &'static str, pod: &str) -> Policy {
    policy(namespace, name, labels(&[("pod", pod)]))
}

impl Policy {
    fn ingress<const N: usize>(mut self, rules: [Value; N]) -> Self {
        self.ingress.get_or_insert_with(Vec::new).extend(rules);
        self
    }

    fn egress<const N: usize>(mut self, rules: [Value; N]) -> Self {
        self.egress.get_or_insert_with(Vec::new).extend(rules);
        self
    }

    fn policy_types<const N: usize>(mut self, types: [&'static str; N]) -> Self {
        self.policy_types = Some(types.to_vec());
        self
    }

    fn to_json(&self) -> Value {
        let mut types = Vec::new();
        if self.ingress.is_some() {
            types.push("Ingress");
        }
        if self.egress.is_some() {
            types.push("Egress");
        }
        let mut spec = json!({
            "podSelector": self.pod_selector,
            "policyTypes": self.policy_types.clone().unwrap_or(types),
        });
        if let Some(rules) = &self.ingress {
            spec["ingress"] = json!(rules);
        }
        if let Some(rules) = &self.egress {
            spec["egress"] = json!(rules);
        }
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"namespace": self.namespace, "name": self.name},
            "spec": spec,
        })
    }
}

/// A `matchLabels` selector (`&[]` is the empty selector `{matchLabels: {}}`).
fn labels(pairs: &[(&str, &str)]) -> Value {
    let map: BTreeMap<&str, &str> = pairs.iter().copied().collect();
    json!({ "matchLabels": map })
}

/// A selector with one `matchExpressions` requirement.
fn expression(key: &str, operator: &str, values: &[&str]) -> Value {
    json!({"matchExpressions": [{"key": key, "operator": operator, "values": values}]})
}

/// The namespace selector `kubernetes.io/metadata.name: <ns>`.
fn ns_named(ns: &str) -> Value {
    labels(&[(NS_LABEL, ns)])
}

// --- Reachability matrices, as upstream's reachability.go writes them -------------------------

/// `Peer{Namespace, Pod}` of reachability.go: an empty field matches everything.
#[derive(Clone, Copy)]
struct Sel {
    namespace: Option<&'static str>,
    pod: Option<&'static str>,
}

/// `&Peer{}`.
fn any() -> Sel {
    Sel { namespace: None, pod: None }
}

/// `&Peer{Namespace: ns}`.
fn ns(namespace: &'static str) -> Sel {
    Sel { namespace: Some(namespace), pod: None }
}

/// `&Peer{Namespace: ns, Pod: pod}`, written `"x/a"`.
fn pod(pod: &'static str) -> Sel {
    let (namespace, name) = pod.split_once('/').expect("ns/pod");
    Sel { namespace: Some(namespace), pod: Some(name) }
}

impl Sel {
    fn matches(self, pod: &str) -> bool {
        let (namespace, name) = pod.split_once('/').expect("ns/pod");
        self.namespace.is_none_or(|n| n == namespace) && self.pod.is_none_or(|p| p == name)
    }
}

/// The expected truth table of one probe: `expected[from][to]` over the case's pods.
#[derive(Clone)]
pub(crate) struct Reach {
    pub(crate) pods: &'static [&'static str],
    pub(crate) expected: Vec<Vec<bool>>,
}

impl Reach {
    /// `NewReachability(k8s.AllPodStrings(), true)`.
    fn new(pods: &'static [&'static str]) -> Self {
        Reach { pods, expected: vec![vec![true; pods.len()]; pods.len()] }
    }

    /// `ExpectPeer(from, to, connected)`.
    fn expect_peer(mut self, from: Sel, to: Sel, connected: bool) -> Self {
        for (i, f) in self.pods.iter().enumerate() {
            for (j, t) in self.pods.iter().enumerate() {
                if from.matches(f) && to.matches(t) {
                    self.expected[i][j] = connected;
                }
            }
        }
        self
    }

    /// `Expect(from, to, connected)`.
    fn expect(self, from: &'static str, to: &'static str, connected: bool) -> Self {
        assert!(self.pods.contains(&from) && self.pods.contains(&to), "{from} -> {to}: not a pod of the case");
        self.expect_peer(pod(from), pod(to), connected)
    }

    /// `ExpectAllIngress(pod, connected)`: every connection *to* the pod.
    fn expect_all_ingress(self, to: &'static str, connected: bool) -> Self {
        assert!(self.pods.contains(&to), "{to}: not a pod of the case");
        self.expect_peer(any(), pod(to), connected)
    }

    /// `ExpectAllEgress(pod, connected)`: every connection *from* the pod.
    fn expect_all_egress(self, from: &'static str, connected: bool) -> Self {
        assert!(self.pods.contains(&from), "{from}: not a pod of the case");
        self.expect_peer(pod(from), any(), connected)
    }
}

// --- Cases ------------------------------------------------------------------------------------

/// One `ValidateOrFail(k8s, &TestCase{ToPort, Protocol, Reachability})`.
pub(crate) struct Probe {
    pub(crate) port: u16,
    pub(crate) protocol: Protocol,
    pub(crate) reach: Reach,
}

/// The cluster in one state of a case, and the probes upstream makes in that state.
pub(crate) struct Snapshot {
    pub(crate) state: &'static str,
    policies: Vec<Policy>,
    /// `AddNamespaceLabel(ns, key, value)` calls made before this state.
    pub(crate) namespace_labels: Vec<(&'static str, &'static str, &'static str)>,
    /// `AddPodLabels(ns, pod, labels)` calls made before this state.
    pub(crate) pod_labels: Vec<(&'static str, &'static [(&'static str, &'static str)])>,
    pub(crate) probes: Vec<Probe>,
}

fn snapshot(state: &'static str, policies: Vec<Policy>) -> Snapshot {
    Snapshot { state, policies, namespace_labels: Vec::new(), pod_labels: Vec::new(), probes: Vec::new() }
}

impl Snapshot {
    fn probe(mut self, port: u16, protocol: Protocol, reach: Reach) -> Self {
        self.probes.push(Probe { port, protocol, reach });
        self
    }

    fn namespace_label(mut self, namespace: &'static str, key: &'static str, value: &'static str) -> Self {
        self.namespace_labels.push((namespace, key, value));
        self
    }

    fn pod_labels(mut self, pod: &'static str, labels: &'static [(&'static str, &'static str)]) -> Self {
        self.pod_labels.push((pod, labels));
        self
    }
}

/// One upstream `f.It`: its pods (`initializeResources(..., "x/a", ...)`), the protocols and
/// ports its pods serve, and its states.
pub(crate) struct Case {
    pub(crate) context: &'static str,
    pub(crate) it: &'static str,
    pub(crate) pods: &'static [&'static str],
    pub(crate) protocols: &'static [Protocol],
    pub(crate) ports: &'static [u16],
    pub(crate) snapshots: Vec<Snapshot>,
}

const TCP_CONTEXT: &str = "NetworkPolicy between server and client";
const UDP_CONTEXT: &str = "NetworkPolicy between server and client using UDP";
const SCTP_CONTEXT: &str = "NetworkPolicy between server and client using SCTP";

fn case(
    context: &'static str,
    it: &'static str,
    pods: &'static [&'static str],
    protocols: &'static [Protocol],
    ports: &'static [u16],
    snapshots: Vec<Snapshot>,
) -> Case {
    Case { context, it, pods, protocols, ports, snapshots }
}

/// Every `f.It` of network_policy.go, in upstream's order.
pub(crate) fn cases() -> Vec<Case> {
    let mut cases = tcp_cases();
    cases.extend(protocol_cases(UDP_CONTEXT, Udp));
    cases.extend(protocol_cases(SCTP_CONTEXT, Sctp));
    cases
}

fn namespaces(snapshot: &Snapshot) -> Vec<Namespace> {
    NAMESPACES
        .iter()
        .map(|name| {
            let mut labels = BTreeMap::from([("ns", *name)]);
            for (_, key, value) in snapshot.namespace_labels.iter().filter(|(n, ..)| n == name) {
                labels.insert(key, value);
            }
            serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).expect("Namespace")
        })
        .collect()
}

fn pods(case: &Case, snapshot: &Snapshot) -> Vec<Pod> {
    case.pods
        .iter()
        .map(|full| {
            let (ns, name) = full.split_once('/').expect("ns/pod");
            let mut labels = BTreeMap::from([("pod", name)]);
            for (_, added) in snapshot.pod_labels.iter().filter(|(p, _)| p == full) {
                labels.extend(added.iter().copied());
            }
            let ports: Vec<Value> = case
                .ports
                .iter()
                .flat_map(|port| {
                    case.protocols.iter().map(move |&protocol| {
                        json!({
                            "name": format!("serve-{port}-{}", protocol_name(protocol)),
                            "containerPort": port,
                            "protocol": protocol.as_str(),
                        })
                    })
                })
                .collect();
            // One container per (port, protocol), as upstream's model has.
            let containers: Vec<Value> = ports
                .into_iter()
                .map(|port| {
                    let container = format!("cont-{}-{}", port["containerPort"], port["protocol"].as_str().unwrap_or_default().to_lowercase());
                    json!({"name": container, "image": "agnhost", "ports": [port]})
                })
                .collect();
            serde_json::from_value(json!({
                "metadata": {"namespace": ns, "name": name, "labels": labels},
                "spec": {"containers": containers},
                "status": {"phase": "Running", "hostIPs": [{"ip": NODE_IP}], "podIPs": [{"ip": ip_of(full).to_string()}]},
            }))
            .expect("Pod")
        })
        .collect()
}

pub(crate) struct Engines {
    pub(crate) interpreter: PolicyEngine,
    pub(crate) rules: RuleSet,
    pub(crate) calico: CalicoEngine,
}

pub(crate) fn engines(case: &Case, snapshot: &Snapshot) -> Engines {
    let policies: Vec<NetworkPolicy> =
        snapshot.policies.iter().map(|p| serde_json::from_value(p.to_json()).expect("NetworkPolicy")).collect();
    let interpreter = PolicyEngine::new(&namespaces(snapshot), &pods(case, snapshot), &policies)
        .unwrap_or_else(|e| panic!("{} [{}]: the engine refuses the snapshot: {e}", case.it, snapshot.state));
    let rules = interpreter.compile();
    let no_accounts: [&ServiceAccount; 0] = [];
    let no_resources: [&CalicoResource; 0] = [];
    let calico = CalicoEngine::new(interpreter.clone(), no_accounts, no_resources)
        .unwrap_or_else(|e| panic!("{} [{}]: CalicoEngine refuses the snapshot: {e}", case.it, snapshot.state));
    Engines { interpreter, rules, calico }
}

pub(crate) fn traffic(port: u16, protocol: Protocol) -> Traffic {
    match protocol {
        Tcp => Traffic::tcp(port),
        Udp => Traffic::udp(port),
        Sctp => Traffic::sctp(port),
    }
}

fn answer(result: Result<bool, impl std::fmt::Display>) -> String {
    match result {
        Ok(true) => "allow".into(),
        Ok(false) => "deny".into(),
        Err(e) => format!("error ({e})"),
    }
}

/// What one case checked, and every answer that differs from upstream's matrix.
#[derive(Default)]
struct Outcome {
    probes: usize,
    pairs: usize,
    disagreements: Vec<String>,
}

fn run(case: &Case, outcome: &mut Outcome) {
    for snapshot in &case.snapshots {
        let e = engines(case, snapshot);
        for probe in &snapshot.probes {
            outcome.probes += 1;
            let pods = probe.reach.pods;
            assert_eq!(pods, case.pods, "{}: a matrix over other pods than the case's", case.it);
            for (i, from) in pods.iter().enumerate() {
                for (j, to) in pods.iter().enumerate() {
                    if i == j {
                        continue; // ignoreLoopback
                    }
                    outcome.pairs += 1;
                    let expected = answer(Ok::<_, String>(probe.reach.expected[i][j]));
                    let (fns, fname) = from.split_once('/').expect("ns/pod");
                    let (tns, tname) = to.split_once('/').expect("ns/pod");
                    let by_name = (Peer::pod(fns, fname), Peer::pod(tns, tname));
                    let by_ip = (Peer::ip(ip_of(from)), Peer::ip(ip_of(to)));
                    let (port, protocol) = (probe.port, probe.protocol);
                    let answers = [
                        ("interpreter", answer(e.interpreter.allowed(by_name.0, by_name.1, port, protocol))),
                        ("interpreter by IP", answer(e.interpreter.allowed(by_ip.0, by_ip.1, port, protocol))),
                        ("RuleSet", answer(e.rules.allowed(by_name.0, by_name.1, port, protocol))),
                        ("RuleSet by IP", answer(e.rules.allowed(by_ip.0, by_ip.1, port, protocol))),
                        ("CalicoEngine", answer(e.calico.allowed(by_name.0, by_name.1, traffic(port, protocol)))),
                        ("CalicoEngine by IP", answer(e.calico.allowed(by_ip.0, by_ip.1, traffic(port, protocol)))),
                    ];
                    let wrong: Vec<String> = answers
                        .iter()
                        .filter(|(_, got)| *got != expected)
                        .map(|(engine, got)| format!("{engine} says {got}"))
                        .collect();
                    if !wrong.is_empty() {
                        outcome.disagreements.push(format!(
                            "{} {} [{}]: {from} -> {to} {port}/{protocol}: upstream expects {expected}; {}",
                            case.context,
                            case.it,
                            snapshot.state,
                            wrong.join(", ")
                        ));
                    }
                }
            }
        }
    }
}

#[test]
fn upstream_conformance_cases() {
    let cases = cases();
    let mut outcome = Outcome::default();
    for case in &cases {
        run(case, &mut outcome);
    }
    println!(
        "{} upstream cases, {} probes, {} (from, to) pairs, each answered 6 ways",
        cases.len(),
        outcome.probes,
        outcome.pairs
    );
    assert!(
        outcome.disagreements.is_empty(),
        "{} answers disagree with upstream's matrices:\n{}",
        outcome.disagreements.len(),
        outcome.disagreements.join("\n")
    );
}

/// The table is the whole of upstream's file: every `f.It`, each once, each probing something.
#[test]
fn the_table_holds_every_upstream_case_once() {
    let cases = cases();
    assert_eq!(cases.len(), 42 + 3 + 3, "network_policy.go has 42 TCP, 3 UDP and 3 SCTP cases");
    let mut names: Vec<String> = cases.iter().map(|c| format!("{} {}", c.context, c.it)).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "two cases share a name");
    for case in &cases {
        assert!(!case.snapshots.is_empty() && case.snapshots.iter().all(|s| !s.probes.is_empty()), "{}", case.it);
        for probe in case.snapshots.iter().flat_map(|s| &s.probes) {
            // Upstream only probes what the pods serve.
            assert!(case.ports.contains(&probe.port) && case.protocols.contains(&probe.protocol), "{}", case.it);
        }
    }
}

/// The reachability helpers behave as upstream's: later calls override earlier ones.
#[test]
fn reachability_helpers_follow_upstream_order() {
    const PODS: &[&str] = &["x/a", "x/b", "y/a"];
    let r = Reach::new(PODS).expect_all_ingress("x/a", false).expect("x/b", "x/a", true);
    assert_eq!(r.expected, vec![vec![false, true, true], vec![true, true, true], vec![false, true, true]]);
    let r = Reach::new(PODS).expect_peer(ns("x"), any(), false).expect_all_egress("x/b", true);
    assert_eq!(r.expected, vec![vec![false, false, false], vec![true, true, true], vec![true, true, true]]);
    assert_eq!(large_cidr("x/b"), "0.0.0.0/4");
    assert_eq!(host_cidr("y/c"), "10.2.3.10/32");
}
