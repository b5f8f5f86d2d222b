//! The NetworkPolicy truth table: one named case per rule of the `networking.k8s.io/v1`
//! NetworkPolicy API reference (and the documented exceptions), each checked through
//! `PolicyEngine::allowed` and through the compiled `RuleSet::allowed`, by pod name and, for
//! pods with one address, by IP. The cases are written once ([`every_case`]) and also executed
//! with packets by `netpol_truth_table_packets.rs`, through its own [`Runner`].

use ack_net_k8s::netpol::{Direction, Error, Peer, PolicyEngine, Protocol, RuleSet};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::{json, Value};

use Protocol::{Sctp, Tcp, Udp};

const ALLOW: bool = true;
const DENY: bool = false;

/// The namespaces: prod, dev, ops and kube-system.
pub fn namespaces() -> Vec<Namespace> {
    [
        json!({"metadata": {"name": "prod", "labels": {"env": "prod", "team": "a"}}}),
        json!({"metadata": {"name": "dev", "labels": {"env": "dev", "team": "b"}}}),
        json!({"metadata": {"name": "ops", "labels": {"team": "ops"}}}),
        json!({"metadata": {"name": "kube-system"}}),
    ]
    .into_iter()
    .map(|v| serde_json::from_value(v).expect("Namespace"))
    .collect()
}

/// A pod on node 192.168.0.10 unless `status` says otherwise.
fn pod(ns: &str, name: &str, labels: Value, ip: Option<&str>, ports: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": ns, "name": name, "labels": labels},
        "spec": {"containers": [{"name": "main", "image": "x", "ports": ports}]},
        "status": {"phase": "Running", "hostIPs": [{"ip": "192.168.0.10"}], "podIPs": ip.map(|ip| vec![json!({"ip": ip})])},
    })
}

/// The pods: on node 192.168.0.10 unless said otherwise; `prod/pending` has no address yet.
pub fn pods() -> Vec<Pod> {
    let http = |n: u16| json!([{"name": "http", "containerPort": n}, {"name": "metrics", "containerPort": 9090}]);
    [
        pod("prod", "web", json!({"app": "web", "tier": "fe"}), Some("10.0.1.1"), http(8080)),
        pod("prod", "api", json!({"app": "api", "tier": "be"}), Some("10.0.1.2"), http(8000)),
        pod("prod", "db", json!({"app": "db", "tier": "data"}), Some("10.0.1.3"), json!([{"name": "pg", "containerPort": 5432}])),
        pod("prod", "pending", json!({"app": "api"}), None, json!([])),
        pod("dev", "web", json!({"app": "web"}), Some("10.0.2.1"), http(8081)),
        pod("dev", "client", json!({"app": "client"}), Some("10.0.2.2"), json!([])),
        pod("dev", "api", json!({"app": "api", "canary": "true"}), Some("10.0.2.3"), http(8000)),
        pod("ops", "monitor", json!({"app": "monitor"}), Some("10.0.3.1"), json!([])),
        pod(
            "ops",
            "dns",
            json!({"app": "dns"}),
            Some("10.0.3.2"),
            json!([{"name": "dns", "containerPort": 53, "protocol": "UDP"}, {"name": "dns-tcp", "containerPort": 53}]),
        ),
        // On another node, and a hostNetwork agent on that node.
        json!({
            "metadata": {"namespace": "ops", "name": "far", "labels": {"app": "far"}},
            "spec": {"containers": [{"name": "main"}]},
            "status": {"hostIPs": [{"ip": "192.168.0.20"}], "podIPs": [{"ip": "10.0.3.3"}]}
        }),
        json!({
            "metadata": {"namespace": "kube-system", "name": "agent", "labels": {"app": "agent"}},
            "spec": {"hostNetwork": true, "containers": [{"name": "main", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"hostIPs": [{"ip": "192.168.0.20"}], "podIPs": [{"ip": "192.168.0.20"}]}
        }),
    ]
    .into_iter()
    .map(|v| serde_json::from_value(v).expect("Pod"))
    .collect()
}

fn policy(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"namespace": ns, "name": name}, "spec": spec})
}

