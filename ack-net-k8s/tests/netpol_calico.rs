//! Calico's policy semantics (tiers, order, Allow/Deny/Pass/Log, selectors, negations,
//! service accounts) together with Kubernetes NetworkPolicies, as a table of cases on one
//! small cluster; and the parser's errors, which name the field.

use ack_net_k8s::netpol::calico::{Action, CalicoEngine, CalicoResource, Decision, Parsing, Traffic};
use ack_net_k8s::netpol::{Error, Peer, PolicyEngine};
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::json;

const WEB: Peer<'static> = Peer::Pod { namespace: "shop", name: "web" };
const DB: Peer<'static> = Peer::Pod { namespace: "shop", name: "db" };
const BATCH: Peer<'static> = Peer::Pod { namespace: "shop", name: "batch" };
const MONITOR: Peer<'static> = Peer::Pod { namespace: "ops", name: "monitor" };

fn outside(ip: &str) -> Peer<'static> {
    Peer::Ip(ip.parse().expect("test address"))
}

fn pod(ns: &str, name: &str, app: &str, ip: &str, sa: &str, ports: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"namespace": ns, "name": name, "labels": {"app": app}},
        "spec": {"serviceAccountName": sa, "containers": [{"name": "c", "ports": ports}]},
        "status": {"podIPs": [{"ip": ip}], "hostIPs": [{"ip": "192.168.0.1"}]}
    }))
    .expect("pod")
}

/// shop/{web, db, batch} and ops/monitor, with `kubernetes` NetworkPolicies and the Calico
/// resources of `yaml`.
fn engine_with(kubernetes: &[serde_json::Value], yaml: &str) -> Result<CalicoEngine, Error> {
    let namespaces: Vec<Namespace> = [("shop", "shop"), ("ops", "ops")]
        .iter()
        .map(|(n, team)| serde_json::from_value(json!({"metadata": {"name": n, "labels": {"team": team}}})).unwrap())
        .collect();
    let pods = [
        pod("shop", "web", "web", "10.0.0.1", "web-sa", json!([{"name": "http", "containerPort": 8080}])),
        pod("shop", "db", "db", "10.0.0.2", "default", json!([{"name": "pg", "containerPort": 5432}])),
        pod("shop", "batch", "batch", "10.0.0.3", "default", json!([])),
        pod("ops", "monitor", "monitor", "10.0.1.1", "prom", json!([])),
    ];
    let policies: Vec<NetworkPolicy> = kubernetes.iter().map(|v| serde_json::from_value(v.clone()).unwrap()).collect();
    let accounts: Vec<ServiceAccount> = [("shop", "web-sa", "frontend"), ("ops", "prom", "metrics")]
        .iter()
        .map(|(ns, n, role)| {
            serde_json::from_value(json!({"metadata": {"namespace": ns, "name": n, "labels": {"role": role}}})).unwrap()
        })
        .collect();
    let cluster = PolicyEngine::new(&namespaces, &pods, &policies)?;
    let resources = CalicoResource::from_yaml(yaml, Parsing::Strict)?;
    CalicoEngine::new(cluster, &accounts, &resources)
}

fn engine(kubernetes: &[serde_json::Value], yaml: &str) -> CalicoEngine {
    engine_with(kubernetes, yaml).unwrap_or_else(|e| panic!("{e}"))
}

/// Kubernetes: only web may reach db, on 5432.
fn db_from_web() -> serde_json::Value {
    json!({
        "metadata": {"namespace": "shop", "name": "db-from-web"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 5432}]}]
        }
    })
}

fn check(engine: &CalicoEngine, cases: &[(Peer<'_>, Peer<'_>, Traffic, bool)]) {
    for &(from, to, traffic, expected) in cases {
        let verdict = engine.verdict(from, to, traffic).unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
        assert_eq!(verdict.allowed, expected, "{from} -> {to} {traffic:?}: {verdict:?}");
    }
}

#[test]
fn an_ordered_calico_deny_comes_before_a_kubernetes_allow() {
    let deny = |order: u32| {
        format!(
            "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: no-web, namespace: shop}}\n\
             spec:\n  order: {order}\n  selector: app == 'db'\n  ingress:\n  - action: Deny\n    source: {{selector: app == 'web'}}\n"
        )
    };
    let before = engine(&[db_from_web()], &deny(500));
    let verdict = before.verdict(WEB, DB, Traffic::tcp(5432)).unwrap();
    assert!(!verdict.allowed);
    assert!(
        matches!(&verdict.ingress, Decision::Rule { rule, action: Action::Deny } if rule.policy == "NetworkPolicy shop/no-web" && !rule.kubernetes),
        "{verdict:?}"
    );
    // After the Kubernetes policy (order 1000), the Kubernetes Allow decides first.
    let after = engine(&[db_from_web()], &deny(2000));
    let verdict = after.verdict(WEB, DB, Traffic::tcp(5432)).unwrap();
    assert!(verdict.allowed);
    assert!(
        matches!(&verdict.ingress, Decision::Rule { rule, action: Action::Allow } if rule.kubernetes),
        "{verdict:?}"
    );
    // Traffic the Kubernetes policy does not allow still meets the end of the tier.
    check(&after, &[(WEB, DB, Traffic::tcp(80), false), (BATCH, DB, Traffic::tcp(5432), false)]);
}

