//! VServer groups and backends against ack-net-mock (batching counted with `CallStats`),
//! master/slave groups, forwarding rules, health, certificates, and deletes of things that
//! are already gone.

mod common;

use ack_net_core::ErrorInfo;

use std::collections::BTreeSet;

use ack_net_slb::{
    Backend, BackendKey, BackendType, Error, HealthStatus, ListenerBackend, ListenerProtocol, ListenerSpec,
    MasterSlaveBackend, Removed, RuleSpec, Scheduler, ServerType,
};
use common::*;

/// `n` backends on the primary ENIs of three instances: 3 addresses x `n / 3` ports.
fn pods(enis: &[(String, std::net::IpAddr)], n: usize) -> Vec<Backend> {
    (0..n)
        .map(|i| {
            let (eni, ip) = &enis[i % enis.len()];
            Backend::eni(&eni.parse().unwrap(), *ip, 8000 + (i / enis.len()) as u16)
                .with_description(format!("pod-{i}"))
        })
        .collect()
}

fn keys(b: &[Backend]) -> BTreeSet<BackendKey> {
    b.iter().map(Backend::key).collect()
}

#[tokio::test]
async fn forty_five_backends_take_three_calls() {
    let Env { mock, slb, stats } = env().await;
    let vsw = vswitch(&mock);
    let enis: Vec<(String, std::net::IpAddr)> =
        (0..3).map(|_| instance(&mock, &vsw)).map(|(_, e, ip)| (e, ip)).collect();
    let lb = internet_lb(&slb).await;
    let groups = slb.vserver_groups();
    let g = groups.create(&lb, "web").send().await.unwrap().vserver_group_id;

    let wanted = pods(&enis, 45);
    stats.reset();
    let after = groups.add_backends(&g, wanted.clone()).send().await.unwrap();
    assert_eq!(stats.calls("AddVServerGroupBackendServers"), 3);
    assert_eq!(after.len(), 45);
    let got = groups.get(&g).await.unwrap();
    assert_eq!(keys(&got.backends), keys(&wanted));
    let mut sorted = got.backends.clone();
    sorted.sort();
    let mut want_sorted = wanted.clone();
    want_sorted.sort();
    assert_eq!(sorted, want_sorted, "ENI, address, port, weight and description all round-trip");
    assert!(got.backends.iter().all(|b| b.kind == BackendType::Eni));

    // New weights for all of them: three SetVServerGroupAttribute calls.
    stats.reset();
    let drained: Vec<Backend> = wanted.iter().cloned().map(|b| b.with_weight(0)).collect();
    groups.set_backends(&g, drained).send().await.unwrap();
    assert_eq!(stats.calls("SetVServerGroupAttribute"), 3);
    assert!(groups.get(&g).await.unwrap().backends.iter().all(|b| b.weight == 0));

    // Replace 20 with 20 others (one Modify), then remove the rest (two Removes).
    stats.reset();
    let old = wanted[..20].to_vec();
    let new: Vec<Backend> = old.iter().map(|b| Backend { port: b.port + 100, ..b.clone() }).collect();
    groups.replace_backends(&g, old, new).send().await.unwrap();
    assert_eq!(stats.calls("ModifyVServerGroupBackendServers"), 1);
    let now = groups.get(&g).await.unwrap().backends;
    assert_eq!(now.len(), 45);
    groups.remove_backends(&g, now).send().await.unwrap();
    assert_eq!(stats.calls("RemoveVServerGroupBackendServers"), 3);
    assert!(groups.get(&g).await.unwrap().backends.is_empty());

    // A group created with 45 backends: one create, two adds.
    stats.reset();
    let created = groups.create(&lb, "web2").backends(wanted.clone()).send().await.unwrap();
    assert_eq!((stats.calls("CreateVServerGroup"), stats.calls("AddVServerGroupBackendServers")), (1, 2));
    assert_eq!(created.backends.len(), 45);
    let listed = groups.describe(&lb).send().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].server_count, Some(45));

    // A larger batch size: two calls for 45.
    stats.reset();
    let big = slb.clone().with_batch_size(40);
    let g3 = big.vserver_groups().create(&lb, "web3").send().await.unwrap().vserver_group_id;
    big.vserver_groups().add_backends(&g3, wanted).send().await.unwrap_err();
    assert_eq!(stats.calls("AddVServerGroupBackendServers"), 1, "the mock, like the API, refuses more than 20");
}

