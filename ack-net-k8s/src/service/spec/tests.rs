use std::collections::BTreeMap;

use ack_net_slb::binding::{Billing, LoadBalancerSource};
use ack_net_slb::{
    AclType, Backend, HealthCheckMethod, HttpCodeClass, ListenerSpec, ProtocolConfig, Scheduler, StickySession,
    TcpHealthCheck, TlsCipherPolicy, UdpHealthCheck,
};
use serde_json::json;

use super::*;
use crate::service::annotations::{LEGACY_PREFIX, PREFIX};

const CERT: &str = "1231579085529123_166f8204689_1714763408_709341";

fn svc(annotations: &[(&str, &str)], ports: serde_json::Value) -> Service {
    let ann: BTreeMap<&str, &str> = annotations.iter().copied().collect();
    serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": "web", "uid": "uid-1", "annotations": ann},
        "spec": {"type": "LoadBalancer", "ports": ports}
    }))
    .unwrap()
}

fn tcp80_udp53() -> serde_json::Value {
    json!([
        {"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"},
        {"name": "dns", "port": 53, "nodePort": 30053, "protocol": "UDP"}
    ])
}

fn web_ports() -> serde_json::Value {
    json!([
        {"name": "https", "port": 443, "nodePort": 30443, "protocol": "TCP"},
        {"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"},
        {"name": "admin", "port": 8080, "nodePort": 30088, "protocol": "TCP"}
    ])
}

fn nodes() -> Vec<Node> {
    ["a", "b"]
        .iter()
        .map(|n| {
            serde_json::from_value(json!({
                "metadata": {"name": n},
                "spec": {"providerID": format!("cn-hangzhou.i-{n}")},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]}
            }))
            .unwrap()
        })
        .collect()
}

fn cfg() -> ServiceConfig {
    ServiceConfig::new("c-1")
}

fn run(s: &Service) -> Result<ServiceLoadBalancer, Error> {
    translate(s, &nodes(), &[], &EniMap::new(), &cfg())
}

fn listener(t: &ServiceLoadBalancer, port: u16) -> &ListenerSpec {
    &t.spec.port_spec(port).unwrap_or_else(|| panic!("no port {port}")).listener
}

fn combination(r: Result<ServiceLoadBalancer, Error>) -> String {
    match r {
        Err(Error::AnnotationCombination { annotation, .. }) => annotation,
        other => panic!("expected AnnotationCombination, got {other:?}"),
    }
}

#[test]
fn a_plain_service_gets_the_controller_defaults() {
    let t = run(&svc(&[], tcp80_udp53())).unwrap();
    assert_eq!(t.spec.owner.cluster_id(), "c-1");
    assert_eq!(t.spec.owner.service(), "shop/web");
    assert_eq!(t.spec.owner.uid(), Some("uid-1"));
    assert!(!t.spec.preserve_on_delete);
    let a = t.spec.attributes().unwrap();
    assert_eq!(a.address_type, AddressType::Internet);
    assert_eq!(a.billing, Billing::PayByClcu, "CCM: no billing annotation is pay-by-CLCU without a spec");
    assert_eq!(a.name.as_deref(), Some("auid1"), "CCM's name: a + the uid without dashes");
    assert!(a.delete_protection && a.modification_protection);
    assert_eq!(a.vswitch_id, None);

    let tcp = listener(&t, 80);
    let ProtocolConfig::Tcp(c) = &tcp.protocol else { panic!("{tcp:?}") };
    assert_eq!(c.health_check, TcpHealthCheck::default());
    assert_eq!(tcp.scheduler, Scheduler::Rr, "CCM's default scheduler");
    assert_eq!((tcp.backend.as_ref(), tcp.description.as_ref()), (None, None), "left to the binding");
    let udp = listener(&t, 53);
    assert!(matches!(&udp.protocol, ProtocolConfig::Udp(u) if u.health_check == UdpHealthCheck::default()));
    assert_eq!(
        t.spec.port_spec(80).unwrap().backends,
        vec![Backend::ecs(&"i-a".parse().unwrap(), 30080), Backend::ecs(&"i-b".parse().unwrap(), 30080)]
    );
    assert_eq!(
        t.spec.port_spec(53).unwrap().backends,
        vec![Backend::ecs(&"i-a".parse().unwrap(), 30053), Backend::ecs(&"i-b".parse().unwrap(), 30053)]
    );
    assert!(t.notes.is_empty());
    assert_eq!(service_spec(&svc(&[], tcp80_udp53()), &nodes(), &[], &EniMap::new(), &cfg()).unwrap(), t.spec);
}

