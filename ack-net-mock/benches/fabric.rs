//! The data plane's speed: how long the fabric takes to materialize a VPC with 3 VSwitches and
//! 20 instances; from an attach call to the ENI's link inside the instance; from a security
//! group change to its nftables ruleset loaded; and what one secondary-address assignment
//! costs it (60 addresses, the pool's cold burst, must take under 100 ms).
//!
//! The bench enters the namespace sandbox first (Linux; needs `nft`):
//! `cargo bench -p ack-net-mock --features fabric --bench fabric -- --warm-up-time 1 --measurement-time 5`

use std::time::{Duration, Instant};

use ack_net_core::{RpcClient, RpcRequest};

use ack_net_eni::ECS;
use ack_net_mock::fabric::FabricConfig;
use ack_net_mock::MockCloud;
use criterion::Criterion;
use serde_json::Value;

const SETTLE: Duration = Duration::from_secs(30);

fn client(mock: &MockCloud) -> RpcClient {
    mock.client_builder().build().expect("client")
}

async fn mock() -> MockCloud {
    let m = MockCloud::builder()
        .ecs_delays(Duration::ZERO, Duration::ZERO)
        .fabric(FabricConfig::default().interval(Duration::from_millis(1)))
        .start()
        .await
        .expect("mock");
    if let Some(e) = m.fabric_error() {
        panic!("no fabric: {e}");
    }
    m
}

/// A VPC with `vswitches` VSwitches (10.1.N.0/24 in zone h) and `instances` instances spread
/// over them (ecs.c7.2xlarge); answers the VPC, the VSwitches and the instances.
fn world(m: &MockCloud, vswitches: usize, instances: usize) -> (String, Vec<String>, Vec<String>) {
    let mut scenario = m.scenario().vpc("10.1.0.0/16");
    for i in 0..vswitches {
        scenario = scenario.vswitch("cn-hangzhou-h", &format!("10.1.{}.0/24", i + 1));
    }
    for i in 0..vswitches {
        // Spread evenly, the first VSwitches taking the remainder.
        let n = instances / vswitches + usize::from(i < instances % vswitches);
        scenario = scenario.instances_in(i, n, "ecs.c7.2xlarge");
    }
    let world = scenario.build().expect("the scenario");
    (world.vpc_id, world.vswitch_ids, world.instances.into_iter().map(|i| i.instance_id.to_string()).collect())
}

async fn settle(m: &MockCloud) {
    assert!(m.fabric().expect("fabric").settled(SETTLE).await, "settled");
    assert_eq!(m.dump()["fabric"]["errors"], serde_json::json!({}), "fabric errors");
}

