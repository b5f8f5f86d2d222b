use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use serde_json::{json, Value};

use super::*;
use crate::service::annotations::{self, BACKEND_TYPE};
use crate::service::BoxError;

fn node_json(name: &str, id: &str) -> Value {
    json!({
        "metadata": {"name": name, "labels": {}},
        "spec": {"providerID": format!("cn-hangzhou.{id}")},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}
    })
}

fn node(name: &str, id: &str) -> Node {
    serde_json::from_value(node_json(name, id)).unwrap()
}

fn node_with(name: &str, id: &str, patch: impl FnOnce(&mut Value)) -> Node {
    let mut v = node_json(name, id);
    patch(&mut v);
    serde_json::from_value(v).unwrap()
}

fn service(policy: &str, annotations: &[(&str, &str)]) -> Service {
    let ann: BTreeMap<&str, &str> = annotations.iter().copied().collect();
    serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": "web", "annotations": ann},
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": policy,
            "ports": [
                {"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP", "targetPort": "web"},
                {"name": "dns", "port": 53, "nodePort": 30053, "protocol": "UDP", "targetPort": 5353}
            ]
        }
    }))
    .unwrap()
}

/// An endpoint: address, node, and (ready, serving, terminating).
fn ep(ip: &str, node: &str, ready: Option<bool>, terminating: Option<bool>) -> Value {
    json!({"addresses": [ip], "nodeName": node, "conditions": {"ready": ready, "terminating": terminating}})
}

fn slice(name: &str, service: &str, http_port: u16, endpoints: Vec<Value>) -> EndpointSlice {
    serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": name, "labels": {SERVICE_NAME_LABEL: service}},
        "addressType": "IPv4",
        "ports": [
            {"name": "http", "port": http_port, "protocol": "TCP"},
            {"name": "dns", "port": 5353, "protocol": "UDP"}
        ],
        "endpoints": endpoints
    }))
    .unwrap()
}

fn backends(svc: &Service, nodes: &[Node], slices: &[EndpointSlice], enis: &EniMap) -> ServiceBackends {
    let a = ServiceAnnotations::from_service(svc).unwrap();
    service_backends(svc, &a, nodes, slices, enis, &NodeFilter::default()).unwrap()
}

fn weights(p: &PortBackends) -> Vec<(String, Option<IpAddr>, u16, u8)> {
    p.backends.iter().map(|b| (b.server_id.clone(), b.server_ip, b.port, b.weight)).collect()
}

#[test]
fn provider_ids() {
    assert_eq!(instance_id_from_provider_id("cn-hangzhou.i-bp1a"), Some("i-bp1a"));
    assert_eq!(instance_id_from_provider_id("alicloud://cn-beijing.i-2ze_x"), Some("i-2ze_x"));
    for bad in ["", "i-bp1a", "cn-hangzhou.", "cn-hangzhou.eci-1", ".i-a", "cn-hangzhou.i-", "gce://p/z/n"] {
        assert_eq!(instance_id_from_provider_id(bad), None, "{bad:?}");
    }
}