#[test]
fn load_balancer_attributes_from_annotations() {
    let s = svc(
        &[
            (keys::ADDRESS_TYPE, "intranet"),
            (keys::VSWITCH_ID, "vsw-bp1x"),
            (keys::IP, "192.168.0.9"),
            (keys::SPEC, "slb.s2.medium"),
            (keys::MASTER_ZONE_ID, "cn-hangzhou-k"),
            (keys::SLAVE_ZONE_ID, "cn-hangzhou-j"),
            (keys::RESOURCE_GROUP_ID, "rg-1"),
            (keys::DELETE_PROTECTION, "off"),
            (keys::MODIFICATION_PROTECTION, "NonProtection"),
            (keys::ADDITIONAL_RESOURCE_TAGS, "team=web"),
            (keys::NAME, "web-lb"),
            (keys::IP_VERSION, "ipv4"),
            (keys::PRESERVE_LB_ON_DELETE, "true"),
        ],
        tcp80_udp53(),
    );
    let t = run(&s).unwrap();
    assert!(t.spec.preserve_on_delete);
    let a = t.spec.attributes().unwrap();
    assert_eq!(a.address_type, AddressType::Intranet);
    assert_eq!(a.vswitch_id.as_ref().map(|v| v.as_str()), Some("vsw-bp1x"));
    assert_eq!(a.address, Some([192, 168, 0, 9].into()));
    assert_eq!(a.billing, Billing::PayBySpec(InstanceSpec::S2Medium));
    assert_eq!(a.master_zone_id.as_ref().map(|z| z.as_str()), Some("cn-hangzhou-k"));
    assert_eq!(a.slave_zone_id.as_ref().map(|z| z.as_str()), Some("cn-hangzhou-j"));
    assert_eq!(a.resource_group_id.as_deref(), Some("rg-1"));
    assert!(!a.delete_protection && !a.modification_protection);
    assert_eq!(a.tags, vec![ack_net_slb::Tag::new("team", "web")]);
    assert_eq!(a.name.as_deref(), Some("web-lb"));

    let internet = svc(
        &[(keys::INSTANCE_CHARGE_TYPE, "PayByCLCU"), (keys::CHARGE_TYPE, "paybybandwidth"), (keys::BANDWIDTH, "20")],
        tcp80_udp53(),
    );
    let t = run(&internet).unwrap();
    let a = t.spec.attributes().unwrap();
    assert_eq!(a.billing, Billing::PayByClcu);
    assert_eq!(a.internet_charge_type, Some(ack_net_slb::InternetChargeType::PayByBandwidth));
    assert_eq!(a.bandwidth, Some(20));
}

#[test]
fn intranet_needs_a_vswitch_and_internet_refuses_one() {
    let intranet = svc(&[(keys::ADDRESS_TYPE, "intranet")], tcp80_udp53());
    assert_eq!(combination(run(&intranet)), keys::VSWITCH_ID);
    let with_default = cfg().with_vswitch("vsw-default".parse().unwrap());
    let t = translate(&intranet, &nodes(), &[], &EniMap::new(), &with_default).unwrap();
    assert_eq!(t.spec.attributes().unwrap().vswitch_id.as_ref().map(|v| v.as_str()), Some("vsw-default"));

    assert_eq!(combination(run(&svc(&[(keys::VSWITCH_ID, "vsw-a")], tcp80_udp53()))), keys::VSWITCH_ID);
    assert_eq!(combination(run(&svc(&[(keys::IP, "10.0.0.1")], tcp80_udp53()))), keys::IP);
    let intranet_bw =
        svc(&[(keys::ADDRESS_TYPE, "intranet"), (keys::VSWITCH_ID, "vsw-a"), (keys::BANDWIDTH, "5")], tcp80_udp53());
    assert_eq!(combination(run(&intranet_bw)), keys::BANDWIDTH);
}