async fn ecs(rpc: &RpcClient, action: &'static str, params: &[(&str, &str)]) -> Value {
    let mut req = RpcRequest::write(ECS, action);
    for (k, v) in params {
        req = req.param(*k, *v);
    }
    rpc.call_value(req).await.unwrap_or_else(|e| panic!("{action}: {e}"))
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut g = c.benchmark_group("fabric");
    g.sample_size(10);

    g.bench_function("materialize_vpc_3_vswitches_20_instances", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let m = mock().await;
                    let start = Instant::now();
                    world(&m, 3, 20);
                    settle(&m).await;
                    total += start.elapsed();
                    assert_eq!(m.dump()["fabric"]["nodes"], 20);
                    m.shutdown().await;
                }
                total
            })
        })
    });

    let (m, vsw, nodes) = rt.block_on(async {
        let m = mock().await;
        let (_, vsws, ids) = world(&m, 1, 2);
        settle(&m).await;
        (m, vsws[0].clone(), ids)
    });
    let node = nodes[0].clone();
    let rpc = client(&m);
    let sg = rt.block_on(async {
        let vpc = m.dump()["vpc"]["Vpcs"][0]["VpcId"].as_str().expect("vpc").to_owned();
        let v = ecs(&rpc, "CreateSecurityGroup", &[("RegionId", "cn-hangzhou"), ("VpcId", &vpc)]).await;
        v["SecurityGroupId"].as_str().expect("sg").to_owned()
    });
    let new_eni = |sg: String| {
        let (rpc, vsw) = (&rpc, &vsw);
        async move {
            let e = ecs(
                rpc,
                "CreateNetworkInterface",
                &[("RegionId", "cn-hangzhou"), ("VSwitchId", vsw), ("SecurityGroupId", &sg)],
            )
            .await;
            e["NetworkInterfaceId"].as_str().expect("id").to_owned()
        }
    };
    g.bench_function("attach_to_link_in_instance", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                let ns = m.fabric().expect("fabric").node(&node).expect("node");
                for _ in 0..iters {
                    let eni = new_eni(sg.clone()).await;
                    settle(&m).await;
                    let start = Instant::now();
                    ecs(
                        &rpc,
                        "AttachNetworkInterface",
                        &[("RegionId", "cn-hangzhou"), ("NetworkInterfaceId", &eni), ("InstanceId", &node)],
                    )
                    .await;
                    let deadline = start + SETTLE;
                    while !ns.links().expect("probe").iter().any(|l| l.name == "eth1") {
                        assert!(Instant::now() < deadline, "the ENI never arrived");
                        tokio::time::sleep(Duration::from_micros(200)).await;
                    }
                    total += start.elapsed();
                    ecs(
                        &rpc,
                        "DetachNetworkInterface",
                        &[("RegionId", "cn-hangzhou"), ("NetworkInterfaceId", &eni), ("InstanceId", &node)],
                    )
                    .await;
                    settle(&m).await;
                    ecs(&rpc, "DeleteNetworkInterface", &[("RegionId", "cn-hangzhou"), ("NetworkInterfaceId", &eni)])
                        .await;
                    settle(&m).await;
                }
                total
            })
        })
    });

    // One ENI in the group, so that its rules have somewhere to be enforced.
    rt.block_on(async {
        new_eni(sg.clone()).await;
        settle(&m).await;
    });
    let rule = [
        ("RegionId", "cn-hangzhou"),
        ("Permissions.1.IpProtocol", "TCP"),
        ("Permissions.1.PortRange", "8080/8080"),
        ("Permissions.1.SourceCidrIp", "10.1.0.0/16"),
    ];
    g.bench_function("security_group_change_to_rules_loaded", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut params = rule.to_vec();
                    params.push(("SecurityGroupId", &sg));
                    let start = Instant::now();
                    ecs(&rpc, "AuthorizeSecurityGroup", &params).await;
                    settle(&m).await;
                    total += start.elapsed();
                    ecs(&rpc, "RevokeSecurityGroup", &params).await;
                    settle(&m).await;
                }
                total
            })
        })
    });

    g.bench_function("assign_60_addresses_to_delivery", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // Six ENIs in use, three on each instance (an unattached ENI holds at most 10).
                    let mut enis = Vec::new();
                    for n in &nodes {
                        for _ in 0..3 {
                            let e = new_eni(sg.clone()).await;
                            ecs(
                                &rpc,
                                "AttachNetworkInterface",
                                &[("RegionId", "cn-hangzhou"), ("NetworkInterfaceId", &e), ("InstanceId", n)],
                            )
                            .await;
                            enis.push((e, n.clone()));
                        }
                    }
                    settle(&m).await;
                    let start = Instant::now();
                    for (e, _) in &enis {
                        ecs(
                            &rpc,
                            "AssignPrivateIpAddresses",
                            &[
                                ("RegionId", "cn-hangzhou"),
                                ("NetworkInterfaceId", e),
                                ("SecondaryPrivateIpAddressCount", "10"),
                            ],
                        )
                        .await;
                    }
                    settle(&m).await;
                    total += start.elapsed();
                    for (e, n) in &enis {
                        ecs(
                            &rpc,
                            "DetachNetworkInterface",
                            &[("RegionId", "cn-hangzhou"), ("NetworkInterfaceId", e), ("InstanceId", n)],
                        )
                        .await;
                    }
                    settle(&m).await;
                    for (e, _) in &enis {
                        ecs(&rpc, "DeleteNetworkInterface", &[("RegionId", "cn-hangzhou"), ("NetworkInterfaceId", e)])
                            .await;
                    }
                    settle(&m).await;
                }
                total
            })
        })
    });
    g.finish();
    rt.block_on(m.shutdown());
}

fn main() {
    ack_net_mock::fabric::enter_sandbox().expect("the namespace sandbox");
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
