//! Listeners against ack-net-mock: every protocol created from a `ListenerSpec` reads back
//! as the same spec (by attribute and through the listing), set changes in place,
//! start/stop/delete, the NextToken listing, the waiter, conflicts.

mod common;

use ack_net_core::ErrorInfo;

use std::collections::BTreeSet;
use std::time::Duration;

use ack_net_slb::{
    AclType, HealthCheckMethod, HealthCheckTiming, HttpCodeClass, HttpHealthCheck, ListenerBackend, ListenerProtocol,
    ListenerSpec, ListenerStatus, ProtocolConfig, Removed, Scheduler, StickySession, TcpHealthCheck, TlsCipherPolicy,
    UdpHealthCheck,
};
use common::*;
use futures_util::TryStreamExt;

#[tokio::test]
async fn every_protocol_reads_back_as_created() {
    let Env { mock: _mock, slb, stats } = env().await;
    let lb = internet_lb(&slb).await;
    let group = slb.vserver_groups().create(&lb, "g").send().await.unwrap().vserver_group_id;
    let cert = certificate(&slb).await;
    let to_group = || ListenerBackend::VServerGroup(group.clone());

    let mut tcp = ListenerSpec::tcp(80, to_group()).with_scheduler(Scheduler::Wlc).with_description("web tcp");
    if let ProtocolConfig::Tcp(c) = &mut tcp.protocol {
        c.health_check = TcpHealthCheck::Http(HttpHealthCheck {
            uri: "/healthz".into(),
            domain: Some("example.com".into()),
            http_codes: BTreeSet::from([HttpCodeClass::Http2xx, HttpCodeClass::Http3xx]),
            connect_port: Some(8081),
            ..HttpHealthCheck::default()
        });
        c.connection_drain = Some(60);
        c.persistence_timeout = 300;
        c.proxy_protocol_v2 = true;
    }
    let mut udp = ListenerSpec::udp(53, ListenerBackend::DefaultServerGroup { port: 5353 }).with_bandwidth(20);
    if let ProtocolConfig::Udp(c) = &mut udp.protocol {
        c.health_check = UdpHealthCheck::On {
            connect_port: None,
            timing: HealthCheckTiming { interval: 5, timeout: 10, healthy_threshold: 2, unhealthy_threshold: 4 },
            request: Some("ping".into()),
            expect: Some("pong".into()),
        };
    }
    let mut https =
        ListenerSpec::https(443, to_group(), cert.clone()).with_acl("acl-bp1abc".parse().unwrap(), AclType::White);
    if let ProtocolConfig::Https(c) = &mut https.protocol {
        c.l7.sticky_session = StickySession::Insert { cookie_timeout: 600 };
        c.l7.health_check = Some(HttpHealthCheck {
            method: HealthCheckMethod::Get,
            uri: "/ready".into(),
            ..HttpHealthCheck::default()
        });
        c.l7.x_forwarded_for.proto = true;
        c.http2 = false;
        c.tls_cipher_policy = TlsCipherPolicy::Tls12;
    }
    let mut http = ListenerSpec::http(8080, to_group());
    if let ProtocolConfig::Http(c) = &mut http.protocol {
        c.l7.health_check = None;
        c.l7.sticky_session = StickySession::Server { cookie: "sid".into() };
        c.l7.gzip = false;
        c.l7.idle_timeout = 30;
    }
    let redirect = ListenerSpec::http_redirect(81, 443);

    let specs = [tcp, udp, https, http, redirect];
    for spec in &specs {
        slb.listeners().create(&lb, spec.clone()).send().await.unwrap();
    }
    for spec in &specs {
        let got = slb.listeners().get(&lb, spec.port, spec.listener_protocol()).await.unwrap();
        assert_eq!(got.spec, spec.clone().normalized(), "{:?} on {}", spec.listener_protocol(), spec.port);
        assert_eq!(got.status, ListenerStatus::Stopped);
        assert_eq!(got.load_balancer_id, lb);
    }

    // The listing gives the same specs, two per page.
    stats.reset();
    let listed: Vec<_> =
        slb.listeners().describe().load_balancer_id(&lb).max_results(2).into_stream().try_collect().await.unwrap();
    assert_eq!(stats.calls("DescribeLoadBalancerListeners"), 3);
    assert_eq!(listed.len(), specs.len());
    for spec in &specs {
        let l = listed
            .iter()
            .find(|l| l.spec.port == spec.port && l.spec.listener_protocol() == spec.listener_protocol())
            .expect("listed");
        assert_eq!(l.spec, spec.clone().normalized());
    }
    let only_udp =
        slb.listeners().describe().load_balancer_id(&lb).protocol(ListenerProtocol::Udp).send().await.unwrap();
    assert_eq!(only_udp.listeners.len(), 1);
}