fn deny_all_ingress(ns: &str) -> Value {
    policy(ns, "default-deny-ingress", json!({"podSelector": {}, "policyTypes": ["Ingress"]}))
}

/// The cluster with `policies`: its engine and compiled rule set.
pub fn build(policies: &[Value]) -> (PolicyEngine, RuleSet) {
    let policies: Vec<NetworkPolicy> =
        policies.iter().map(|v| serde_json::from_value(v.clone()).expect("NetworkPolicy")).collect();
    let engine = PolicyEngine::new(&namespaces(), &pods(), &policies).expect("valid objects");
    let rules = engine.compile();
    (engine, rules)
}

/// "ns/name" is a pod, anything else an IP.
fn peer(s: &str) -> Peer<'_> {
    match s.split_once('/') {
        Some((ns, name)) => Peer::pod(ns, name),
        None => Peer::Ip(s.parse().expect("IP")),
    }
}

/// A row: (from, to, port, protocol, expected); an end is `ns/name` (a pod) or an address.
pub type Check = (&'static str, &'static str, u16, Protocol, bool);

/// What executes the rows of a case.
pub trait Runner {
    /// Builds the cluster with `policies` and checks every (from, to, port, protocol,
    /// expected).
    fn run(&self, case: &str, policies: &[Value], checks: &[Check]);
}

/// Checks rows through the engine and the compiled rule set, by name and by address.
struct Engines;

impl Runner for Engines {
    fn run(&self, case: &str, policies: &[Value], checks: &[Check]) {
        let (engine, rules) = build(policies);
        for &(from, to, port, protocol, expected) in checks {
            let mut forms = vec![(peer(from), peer(to))];
            // The same connection with each pod that has one address named by that address.
            let by_ip = |p: Peer<'static>| match p {
                Peer::Pod { namespace, name } => rules
                    .pod_by_name(namespace, name)
                    .map(|id| rules.pod(id))
                    .filter(|pod| pod.ips.len() == 1)
                    .map_or(p, |pod| Peer::Ip(pod.ips[0])),
                other => other,
            };
            forms.push((by_ip(peer(from)), by_ip(peer(to))));
            for (f, t) in forms {
                let interpreted = engine.allowed(f, t, port, protocol).expect("known peers");
                let compiled = rules.allowed(f, t, port, protocol).expect("known peers");
                assert_eq!(
                    interpreted, expected,
                    "case {case}: engine says {interpreted} for {f} -> {t} {port}/{protocol}, expected {expected}"
                );
                assert_eq!(
                    compiled, expected,
                    "case {case}: rule set says {compiled} for {f} -> {t} {port}/{protocol}, expected {expected}"
                );
            }
        }
    }
}

/// The cases: each `fn name(r)` is a `#[test]` of its own with [`Engines`], and all of them
/// together are [`every_case`], for any [`Runner`].
macro_rules! cases {
    ($(fn $name:ident($r:ident) $body:block)*) => {
        $(
            #[test]
            fn $name() {
                let $r: &dyn Runner = &Engines;
                $body
            }
        )*

        /// Every case of the table, through `runner`.
        pub fn every_case(runner: &dyn Runner) {
            $({
                let $r: &dyn Runner = runner;
                $body
            })*
        }
    };
}