#[tokio::test]
async fn a_failed_batch_says_how_far_it_got() {
    let Env { mock, slb, .. } = env().await;
    let vsw = vswitch(&mock);
    let enis: Vec<(String, std::net::IpAddr)> =
        (0..3).map(|_| instance(&mock, &vsw)).map(|(_, e, ip)| (e, ip)).collect();
    let lb = internet_lb(&slb).await;
    let g = slb.vserver_groups().create(&lb, "web").send().await.unwrap().vserver_group_id;
    mock.with_state(|s| s.slb.set_backend_quota(30));
    match slb.vserver_groups().add_backends(&g, pods(&enis, 45)).send().await.unwrap_err() {
        Error::Batch { completed_batches, total_batches, source, .. } => {
            assert_eq!((completed_batches, total_batches), (1, 3));
            assert!(source.is_code("InstanceBackendServerNumberOverLimit"), "{source}");
            assert_eq!(source.class(), ack_net_core::ErrorClass::Capacity);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(slb.vserver_groups().get(&g).await.unwrap().backends.len(), 20);
}

#[tokio::test]
async fn ecs_backends_health_and_group_deletion() {
    let Env { mock, slb, .. } = env().await;
    let vsw = vswitch(&mock);
    let (i1, _, ip1) = instance(&mock, &vsw);
    let (_, eni2, ip2) = instance(&mock, &vsw);
    let lb = internet_lb(&slb).await;
    let backends =
        vec![Backend::ecs(&i1.parse().unwrap(), 80), Backend::eni(&eni2.parse().unwrap(), ip2, 8080).with_weight(50)];
    let g = slb.vserver_groups().create(&lb, "mixed").backends(backends).send().await.unwrap().vserver_group_id;
    // An address that is not the ENI's is refused by the cloud.
    let e = slb
        .vserver_groups()
        .add_backends(&g, vec![Backend::eni(&eni2.parse().unwrap(), ip1, 80)])
        .send()
        .await
        .unwrap_err();
    assert!(e.is_invalid_input(), "{e}");

    slb.listeners().create(&lb, ListenerSpec::tcp(80, ListenerBackend::VServerGroup(g.clone()))).send().await.unwrap();
    let health = slb.health().describe(&lb, None).await.unwrap();
    assert!(health.iter().all(|h| h.status == HealthStatus::Unavailable), "stopped listener: {health:?}");
    slb.listeners().start(&lb, 80, ListenerProtocol::Tcp).send().await.unwrap();
    mock.with_state(|s| s.slb.set_backend_abnormal(&ip2.to_string(), true));
    let health = slb.health().describe(&lb, Some((80, ListenerProtocol::Tcp))).await.unwrap();
    assert_eq!(health.len(), 2);
    let by_server = |id: &str| health.iter().find(|h| h.server_id == id).map(|h| h.status.clone());
    assert_eq!(by_server(&i1), Some(HealthStatus::Normal));
    assert_eq!(by_server(&eni2), Some(HealthStatus::Abnormal));
    assert_eq!(health.iter().find(|h| h.server_id == eni2).and_then(|h| h.server_ip), Some(ip2));

    // In use: refused; free: deleted; gone: success.
    let e = slb.vserver_groups().delete(&g).await.unwrap_err();
    assert!(e.is_code("RspoolVipExist"), "{e}");
    slb.listeners().delete(&lb, 80, ListenerProtocol::Tcp).send().await.unwrap();
    assert_eq!(slb.vserver_groups().delete(&g).await.unwrap(), Removed::Now);
    assert!(
        slb.vserver_groups().delete(&g).await.unwrap() == Removed::Already,
        "the API's InvalidParameter 'does not exist' counts as gone"
    );
    let e = slb.vserver_groups().get(&g).await.unwrap_err();
    assert!(e.is_code("InvalidParameter"), "{e}");
}

#[tokio::test]
async fn master_slave_groups() {
    let Env { mock, slb, .. } = env().await;
    let vsw = vswitch(&mock);
    let (i1, ..) = instance(&mock, &vsw);
    let (i2, ..) = instance(&mock, &vsw);
    let lb = internet_lb(&slb).await;
    let ms = slb
        .master_slave_groups()
        .create(
            &lb,
            "db",
            vec![
                MasterSlaveBackend {
                    backend: Backend::ecs(&i1.parse().unwrap(), 3306),
                    server_type: ServerType::Master,
                },
                MasterSlaveBackend {
                    backend: Backend::ecs(&i2.parse().unwrap(), 3306),
                    server_type: ServerType::Slave,
                },
            ],
        )
        .send()
        .await
        .unwrap();
    let got = slb.master_slave_groups().get(&ms).await.unwrap();
    assert_eq!(got.backends.len(), 2);
    assert_eq!(got.backends[1].server_type, ServerType::Slave);
    assert_eq!(got.load_balancer_id.as_ref(), Some(&lb));
    slb.listeners()
        .create(&lb, ListenerSpec::tcp(3306, ListenerBackend::MasterSlaveGroup(ms.clone())))
        .send()
        .await
        .unwrap();
    let listed = slb.master_slave_groups().describe(&lb, true).await.unwrap();
    assert_eq!(listed[0].associated.listeners[0].port, 3306);
    let spec = slb.listeners().get(&lb, 3306, ListenerProtocol::Tcp).await.unwrap().spec;
    assert_eq!(spec.backend, Some(ListenerBackend::MasterSlaveGroup(ms.clone())));
    assert!(slb.master_slave_groups().delete(&ms).await.unwrap_err().is_code("RspoolVipExist"));
    slb.listeners().delete(&lb, 3306, ListenerProtocol::Tcp).send().await.unwrap();
    assert_eq!(slb.master_slave_groups().delete(&ms).await.unwrap(), Removed::Now);
    assert_eq!(slb.master_slave_groups().delete(&ms).await.unwrap(), Removed::Already);
}

#[tokio::test]
async fn forwarding_rules() {
    let Env { mock: _mock, slb, stats } = env().await;
    let lb = internet_lb(&slb).await;
    let g1 = slb.vserver_groups().create(&lb, "api").send().await.unwrap().vserver_group_id;
    let g2 = slb.vserver_groups().create(&lb, "web").send().await.unwrap().vserver_group_id;
    slb.listeners()
        .create(&lb, ListenerSpec::http(80, ListenerBackend::VServerGroup(g2.clone())))
        .send()
        .await
        .unwrap();
    let specs: Vec<RuleSpec> = (0..12)
        .map(|i| RuleSpec::new(format!("r{i}"), Some("example.com"), Some(&format!("/api/v{i}")), g1.clone()))
        .collect();
    stats.reset();
    let created = slb.rules().create_all(&lb, 80, ListenerProtocol::Http, &specs).await.unwrap();
    assert_eq!(created.len(), 12);
    assert_eq!(stats.calls("CreateRules"), 2, "ten rules per call");
    let rules = slb.rules().describe(&lb, 80, ListenerProtocol::Http).send().await.unwrap();
    assert_eq!(rules.len(), 12);
    assert_eq!(rules[3].url.as_deref(), Some("/api/v3"));
    slb.rules().set(&created[0].rule_id).vserver_group_id(g2.clone()).scheduler(Scheduler::Wlc).send().await.unwrap();
    let rules = slb.rules().describe(&lb, 80, ListenerProtocol::Http).send().await.unwrap();
    assert_eq!(rules[0].vserver_group_id.as_ref(), Some(&g2));
    assert_eq!(rules[0].settings.scheduler, Some(Scheduler::Wlc));
    assert!(slb.vserver_groups().delete(&g1).await.unwrap_err().is_code("RspoolVipExist"));
    // Deleting with one id already gone still deletes the others.
    let first = created[0].rule_id.clone();
    slb.rules().delete(std::slice::from_ref(&first)).await.unwrap();
    let ids: Vec<_> = created.iter().map(|r| r.rule_id.clone()).collect();
    slb.rules().delete(&ids).await.unwrap();
    assert!(slb.rules().describe(&lb, 80, ListenerProtocol::Http).send().await.unwrap().is_empty());
    assert_eq!(slb.vserver_groups().delete(&g1).await.unwrap(), Removed::Now);
}

#[tokio::test]
async fn certificates_and_https() {
    let Env { mock: _mock, slb, .. } = env().await;
    let cert = certificate(&slb).await;
    let listed = slb.certificates().describe().server_certificate_id(&cert).send().await.unwrap();
    assert_eq!(listed[0].name, "web");
    let lb = internet_lb(&slb).await;
    let g = slb.vserver_groups().create(&lb, "g").send().await.unwrap().vserver_group_id;
    slb.listeners()
        .create(&lb, ListenerSpec::https(443, ListenerBackend::VServerGroup(g), cert.clone()))
        .send()
        .await
        .unwrap();
    let e = slb.certificates().delete(&cert).send().await.unwrap_err();
    assert!(e.is_code("CertificateAndPrivateKeyIsRefered"), "{e}");
    slb.listeners().delete(&lb, 443, ListenerProtocol::Https).send().await.unwrap();
    assert_eq!(slb.certificates().delete(&cert).send().await.unwrap(), Removed::Now);
    assert_eq!(slb.certificates().delete(&cert).send().await.unwrap(), Removed::Already);
}

#[tokio::test]
async fn bad_backends_send_nothing() {
    let Env { mock: _mock, slb, stats } = env().await;
    let g: ack_net_slb::VServerGroupId = "rsp-bp1nothere".parse().unwrap();
    let mut no_ip = Backend::eni(&"eni-bp1a".parse().unwrap(), "10.0.0.1".parse().unwrap(), 80);
    no_ip.server_ip = None;
    let e = slb.vserver_groups().add_backends(&g, vec![no_ip]).send().await.unwrap_err();
    assert!(matches!(e, Error::BackendWithoutIp { .. }), "{e:?}");
    let e = slb
        .vserver_groups()
        .add_backends(&g, vec![Backend::ecs(&"i-a".parse().unwrap(), 80).with_weight(101)])
        .send()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidWeight { weight: 101, .. }), "{e:?}");
    let e =
        slb.vserver_groups().add_backends(&g, vec![Backend::ecs(&"i-a".parse().unwrap(), 0)]).send().await.unwrap_err();
    assert!(matches!(e, Error::InvalidPort { .. }), "{e:?}");
    assert_eq!(stats.total(), 0);
}
