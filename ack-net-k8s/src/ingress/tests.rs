use ack_net_mock::{sample_certificate, SampleCertificate};
use serde_json::{json, Value};

use super::*;

fn node(name: &str, id: &str) -> Node {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {}},
        "spec": {"providerID": format!("cn-hangzhou.{id}")},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}
    }))
    .unwrap()
}

fn service(name: &str, node_port: Option<i32>) -> Service {
    serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": name},
        "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80, "nodePort": node_port, "protocol": "TCP"}]}
    }))
    .unwrap()
}

fn secret(name: &str, s: SampleCertificate, kind: &str) -> Secret {
    use base64::Engine as _;
    let b = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
    serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": name},
        "type": kind,
        "data": {"tls.crt": b(s.certificate), "tls.key": b(s.private_key)}
    }))
    .unwrap()
}

fn ingress(name: &str, created: &str, spec: Value) -> Ingress {
    serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": name, "creationTimestamp": created},
        "spec": spec
    }))
    .unwrap()
}

fn path(kind: &str, p: &str, svc: &str, port: Value) -> Value {
    json!({"path": p, "pathType": kind, "backend": {"service": {"name": svc, "port": port}}})
}

struct World {
    services: Vec<Service>,
    nodes: Vec<Node>,
    secrets: Vec<Secret>,
    enis: EniMap,
    filter: NodeFilter,
}

fn world() -> World {
    World {
        services: vec![service("web", Some(30080)), service("api", Some(30081)), service("internal", None)],
        nodes: vec![node("n1", "i-bp1n1"), node("n2", "i-bp1n2")],
        secrets: vec![
            secret("www-tls", sample_certificate("www.example.com").unwrap(), "kubernetes.io/tls"),
            secret("api-tls", sample_certificate("api.example.com").unwrap(), "kubernetes.io/tls"),
            secret("opaque", sample_certificate("shop.example.com").unwrap(), "Opaque"),
        ],
        enis: EniMap::default(),
        filter: NodeFilter::default(),
    }
}

fn run(w: &World, ingresses: &[Ingress]) -> Translated {
    let cluster = Cluster {
        services: &w.services,
        slices: &[],
        nodes: &w.nodes,
        secrets: &w.secrets,
        enis: &w.enis,
        filter: &w.filter,
    };
    translate(IngressOwner::new("c-1", "ack-net"), "lb-bp1test".parse().unwrap(), ingresses, cluster)
}

fn urls(t: &Translated) -> Vec<(Option<String>, Option<String>, String)> {
    t.spec.routes.iter().map(|r| (r.host.clone(), r.url.clone(), r.service.name.clone())).collect()
}

#[test]
fn paths_never_route_more_than_asked() {
    let w = world();
    let ing = ingress(
        "shop",
        "2024-01-01T00:00:00Z",
        json!({"rules": [{"host": "www.example.com", "http": {"paths": [
            path("Prefix", "/", "web", json!({"number": 80})),
            path("Prefix", "/api/", "api", json!({"name": "http"})),
            path("Exact", "/login", "web", json!({"number": 80})),
            path("ImplementationSpecific", "/static", "web", json!({"number": 80})),
        ]}}]}),
    );
    let t = run(&w, &[ing]);
    assert!(t.served.contains("shop/shop"));
    assert_eq!(
        urls(&t),
        [
            (Some("www.example.com".into()), Some("/".into()), "web".into()),
            (Some("www.example.com".into()), Some("/api/".into()), "api".into()),
            (Some("www.example.com".into()), Some("/static".into()), "web".into()),
        ]
    );
    let p = &t.problems["shop/shop"];
    assert!(p.iter().any(|p| matches!(p, Problem::Narrowed(m) if m.contains("/api/"))), "{p:?}");
    assert!(p.iter().any(|p| matches!(p, Problem::Unsupported(m) if m.contains("/login"))), "{p:?}");
    assert!(!p.iter().any(Problem::is_error));
    // Each node serves the Service on its node port.
    let web = &t.spec.backends[&ServiceRef::new("shop", "web", "80")];
    assert_eq!(
        web.iter().map(|b| (b.server_id.as_str(), b.port)).collect::<Vec<_>>(),
        [("i-bp1n1", 30080), ("i-bp1n2", 30080)]
    );
    t.spec.validate().expect("a valid spec");
}