cases! {
fn default_allow_without_policies(r) {
    r.run(
        "default allow",
        &[],
        &[
            ("prod/web", "prod/db", 5432, Tcp, ALLOW),
            ("dev/client", "prod/db", 1, Udp, ALLOW),
            ("192.0.2.1", "prod/web", 80, Sctp, ALLOW),
            ("prod/web", "8.8.8.8", 53, Udp, ALLOW),
        ],
    );
}

fn default_deny_ingress(r) {
    r.run(
        "default deny ingress",
        &[deny_all_ingress("prod")],
        &[
            ("prod/web", "prod/api", 8000, Tcp, DENY),
            ("dev/client", "prod/web", 8080, Tcp, DENY),
            ("192.0.2.1", "prod/db", 5432, Tcp, DENY),
            // Egress from the isolated pods is untouched.
            ("prod/web", "dev/web", 8081, Tcp, ALLOW),
            ("prod/web", "8.8.8.8", 53, Udp, ALLOW),
        ],
    );
    let (engine, _) = build(&[deny_all_ingress("prod")]);
    assert!(engine.is_isolated("prod", "web", Direction::Ingress).unwrap());
    assert!(!engine.is_isolated("prod", "web", Direction::Egress).unwrap());
}

fn default_deny_egress(r) {
    r.run(
        "default deny egress",
        &[policy("prod", "default-deny-egress", json!({"podSelector": {}, "policyTypes": ["Egress"]}))],
        &[
            ("prod/web", "prod/api", 8000, Tcp, DENY),
            ("prod/web", "dev/web", 8081, Tcp, DENY),
            ("prod/web", "8.8.8.8", 53, Udp, DENY),
            // Ingress into the isolated pods is untouched.
            ("dev/client", "prod/web", 8080, Tcp, ALLOW),
            ("192.0.2.1", "prod/db", 5432, Tcp, ALLOW),
        ],
    );
}

fn default_deny_all_and_allow_all(r) {
    let deny_all = policy("prod", "default-deny-all", json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}));
    r.run(
        "default deny all",
        std::slice::from_ref(&deny_all),
        &[
            ("prod/web", "prod/api", 8000, Tcp, DENY),
            ("dev/client", "prod/web", 8080, Tcp, DENY),
            ("prod/db", "8.8.8.8", 53, Udp, DENY),
        ],
    );
    // An empty rule `{}` allows everything: from every source, on every port.
    let allow_all = policy(
        "prod",
        "allow-all",
        json!({"podSelector": {}, "ingress": [{}], "egress": [{}], "policyTypes": ["Ingress", "Egress"]}),
    );
    r.run(
        "allow all beats deny all",
        &[deny_all, allow_all],
        &[
            ("prod/web", "prod/api", 8000, Tcp, ALLOW),
            ("192.0.2.1", "prod/web", 1, Sctp, ALLOW),
            ("prod/db", "8.8.8.8", 53, Udp, ALLOW),
        ],
    );
}

fn empty_ingress_list_denies_and_empty_from_list_allows_all_sources(r) {
    r.run(
        "ingress: []",
        &[policy("prod", "p", json!({"podSelector": {}, "ingress": []}))],
        &[("prod/web", "prod/db", 5432, Tcp, DENY)],
    );
    r.run(
        "from: [] with ports",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [], "ports": [{"port": 5432}]}]}),
        )],
        &[
            ("192.0.2.1", "prod/db", 5432, Tcp, ALLOW),
            ("dev/client", "prod/db", 5432, Tcp, ALLOW),
            ("dev/client", "prod/db", 5433, Tcp, DENY),
        ],
    );
}