#[test]
fn node_eligibility() {
    let filter = NodeFilter::default();
    let reason = |n: &Node| filter.check(n).unwrap_err();
    assert_eq!(filter.check(&node("a", "i-a")), Ok("i-a".parse().unwrap()));
    let labelled = |l: &str| node_with("x", "i-x", |v| v["metadata"]["labels"][l] = json!(""));
    assert_eq!(reason(&labelled(EXCLUDE_LABEL)), SkipReason::ExcludeLabel);
    assert_eq!(reason(&labelled(EXCLUDE_LABEL_DEPRECATED)), SkipReason::ExcludeLabel);
    for l in CCM_EXCLUDE_LABELS {
        assert_eq!(reason(&labelled(l)), SkipReason::ExcludeLabel, "{l}");
    }
    let tainted = node_with("t", "i-t", |v| {
        v["spec"]["taints"] = json!([{"key": TO_BE_DELETED_TAINT, "value": "1700000000", "effect": "NoSchedule"}])
    });
    assert_eq!(reason(&tainted), SkipReason::Deleting);
    let other_taint =
        node_with("t", "i-t", |v| v["spec"]["taints"] = json!([{"key": "dedicated", "effect": "NoSchedule"}]));
    assert!(NodeFilter::default().check(&other_taint).is_ok(), "only the autoscaler's taint excludes");
    let no_conditions = node_with("n", "i-n", |v| v["status"] = json!({}));
    assert_eq!(reason(&no_conditions), SkipReason::NotReady);
    assert_eq!(reason(&labelled("node-role.kubernetes.io/master")), SkipReason::ControlPlane);
    let keep_cp = NodeFilter { exclude_control_plane: false, ..NodeFilter::default() };
    assert!(keep_cp.check(&labelled("node-role.kubernetes.io/control-plane")).is_ok());
    for status in ["False", "Unknown"] {
        let n = node_with("x", "i-x", |v| v["status"]["conditions"][0]["status"] = json!(status));
        assert_eq!(reason(&n), SkipReason::NotReady);
    }
    assert_eq!(reason(&node_with("x", "i-x", |v| v["status"] = json!({}))), SkipReason::NotReady);
    let deleting = node_with("x", "i-x", |v| v["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z"));
    assert_eq!(reason(&deleting), SkipReason::Deleting);
    let cordoned = node_with("x", "i-x", |v| v["spec"]["unschedulable"] = json!(true));
    assert!(filter.check(&cordoned).is_ok(), "cordoned nodes serve by default, as in CCM");
    let strict = NodeFilter { remove_unschedulable: true, ..NodeFilter::default() };
    assert_eq!(strict.check(&cordoned).unwrap_err(), SkipReason::Unschedulable);
    let no_id = node_with("x", "i-x", |v| v["spec"] = json!({}));
    assert_eq!(reason(&no_id), SkipReason::NoInstanceId(None));
    let bad_id = node_with("x", "i-x", |v| v["spec"]["providerID"] = json!("kind://docker/x"));
    assert_eq!(reason(&bad_id), SkipReason::NoInstanceId(Some("kind://docker/x".into())));
    assert!(reason(&bad_id).to_string().contains("kind://docker/x"));
    let pool = NodeFilter { required_labels: BTreeMap::from([("pool".into(), "web".into())]), ..NodeFilter::default() };
    assert_eq!(pool.check(&node("a", "i-a")).unwrap_err(), SkipReason::LabelMismatch);
    assert!(pool.check(&node_with("a", "i-a", |v| v["metadata"]["labels"]["pool"] = json!("web"))).is_ok());
    assert_eq!(reason(&node_with("", "i-a", |v| v["metadata"] = json!({}))), SkipReason::Unnamed);
}

#[test]
fn cluster_mode_serves_every_eligible_node_on_its_node_port() {
    let nodes = [
        node("b", "i-b"),
        node("a", "i-a"),
        node_with("c", "i-c", |v| v["metadata"]["labels"][EXCLUDE_LABEL] = json!("true")),
        node_with("d", "i-d", |v| v["spec"]["unschedulable"] = json!(true)),
    ];
    let b = backends(&service("Cluster", &[]), &nodes, &[], &EniMap::new());
    assert_eq!(b.mode, BackendMode::Cluster);
    assert_eq!((b.ports[0].port, b.ports[0].protocol.as_str(), b.ports[0].name.as_deref()), (80, "TCP", Some("http")));
    assert_eq!(
        weights(&b.ports[0]),
        vec![("i-a".into(), None, 30080, 100), ("i-b".into(), None, 30080, 100), ("i-d".into(), None, 30080, 100)]
    );
    assert_eq!(b.ports[1].backends.iter().map(|b| b.port).collect::<Vec<_>>(), vec![30053; 3]);
    assert_eq!(b.skipped_nodes, vec![SkippedNode { node: "c".into(), reason: SkipReason::ExcludeLabel }]);

    // Cordoned nodes leave with remove-unscheduled-backend.
    let svc = service("", &[(annotations::REMOVE_UNSCHEDULED_BACKEND, "on")]);
    let b = backends(&svc, &nodes, &[], &EniMap::new());
    assert_eq!(b.ports[0].backends.len(), 2);
    assert!(b.skipped_nodes.iter().any(|s| s.node == "d" && s.reason == SkipReason::Unschedulable));

    // backend-label selects nodes.
    let labelled = [node_with("p", "i-p", |v| v["metadata"]["labels"]["pool"] = json!("web")), node("q", "i-q")];
    let b = backends(&service("Cluster", &[(annotations::BACKEND_LABEL, "pool=web")]), &labelled, &[], &EniMap::new());
    assert_eq!(weights(&b.ports[0]), vec![("i-p".into(), None, 30080, 100)]);
}