#[test]
fn reusing_a_load_balancer() {
    let s = svc(
        &[(keys::ID, "lb-bp1x"), (keys::SPEC, "slb.s2.small"), (keys::FORCE_OVERRIDE_LISTENERS, "false")],
        tcp80_udp53(),
    );
    let t = run(&s).unwrap();
    assert_eq!(t.spec.load_balancer, LoadBalancerSource::Reuse("lb-bp1x".parse().unwrap()));
    assert_eq!(t.notes.len(), 1);
    assert!(t.notes[0].starts_with(keys::SPEC), "{:?}", t.notes);

    // Taking over listeners is refused, naming the annotation as written.
    let legacy = format!("{LEGACY_PREFIX}force-override-listeners");
    let s = svc(&[(keys::ID, "lb-bp1x"), (&legacy, "true")], tcp80_udp53());
    match run(&s).unwrap_err() {
        Error::UnsupportedAnnotation { annotation, value, .. } => {
            assert_eq!((annotation, value.as_str()), (legacy, "true"))
        }
        e => panic!("{e:?}"),
    }
    let s = svc(&[(keys::ID, "lb-bp1x"), (keys::VGROUP_PORT, "rsp-a:80")], tcp80_udp53());
    assert!(
        matches!(run(&s).unwrap_err(), Error::UnsupportedAnnotation { annotation, .. } if annotation == keys::VGROUP_PORT)
    );
    // Without an id the override has no effect, and says so.
    let t = run(&svc(&[(keys::FORCE_OVERRIDE_LISTENERS, "true")], tcp80_udp53())).unwrap();
    assert!(t.notes[0].contains("no effect"));
}

#[test]
fn https_http_redirect_and_layer7_settings() {
    let s = svc(
        &[
            (keys::PROTOCOL_PORT, "https:443,http:80,http:8080"),
            (keys::CERT_ID, CERT),
            (keys::FORWARD_PORT, "80:443"),
            (keys::HEALTH_CHECK_FLAG, "on"),
            (keys::HEALTH_CHECK_URI, "/healthz"),
            (keys::HEALTH_CHECK_METHOD, "get"),
            (keys::HEALTH_CHECK_TIMEOUT, "9"),
            (keys::HEALTH_CHECK_CONNECT_TIMEOUT, "3"),
            (keys::HEALTH_CHECK_HTTPCODE, "http_2xx,http_3xx"),
            (keys::HEALTH_CHECK_DOMAIN, "example.com"),
            (keys::HEALTH_CHECK_INTERVAL, "4"),
            (keys::STICKY_SESSION, "on"),
            (keys::STICKY_SESSION_TYPE, "insert"),
            (keys::COOKIE_TIMEOUT, "600"),
            (keys::IDLE_TIMEOUT, "30"),
            (keys::REQUEST_TIMEOUT, "90"),
            (keys::HTTP2_ENABLED, "off"),
            (keys::TLS_CIPHER_POLICY, "tls_cipher_policy_1_2"),
            (keys::XFORWARDEDFOR_PROTO, "on"),
            (keys::SCHEDULER, "wlc"),
        ],
        web_ports(),
    );
    let t = run(&s).unwrap();
    let https = listener(&t, 443);
    let ProtocolConfig::Https(h) = &https.protocol else { panic!("{https:?}") };
    assert_eq!(h.server_certificate_id.as_ref().map(|c| c.as_str()), Some(CERT));
    assert!(!h.http2);
    assert_eq!(h.tls_cipher_policy, TlsCipherPolicy::Tls12);
    assert_eq!(h.l7.sticky_session, StickySession::Insert { cookie_timeout: 600 });
    assert_eq!((h.l7.idle_timeout, h.l7.request_timeout), (30, 90));
    assert!(h.l7.x_forwarded_for.proto && h.l7.x_forwarded_for.client_ip);
    let check = h.l7.health_check.as_ref().unwrap();
    assert_eq!((check.uri.as_str(), check.domain.as_deref()), ("/healthz", Some("example.com")));
    assert_eq!(check.method, HealthCheckMethod::Get);
    assert_eq!((check.timing.timeout, check.timing.interval), (9, 4), "HTTP checks use health-check-timeout");
    assert_eq!(check.http_codes.len(), 2);
    assert!(check.http_codes.contains(&HttpCodeClass::Http3xx));
    assert_eq!(https.scheduler, Scheduler::Wlc);
    assert_eq!(t.spec.port_spec(443).unwrap().backends.len(), 2);

    // The redirect has no backends; the other HTTP port is a normal one.
    let redirect = t.spec.port_spec(80).unwrap();
    assert_eq!(redirect.redirects_to(), Some(443));
    assert!(redirect.backends.is_empty());
    let admin = listener(&t, 8080);
    assert!(
        matches!(&admin.protocol, ProtocolConfig::Http(h) if h.forward_to_https_port.is_none() && h.l7.health_check.is_some())
    );
}