fn empty_pod_selector_selects_every_pod_of_its_namespace_only(r) {
    let checks = [
        ("dev/client", "prod/web", 8080, Tcp, DENY),
        ("dev/client", "prod/db", 5432, Tcp, DENY),
        // Other namespaces are unaffected.
        ("dev/client", "dev/web", 8081, Tcp, ALLOW),
        ("prod/web", "ops/dns", 53, Udp, ALLOW),
    ];
    r.run("podSelector {}", &[deny_all_ingress("prod")], &checks);
    // A missing podSelector is the empty selector.
    r.run("podSelector missing", &[policy("prod", "p", json!({"policyTypes": ["Ingress"]}))], &checks);
    r.run(
        "podSelector selects some pods",
        &[policy("prod", "p", json!({"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]}))],
        &[("prod/web", "prod/db", 5432, Tcp, DENY), ("prod/db", "prod/web", 8080, Tcp, ALLOW)],
    );
}

fn pod_selector_peer_is_the_policy_namespace(r) {
    r.run(
        "from podSelector",
        &[policy(
            "prod",
            "db-from-api",
            json!({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}]}]}),
        )],
        &[
            ("prod/api", "prod/db", 5432, Tcp, ALLOW),
            ("prod/web", "prod/db", 5432, Tcp, DENY),
            // Same labels in another namespace: not selected.
            ("dev/api", "prod/db", 5432, Tcp, DENY),
            ("192.0.2.1", "prod/db", 5432, Tcp, DENY),
        ],
    );
}

fn namespace_selector_peer_is_every_pod_of_matching_namespaces(r) {
    r.run(
        "from namespaceSelector",
        &[policy(
            "prod",
            "db-from-dev",
            json!({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"env": "dev"}}}]}]}),
        )],
        &[
            ("dev/client", "prod/db", 5432, Tcp, ALLOW),
            ("dev/web", "prod/db", 5432, Tcp, ALLOW),
            ("prod/api", "prod/db", 5432, Tcp, DENY),
            ("ops/monitor", "prod/db", 5432, Tcp, DENY),
            ("192.0.2.1", "prod/db", 5432, Tcp, DENY),
        ],
    );
    r.run(
        "namespaceSelector {} is every namespace, but no outside address",
        &[policy("prod", "p", json!({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]}))],
        &[
            ("ops/monitor", "prod/db", 5432, Tcp, ALLOW),
            ("prod/web", "prod/db", 5432, Tcp, ALLOW),
            ("192.0.2.1", "prod/db", 5432, Tcp, DENY),
        ],
    );
    r.run(
        "namespaces carry kubernetes.io/metadata.name",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ops"}}}]}]}),
        )],
        &[("ops/monitor", "prod/db", 5432, Tcp, ALLOW), ("dev/client", "prod/db", 5432, Tcp, DENY)],
    );
}

fn pod_and_namespace_selector_in_one_peer_are_anded(r) {
    r.run(
        "one peer: namespaceSelector AND podSelector",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [
                {"namespaceSelector": {"matchLabels": {"env": "dev"}}, "podSelector": {"matchLabels": {"app": "api"}}}
            ]}]}),
        )],
        &[
            ("dev/api", "prod/db", 5432, Tcp, ALLOW),
            ("dev/client", "prod/db", 5432, Tcp, DENY),
            ("prod/api", "prod/db", 5432, Tcp, DENY),
        ],
    );
}

fn pod_and_namespace_selector_in_two_peers_are_ored(r) {
    r.run(
        "two peers: namespaceSelector OR podSelector",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [
                {"namespaceSelector": {"matchLabels": {"env": "dev"}}},
                {"podSelector": {"matchLabels": {"app": "api"}}}
            ]}]}),
        )],
        &[
            ("dev/client", "prod/db", 5432, Tcp, ALLOW),
            ("dev/api", "prod/db", 5432, Tcp, ALLOW),
            ("prod/api", "prod/db", 5432, Tcp, ALLOW),
            ("prod/web", "prod/db", 5432, Tcp, DENY),
            ("ops/monitor", "prod/db", 5432, Tcp, DENY),
        ],
    );
}