#[tokio::test]
async fn set_changes_in_place_and_start_stop_delete() {
    let Env { mock, slb, .. } = env().await;
    let lb = internet_lb(&slb).await;
    let g1 = slb.vserver_groups().create(&lb, "g1").send().await.unwrap().vserver_group_id;
    let g2 = slb.vserver_groups().create(&lb, "g2").send().await.unwrap().vserver_group_id;
    let listeners = slb.listeners();
    let spec = ListenerSpec::tcp(80, ListenerBackend::VServerGroup(g1.clone()));
    listeners.create(&lb, spec.clone()).send().await.unwrap();

    // Another group, scheduler, health check and drain, set in place.
    let mut wanted = spec.clone().with_scheduler(Scheduler::Sch).with_bandwidth(100);
    wanted.backend = Some(ListenerBackend::VServerGroup(g2.clone()));
    if let ProtocolConfig::Tcp(c) = &mut wanted.protocol {
        c.health_check = TcpHealthCheck::Off;
        c.connection_drain = Some(30);
    }
    assert!(!wanted.needs_recreate(&spec));
    listeners.set(&lb, wanted.clone()).send().await.unwrap();
    let got = listeners.get(&lb, 80, ListenerProtocol::Tcp).await.unwrap();
    assert_eq!(got.spec, wanted);
    // g1 is free now.
    assert_eq!(slb.vserver_groups().delete(&g1).await.unwrap(), Removed::Now);

    // Start, wait, stop.
    mock.with_state(|s| s.slb.set_delays(Duration::ZERO, Duration::from_millis(200)));
    listeners.start(&lb, 80, ListenerProtocol::Tcp).send().await.unwrap();
    assert_eq!(listeners.get(&lb, 80, ListenerProtocol::Tcp).await.unwrap().status, ListenerStatus::Starting);
    let running = listeners.wait_until_running(&lb, 80, ListenerProtocol::Tcp, &quick_wait()).await.unwrap();
    assert_eq!(running.status, ListenerStatus::Running);
    listeners.stop(&lb, 80, ListenerProtocol::Tcp).send().await.unwrap();
    assert_eq!(listeners.get(&lb, 80, ListenerProtocol::Tcp).await.unwrap().status, ListenerStatus::Stopped);

    // A second listener on the port is the API's conflict.
    let e = listeners
        .create(&lb, ListenerSpec::http(80, ListenerBackend::VServerGroup(g2.clone())))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_code("ListenerAlreadyExists"), "{e}");

    assert_eq!(listeners.delete(&lb, 80, ListenerProtocol::Tcp).send().await.unwrap(), Removed::Now);
    assert_eq!(
        listeners.delete(&lb, 80, ListenerProtocol::Tcp).send().await.unwrap(),
        Removed::Already,
        "already gone is success"
    );
    let e = listeners.get(&lb, 80, ListenerProtocol::Tcp).await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    // Deleting a listener of a load balancer that is gone is success too.
    slb.load_balancers().delete(&lb).await.unwrap();
    assert_eq!(listeners.delete(&lb, 80, ListenerProtocol::Tcp).send().await.unwrap(), Removed::Already);
}

#[tokio::test]
async fn bad_listeners_send_nothing() {
    let Env { mock: _mock, slb, stats } = env().await;
    let lb: ack_net_slb::LoadBalancerId = "lb-bp1nothere".parse().unwrap();
    let g = ListenerBackend::VServerGroup("rsp-bp1a".parse().unwrap());
    let e = slb.listeners().create(&lb, ListenerSpec::tcp(0, g.clone())).send().await.unwrap_err();
    assert!(matches!(e, ack_net_slb::Error::InvalidPort { .. }), "{e:?}");
    let mut https = ListenerSpec::https(443, g.clone(), "1_a".parse().unwrap());
    if let ProtocolConfig::Https(c) = &mut https.protocol {
        c.server_certificate_id = None;
    }
    let e = slb.listeners().create(&lb, https.clone()).send().await.unwrap_err();
    assert!(matches!(e, ack_net_slb::Error::HttpsWithoutCertificate { port: 443 }), "{e:?}");
    let e = slb.listeners().set(&lb, https).send().await.unwrap_err();
    assert!(matches!(e, ack_net_slb::Error::HttpsWithoutCertificate { .. }), "{e:?}");
    let e = slb.listeners().start(&lb, 0, ListenerProtocol::Tcp).send().await.unwrap_err();
    assert!(e.is_invalid_input());
    assert_eq!(stats.total(), 0, "no call was made");
}
