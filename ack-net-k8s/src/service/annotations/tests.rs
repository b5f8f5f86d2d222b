use super::*;

const CERT: &str = "1231579085529123_166f8204689_1714763408_709341";

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn key(suffix: &str) -> String {
    format!("{PREFIX}{suffix}")
}

type Check = fn(&ServiceAnnotations) -> bool;

/// One annotation: a valid value and what it parses to, an invalid value, and companions
/// the valid value needs.
struct Case {
    suffix: &'static str,
    good: &'static str,
    check: Check,
    bad: &'static [&'static str],
    companions: &'static [(&'static str, &'static str)],
}

const fn case(suffix: &'static str, good: &'static str, check: Check, bad: &'static [&'static str]) -> Case {
    Case { suffix, good, check, bad, companions: &[] }
}

fn cases() -> Vec<Case> {
    use ack_net_slb::InstanceSpec as S;
    vec![
        case(
            "address-type",
            "intranet",
            |a| a.load_balancer.address_type == Some(AddressType::Intranet),
            &["vpc", "public"],
        ),
        case(
            "id",
            "lb-bp1abc",
            |a| a.load_balancer.id.as_ref().map(|i| i.as_str()) == Some("lb-bp1abc"),
            &["rsp-bp1abc", "lb-"],
        ),
        case(
            "force-override-listeners",
            "true",
            |a| a.load_balancer.force_override_listeners == Some(true),
            &["yes", "1"],
        ),
        case("spec", "slb.s3.large", |a| a.load_balancer.spec == Some(S::S3Large), &["slb.s9.huge", "large"]),
        case(
            "instance-charge-type",
            "PayByCLCU",
            |a| a.load_balancer.instance_charge_type == Some(InstanceChargeType::PayByClcu),
            &["PayByHour"],
        ),
        case(
            "charge-type",
            "paybybandwidth",
            |a| a.load_balancer.charge_type == Some(InternetChargeType::PayByBandwidth),
            &["free"],
        ),
        case("bandwidth", "50", |a| a.load_balancer.bandwidth == Some(50), &["0", "5121", "fast", "-1"]),
        case("vswitch-id", "vsw-bp1abc", |a| a.load_balancer.vswitch_id.is_some(), &["vpc-bp1abc", "bp1abc"]),
        case("ip", "192.168.0.10", |a| a.load_balancer.ip == Some([192, 168, 0, 10].into()), &["192.168.0", "host"]),
        case("ip-version", "ipv6", |a| a.load_balancer.ip_version == Some(AddressIpVersion::Ipv6), &["ipv5"]),
        case(
            "master-zoneid",
            "cn-hangzhou-k",
            |a| a.load_balancer.master_zone_id.as_ref().map(|z| z.as_str()) == Some("cn-hangzhou-k"),
            &["Hangzhou K", "cn hangzhou"],
        ),
        case("slave-zoneid", "cn-hangzhou-j", |a| a.load_balancer.slave_zone_id.is_some(), &["zone j"]),
        case(
            "resource-group-id",
            "rg-acfm2",
            |a| a.load_balancer.resource_group_id.as_deref() == Some("rg-acfm2"),
            &["acfm2", "rg-a b"],
        ),
        case("delete-protection", "off", |a| a.load_balancer.delete_protection == Some(false), &["disabled"]),
        case(
            "modification-protection",
            "NonProtection",
            |a| a.load_balancer.modification_protection == Some(false),
            &["on", "Console"],
        ),
        case(
            "additional-resource-tags",
            "team=web, cost=a,flag",
            |a| {
                a.load_balancer.additional_tags
                    == vec![Tag::new("team", "web"), Tag::new("cost", "a"), Tag::new("flag", "")]
            },
            &["=v", "a=1,a=2", "a=1,,b=2", "aliyun:x=1", "k=acs:y"],
        ),
        case("name", "web-lb", |a| a.load_balancer.name.as_deref() == Some("web-lb"), &["line\nbreak"]),
        case("preserve-lb-on-delete", "true", |a| a.load_balancer.preserve_on_delete, &["keep", "yes"]),
        case(
            "protocol-port",
            "http:80, TCP:81,udp:53",
            |a| {
                a.listener.protocol_port
                    == BTreeMap::from([
                        (80, ListenerProtocol::Http),
                        (81, ListenerProtocol::Tcp),
                        (53, ListenerProtocol::Udp),
                    ])
            },
            &["http80", "quic:443", "http:0", "http:80,tcp:80", "https:70000"],
        ),
        Case {
            companions: &[("protocol-port", "https:443")],
            ..case("cert-id", CERT, |a| a.listener.cert_id.is_some(), &["a cert", "c/d"])
        },
        Case {
            companions: &[("protocol-port", "https:443,http:80"), ("cert-id", CERT)],
            ..case(
                "forward-port",
                "80:443",
                |a| a.listener.forward_port == BTreeMap::from([(80, 443)]),
                &["80", "80:x", "0:443"],
            )
        },
        case("scheduler", "wlc", |a| a.listener.scheduler == Some(Scheduler::Wlc), &["random"]),
        case("persistence-timeout", "0", |a| a.listener.persistence_timeout == Some(0), &["3601", "-1", "1h"]),
        case("established-timeout", "60", |a| a.listener.established_timeout == Some(60), &["9", "901"]),
        case("connection-drain", "off", |a| a.listener.connection_drain == Some(false), &["drain"]),
        case(
            "connection-drain-timeout",
            "30",
            |a| a.listener.connection_drain_timeout == Some(30),
            &["5", "1000", "30s"],
        ),
        case("proxy-protocol", "on", |a| a.listener.proxy_protocol == Some(true), &["v2"]),
        case("acl-status", "off", |a| a.listener.acl_status == Some(false), &["enabled"]),
        case("acl-id", "acl-bp1abc", |a| a.listener.acl_id.is_some(), &["bp1abc", "rsp-1"]),
        case("acl-type", "white", |a| a.listener.acl_type == Some(AclType::White), &["grey"]),
        case("idle-timeout", "30", |a| a.listener.idle_timeout == Some(30), &["0", "61"]),
        case("request-timeout", "180", |a| a.listener.request_timeout == Some(180), &["181", "x"]),
        case("http2-enabled", "off", |a| a.listener.http2 == Some(false), &["h2"]),
        case(
            "tls-cipher-policy",
            "tls_cipher_policy_1_2",
            |a| a.listener.tls_cipher_policy == Some(TlsCipherPolicy::Tls12),
            &["tls_cipher_policy_9"],
        ),
        case("sticky-session", "off", |a| a.listener.sticky_session == Some(false), &["sticky"]),
        case(
            "sticky-session-type",
            "server",
            |a| a.listener.sticky_session_type == Some(StickySessionType::Server),
            &["client"],
        ),
        case("cookie-timeout", "1800", |a| a.listener.cookie_timeout == Some(1800), &["0", "86401"]),
        case("cookie", "SESSION", |a| a.listener.cookie.as_deref() == Some("SESSION"), &["$x", "a;b", "a b"]),
        case("xforwardedfor-proto", "on", |a| a.listener.x_forwarded_proto == Some(true), &["proto"]),
        case("xforwardedfor-slbport", "on", |a| a.listener.x_forwarded_slb_port == Some(true), &["2"]),
        case("xforwardedfor-clientsrcport", "ON", |a| a.listener.x_forwarded_client_src_port == Some(true), &["o n"]),
        case("health-check-switch", "off", |a| a.health_check.switch == Some(false), &["none"]),
        case("health-check-flag", "on", |a| a.health_check.flag == Some(true), &["1"]),
        case("health-check-type", "http", |a| a.health_check.kind == Some(HealthCheckType::Http), &["icmp"]),
        case(
            "health-check-connect-port",
            "8080",
            |a| a.health_check.connect_port == Some(8080),
            &["0", "65536", "http"],
        ),
        case("health-check-connect-timeout", "8", |a| a.health_check.connect_timeout == Some(8), &["0", "301"]),
        case("health-check-timeout", "10", |a| a.health_check.timeout == Some(10), &["0", "301"]),
        case("healthy-threshold", "4", |a| a.health_check.healthy_threshold == Some(4), &["1", "11"]),
        case("unhealthy-threshold", "10", |a| a.health_check.unhealthy_threshold == Some(10), &["1", "11"]),
        case("health-check-interval", "3", |a| a.health_check.interval == Some(3), &["0", "51"]),
        case(
            "health-check-uri",
            "/test/index.html",
            |a| a.health_check.uri.as_deref() == Some("/test/index.html"),
            &["test", "/a b"],
        ),
        case(
            "health-check-domain",
            "www.aliyun.com",
            |a| a.health_check.domain.as_deref() == Some("www.aliyun.com"),
            &["www aliyun", "a_b"],
        ),
        case(
            "health-check-httpcode",
            "http_2xx,http_3xx",
            |a| a.health_check.http_codes == Some(BTreeSet::from([HttpCodeClass::Http2xx, HttpCodeClass::Http3xx])),
            &["200", "http_2xx,"],
        ),
        case("health-check-method", "get", |a| a.health_check.method == Some(HealthCheckMethod::Get), &["post"]),
        case(
            "vgroup-port",
            "rsp-a1:80,rsp-b2:443",
            |a| a.backend.vgroup_port.len() == 2 && a.backend.vgroup_port[&443].as_str() == "rsp-b2",
            &["rsp-a1", "lb-a:80", "rsp-a:80,rsp-b:80"],
        ),
        case("weight", "80", |a| a.backend.weight == Some(80), &["101", "-1", "half"]),
        case(
            "backend-label",
            "zone=a,pool=web",
            |a| a.backend.backend_label == BTreeMap::from([("zone".into(), "a".into()), ("pool".into(), "web".into())]),
            &["zone", "=a"],
        ),
        case("remove-unscheduled-backend", "on", |a| a.backend.remove_unscheduled == Some(true), &["cordoned"]),
        case("ignore-weight-update", "on", |a| a.backend.ignore_weight_update == Some(true), &["sometimes"]),
        case("backend-ip-version", "ipv6", |a| a.backend.ip_version == Some(AddressIpVersion::Ipv6), &["v6", "dual"]),
        case(
            "hostname",
            "Web.Example.com",
            |a| a.load_balancer.hostname.as_deref() == Some("web.example.com"),
            &["-web.example.com", "a..b", "web_1.example.com"],
        ),
        case("slb-network-type", "classic", |a| a.load_balancer.classic_network == Some(true), &["vpc2", "basic"]),
    ]
}

