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
    assert_eq!(a.billing, Billing::PayBySpec(InstanceSpec::S1Small));
    assert!(a.delete_protection && a.modification_protection);
    assert_eq!(a.vswitch_id, None);

    let tcp = listener(&t, 80);
    let ProtocolConfig::Tcp(c) = &tcp.protocol else { panic!("{tcp:?}") };
    assert_eq!(c.health_check, TcpHealthCheck::default());
    assert_eq!(tcp.scheduler, Scheduler::Wrr);
    assert_eq!((tcp.backend.as_ref(), tcp.description.as_ref()), (None, None), "left to the binding");
    let udp = listener(&t, 53);
    assert!(matches!(&udp.protocol, ProtocolConfig::Udp(u) if u.health_check == UdpHealthCheck::default()));
    assert_eq!(t.spec.port_spec(80).unwrap().backends, vec![Backend::ecs("i-a", 30080), Backend::ecs("i-b", 30080)]);
    assert_eq!(t.spec.port_spec(53).unwrap().backends, vec![Backend::ecs("i-a", 30053), Backend::ecs("i-b", 30053)]);
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
    let key = format!("{PREFIX}hostname");
    let t = run(&svc(&[(&key, "web.example.com")], tcp80_udp53())).unwrap();
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