#[test]
fn a_calico_allow_before_a_kubernetes_default_deny_opens_exactly_its_traffic() {
    let e = engine(
        &[db_from_web()],
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: batch-to-db, namespace: shop}\n\
         spec:\n  order: 100\n  selector: app == 'db'\n  ingress:\n  - action: Allow\n    protocol: TCP\n    \
         source: {selector: app == 'batch'}\n    destination: {ports: ['pg']}\n",
    );
    check(
        &e,
        &[
            (BATCH, DB, Traffic::tcp(5432), true), // the named port resolves on db
            (BATCH, DB, Traffic::tcp(5433), false),
            (BATCH, DB, Traffic::udp(5432), false),
            (WEB, DB, Traffic::tcp(5432), true),
            (MONITOR, DB, Traffic::tcp(5432), false), // the selector is confined to shop
            (DB, WEB, Traffic::tcp(8080), true),      // web is not isolated
        ],
    );
    let verdict = e.verdict(MONITOR, DB, Traffic::tcp(5432)).unwrap();
    assert_eq!(verdict.ingress, Decision::EndOfTier { tier: "default".into() });
}

const SECURITY_TIER: &str =
    "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\nspec: {order: 100}\n";

#[test]
fn pass_hands_the_traffic_to_the_next_tier_and_then_to_the_profile() {
    let yaml = format!(
        "{SECURITY_TIER}---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n\
         metadata: {{name: security.triage}}\nspec:\n  tier: security\n  order: 1\n  selector: all()\n  types: [Ingress]\n  \
         ingress:\n  - action: Pass\n    source: {{selector: app == 'web'}}\n  - action: Deny\n    source: {{selector: app == 'batch'}}\n  - action: Pass\n"
    );
    let e = engine(&[db_from_web()], &yaml);
    assert_eq!(e.tiers().collect::<Vec<_>>(), ["security", "default"]);
    check(
        &e,
        &[
            (WEB, DB, Traffic::tcp(5432), true),       // passed; the Kubernetes policy allows
            (WEB, DB, Traffic::tcp(80), false),        // passed; the default tier denies
            (BATCH, DB, Traffic::tcp(5432), false),    // denied in the security tier
            (BATCH, WEB, Traffic::tcp(8080), false),   // the global policy applies to web too
            (WEB, BATCH, Traffic::tcp(9000), true),    // passed, no default-tier policy: profile
            (MONITOR, WEB, Traffic::icmp(8, 0), true), // the last Pass
            (outside("8.8.8.8"), WEB, Traffic::tcp(8080), true),
        ],
    );
    assert_eq!(e.verdict(WEB, BATCH, Traffic::tcp(9000)).unwrap().ingress, Decision::Profile);
}

#[test]
fn a_tier_whose_default_action_is_pass_does_not_deny_at_its_end() {
    let yaml = |default_action: &str| {
        format!(
            "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {{name: security}}\nspec: {{order: 100, defaultAction: {default_action}}}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: security.only-monitor}}\n\
             spec:\n  tier: security\n  selector: app == 'web'\n  ingress:\n  - action: Allow\n    source: {{namespaceSelector: team == 'ops'}}\n"
        )
    };
    let deny = engine(&[], &yaml("Deny"));
    check(&deny, &[(MONITOR, WEB, Traffic::tcp(8080), true), (BATCH, WEB, Traffic::tcp(8080), false)]);
    let pass = engine(&[], &yaml("Pass"));
    check(&pass, &[(MONITOR, WEB, Traffic::tcp(8080), true), (BATCH, WEB, Traffic::tcp(8080), true)]);
}

#[test]
fn a_global_policy_denies_egress_to_a_cidr() {
    let e = engine(
        &[db_from_web()],
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: no-test-net}\n\
         spec:\n  order: 10\n  selector: projectcalico.org/orchestrator == 'k8s'\n  types: [Egress]\n  egress:\n  \
         - action: Deny\n    destination: {nets: [203.0.113.0/24]}\n  - action: Allow\n",
    );
    check(
        &e,
        &[
            (WEB, outside("203.0.113.5"), Traffic::tcp(443), false),
            (MONITOR, outside("203.0.113.200"), Traffic::udp(53), false),
            (WEB, outside("8.8.8.8"), Traffic::tcp(443), true),
            (WEB, DB, Traffic::tcp(5432), true), // egress allowed, Kubernetes ingress allows
            (BATCH, DB, Traffic::tcp(5432), false), // egress allowed, Kubernetes ingress denies
            (outside("203.0.113.5"), WEB, Traffic::tcp(8080), true), // ingress is not affected
        ],
    );
}