fn with(case: &Case, value: &str, legacy: bool) -> BTreeMap<String, String> {
    let prefix = if legacy { LEGACY_PREFIX } else { PREFIX };
    let mut m = map(&[]);
    for (k, v) in case.companions {
        m.insert(key(k), (*v).to_owned());
    }
    m.insert(format!("{prefix}{}", case.suffix), value.to_owned());
    m
}

#[test]
fn every_known_annotation_has_a_case() {
    let covered: BTreeSet<&str> = cases().iter().map(|c| c.suffix).collect();
    let known: BTreeSet<&str> = KNOWN.iter().copied().collect();
    assert_eq!(covered, known);
}

/// Runs one annotation's case: its valid value under both prefixes, and each invalid value
/// under both prefixes as an `InvalidAnnotation` naming the key as written and the value.
fn run(suffix: &str) {
    let all = cases();
    let c = all.iter().find(|c| c.suffix == suffix).unwrap_or_else(|| panic!("no case for {suffix}"));
    for legacy in [false, true] {
        let parsed = ServiceAnnotations::parse(&with(c, c.good, legacy))
            .unwrap_or_else(|e| panic!("{} = {:?}: {e}", c.suffix, c.good));
        assert!((c.check)(&parsed), "{} = {:?} parsed to {parsed:?}", c.suffix, c.good);
        assert!(parsed.unrecognized.is_empty());
    }
    assert!(!c.bad.is_empty(), "{} has no invalid value", c.suffix);
    for bad in c.bad {
        for legacy in [false, true] {
            let written = format!("{}{}", if legacy { LEGACY_PREFIX } else { PREFIX }, c.suffix);
            match ServiceAnnotations::parse(&with(c, bad, legacy)) {
                Err(e @ Error::InvalidAnnotation { .. }) => {
                    assert!(e.is_invalid_input());
                    let Error::InvalidAnnotation { annotation, value, reason } = e else { unreachable!() };
                    assert_eq!(annotation, written);
                    assert_eq!(value, bad.trim());
                    assert!(!reason.is_empty());
                }
                other => panic!("{written} = {bad:?}: expected InvalidAnnotation, got {other:?}"),
            }
        }
    }
}