fn ip_block_with_except(r) {
    r.run(
        "ingress from ipBlock with except",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [
                {"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}}
            ]}]}),
        )],
        &[
            ("172.17.0.5", "prod/web", 8080, Tcp, ALLOW),
            ("172.17.255.255", "prod/web", 8080, Tcp, ALLOW),
            ("172.17.1.5", "prod/web", 8080, Tcp, DENY),
            ("172.18.0.1", "prod/web", 8080, Tcp, DENY),
            ("dev/client", "prod/web", 8080, Tcp, DENY),
        ],
    );
    r.run(
        "egress to ipBlock",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "web"}}, "egress": [{"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}]}),
        )],
        &[
            ("prod/web", "203.0.113.7", 443, Tcp, ALLOW),
            ("prod/web", "198.51.100.7", 443, Tcp, DENY),
            ("prod/web", "prod/api", 8000, Tcp, DENY),
            // Not selected: not egress-isolated.
            ("prod/api", "198.51.100.7", 443, Tcp, ALLOW),
        ],
    );
    r.run(
        "IPv6 ipBlock",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "2001:db8::/32", "except": ["2001:db8:1::/48"]}}]}]}),
        )],
        &[
            ("2001:db8::1", "prod/web", 80, Tcp, ALLOW),
            ("2001:db8:1::1", "prod/web", 80, Tcp, DENY),
            ("192.0.2.1", "prod/web", 80, Tcp, DENY),
        ],
    );
}

fn ip_block_matches_pod_ips(r) {
    // Implementation-defined in Kubernetes; here a pod's IP is matched like any address.
    r.run(
        "ipBlock covering pod IPs",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.2.0/24"}}]}]}),
        )],
        &[
            ("dev/client", "prod/db", 5432, Tcp, ALLOW),
            ("10.0.2.2", "prod/db", 5432, Tcp, ALLOW),
            ("ops/monitor", "prod/db", 5432, Tcp, DENY),
            // A pod without IPs matches no ipBlock.
            ("prod/pending", "prod/db", 5432, Tcp, DENY),
        ],
    );
}

fn numeric_ports_and_protocols(r) {
    r.run(
        "numeric port, TCP by default",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"ports": [{"port": 5432}]}]}),
        )],
        &[
            ("prod/api", "prod/db", 5432, Tcp, ALLOW),
            ("prod/api", "prod/db", 5433, Tcp, DENY),
            ("prod/api", "prod/db", 5432, Udp, DENY),
            ("prod/api", "prod/db", 5432, Sctp, DENY),
        ],
    );
    r.run(
        "UDP and SCTP",
        &[policy(
            "ops",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "dns"}}, "ingress": [{"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "SCTP", "port": 9999}]}]}),
        )],
        &[
            ("prod/web", "ops/dns", 53, Udp, ALLOW),
            ("prod/web", "ops/dns", 53, Tcp, DENY),
            ("prod/web", "ops/dns", 9999, Sctp, ALLOW),
            ("prod/web", "ops/dns", 9999, Tcp, DENY),
        ],
    );
    r.run(
        "protocol without port: every port of that protocol",
        &[policy(
            "ops",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "dns"}}, "ingress": [{"ports": [{"protocol": "UDP"}]}]}),
        )],
        &[
            ("prod/web", "ops/dns", 53, Udp, ALLOW),
            ("prod/web", "ops/dns", 65535, Udp, ALLOW),
            ("prod/web", "ops/dns", 53, Tcp, DENY),
        ],
    );
}

fn end_port_ranges(r) {
    r.run(
        "port..=endPort",
        &[policy("prod", "p", json!({"podSelector": {}, "egress": [{"ports": [{"port": 32000, "endPort": 32768}]}]}))],
        &[
            ("prod/web", "192.0.2.1", 32000, Tcp, ALLOW),
            ("prod/web", "192.0.2.1", 32500, Tcp, ALLOW),
            ("prod/web", "192.0.2.1", 32768, Tcp, ALLOW),
            ("prod/web", "192.0.2.1", 31999, Tcp, DENY),
            ("prod/web", "192.0.2.1", 32769, Tcp, DENY),
            ("prod/web", "192.0.2.1", 32000, Udp, DENY),
        ],
    );
}