#[test]
fn http_health_checks_are_off_unless_flagged() {
    let t = run(&svc(&[(keys::PROTOCOL_PORT, "http:80")], tcp80_udp53())).unwrap();
    assert!(matches!(&listener(&t, 80).protocol, ProtocolConfig::Http(h) if h.l7.health_check.is_none()));
}

#[test]
fn tcp_and_udp_settings() {
    let s = svc(
        &[
            (keys::HEALTH_CHECK_TYPE, "http"),
            (keys::HEALTH_CHECK_URI, "/ping"),
            (keys::HEALTH_CHECK_CONNECT_TIMEOUT, "7"),
            (keys::HEALTH_CHECK_CONNECT_PORT, "10254"),
            (keys::HEALTHY_THRESHOLD, "4"),
            (keys::UNHEALTHY_THRESHOLD, "5"),
            (keys::PERSISTENCE_TIMEOUT, "1800"),
            (keys::ESTABLISHED_TIMEOUT, "60"),
            (keys::CONNECTION_DRAIN, "on"),
            (keys::CONNECTION_DRAIN_TIMEOUT, "30"),
            (keys::PROXY_PROTOCOL, "on"),
            (keys::ACL_STATUS, "on"),
            (keys::ACL_ID, "acl-bp1x"),
            (keys::ACL_TYPE, "white"),
        ],
        tcp80_udp53(),
    );
    let t = run(&s).unwrap();
    let tcp = listener(&t, 80);
    let ProtocolConfig::Tcp(c) = &tcp.protocol else { panic!("{tcp:?}") };
    let TcpHealthCheck::Http(h) = &c.health_check else { panic!("{:?}", c.health_check) };
    assert_eq!((h.uri.as_str(), h.connect_port, h.method.clone()), ("/ping", Some(10254), HealthCheckMethod::Head));
    assert_eq!((h.timing.timeout, h.timing.healthy_threshold, h.timing.unhealthy_threshold), (7, 4, 5));
    assert_eq!((c.persistence_timeout, c.established_timeout, c.connection_drain), (1800, 60, Some(30)));
    assert!(c.proxy_protocol_v2);
    let acl = tcp.acl.as_ref().unwrap();
    assert_eq!((acl.acl_id.as_str(), acl.kind.clone()), ("acl-bp1x", AclType::White));
    let udp = listener(&t, 53);
    let ProtocolConfig::Udp(u) = &udp.protocol else { panic!("{udp:?}") };
    assert!(u.proxy_protocol_v2);
    assert!(
        matches!(&u.health_check, UdpHealthCheck::On { connect_port: Some(10254), timing, .. } if timing.timeout == 7)
    );
    assert!(udp.acl.is_some());
    assert_eq!(t.notes.len(), 1, "connection drain cannot apply to UDP: {:?}", t.notes);

    let off = run(&svc(&[(keys::HEALTH_CHECK_SWITCH, "off")], tcp80_udp53())).unwrap();
    assert!(matches!(&listener(&off, 80).protocol, ProtocolConfig::Tcp(c) if c.health_check == TcpHealthCheck::Off));
    assert!(matches!(&listener(&off, 53).protocol, ProtocolConfig::Udp(u) if u.health_check == UdpHealthCheck::Off));
}