/// One test per annotation, named after it.
macro_rules! per_annotation {
    ($($test:ident => $suffix:literal),+ $(,)?) => {
        $( #[test] fn $test() { run($suffix); } )+
        const TESTED: &[&str] = &[$($suffix),+];
    };
}

per_annotation! {
    address_type => "address-type",
    id => "id",
    force_override_listeners => "force-override-listeners",
    spec => "spec",
    instance_charge_type => "instance-charge-type",
    charge_type => "charge-type",
    bandwidth => "bandwidth",
    vswitch_id => "vswitch-id",
    ip => "ip",
    ip_version => "ip-version",
    master_zoneid => "master-zoneid",
    slave_zoneid => "slave-zoneid",
    resource_group_id => "resource-group-id",
    delete_protection => "delete-protection",
    modification_protection => "modification-protection",
    additional_resource_tags => "additional-resource-tags",
    name => "name",
    preserve_lb_on_delete => "preserve-lb-on-delete",
    protocol_port => "protocol-port",
    cert_id => "cert-id",
    forward_port => "forward-port",
    scheduler => "scheduler",
    persistence_timeout => "persistence-timeout",
    established_timeout => "established-timeout",
    connection_drain => "connection-drain",
    connection_drain_timeout => "connection-drain-timeout",
    proxy_protocol => "proxy-protocol",
    acl_status => "acl-status",
    acl_id => "acl-id",
    acl_type => "acl-type",
    idle_timeout => "idle-timeout",
    request_timeout => "request-timeout",
    http2_enabled => "http2-enabled",
    tls_cipher_policy => "tls-cipher-policy",
    sticky_session => "sticky-session",
    sticky_session_type => "sticky-session-type",
    cookie_timeout => "cookie-timeout",
    cookie => "cookie",
    xforwardedfor_proto => "xforwardedfor-proto",
    xforwardedfor_slbport => "xforwardedfor-slbport",
    xforwardedfor_clientsrcport => "xforwardedfor-clientsrcport",
    health_check_switch => "health-check-switch",
    health_check_flag => "health-check-flag",
    health_check_type => "health-check-type",
    health_check_connect_port => "health-check-connect-port",
    health_check_connect_timeout => "health-check-connect-timeout",
    health_check_timeout => "health-check-timeout",
    healthy_threshold => "healthy-threshold",
    unhealthy_threshold => "unhealthy-threshold",
    health_check_interval => "health-check-interval",
    health_check_uri => "health-check-uri",
    health_check_domain => "health-check-domain",
    health_check_httpcode => "health-check-httpcode",
    health_check_method => "health-check-method",
    vgroup_port => "vgroup-port",
    weight => "weight",
    backend_label => "backend-label",
    remove_unscheduled_backend => "remove-unscheduled-backend",
    ignore_weight_update => "ignore-weight-update",
    backend_ip_version => "backend-ip-version",
    hostname => "hostname",
    slb_network_type => "slb-network-type",
}

#[test]
fn every_annotation_has_its_own_test() {
    let tested: BTreeSet<&str> = TESTED.iter().copied().collect();
    assert_eq!(tested, KNOWN.iter().copied().collect::<BTreeSet<_>>());
}

#[test]
fn backend_type() {
    let parse = |v: &str| ServiceAnnotations::parse(&map(&[(BACKEND_TYPE, v)]));
    assert_eq!(parse("eni").unwrap().backend.backend_type, Some(BackendKind::Eni));
    assert_eq!(parse("ECS").unwrap().backend.backend_type, Some(BackendKind::Ecs));
    let err = parse("eci").unwrap_err();
    assert!(
        matches!(&err, Error::InvalidAnnotation { annotation, value, .. } if annotation == BACKEND_TYPE && value == "eci")
    );
    assert!(err.is_invalid_input());
}

#[test]
fn blank_is_absent_and_values_are_trimmed() {
    let a = ServiceAnnotations::parse(&map(&[(BANDWIDTH, "  "), (SCHEDULER, " rr ")])).unwrap();
    assert_eq!(a.load_balancer.bandwidth, None);
    assert_eq!(a.listener.scheduler, Some(Scheduler::Rr));
    assert_eq!(ServiceAnnotations::parse(&map(&[])).unwrap(), ServiceAnnotations::default());
}

#[test]
fn both_prefixes_must_agree() {
    let legacy = format!("{LEGACY_PREFIX}scheduler");
    let same = map(&[(SCHEDULER, "wlc"), (&legacy, "wlc")]);
    assert_eq!(ServiceAnnotations::parse(&same).unwrap().listener.scheduler, Some(Scheduler::Wlc));
    let differ = map(&[(SCHEDULER, "wlc"), (&legacy, "rr")]);
    match ServiceAnnotations::parse(&differ).unwrap_err() {
        Error::ConflictingAnnotations { annotation, value, legacy: l, legacy_value } => {
            assert_eq!((annotation.as_str(), value.as_str()), (SCHEDULER, "wlc"));
            assert_eq!((l, legacy_value.as_str()), (legacy, "rr"));
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn unrecognized_keys_are_listed() {
    let m = map(&[
        (&key("cps"), "100"),
        ("service.beta.kubernetes.io/alicloud-loadbalancer-zone-maps", "x"),
        ("example.com/other", "y"),
        (SCHEDULER, "rr"),
    ]);
    let a = ServiceAnnotations::parse(&m).unwrap();
    assert_eq!(
        a.unrecognized,
        vec![
            "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-cps".to_owned(),
            "service.beta.kubernetes.io/alicloud-loadbalancer-zone-maps".to_owned()
        ]
    );
}

fn combination_error(pairs: &[(&str, &str)]) -> String {
    match ServiceAnnotations::parse(&map(pairs)) {
        Err(Error::AnnotationCombination { annotation, .. }) => annotation,
        other => panic!("{pairs:?}: expected AnnotationCombination, got {other:?}"),
    }
}

#[test]
fn combinations() {
    assert_eq!(combination_error(&[(INSTANCE_CHARGE_TYPE, "PayByCLCU"), (SPEC, "slb.s1.small")]), SPEC);
    assert_eq!(
        combination_error(&[(MASTER_ZONE_ID, "cn-hangzhou-k"), (SLAVE_ZONE_ID, "cn-hangzhou-k")]),
        SLAVE_ZONE_ID
    );
    assert_eq!(combination_error(&[(ACL_STATUS, "on"), (ACL_TYPE, "white")]), ACL_ID);
    assert_eq!(combination_error(&[(ACL_STATUS, "on"), (ACL_ID, "acl-a")]), ACL_TYPE);
    assert_eq!(combination_error(&[(CONNECTION_DRAIN, "on")]), CONNECTION_DRAIN_TIMEOUT);
    assert_eq!(combination_error(&[(STICKY_SESSION, "on")]), STICKY_SESSION_TYPE);
    assert_eq!(combination_error(&[(STICKY_SESSION, "on"), (STICKY_SESSION_TYPE, "insert")]), COOKIE_TIMEOUT);
    assert_eq!(combination_error(&[(STICKY_SESSION, "on"), (STICKY_SESSION_TYPE, "server")]), COOKIE);
    assert_eq!(combination_error(&[(PROTOCOL_PORT, "https:443")]), CERT_ID);
    assert_eq!(combination_error(&[(FORWARD_PORT, "80:443")]), FORWARD_PORT);
    assert_eq!(
        combination_error(&[(FORWARD_PORT, "80:443"), (PROTOCOL_PORT, "tcp:80,https:443"), (CERT_ID, CERT)]),
        FORWARD_PORT
    );
    assert_eq!(combination_error(&[(BACKEND_TYPE, "eni"), (BACKEND_LABEL, "a=b")]), BACKEND_LABEL);

    // Complete sets parse.
    let ok = map(&[
        (ACL_STATUS, "on"),
        (ACL_ID, "acl-a"),
        (ACL_TYPE, "black"),
        (CONNECTION_DRAIN, "on"),
        (CONNECTION_DRAIN_TIMEOUT, "10"),
        (STICKY_SESSION, "on"),
        (STICKY_SESSION_TYPE, "insert"),
        (COOKIE_TIMEOUT, "60"),
        (INSTANCE_CHARGE_TYPE, "PayBySpec"),
        (SPEC, "slb.s2.small"),
    ]);
    let a = ServiceAnnotations::parse(&ok).unwrap();
    assert_eq!(a.listener.acl_type, Some(AclType::Black));
    assert_eq!(a.listener.connection_drain_timeout, Some(10));
}

#[test]
fn health_check_domain_ip_means_backend_address() {
    let a = ServiceAnnotations::parse(&map(&[(HEALTH_CHECK_DOMAIN, "$_ip")])).unwrap();
    assert_eq!(a.health_check.domain, None);
}

#[test]
fn from_service_reads_metadata() {
    let svc: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web", "namespace": "default", "annotations": {ADDRESS_TYPE: "internet"}}
    }))
    .unwrap();
    let a = ServiceAnnotations::from_service(&svc).unwrap();
    assert_eq!(a.load_balancer.address_type, Some(AddressType::Internet));
    assert_eq!(ServiceAnnotations::from_service(&Service::default()).unwrap(), ServiceAnnotations::default());
}