#[test]
fn log_rules_are_recorded_and_evaluation_goes_on() {
    let e = engine(
        &[],
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: audit, namespace: shop}\n\
         spec:\n  selector: app == 'db'\n  ingress:\n  - action: Log\n    source: {selector: app == 'batch'}\n  - action: Allow\n",
    );
    let v = e.verdict(BATCH, DB, Traffic::tcp(5432)).unwrap();
    assert!(v.allowed);
    assert_eq!(v.logged.len(), 1);
    assert_eq!((v.logged[0].policy.as_str(), v.logged[0].index), ("NetworkPolicy shop/audit", 0));
    assert!(e.verdict(WEB, DB, Traffic::tcp(5432)).unwrap().logged.is_empty());
}

#[test]
fn negated_matches() {
    let e = engine(
        &[],
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: neg, namespace: shop}\n\
         spec:\n  selector: app == 'web'\n  ingress:\n  \
         - {action: Deny, source: {notNets: [10.0.0.0/16]}, protocol: TCP, destination: {notPorts: [8080]}}\n  \
         - {action: Allow, protocol: ICMP, icmp: {type: 8}, notICMP: {type: 8, code: 1}}\n  \
         - {action: Allow, notProtocol: UDP, source: {notSelector: app == 'batch'}}\n",
    );
    check(
        &e,
        &[
            (outside("8.8.8.8"), WEB, Traffic::tcp(22), false), // outside 10.0/16, not 8080: rule 0 denies
            (outside("8.8.8.8"), WEB, Traffic::tcp(8080), false), // rule 2's notSelector is scoped to shop pods
            (outside("8.8.8.8"), WEB, Traffic::udp(8080), false), // end of tier
            (BATCH, WEB, Traffic::icmp(8, 0), true),            // rule 1
            (BATCH, WEB, Traffic::icmp(8, 1), false),           // notICMP; rule 2 excludes batch
            (MONITOR, WEB, Traffic::icmp(8, 1), false),         // notSelector is scoped: monitor is not in shop
            (DB, WEB, Traffic::icmp(8, 1), true),               // rule 2
            (BATCH, WEB, Traffic::tcp(22), false),
            (DB, WEB, Traffic::tcp(22), true),
        ],
    );
}

#[test]
fn service_accounts_select_endpoints_and_peers() {
    let e = engine(
        &[],
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: frontends}\n\
         spec:\n  serviceAccountSelector: role == 'frontend'\n  ingress:\n  \
         - {action: Allow, source: {serviceAccounts: {selector: role == 'metrics'}}}\n  \
         - {action: Allow, source: {serviceAccounts: {names: [default]}, namespaceSelector: projectcalico.org/name == 'shop'}}\n",
    );
    check(
        &e,
        &[
            (MONITOR, WEB, Traffic::tcp(8080), true), // prom's labels: role=metrics
            (DB, WEB, Traffic::tcp(8080), true),      // the default account, in shop
            (outside("8.8.8.8"), WEB, Traffic::tcp(8080), false),
            (WEB, DB, Traffic::tcp(5432), true), // db is not selected: its account is not a frontend
        ],
    );
}

#[test]
fn source_ports_need_a_source_port_in_the_query() {
    let e = engine(
        &[],
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: dns, namespace: shop}\n\
         spec:\n  selector: app == 'db'\n  ingress:\n  - {action: Allow, protocol: UDP, source: {ports: ['1024:65535']}}\n",
    );
    assert!(matches!(e.allowed(WEB, DB, Traffic::udp(53)), Err(Error::PortNeeded { side: "source", .. })));
    check(&e, &[(WEB, DB, Traffic::udp(53).from_port(40000), true), (WEB, DB, Traffic::udp(53).from_port(53), false)]);
}

#[test]
fn ip_version_and_types_defaults() {
    let e = engine(
        &[],
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: v6-only, namespace: shop}\n\
         spec:\n  selector: app == 'db'\n  egress:\n  - {action: Allow, ipVersion: 6}\n",
    );
    // Only egress rules: the policy is an Egress policy (db's ingress stays open), and its one
    // rule needs IPv6, which db does not have.
    check(&e, &[(WEB, DB, Traffic::tcp(5432), true), (DB, WEB, Traffic::tcp(8080), false)]);
}

fn error(yaml: &str) -> Error {
    match engine_with(&[], yaml) {
        Ok(_) => panic!("accepted: {yaml}"),
        Err(e) => e,
    }
}