fn named_ports_resolve_against_the_destination_pod(r) {
    r.run(
        "ingress named port: each selected pod's own number",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]},
                   "ingress": [{"ports": [{"port": "http"}]}]}),
        )],
        &[
            ("dev/client", "prod/web", 8080, Tcp, ALLOW),
            ("dev/client", "prod/web", 8000, Tcp, DENY),
            ("dev/client", "prod/api", 8000, Tcp, ALLOW),
            ("dev/client", "prod/api", 8080, Tcp, DENY),
            ("dev/client", "prod/web", 8080, Udp, DENY),
        ],
    );
    r.run(
        "egress named port: the destination's number; outside addresses never match",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "web"}}, "egress": [{"ports": [{"port": "http"}]}]}),
        )],
        &[
            ("prod/web", "prod/api", 8000, Tcp, ALLOW),
            ("prod/web", "dev/web", 8081, Tcp, ALLOW),
            ("prod/web", "dev/web", 8000, Tcp, DENY),
            ("prod/web", "192.0.2.1", 8080, Tcp, DENY),
            // The hostNetwork agent names 8080 "http", but is its node's address.
            ("prod/web", "kube-system/agent", 8080, Tcp, DENY),
        ],
    );
    r.run(
        "egress named port to an ipBlock",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "web"}}, "egress": [{"to": [{"ipBlock": {"cidr": "10.0.2.0/24"}}], "ports": [{"port": "http"}]}]}),
        )],
        &[
            ("prod/web", "dev/web", 8081, Tcp, ALLOW),
            ("prod/web", "prod/api", 8000, Tcp, DENY),
            ("prod/web", "dev/api", 8000, Tcp, ALLOW),
        ],
    );
    r.run(
        "named port protocol must match the container port's",
        &[policy(
            "ops",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "dns"}}, "ingress": [{"ports": [{"port": "dns", "protocol": "UDP"}, {"port": "dns"}]}]}),
        )],
        &[
            ("prod/web", "ops/dns", 53, Udp, ALLOW),
            // "dns" over TCP: no TCP container port is named "dns" (it is "dns-tcp").
            ("prod/web", "ops/dns", 53, Tcp, DENY),
        ],
    );
}

fn policy_types(r) {
    r.run(
        "explicit Egress only: ingress rules are ignored, ingress stays open",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
                   "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "nothing"}}}]}],
                   "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]}]}),
        )],
        &[
            ("dev/client", "prod/web", 8080, Tcp, ALLOW),
            ("prod/web", "prod/db", 5432, Tcp, ALLOW),
            ("prod/web", "prod/api", 8000, Tcp, DENY),
        ],
    );
    r.run(
        "no policyTypes and egress rules: Ingress and Egress",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "web"}}, "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]}]}),
        )],
        &[
            // Ingress is isolated with no ingress rules: denied.
            ("dev/client", "prod/web", 8080, Tcp, DENY),
            ("prod/web", "prod/db", 5432, Tcp, ALLOW),
            ("prod/web", "prod/api", 8000, Tcp, DENY),
        ],
    );
    r.run(
        "no policyTypes and no egress rules: Ingress only",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [{"podSelector": {}}]}]}),
        )],
        &[
            ("prod/web", "8.8.8.8", 53, Udp, ALLOW),
            ("prod/api", "prod/web", 8080, Tcp, ALLOW),
            ("dev/client", "prod/web", 8080, Tcp, DENY),
        ],
    );
}

fn multiple_policies_are_a_union(r) {
    let db = json!({"matchLabels": {"app": "db"}});
    r.run(
        "two policies selecting one pod",
        &[
            policy(
                "prod",
                "from-api",
                json!({"podSelector": db, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}]}]}),
            ),
            policy(
                "prod",
                "from-web",
                json!({"podSelector": db, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 5432}]}]}),
            ),
        ],
        &[
            ("prod/api", "prod/db", 6000, Tcp, ALLOW),
            ("prod/web", "prod/db", 5432, Tcp, ALLOW),
            ("prod/web", "prod/db", 6000, Tcp, DENY),
            ("dev/client", "prod/db", 5432, Tcp, DENY),
        ],
    );
}

