//! The demo estate `--demo` creates on the embedded mock, so that every table shows something:
//! a VPC, two VSwitches, an instance with an extra ENI, and an intranet load balancer with a
//! TCP listener in front of two backends (the instance and an address of the ENI).

use std::time::Duration;

use ack_net_core::RpcRequest;

use ack_net_eni::EcsClient;
use ack_net_examples::BoxError;
use ack_net_mock::{InstanceSeed, MockCloud};
use ack_net_slb::{AddressType, Backend, InstanceSpec, ListenerBackend, ListenerProtocol, ListenerSpec, SlbClient};
use ack_net_vpc::VPC;
use ack_net_vpc::{cidr, RegionId, VpcClient, WaitPolicy, ZoneId};

use super::output::Progress;

/// Creates the estate in `region` through the public APIs (the instance through the mock's
/// admin API, as ECS instances are not this project's business).
pub async fn create(
    mock: &MockCloud,
    rpc: &ack_net_core::RpcClient,
    region: &RegionId,
    progress: &Progress,
) -> Result<(), BoxError> {
    progress.say(format_args!("creating a demo estate on the mock in {region} (--no-demo to skip)..."));
    let wait = WaitPolicy::new(Duration::from_secs(30)).with_backoff(Duration::from_millis(50), Duration::from_secs(1));
    let vpcs = VpcClient::new(rpc.clone());
    let ecs = EcsClient::new(rpc.clone());
    let slb = SlbClient::new(rpc.clone());

    let zones = two_zones(rpc).await?;
    let vpc = vpcs.vpcs().create().cidr_block("192.168.0.0/16").name("ack-net-demo").send_and_wait(&wait).await?;
    progress.say(format_args!("  VPC {} {}", vpc.vpc_id, vpc.cidr_block));
    let mut vswitches = Vec::new();
    let wanted: Vec<(ZoneId, u8)> = zones.into_iter().map(|z| (z, 24)).collect();
    for (i, planned) in cidr::plan_vswitches(vpc.cidr_block, &[], &wanted)?.into_iter().enumerate() {
        let vsw = vpcs
            .vswitches()
            .create(&vpc.vpc_id, &planned.zone_id, planned.cidr)
            .name(format!("ack-net-demo-{}", i + 1))
            .send_and_wait(&wait)
            .await?;
        progress.say(format_args!("  VSwitch {} {} {}", vsw.vswitch_id, vsw.zone_id, vsw.cidr_block));
        vswitches.push(vsw);
    }
    let nodes = &vswitches[0];

    let group = ecs.security_groups().create(&vpc.vpc_id).name("ack-net-demo-nodes").send().await?;
    let instance = mock.create_instance(InstanceSeed {
        region_id: region.to_string(),
        zone_id: nodes.zone_id.to_string(),
        instance_type: "ecs.g7.xlarge".into(),
        vswitch_id: nodes.vswitch_id.to_string(),
        security_group_ids: vec![group.to_string()],
        instance_id: None,
    })?;
    let instance_id = instance["InstanceId"].as_str().ok_or("the mock created an instance without an id")?.to_owned();
    progress.say(format_args!("  instance {instance_id} in {}", nodes.vswitch_id));
    let eni = ecs
        .network_interfaces()
        .create_in(nodes)
        .security_group(&group)
        .secondary_ip_count(2)
        .name("ack-net-demo-pods")
        .send_and_attach(&instance_id.parse()?, &wait)
        .await?;
    progress.say(format_args!(
        "  ENI {} attached to {instance_id} with {} secondary addresses",
        eni.id,
        eni.secondary_ips.len()
    ));

    let lb = slb
        .load_balancers()
        .create()
        .address_type(AddressType::Intranet)
        .vpc_id(vpc.vpc_id.clone())
        .vswitch_id(nodes.vswitch_id.clone())
        .spec(InstanceSpec::S1Small)
        .name("ack-net-demo")
        .send()
        .await?;
    let pod_ip = eni.secondary_ips.first().copied().ok_or("the demo ENI has no secondary address")?;
    let backends = vec![Backend::ecs(&instance_id.parse()?, 30080), Backend::eni(&eni.id, pod_ip.into(), 8080)];
    let web = slb.vserver_groups().create(&lb.load_balancer_id, "ack-net-demo-web").backends(backends).send().await?;
    let listener = ListenerSpec::tcp(80, ListenerBackend::VServerGroup(web.vserver_group_id.clone()));
    slb.listeners().create(&lb.load_balancer_id, listener).send().await?;
    slb.listeners().start(&lb.load_balancer_id, 80, ListenerProtocol::Tcp).send().await?;
    progress.say(format_args!(
        "  load balancer {} {} with tcp:80 -> {} (2 backends)\n",
        lb.load_balancer_id, lb.address, web.vserver_group_id
    ));
    Ok(())
}

/// The first two zones of the region (DescribeZones), for two VSwitches in two zones.
pub async fn two_zones(rpc: &ack_net_core::RpcClient) -> Result<Vec<ZoneId>, BoxError> {
    let answer = rpc.call_value(RpcRequest::read(VPC, "DescribeZones")).await?;
    let zones = answer["Zones"]["Zone"]
        .as_array()
        .map(|zs| zs.iter().filter_map(|z| z["ZoneId"].as_str()).map(ZoneId::new).take(2).collect())
        .unwrap_or_else(|| Ok(Vec::new()))?;
    match zones.len() {
        2 => Ok(zones),
        n => Err(format!("the region has {n} zone(s); the demo needs two").into()),
    }
}