#[test]
fn ports_and_protocols_that_do_not_fit() {
    assert_eq!(combination(run(&svc(&[(keys::PROTOCOL_PORT, "udp:80")], tcp80_udp53()))), keys::PROTOCOL_PORT);
    assert_eq!(combination(run(&svc(&[(keys::PROTOCOL_PORT, "http:53")], tcp80_udp53()))), keys::PROTOCOL_PORT);
    assert_eq!(combination(run(&svc(&[(keys::PROTOCOL_PORT, "http:81")], tcp80_udp53()))), keys::PROTOCOL_PORT);
    let fwd = svc(
        &[(keys::PROTOCOL_PORT, "https:443,http:80"), (keys::CERT_ID, CERT), (keys::FORWARD_PORT, "81:443")],
        web_ports(),
    );
    assert_eq!(combination(run(&fwd)), keys::FORWARD_PORT);

    let sctp = svc(&[], json!([{"port": 80, "nodePort": 30080, "protocol": "SCTP"}]));
    assert!(matches!(run(&sctp).unwrap_err(), Error::InvalidService { reason, .. } if reason.contains("SCTP")));
    let both = svc(
        &[],
        json!([{"name": "t", "port": 80, "nodePort": 30080, "protocol": "TCP"}, {"name": "u", "port": 80, "nodePort": 30081, "protocol": "UDP"}]),
    );
    assert!(matches!(run(&both).unwrap_err(), Error::InvalidService { reason, .. } if reason.contains("twice")));
    let mut unnamed = svc(&[], tcp80_udp53());
    unnamed.metadata.name = None;
    assert!(matches!(run(&unnamed).unwrap_err(), Error::InvalidService { .. }));
}

#[test]
fn invalid_annotations_and_binding_limits_are_typed_errors() {
    let bad = svc(&[(keys::SCHEDULER, "fastest")], tcp80_udp53());
    let e = run(&bad).unwrap_err();
    assert!(e.is_invalid_input());
    assert_eq!(e.annotation(), Some(keys::SCHEDULER));
    // 19 tags and the binding's own 2 are more than a load balancer holds.
    let tags: Vec<String> = (0..19).map(|i| format!("k{i}=v")).collect();
    let many = svc(&[(keys::ADDITIONAL_RESOURCE_TAGS, &tags.join(","))], tcp80_udp53());
    let e = run(&many).unwrap_err();
    assert!(matches!(e, Error::Spec(_)), "{e:?}");
    assert!(e.is_invalid_input());
}

#[test]
fn unrecognized_annotations_become_notes() {
    let key = format!("{PREFIX}cps");
    let t = run(&svc(&[(&key, "100")], tcp80_udp53())).unwrap();
    assert_eq!(t.notes, vec![format!("{key}: not an annotation this controller reads")]);
}

#[test]
fn which_services_are_served() {
    let mut s = svc(&[], tcp80_udp53());
    assert!(cfg().wants(&s));
    assert!(!cfg().with_load_balancer_class("example.com/lb").wants(&s));
    s.spec.as_mut().unwrap().load_balancer_class = Some("example.com/lb".into());
    assert!(!cfg().wants(&s));
    assert!(cfg().with_load_balancer_class("example.com/lb").wants(&s));
    s.spec.as_mut().unwrap().type_ = Some("NodePort".into());
    assert!(!cfg().with_load_balancer_class("example.com/lb").wants(&s));
}

/// What a row of the README's CCM table promises for an annotation.
enum Parity {
    /// Supported: the spec or the backends differ from the same Service without it.
    Changes,
    /// Supported, with an effect outside the spec (status, parsing): this holds.
    Holds(fn(&ServiceLoadBalancer) -> bool),
    /// Refused with an error naming it (ack-net does not do what it asks).
    Refused,
    /// Not read: reported in the notes.
    Noted,
}

/// One row per annotation of the README's CCM table: its name after the prefix, a value,
/// the annotations it needs beside it (among them, for a value that needs a baseline, the
/// same annotation with another value, which the row's value then overrides), and what
/// ack-net does with it.
type ParityRow = (&'static str, &'static str, Vec<(&'static str, &'static str)>, Parity);