#[test]
fn cluster_mode_weight_annotation_spreads_the_total() {
    let nodes = [node("a", "i-a"), node("b", "i-b"), node("c", "i-c")];
    let w = |v: &str| {
        let b = backends(&service("Cluster", &[(annotations::WEIGHT, v)]), &nodes, &[], &EniMap::new());
        b.ports[0].backends.iter().map(|b| b.weight).collect::<Vec<_>>()
    };
    assert_eq!(w("80"), vec![26, 26, 26]);
    assert_eq!(w("1"), vec![1, 1, 1]);
    assert_eq!(w("0"), vec![0, 0, 0]);
    assert_eq!(w("100"), vec![33, 33, 33]);
}

#[test]
fn node_modes_need_node_ports() {
    let mut svc = service("Cluster", &[]);
    svc.spec.as_mut().unwrap().ports.as_mut().unwrap()[1].node_port = None;
    let a = ServiceAnnotations::default();
    let err = service_backends(&svc, &a, &[node("a", "i-a")], &[], &EniMap::new(), &NodeFilter::default()).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidService { service, reason } if service == "shop/web" && reason.contains("port 53"))
    );
    // ENI mode does not use node ports.
    let eni = ServiceAnnotations::parse(&BTreeMap::from([(BACKEND_TYPE.to_owned(), "eni".to_owned())])).unwrap();
    assert!(service_backends(&svc, &eni, &[], &[], &EniMap::new(), &NodeFilter::default()).is_ok());
}

#[test]
fn traffic_policy_must_be_known() {
    let err = BackendMode::of(&service("Nearest", &[]), &ServiceAnnotations::default()).unwrap_err();
    assert!(err.is_invalid_input());
    assert_eq!(BackendMode::of(&service("Local", &[]), &ServiceAnnotations::default()).unwrap(), BackendMode::Local);
}

fn local_fixture() -> (Vec<Node>, Vec<EndpointSlice>) {
    let nodes = vec![
        node("a", "i-a"),
        node("b", "i-b"),
        node("c", "i-c"),
        node("d", "i-d"),
        node_with("x", "i-x", |v| v["metadata"]["labels"][EXCLUDE_LABEL] = json!("")),
    ];
    let slices = vec![
        slice(
            "web-1",
            "web",
            8080,
            vec![
                ep("10.0.0.1", "a", Some(true), None),
                ep("10.0.0.2", "a", None, None), // unset ready reads as ready
                ep("10.0.0.3", "a", Some(true), Some(false)),
                ep("10.0.0.4", "b", Some(true), None),
                ep("10.0.0.5", "b", Some(false), Some(true)), // terminating next to a ready one
                ep("10.0.0.6", "c", Some(false), Some(true)), // only terminating: drain at 0
                ep("10.0.0.7", "d", Some(false), Some(false)), // not ready: d is no backend
                ep("10.0.0.8", "x", Some(true), None),        // ready on an excluded node
            ],
        ),
        // Another service's slice, and another namespace's, are ignored.
        slice("api-1", "api", 8080, vec![ep("10.0.1.1", "d", Some(true), None)]),
        {
            let mut s = slice("web-other-ns", "web", 8080, vec![ep("10.0.2.1", "d", Some(true), None)]);
            s.metadata.namespace = Some("other".into());
            s
        },
    ];
    (nodes, slices)
}