#[test]
fn a_bad_ingress_is_left_out_and_the_others_keep_working() {
    let w = world();
    let good = ingress(
        "good",
        "2024-01-01T00:00:00Z",
        json!({"rules": [{"host": "www.example.com", "http": {"paths": [path("Prefix", "/", "web", json!({"number": 80}))]}}],
               "tls": [{"hosts": ["www.example.com"], "secretName": "www-tls"}],
               "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}),
    );
    let bad = |name: &str, spec: Value| ingress(name, "2024-01-02T00:00:00Z", spec);
    let rule = |host: &str, p: Value| json!({"rules": [{"host": host, "http": {"paths": [p]}}]});
    let bads = [
        bad("badhost", rule("bad_host.example.com", path("Prefix", "/", "web", json!({"number": 80})))),
        bad("badpath", rule("a.example.com", path("ImplementationSpecific", "/a b", "web", json!({"number": 80})))),
        bad("noservice", rule("a.example.com", path("Prefix", "/", "gone", json!({"number": 80})))),
        bad("noport", rule("a.example.com", path("Prefix", "/", "web", json!({"number": 81})))),
        bad("nonodeport", rule("a.example.com", path("Prefix", "/", "internal", json!({"number": 80})))),
        bad("conflict", rule("www.example.com", path("Prefix", "/", "api", json!({"number": 80})))),
        bad(
            "notcert",
            json!({"tls": [{"hosts": ["shop.example.com"], "secretName": "opaque"}],
                   "rules": [{"host": "shop.example.com", "http": {"paths": [path("Prefix", "/", "web", json!({"number": 80}))]}}]}),
        ),
    ];
    let mut all = vec![good];
    all.extend(bads.iter().cloned());
    let t = run(&w, &all);
    assert_eq!(t.served.iter().collect::<Vec<_>>(), ["shop/good"]);
    for b in &bads {
        let k = key_of(&b.metadata);
        assert!(t.problems[&k].iter().any(Problem::is_error), "{k}: {:?}", t.problems.get(&k));
    }
    assert!(t.problems["shop/conflict"].iter().any(|p| matches!(p, Problem::Conflict(m) if m.contains("shop/good"))));
    assert_eq!(t.spec.routes.len(), 1);
    assert_eq!(t.spec.certificates.len(), 1);
    assert_eq!(t.spec.default_backend, Some(ServiceRef::new("shop", "web", "80")));
    t.spec.validate().expect("the good Ingress alone is a valid spec");
}

#[test]
fn certificates_merge_by_content_and_the_older_ingress_leads() {
    let w = world();
    let tls_rule = |host: &str, secret: &str| {
        json!({"tls": [{"hosts": [host], "secretName": secret}],
               "rules": [{"host": host, "http": {"paths": [path("Prefix", "/", "web", json!({"number": 80}))]}}],
               "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}})
    };
    let newer = ingress("api", "2024-02-01T00:00:00Z", tls_rule("api.example.com", "api-tls"));
    let older = ingress("www", "2024-01-01T00:00:00Z", tls_rule("www.example.com", "www-tls"));
    let again = ingress("www2", "2024-03-01T00:00:00Z", tls_rule("www.example.com", "www-tls"));
    let t = run(&w, &[newer, older, again]);
    let hosts: Vec<&Vec<String>> = t.spec.certificates.iter().map(|c| &c.hosts).collect();
    assert_eq!(hosts, [&vec!["www.example.com".to_owned()], &vec!["api.example.com".to_owned()]]);
    assert!(t.problems["shop/api"].iter().any(|p| matches!(p, Problem::Ignored(m) if m.contains("shop/www"))));
    assert_eq!(t.served.len(), 3, "the same route twice to the same Service is no conflict");
}

#[test]
fn only_ack_net_classes() {
    let class = |name: &str, controller: &str, default: bool| -> IngressClass {
        serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": {DEFAULT_CLASS_ANNOTATION: default.to_string()}},
            "spec": {"controller": controller}
        }))
        .unwrap()
    };
    let classes = [class("ack-net", INGRESS_CONTROLLER, false), class("nginx", "k8s.io/ingress-nginx", true)];
    let with = |c: Option<&str>| ingress("i", "2024-01-01T00:00:00Z", json!({"ingressClassName": c}));
    assert!(is_ours(&with(Some("ack-net")), &classes));
    assert!(!is_ours(&with(Some("nginx")), &classes));
    assert!(!is_ours(&with(None), &classes), "the default class is nginx's");
    let classes = [class("ack-net", INGRESS_CONTROLLER, true)];
    assert!(is_ours(&with(None), &classes));
}

fn annotated(name: &str, created: &str, annotations: Value) -> Ingress {
    let mut ing = ingress(name, created, json!({}));
    ing.metadata.annotations = serde_json::from_value(annotations).unwrap();
    ing
}

#[test]
fn the_load_balancer_is_made_from_the_oldest_settings_and_bad_ones_are_named() {
    use crate::service::annotations as keys;
    use crate::service::ServiceConfig;
    let owner = IngressOwner::new("c-1", "ack-net");
    let cfg = ServiceConfig::new("c-1").with_vswitch("vsw-bp1default".parse().unwrap());
    let ingresses = [
        // The legacy prefix means the same.
        annotated(
            "b",
            "2026-01-02T00:00:00Z",
            json!({"service.beta.kubernetes.io/alicloud-loadbalancer-address-type": "intranet",
                   keys::SPEC: "slb.s3.small"}),
        ),
        annotated("a", "2026-01-01T00:00:00Z", json!({keys::SPEC: "slb.s2.small", keys::NAME: "edge"})),
        annotated("bad", "2026-01-03T00:00:00Z", json!({keys::BANDWIDTH: "lots"})),
        annotated("classic", "2026-01-04T00:00:00Z", json!({keys::SLB_NETWORK_TYPE: "classic"})),
        annotated("lonely", "2026-01-05T00:00:00Z", json!({keys::VSWITCH_ID: "vsw-bp1mine"})),
    ];
    let lb = ingress_load_balancer(&owner, &ingresses, &cfg).unwrap();
    let attrs = lb.spec.attributes().expect("created");
    assert_eq!(attrs.name.as_deref(), Some("edge"));
    assert_eq!(attrs.vswitch_id.as_ref().map(|v| v.as_str()), Some("vsw-bp1default"), "intranet, cfg's VSwitch");
    assert!(format!("{:?}", attrs.billing).contains("S2Small"), "a's spec, the oldest: {:?}", attrs.billing);
    let keys: Vec<&str> = lb.rejected.iter().map(String::as_str).collect();
    assert_eq!(keys, ["shop/bad", "shop/classic", "shop/lonely"]);
    assert!(lb.problems["shop/b"][0].message().contains("the load balancer's is \"slb.s2.small\", as shop/a"));
    assert!(lb.problems["shop/lonely"][0].message().contains("intranet"), "{:?}", lb.problems["shop/lonely"]);
    assert!(lb.problems["shop/classic"][0].is_error());
    assert_eq!(load_balancer_owner(&owner).service(), "ingress/ack-net");

    assert_eq!(lb.acl, None);

    // `id` reuses a load balancer; what only a new one takes is said to do nothing; the
    // listeners' ACL applies all the same.
    let reuse = [annotated(
        "r",
        "2026-01-01T00:00:00Z",
        json!({keys::ID: "lb-bp1given", keys::SPEC: "slb.s2.small",
               keys::ACL_STATUS: "on", keys::ACL_ID: "acl-bp1office", keys::ACL_TYPE: "black"}),
    )];
    let lb = ingress_load_balancer(&owner, &reuse, &cfg).unwrap();
    assert!(lb.spec.attributes().is_none(), "reused");
    let acl = lb.acl.expect("the ACL");
    assert_eq!((acl.acl_id.as_str(), acl.kind), ("acl-bp1office", ack_net_slb::AclType::Black));
    assert!(matches!(&lb.problems["shop/r"][0], Problem::Annotation(m) if m.contains("is reused")));
}