fn parity_rows() -> Vec<ParityRow> {
    use Parity::*;
    let https = vec![("protocol-port", "https:443"), ("cert-id", CERT)];
    let http = vec![("protocol-port", "http:80")];
    let intranet = vec![("address-type", "intranet"), ("vswitch-id", "vsw-bp1x")];
    let http_check = vec![("protocol-port", "http:80"), ("health-check-flag", "on")];
    vec![
        ("address-type", "intranet", vec![], Changes),
        ("id", "lb-bp1reused", vec![], Changes),
        ("force-override-listeners", "true", vec![("id", "lb-bp1reused")], Refused),
        ("spec", "slb.s2.medium", vec![], Changes),
        ("instance-charge-type", "PayBySpec", vec![], Changes),
        ("charge-type", "paybybandwidth", vec![], Changes),
        ("bandwidth", "20", vec![("charge-type", "paybybandwidth")], Changes),
        ("vswitch-id", "vsw-bp1y", vec![("address-type", "intranet")], Changes),
        ("ip", "192.168.0.9", intranet.clone(), Changes),
        ("ip-version", "ipv6", vec![], Changes),
        ("master-zoneid", "cn-hangzhou-k", vec![], Changes),
        ("slave-zoneid", "cn-hangzhou-j", vec![("master-zoneid", "cn-hangzhou-k")], Changes),
        ("resource-group-id", "rg-1", vec![], Changes),
        ("delete-protection", "off", vec![], Changes),
        ("modification-protection", "NonProtection", vec![], Changes),
        ("additional-resource-tags", "team=web", vec![], Changes),
        ("name", "web-lb", vec![], Changes),
        ("preserve-lb-on-delete", "true", vec![], Changes),
        (
            "hostname",
            "web.example.com",
            vec![],
            Holds(|t| t.annotations.load_balancer.hostname.as_deref() == Some("web.example.com")),
        ),
        ("slb-network-type", "classic", intranet.clone(), Refused),
        ("protocol-port", "http:80", vec![], Changes),
        ("cert-id", "1231579085529123_166f8204689_1714763408_709342", https.clone(), Changes),
        ("forward-port", "80:443", vec![("protocol-port", "https:443,http:80"), ("cert-id", CERT)], Changes),
        ("scheduler", "wlc", vec![], Changes),
        ("persistence-timeout", "1800", vec![], Changes),
        ("established-timeout", "60", vec![], Changes),
        ("connection-drain", "on", vec![("connection-drain-timeout", "30")], Changes),
        (
            "connection-drain-timeout",
            "60",
            vec![("connection-drain", "on"), ("connection-drain-timeout", "30")],
            Changes,
        ),
        ("proxy-protocol", "on", vec![], Changes),
        ("acl-status", "on", vec![("acl-id", "acl-bp1x"), ("acl-type", "white")], Changes),
        ("acl-id", "acl-bp1y", vec![("acl-status", "on"), ("acl-type", "white"), ("acl-id", "acl-bp1x")], Changes),
        ("acl-type", "black", vec![("acl-status", "on"), ("acl-id", "acl-bp1x"), ("acl-type", "white")], Changes),
        ("idle-timeout", "30", http.clone(), Changes),
        ("request-timeout", "90", http.clone(), Changes),
        ("http2-enabled", "off", https.clone(), Changes),
        ("tls-cipher-policy", "tls_cipher_policy_1_2", https.clone(), Changes),
        (
            "sticky-session",
            "on",
            vec![("protocol-port", "http:80"), ("sticky-session-type", "insert"), ("cookie-timeout", "60")],
            Changes,
        ),
        (
            "sticky-session-type",
            "server",
            vec![
                ("protocol-port", "http:80"),
                ("sticky-session", "on"),
                ("sticky-session-type", "insert"),
                ("cookie-timeout", "60"),
                ("cookie", "sid"),
            ],
            Changes,
        ),
        (
            "cookie-timeout",
            "120",
            vec![
                ("protocol-port", "http:80"),
                ("sticky-session", "on"),
                ("sticky-session-type", "insert"),
                ("cookie-timeout", "60"),
            ],
            Changes,
        ),
        (
            "cookie",
            "other",
            vec![
                ("protocol-port", "http:80"),
                ("sticky-session", "on"),
                ("sticky-session-type", "server"),
                ("cookie", "sid"),
            ],
            Changes,
        ),
        ("xforwardedfor-proto", "on", http.clone(), Changes),
        ("xforwardedfor-slbport", "on", http.clone(), Changes),
        ("xforwardedfor-clientsrcport", "on", http.clone(), Changes),
        ("health-check-switch", "off", vec![], Changes),
        ("health-check-flag", "on", http.clone(), Changes),
        ("health-check-type", "http", vec![], Changes),
        ("health-check-connect-port", "8081", vec![], Changes),
        ("health-check-connect-timeout", "8", vec![], Changes),
        ("health-check-timeout", "9", http_check.clone(), Changes),
        ("healthy-threshold", "5", vec![], Changes),
        ("unhealthy-threshold", "5", vec![], Changes),
        ("health-check-interval", "7", vec![], Changes),
        ("health-check-uri", "/healthz", http_check.clone(), Changes),
        ("health-check-domain", "web.example.com", http_check.clone(), Changes),
        ("health-check-httpcode", "http_2xx,http_4xx", http_check.clone(), Changes),
        ("health-check-method", "get", http_check, Changes),
        ("vgroup-port", "rsp-bp1x:80", vec![("id", "lb-bp1reused")], Refused),
        ("weight", "60", vec![], Changes),
        ("backend-label", "pool=web", vec![], Changes),
        ("remove-unscheduled-backend", "on", vec![], Changes),
        ("ignore-weight-update", "on", vec![], Changes),
        (
            "backend-ip-version",
            "ipv6",
            vec![("ip-version", "ipv6")],
            Holds(|t| t.annotations.backend.ip_version == Some(ack_net_slb::AddressIpVersion::Ipv6)),
        ),
        // Named in the issue; not in the CCM source read for the table (see the README).
        ("default-weight", "50", vec![], Noted),
        ("domain-extensions", "a.example.com:1_x", vec![], Noted),
        // NLB annotations CCM reads for network load balancers only.
        ("zone-maps", "cn-hangzhou-k:vsw-a", vec![], Noted),
        ("external-ip-type", "eip", vec![], Noted),
    ]
}

