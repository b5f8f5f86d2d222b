//! Exact requests on the wire (wiremock): CreateLoadBalancer, one listener create per
//! protocol, AddVServerGroupBackendServers in batches, the layer-7 calls (CreateRules' JSON
//! `RuleList`, UploadServerCertificate, CreateDomainExtension).

use std::collections::BTreeMap;

use ack_net_slb::{
    AddressType, Backend, HealthCheckTiming, HttpHealthCheck, InstanceSpec, InternetChargeType, ListenerBackend,
    ListenerSpec, ModificationProtectionStatus, ProtocolConfig, Scheduler, SlbClient, StickySession, Tag,
    TcpHealthCheck, UdpHealthCheck,
};
use serde_json::json;
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// Matches a request whose form body says `Action=<action>`.
struct ActionIs(&'static str);

impl Match for ActionIs {
    fn matches(&self, request: &Request) -> bool {
        form(request).get("Action").map(String::as_str) == Some(self.0)
    }
}

fn form(request: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&request.body).into_owned().collect()
}

/// The operation parameters of a request: the form minus the common and signing ones.
fn op_params(request: &Request) -> BTreeMap<String, String> {
    const COMMON: &[&str] = &[
        "Format",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
        "Signature",
        "Action",
    ];
    form(request).into_iter().filter(|(k, _)| !COMMON.contains(&k.as_str())).collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn client(server: &MockServer) -> SlbClient {
    let rpc = ack_net_mock::client_builder_at(&server.uri()).build().expect("client");
    SlbClient::new(rpc)
}

async fn mount(server: &MockServer, action: &'static str, body: serde_json::Value, times: u64) {
    Mock::given(ActionIs(action))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(times)
        .mount(server)
        .await;
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("recording on")
}

#[tokio::test]
async fn create_load_balancer_sends_exactly_the_documented_params() {
    let server = MockServer::start().await;
    mount(
        &server,
        "CreateLoadBalancer",
        json!({"RequestId":"r","LoadBalancerId":"lb-bp1a","Address":"10.1.0.5","LoadBalancerName":"svc",
               "NetworkType":"vpc","VpcId":"vpc-bp1a","VSwitchId":"vsw-bp1a","AddressIPVersion":"ipv4"}),
        1,
    )
    .await;
    let created = client(&server)
        .load_balancers()
        .create()
        .address_type(AddressType::Intranet)
        .vpc_id("vpc-bp1a".parse().unwrap())
        .vswitch_id("vsw-bp1a".parse().unwrap())
        .spec(InstanceSpec::S2Small)
        .name("svc")
        .internet_charge_type(InternetChargeType::PayByTraffic)
        .master_zone_id("cn-hangzhou-h".parse().unwrap())
        .slave_zone_id("cn-hangzhou-i".parse().unwrap())
        .delete_protection(true)
        .modification_protection(ModificationProtectionStatus::ConsoleProtection, Some("ack".into()))
        .tag(Tag::new("cluster", "c1"))
        .tag(Tag::new("service", "default/web"))
        .client_token("tok-1")
        .send()
        .await
        .unwrap();
    assert_eq!(created.load_balancer_id.as_str(), "lb-bp1a");
    let reqs = requests(&server).await;
    assert_eq!(
        op_params(&reqs[0]),
        map(&[
            ("Version", "2014-05-15"),
            ("RegionId", "cn-hangzhou"),
            ("AddressType", "intranet"),
            ("VpcId", "vpc-bp1a"),
            ("VSwitchId", "vsw-bp1a"),
            ("InstanceChargeType", "PayBySpec"),
            ("LoadBalancerSpec", "slb.s2.small"),
            ("LoadBalancerName", "svc"),
            ("InternetChargeType", "paybytraffic"),
            ("MasterZoneId", "cn-hangzhou-h"),
            ("SlaveZoneId", "cn-hangzhou-i"),
            ("DeleteProtection", "on"),
            ("ModificationProtectionStatus", "ConsoleProtection"),
            ("ModificationProtectionReason", "ack"),
            ("Tag.1.Key", "cluster"),
            ("Tag.1.Value", "c1"),
            ("Tag.2.Key", "service"),
            ("Tag.2.Value", "default/web"),
            ("ClientToken", "tok-1"),
        ])
    );
}

#[tokio::test]
async fn one_listener_create_per_protocol() {
    let server = MockServer::start().await;
    for action in [
        "CreateLoadBalancerTCPListener",
        "CreateLoadBalancerUDPListener",
        "CreateLoadBalancerHTTPListener",
        "CreateLoadBalancerHTTPSListener",
    ] {
        mount(&server, action, json!({"RequestId":"r"}), 1).await;
    }
    let slb = client(&server);
    let lb = "lb-bp1a".parse().unwrap();
    let group = || ListenerBackend::VServerGroup("rsp-bp1g".parse().unwrap());

    let mut tcp = ListenerSpec::tcp(80, group()).with_description("web");
    if let ProtocolConfig::Tcp(c) = &mut tcp.protocol {
        c.connection_drain = Some(30);
    }
    let mut udp = ListenerSpec::udp(53, ListenerBackend::DefaultServerGroup { port: 5353 });
    if let ProtocolConfig::Udp(c) = &mut udp.protocol {
        c.health_check = UdpHealthCheck::On {
            connect_port: Some(5354),
            timing: HealthCheckTiming::default(),
            request: Some("ping".into()),
            expect: Some("pong".into()),
        };
    }
    let mut http = ListenerSpec::http(8080, group()).with_scheduler(Scheduler::Wlc);
    if let ProtocolConfig::Http(c) = &mut http.protocol {
        c.l7.sticky_session = StickySession::Insert { cookie_timeout: 600 };
    }
    let mut https = ListenerSpec::https(443, group(), "1231579085529123_abc".parse().unwrap()).with_bandwidth(50);
    if let ProtocolConfig::Https(c) = &mut https.protocol {
        c.l7.health_check = Some(HttpHealthCheck { uri: "/healthz".into(), ..HttpHealthCheck::default() });
    }
    for spec in [tcp, udp, http, https] {
        slb.listeners().create(&lb, spec).send().await.unwrap();
    }
    let reqs = requests(&server).await;
    let common = |extra: &[(&str, &str)]| {
        let mut m = map(&[("Version", "2014-05-15"), ("RegionId", "cn-hangzhou"), ("LoadBalancerId", "lb-bp1a")]);
        m.extend(map(extra));
        m
    };
    assert_eq!(
        op_params(&reqs[0]),
        common(&[
            ("ListenerPort", "80"),
            ("Bandwidth", "-1"),
            ("Scheduler", "wrr"),
            ("Description", "web"),
            ("AclStatus", "off"),
            ("VServerGroupId", "rsp-bp1g"),
            ("HealthCheckSwitch", "on"),
            ("HealthCheckType", "tcp"),
            ("HealthCheckConnectTimeout", "5"),
            ("healthCheckInterval", "2"),
            ("HealthyThreshold", "3"),
            ("UnhealthyThreshold", "3"),
            ("PersistenceTimeout", "0"),
            ("EstablishedTimeout", "900"),
            ("ConnectionDrain", "on"),
            ("ConnectionDrainTimeout", "30"),
            ("ProxyProtocolV2Enabled", "false"),
        ])
    );
    assert_eq!(
        op_params(&reqs[1]),
        common(&[
            ("ListenerPort", "53"),
            ("Bandwidth", "-1"),
            ("Scheduler", "wrr"),
            ("AclStatus", "off"),
            ("BackendServerPort", "5353"),
            ("HealthCheckSwitch", "on"),
            ("HealthCheckConnectTimeout", "5"),
            ("healthCheckInterval", "2"),
            ("HealthyThreshold", "3"),
            ("UnhealthyThreshold", "3"),
            ("HealthCheckConnectPort", "5354"),
            ("healthCheckReq", "ping"),
            ("healthCheckExp", "pong"),
            ("ProxyProtocolV2Enabled", "false"),
        ])
    );
    let l7 = |extra: &[(&str, &str)]| {
        let mut m = common(&[
            ("HealthCheck", "on"),
            ("HealthCheckHttpCode", "http_2xx"),
            ("HealthCheckMethod", "head"),
            ("HealthCheckInterval", "2"),
            ("HealthCheckTimeout", "5"),
            ("HealthyThreshold", "3"),
            ("UnhealthyThreshold", "3"),
            ("Gzip", "on"),
            ("IdleTimeout", "15"),
            ("RequestTimeout", "60"),
            ("XForwardedFor", "on"),
            ("XForwardedFor_SLBIP", "off"),
            ("XForwardedFor_SLBID", "off"),
            ("XForwardedFor_proto", "off"),
            ("XForwardedFor_SLBPORT", "off"),
            ("XForwardedFor_ClientSrcPort", "off"),
            ("AclStatus", "off"),
            ("VServerGroupId", "rsp-bp1g"),
        ]);
        m.extend(map(extra));
        m
    };
    assert_eq!(
        op_params(&reqs[2]),
        l7(&[
            ("ListenerPort", "8080"),
            ("Bandwidth", "-1"),
            ("Scheduler", "wlc"),
            ("HealthCheckURI", "/"),
            ("StickySession", "on"),
            ("StickySessionType", "insert"),
            ("CookieTimeout", "600"),
            ("ListenerForward", "off"),
        ])
    );
    assert_eq!(
        op_params(&reqs[3]),
        l7(&[
            ("ListenerPort", "443"),
            ("Bandwidth", "50"),
            ("Scheduler", "wrr"),
            ("HealthCheckURI", "/healthz"),
            ("StickySession", "off"),
            ("ServerCertificateId", "1231579085529123_abc"),
            ("EnableHttp2", "on"),
            ("TLSCipherPolicy", "tls_cipher_policy_1_0"),
        ])
    );
    // A TCP listener checking over HTTP sends its URI, domain and codes.
    let mut tcp_http = ListenerSpec::tcp(81, group());
    if let ProtocolConfig::Tcp(c) = &mut tcp_http.protocol {
        c.health_check =
            TcpHealthCheck::Http(HttpHealthCheck { domain: Some("example.com".into()), ..HttpHealthCheck::default() });
    }
    let p = slb.listeners().create(&lb, tcp_http).to_request().unwrap();
    let p: BTreeMap<&str, &str> = p.get_params().iter().collect();
    assert_eq!(
        (p.get("HealthCheckType"), p.get("HealthCheckURI"), p.get("HealthCheckDomain"), p.get("HealthCheckHttpCode")),
        (Some(&"http"), Some(&"/"), Some(&"example.com"), Some(&"http_2xx"))
    );
    assert!(!p.contains_key("HealthCheckMethod"), "TCP listeners have no method");
}

#[tokio::test]
async fn add_backends_sends_batches_of_twenty_documented_json() {
    let server = MockServer::start().await;
    mount(
        &server,
        "AddVServerGroupBackendServers",
        json!({"RequestId":"r","VServerGroupId":"rsp-bp1g","BackendServers":{"BackendServer":[]}}),
        3,
    )
    .await;
    let backends: Vec<Backend> = (1..=45u16)
        .map(|i| {
            Backend::eni(&"eni-bp1e".parse().unwrap(), format!("10.0.0.{i}").parse().unwrap(), 8080)
                .with_weight(if i == 1 { 0 } else { 100 })
        })
        .collect();
    let g = "rsp-bp1g".parse().unwrap();
    client(&server).vserver_groups().add_backends(&g, backends).send().await.unwrap();
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 3);
    let first = op_params(&reqs[0]);
    assert_eq!(
        first.keys().map(String::as_str).collect::<Vec<_>>(),
        ["BackendServers", "RegionId", "VServerGroupId", "Version"]
    );
    assert_eq!(first["VServerGroupId"], "rsp-bp1g");
    let items: Vec<serde_json::Value> = serde_json::from_str(&first["BackendServers"]).unwrap();
    assert_eq!(items.len(), 20);
    assert_eq!(items[0], json!({"ServerId":"eni-bp1e","Port":"8080","Weight":"0","Type":"eni","ServerIp":"10.0.0.1"}));
    assert!(first["BackendServers"]
        .starts_with(r#"[{"ServerId":"eni-bp1e","Port":"8080","Weight":"0","Type":"eni","ServerIp":"10.0.0.1"},"#));
    let last: Vec<serde_json::Value> = serde_json::from_str(&op_params(&reqs[2])["BackendServers"]).unwrap();
    assert_eq!(last.len(), 5);
    assert_eq!(last[4]["ServerIp"], "10.0.0.45");
}

#[tokio::test]
async fn layer7_calls_send_exactly_the_documented_params() {
    use ack_net_slb::{ListenerProtocol, RuleSpec};
    let server = MockServer::start().await;
    mount(
        &server,
        "CreateRules",
        json!({"RequestId":"r","Rules":{"Rule":[{"RuleId":"rule-bp1a","RuleName":"api"}]}}),
        1,
    )
    .await;
    mount(
        &server,
        "CreateDomainExtension",
        json!({"RequestId":"r","DomainExtensionId":"de-bp1a","ListenerPort":443}),
        1,
    )
    .await;
    mount(
        &server,
        "UploadServerCertificate",
        json!({"RequestId":"r","ServerCertificateId":"123_abc","ServerCertificateName":"web","Fingerprint":"aa:bb",
               "SubjectAlternativeNames":{"SubjectAlternativeName":["www.example.com"]}}),
        1,
    )
    .await;
    let slb = client(&server);
    let lb = "lb-bp1a".parse().unwrap();
    let g = "rsp-bp1a".parse().unwrap();
    let made = slb
        .rules()
        .create(&lb, 443, ListenerProtocol::Https)
        .rule(RuleSpec::new("api", Some("*.example.com"), Some("/api"), g))
        .send()
        .await
        .unwrap();
    assert_eq!(made[0].rule_id.as_str(), "rule-bp1a");
    let cert = slb
        .certificates()
        .upload(
            "web",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cert.subject_alternative_names, ["www.example.com"]);
    let de = slb.domain_extensions().create(&lb, 443, "api.example.com", &cert.id).send().await.unwrap();
    assert_eq!(de.as_str(), "de-bp1a");
    let reqs = requests(&server).await;
    assert_eq!(
        op_params(&reqs[0]),
        map(&[
            ("Version", "2014-05-15"),
            ("RegionId", "cn-hangzhou"),
            ("LoadBalancerId", "lb-bp1a"),
            ("ListenerPort", "443"),
            ("ListenerProtocol", "https"),
            ("RuleList", r#"[{"RuleName":"api","Domain":"*.example.com","Url":"/api","VServerGroupId":"rsp-bp1a"}]"#),
        ])
    );
    assert_eq!(
        op_params(&reqs[1]),
        map(&[
            ("Version", "2014-05-15"),
            ("RegionId", "cn-hangzhou"),
            ("ServerCertificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
            ("PrivateKey", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"),
            ("ServerCertificateName", "web"),
        ])
    );
    assert_eq!(
        op_params(&reqs[2]),
        map(&[
            ("Version", "2014-05-15"),
            ("RegionId", "cn-hangzhou"),
            ("LoadBalancerId", "lb-bp1a"),
            ("ListenerPort", "443"),
            ("Domain", "api.example.com"),
            ("ServerCertificateId", "123_abc"),
        ])
    );
}