#[test]
fn local_mode_serves_nodes_with_ready_pods_weighted_by_count() {
    let (nodes, slices) = local_fixture();
    let b = backends(&service("Local", &[]), &nodes, &slices, &EniMap::new());
    assert_eq!(b.mode, BackendMode::Local);
    assert_eq!(
        weights(&b.ports[0]),
        vec![("i-a".into(), None, 30080, 3), ("i-b".into(), None, 30080, 1), ("i-c".into(), None, 30080, 0)]
    );
    assert_eq!(b.ports[0].notes, vec![BackendNote::IneligibleNode { node: "x".into(), endpoints: 1 }]);
    // The UDP port has the same endpoints, on its own node port.
    assert_eq!(
        b.ports[1].backends.iter().map(|b| (b.port, b.weight)).collect::<Vec<_>>(),
        vec![(30053, 3), (30053, 1), (30053, 0)]
    );
}

#[test]
fn local_mode_weight_annotation_is_a_share_of_pods() {
    let (nodes, slices) = local_fixture();
    let w = |v: &str| {
        let b = backends(&service("Local", &[(annotations::WEIGHT, v)]), &nodes, &slices, &EniMap::new());
        b.ports[0].backends.iter().map(|b| b.weight).collect::<Vec<_>>()
    };
    // 4 ready pods on eligible nodes: a has 3, b has 1; c only drains.
    assert_eq!(w("100"), vec![75, 25, 0]);
    assert_eq!(w("2"), vec![1, 1, 0]);
    assert_eq!(w("0"), vec![0, 0, 0]);
}

#[test]
fn local_mode_counts_large_nodes_up_to_100_and_reports_unplaced_endpoints() {
    let eps: Vec<Value> =
        (0..150).map(|i| ep(&format!("10.1.{}.{}", i / 200, i % 200 + 1), "a", Some(true), None)).collect();
    let mut eps = eps;
    eps.push(json!({"addresses": ["10.9.9.9"], "conditions": {"ready": true}}));
    let b = backends(&service("Local", &[]), &[node("a", "i-a")], &[slice("s", "web", 8080, eps)], &EniMap::new());
    assert_eq!(weights(&b.ports[0]), vec![("i-a".into(), None, 30080, 100)]);
    assert_eq!(b.ports[0].notes, vec![BackendNote::NoNode { endpoints: 1 }]);
}

fn eni_fixture() -> (Service, Vec<EndpointSlice>, EniMap) {
    let svc = service("Cluster", &[(BACKEND_TYPE, "eni")]);
    let slices = vec![
        slice(
            "web-1",
            "web",
            8080,
            vec![
                ep("10.0.0.1", "a", Some(true), None),
                ep("10.0.0.2", "a", Some(false), Some(true)), // terminating: weight 0
                ep("10.0.0.3", "b", Some(false), None),       // not ready: absent
                ep("10.0.0.4", "b", Some(true), None),        // no ENI holds it: a note
            ],
        ),
        // The named target port resolves to another number for these pods.
        slice("web-2", "web", 9090, vec![ep("10.0.0.5", "c", Some(true), None)]),
        // 10.0.0.1 again, not ready, in a second slice: the best state (ready) wins.
        slice("web-3", "web", 8080, vec![ep("10.0.0.1", "a", Some(false), None)]),
        {
            let mut s = slice("web-fqdn", "web", 8080, vec![ep("db.example.com", "a", Some(true), None)]);
            s.address_type = "FQDN".into();
            s
        },
    ];
    let enis = EniMap::from([
        ("10.0.0.1".parse().unwrap(), "eni-a".parse().unwrap()),
        ("10.0.0.2".parse().unwrap(), "eni-a".parse().unwrap()),
        ("10.0.0.3".parse().unwrap(), "eni-b".parse().unwrap()),
        ("10.0.0.5".parse().unwrap(), "eni-c".parse().unwrap()),
    ]);
    (svc, slices, enis)
}