fn parity_nodes() -> Vec<Node> {
    let mut n = nodes();
    let mut cordoned = n[1].clone();
    cordoned.metadata.name = Some("c".into());
    cordoned.metadata.labels = Some([("pool".to_owned(), "web".to_owned())].into());
    cordoned.spec.as_mut().unwrap().provider_id = Some("cn-hangzhou.i-c".into());
    cordoned.spec.as_mut().unwrap().unschedulable = Some(true);
    n.push(cordoned);
    n
}

#[test]
fn every_annotation_of_the_ccm_table_does_what_the_table_says() {
    let rows = parity_rows();
    for k in keys::KNOWN {
        assert!(rows.iter().any(|r| r.0 == *k), "{k} is read but has no row in the CCM table");
    }
    let with = |pairs: &[(&str, &str)]| -> Service {
        let full: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (format!("{PREFIX}{k}"), (*v).to_owned())).collect();
        let refs: Vec<(&str, &str)> = full.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        svc(
            &refs,
            json!([{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"},
                          {"name": "https", "port": 443, "nodePort": 30443, "protocol": "TCP"}]),
        )
    };
    let cfg = cfg().with_vswitch("vsw-bp1x".parse().unwrap());
    let go = |s: &Service| translate(s, &parity_nodes(), &[], &EniMap::new(), &cfg);
    for (suffix, value, companions, expect) in rows {
        let base = go(&with(&companions));
        let mut all = companions.clone();
        all.push((suffix, value));
        let got = go(&with(&all));
        match expect {
            Parity::Changes => {
                let (b, g) = (
                    base.unwrap_or_else(|e| panic!("{suffix} base: {e}")),
                    got.unwrap_or_else(|e| panic!("{suffix}: {e}")),
                );
                assert!(b.spec != g.spec || b.backends != g.backends, "{suffix}={value} changed nothing");
                assert!(g.notes.iter().all(|n| !n.contains(suffix)), "{suffix}: {:?}", g.notes);
            }
            Parity::Holds(check) => assert!(check(&got.unwrap_or_else(|e| panic!("{suffix}: {e}"))), "{suffix}"),
            Parity::Refused => match got {
                Err(Error::UnsupportedAnnotation { annotation, .. }) => assert!(annotation.ends_with(suffix)),
                other => panic!("{suffix}: expected a refusal, got {other:?}"),
            },
            Parity::Noted => {
                let g = got.unwrap_or_else(|e| panic!("{suffix}: {e}"));
                assert!(
                    g.notes.iter().any(|n| n.contains(suffix) && n.contains("not an annotation")),
                    "{suffix}: {:?}",
                    g.notes
                );
            }
        }
    }
}