fn egress_and_ingress_are_both_required(r) {
    let web_egress_to_db = policy(
        "prod",
        "web-egress",
        json!({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"], "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]}]}),
    );
    let db_ingress_from_web = policy(
        "prod",
        "db-ingress",
        json!({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}),
    );
    let db_deny =
        policy("prod", "db-deny", json!({"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]}));
    let web_deny =
        policy("prod", "web-deny", json!({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"]}));
    r.run(
        "egress allows, ingress denies",
        &[web_egress_to_db.clone(), db_deny],
        &[("prod/web", "prod/db", 5432, Tcp, DENY)],
    );
    r.run(
        "ingress allows, egress denies",
        &[db_ingress_from_web.clone(), web_deny],
        &[("prod/web", "prod/db", 5432, Tcp, DENY)],
    );
    r.run(
        "both allow",
        &[web_egress_to_db, db_ingress_from_web],
        &[
            ("prod/web", "prod/db", 5432, Tcp, ALLOW),
            ("prod/api", "prod/db", 5432, Tcp, DENY),
            ("prod/web", "prod/api", 8000, Tcp, DENY),
        ],
    );
}

fn match_expressions_operators(r) {
    let select = |exprs: Value| {
        policy("dev", "p", json!({"podSelector": {"matchExpressions": exprs}, "policyTypes": ["Ingress"]}))
    };
    let isolated = |p: Value, expect: [bool; 3]| {
        let (engine, rules) = build(&[p]);
        for (name, isolated) in ["web", "client", "api"].into_iter().zip(expect) {
            assert_eq!(engine.is_isolated("dev", name, Direction::Ingress).unwrap(), isolated, "dev/{name}");
            let id = rules.pod_by_name("dev", name).unwrap();
            assert_eq!(rules.pod(id).ingress.isolated, isolated, "dev/{name}");
        }
    };
    isolated(select(json!([{"key": "app", "operator": "In", "values": ["web", "api"]}])), [true, false, true]);
    isolated(select(json!([{"key": "app", "operator": "NotIn", "values": ["web", "api"]}])), [false, true, false]);
    isolated(select(json!([{"key": "canary", "operator": "Exists"}])), [false, false, true]);
    isolated(select(json!([{"key": "canary", "operator": "DoesNotExist"}])), [true, true, false]);
    // NotIn also matches pods without the key.
    isolated(select(json!([{"key": "canary", "operator": "NotIn", "values": ["true"]}])), [true, true, false]);
    // matchLabels and matchExpressions are AND'ed.
    isolated(
        policy(
            "dev",
            "p",
            json!({"podSelector": {"matchLabels": {"app": "api"}, "matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]}}),
        ),
        [false, false, false],
    );
    r.run(
        "matchExpressions in a namespaceSelector",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}}]}]}),
        )],
        &[
            ("ops/monitor", "prod/web", 80, Tcp, ALLOW),
            ("dev/client", "prod/web", 80, Tcp, DENY),
            ("prod/api", "prod/web", 80, Tcp, DENY),
        ],
    );
}

fn a_pod_cannot_block_itself_and_node_traffic_is_allowed(r) {
    let deny_all = policy("prod", "deny-all", json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}));
    r.run(
        "exceptions",
        &[deny_all, deny_all_ingress("ops")],
        &[
            ("prod/web", "prod/web", 8080, Tcp, ALLOW),
            // prod pods run on 192.168.0.10: their node can reach them and they their node.
            ("192.168.0.10", "prod/web", 8080, Tcp, ALLOW),
            ("prod/db", "192.168.0.10", 10250, Tcp, ALLOW),
            ("192.168.0.20", "prod/web", 8080, Tcp, DENY),
            // The hostNetwork agent is its node, 192.168.0.20, where ops/far runs.
            ("kube-system/agent", "ops/far", 80, Tcp, ALLOW),
            ("kube-system/agent", "ops/monitor", 80, Tcp, DENY),
        ],
    );
}