const HEAD: &str = "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, namespace: shop}\n";

#[test]
fn invalid_and_unsupported_fields_are_named() {
    let field_of = |e: Error| match e {
        Error::InvalidCalico { field, .. }
        | Error::UnsupportedCalico { field, .. }
        | Error::InvalidCalicoSelector { field, .. } => field,
        other => panic!("unexpected {other}"),
    };
    for (spec, field) in [
        ("spec: {ordr: 1}", "spec.ordr"),
        ("spec: {ingress: [{action: Allow, source: {selectr: x}}]}", "spec.ingress[0].source.selectr"),
        ("spec: {ingress: [{action: Accept}]}", "spec.ingress[0].action"),
        ("spec: {selector: \"app = 'x'\"}", "spec.selector"),
        ("spec: {ingress: [{action: Allow, destination: {ports: [80]}}]}", "spec.ingress[0].protocol"),
        (
            "spec: {ingress: [{action: Allow, protocol: TCP, destination: {ports: [70000]}}]}",
            "spec.ingress[0].destination.ports[0]",
        ),
        (
            "spec: {ingress: [{action: Allow, protocol: TCP, destination: {ports: ['90:80']}}]}",
            "spec.ingress[0].destination.ports[0]",
        ),
        ("spec: {ingress: [{action: Allow, protocol: ICMP, icmp: {code: 1}}]}", "spec.ingress[0].icmp.code"),
        ("spec: {ingress: [{action: Allow, protocol: TCP, icmp: {type: 8}}]}", "spec.ingress[0].protocol"),
        ("spec: {ingress: [{action: Allow, protocol: tcp}]}", "spec.ingress[0].protocol"),
        ("spec: {ingress: [{action: Allow, source: {nets: [10.0.0.0/33]}}]}", "spec.ingress[0].source.nets[0]"),
        ("spec: {ingress: [{action: Allow, ipVersion: 4, source: {nets: ['fd00::/8']}}]}", "spec.ingress[0].source"),
        ("spec: {types: [Egress], ingress: [{action: Allow}]}", "spec.ingress"),
        ("spec: {types: [Sideways]}", "spec.types[0]"),
        ("spec: {tier: security}", "spec.tier"),
        (
            "spec: {ingress: [{action: Allow, destination: {services: {name: x}}}]}",
            "spec.ingress[0].destination.services",
        ),
        ("spec: {ingress: [{action: Allow, http: {methods: [GET]}}]}", "spec.ingress[0].http"),
        ("spec: {doNotTrack: true}", "spec.doNotTrack"),
    ] {
        assert_eq!(field_of(error(&format!("{HEAD}{spec}\n"))), field, "{spec}");
    }
    assert!(matches!(error(&format!("{HEAD}spec: {{doNotTrack: true}}\n")), Error::UnsupportedCalico { .. }));
    let Error::InvalidCalicoSelector { offset, .. } = error(&format!("{HEAD}spec: {{selector: \"app == 'x' &&\"}}\n"))
    else {
        panic!("selector error expected")
    };
    assert_eq!(offset, 13);
    // A policy in a tier that was not given.
    let in_tier = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: security.x}\nspec: {tier: security}\n";
    assert_eq!(field_of(error(in_tier)), "spec.tier");
    assert!(engine_with(&[], &format!("{SECURITY_TIER}---\n{in_tier}")).is_ok());
    // Duplicates, documents without a kind, and YAML that does not parse.
    assert!(matches!(error(&format!("{HEAD}---\n{HEAD}")), Error::Duplicate { .. }));
    assert!(matches!(error("metadata: {name: x}\n"), Error::CalicoDocument { document: 0, .. }));
    assert!(matches!(error("kind: [\n"), Error::CalicoDocument { .. }));
    assert_eq!(
        field_of(error("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p}\n")),
        "metadata.namespace"
    );
    assert_eq!(
        field_of(error(
            "apiVersion: crd.projectcalico.org/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\n"
        )),
        "apiVersion"
    );
}

#[test]
fn lenient_parsing_ignores_unknown_fields_and_lists_are_read_item_by_item() {
    let yaml = format!("{HEAD}spec: {{ordr: 1, selector: app == 'db'}}\n");
    assert!(CalicoResource::from_yaml(&yaml, Parsing::Strict).is_err());
    assert_eq!(CalicoResource::from_yaml(&yaml, Parsing::Lenient).unwrap().len(), 1);
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "a"}, "spec": {}},
        {"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": "t"}, "spec": {"order": 5}}
    ]});
    let read = CalicoResource::from_json(&list.to_string(), Parsing::Strict).unwrap();
    assert!(
        matches!(&read[..], [CalicoResource::GlobalNetworkPolicy(p), CalicoResource::Tier(t)] if p.name() == "a" && t.order() == Some(5.0))
    );
}