#[test]
fn like_ccm_drops_terminating_endpoints_and_ignores_weight() {
    let s: Service = serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": "web", "uid": "u", "annotations": {
            keys::BACKEND_TYPE: "eni", keys::WEIGHT: "60"}},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}
    }))
    .unwrap();
    let slice: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [
            {"addresses": ["10.0.0.1"], "conditions": {"ready": true}},
            {"addresses": ["10.0.0.2"], "conditions": {"ready": true}},
            {"addresses": ["10.0.0.3"], "conditions": {"ready": false, "terminating": true}}
        ]
    }))
    .unwrap();
    let enis: EniMap = (1..=3).map(|i| (format!("10.0.0.{i}").parse().unwrap(), "eni-a".parse().unwrap())).collect();
    let ours = translate(&s, &[], std::slice::from_ref(&slice), &enis, &cfg()).unwrap();
    let weights: Vec<u8> = ours.spec.port_spec(80).unwrap().backends.iter().map(|b| b.weight).collect();
    assert_eq!(weights, vec![30, 30, 0], "the terminating pod drains at weight 0; 60 is shared");
    let ccm = translate(&s, &[], &[slice], &enis, &cfg().like_ccm()).unwrap();
    let weights: Vec<u8> = ccm.spec.port_spec(80).unwrap().backends.iter().map(|b| b.weight).collect();
    assert_eq!(weights, vec![100, 100], "CCM: gone at once, weight only with id and vgroup-port");
    assert!(ccm.notes.iter().any(|n| n.contains(keys::WEIGHT)));
}

#[test]
fn the_class_annotation_hands_the_service_to_another_controller() {
    let mut s = svc(&[], tcp80_udp53());
    assert!(cfg().wants(&s));
    s.metadata.annotations.get_or_insert_with(Default::default).insert(keys::CLASS_ANNOTATION.into(), "nlb".into());
    assert!(!cfg().wants(&s));
    assert!(cfg().with_load_balancer_class("nlb").wants(&s));
}

#[test]
fn listeners_get_ccms_defaults_protocol_by_protocol() {
    let s = svc(
        &[(keys::PROTOCOL_PORT, "https:443,http:80"), (keys::CERT_ID, CERT)],
        json!([{"name": "https", "port": 443, "nodePort": 30443, "protocol": "TCP"},
               {"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP"},
               {"name": "raw", "port": 8080, "nodePort": 30088, "protocol": "TCP"},
               {"name": "dns", "port": 53, "nodePort": 30053, "protocol": "UDP"}]),
    );
    let t = run(&s).unwrap();
    for port in [443, 80, 8080, 53] {
        let l = listener(&t, port);
        assert_eq!((l.scheduler.clone(), l.bandwidth), (Scheduler::Rr, -1), "port {port}: CCM's rr, no cap");
        assert_eq!(l.acl, None, "port {port}");
    }
    let ProtocolConfig::Tcp(tcp) = &listener(&t, 8080).protocol else { panic!() };
    assert_eq!(*tcp, ack_net_slb::TcpConfig::default(), "the cloud's TCP defaults, health check over TCP");
    let ProtocolConfig::Udp(udp) = &listener(&t, 53).protocol else { panic!() };
    assert_eq!(udp.health_check, UdpHealthCheck::default());
    assert!(!udp.proxy_protocol_v2);
    let ProtocolConfig::Http(http) = &listener(&t, 80).protocol else { panic!() };
    let ProtocolConfig::Https(https) = &listener(&t, 443).protocol else { panic!() };
    for l7 in [&http.l7, &https.l7] {
        assert_eq!((l7.health_check.as_ref(), &l7.sticky_session), (None, &StickySession::Off), "CCM: both off");
        assert_eq!((l7.idle_timeout, l7.request_timeout, l7.gzip), (15, 60, true));
    }
    assert!(https.http2);
    assert_eq!(https.tls_cipher_policy, TlsCipherPolicy::Tls10);
}