#[test]
fn eni_mode_serves_pod_addresses_and_drains_terminating_ones() {
    let (svc, slices, enis) = eni_fixture();
    let b = backends(&svc, &[node("a", "i-a")], &slices, &enis);
    assert_eq!(b.mode, BackendMode::Eni);
    assert!(b.skipped_nodes.is_empty());
    let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
    assert_eq!(
        weights(&b.ports[0]),
        vec![
            ("eni-a".parse().unwrap(), ip("10.0.0.1"), 8080, 100),
            ("eni-a".parse().unwrap(), ip("10.0.0.2"), 8080, 0),
            ("eni-c".parse().unwrap(), ip("10.0.0.5"), 9090, 100),
        ]
    );
    assert!(b.ports[0].backends.iter().all(|b| b.kind == ack_net_slb::BackendType::Eni));
    assert_eq!(b.ports[0].notes, vec![BackendNote::NoEni { ip: "10.0.0.4".parse().unwrap() }]);
    assert_eq!(b.ports[1].backends.iter().map(|b| b.port).collect::<BTreeSet<_>>(), BTreeSet::from([5353]));

    let mut weighted = svc.clone();
    weighted.metadata.annotations.as_mut().unwrap().insert(annotations::WEIGHT.into(), "50".into());
    let b = backends(&weighted, &[], &slices, &enis);
    assert_eq!(b.ports[0].backends.iter().map(|b| b.weight).collect::<Vec<_>>(), vec![25, 0, 25]);
}

#[test]
fn eni_mode_ipv6() {
    let svc = service("Cluster", &[(BACKEND_TYPE, "eni")]);
    let mut s = slice("web-v6", "web", 8080, vec![ep("fd00::7", "a", Some(true), None)]);
    s.address_type = "IPv6".into();
    let ip: IpAddr = "fd00::7".parse().unwrap();
    let b = backends(&svc, &[], &[s], &EniMap::from([(ip, "eni-v6".parse().unwrap())]));
    assert_eq!(weights(&b.ports[0]), vec![("eni-v6".parse().unwrap(), Some(ip), 8080, 100)]);
}

/// Counts calls, answers from a map.
struct Counting(EniMap, AtomicUsize);

#[async_trait]
impl EniLookup for Counting {
    async fn enis_for(&self, ips: &[IpAddr]) -> Result<EniMap, BoxError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.enis_for(ips).await
    }
}

struct Failing;

#[async_trait]
impl EniLookup for Failing {
    async fn enis_for(&self, _: &[IpAddr]) -> Result<EniMap, BoxError> {
        Err("throttled".into())
    }
}

#[tokio::test]
async fn resolving_enis_asks_only_for_eni_services_and_their_serving_pods() {
    let (svc, slices, enis) = eni_fixture();
    assert_eq!(
        eni_addresses(&svc, &slices),
        ["10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5"].map(|s| s.parse::<IpAddr>().unwrap()).to_vec()
    );
    let lookup = Counting(enis, AtomicUsize::new(0));
    let a = ServiceAnnotations::from_service(&svc).unwrap();
    let found = resolve_enis(&lookup, &svc, &a, &slices).await.unwrap();
    assert_eq!(found.len(), 3);
    assert_eq!(lookup.1.load(Ordering::SeqCst), 1);

    let cluster = service("Cluster", &[]);
    let none = resolve_enis(&lookup, &cluster, &ServiceAnnotations::default(), &slices).await.unwrap();
    assert!(none.is_empty());
    assert_eq!(lookup.1.load(Ordering::SeqCst), 1, "no lookup outside ENI mode");

    let err = resolve_enis(&Failing, &svc, &a, &slices).await.unwrap_err();
    assert!(matches!(err, Error::EniLookup(_)));
    assert!(!err.is_invalid_input());
}