fn host_network_pods_are_their_node(r) {
    r.run(
        "hostNetwork pods are not selected, and selectors do not match them",
        &[
            deny_all_ingress("kube-system"),
            policy(
                "prod",
                "p",
                json!({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {}}]}]}),
            ),
        ],
        &[
            ("dev/client", "kube-system/agent", 8080, Tcp, ALLOW),
            ("kube-system/agent", "prod/db", 5432, Tcp, DENY),
            ("dev/client", "prod/db", 5432, Tcp, ALLOW),
        ],
    );
    r.run(
        "ipBlock matches a hostNetwork pod's address",
        &[policy(
            "prod",
            "p",
            json!({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "192.168.0.0/24"}}]}]}),
        )],
        &[("kube-system/agent", "prod/db", 5432, Tcp, ALLOW), ("192.168.0.99", "prod/db", 5432, Tcp, ALLOW)],
    );
}

fn pods_without_ips_are_still_selected_and_matched(r) {
    r.run(
        "pending pod",
        &[
            policy(
                "prod",
                "db",
                json!({"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}]}]}),
            ),
            deny_all_ingress("prod"),
        ],
        &[
            ("prod/pending", "prod/db", 5432, Tcp, ALLOW),
            ("prod/web", "prod/pending", 8000, Tcp, DENY),
            ("prod/pending", "192.0.2.1", 443, Tcp, ALLOW),
        ],
    );
}
}

#[test]
fn unknown_pods_and_invalid_objects_are_typed_errors() {
    let (engine, rules) = build(&[]);
    let unknown = Error::UnknownPod { namespace: "prod".into(), name: "nope".into() };
    assert_eq!(engine.allowed(peer("prod/nope"), peer("prod/web"), 80, Tcp), Err(unknown.clone()));
    assert_eq!(rules.allowed(peer("prod/web"), peer("prod/nope"), 80, Tcp), Err(unknown));

    let bad: NetworkPolicy = serde_json::from_value(policy(
        "prod",
        "bad",
        json!({"podSelector": {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]}}),
    ))
    .unwrap();
    let err = PolicyEngine::new(&namespaces(), &pods(), [&bad]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "NetworkPolicy prod/bad: spec.podSelector.matchExpressions[0].operator: unknown label selector operator \
         \"Equals\" (expected In, NotIn, Exists or DoesNotExist)"
    );
}

#[test]
fn compiled_rules_are_shared_and_named_ports_resolved() {
    let (_, rules) = build(&[
        deny_all_ingress("prod"),
        policy(
            "prod",
            "http",
            json!({"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]},
                   "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"env": "dev"}}}], "ports": [{"port": "http"}]}]}),
        ),
    ]);
    let web = rules.pod(rules.pod_by_name("prod", "web").unwrap());
    let api = rules.pod(rules.pod_by_name("prod", "api").unwrap());
    assert!(web.ingress.isolated && !web.egress.isolated);
    let [w] = web.ingress.rules[..] else { panic!("{web:?}") };
    let [a] = api.ingress.rules[..] else { panic!("{api:?}") };
    let (w, a) = (rules.rule(w), rules.rule(a));
    assert_eq!(w.peers, a.peers, "one peer set for both pods");
    assert_eq!((w.ports[0].first, w.ports[0].last, a.ports[0].first), (8080, 8080, 8000));
    let networks: Vec<String> = rules.networks(w.peers).iter().map(ToString::to_string).collect();
    assert_eq!(networks, ["10.0.2.1/32", "10.0.2.2/31"]);
}
