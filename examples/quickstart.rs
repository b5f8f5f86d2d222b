//! The ack-net quickstart: a VPC and two VSwitches, an ECS instance, and a summary of the
//! API calls it took — against the embedded mock cloud unless `ACK_NET_ENDPOINT` is set.
//!
//! ```sh
//! cargo run --example quickstart
//! ```

use std::time::{Duration, Instant};

use ack_net_examples::{BoxError, Cloud};
use ack_net_vpc::{cidr, VpcClient, WaitPolicy, ZoneId};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let started = Instant::now();
    let cloud = Cloud::connect().await?;
    println!("ack-net quickstart: talking to {}\n", cloud.describe());

    // 1. A VPC, and two VSwitches in two zones with blocks the planner proves free.
    let vpc_client = VpcClient::new(cloud.rpc.clone());
    let wait = WaitPolicy::default().with_timeout(Duration::from_secs(60));
    let vpc =
        vpc_client.vpcs().create().cidr_block("192.168.0.0/16").name("ack-net-quickstart").send_and_wait(&wait).await?;
    println!("VPC      {}  {}", vpc.vpc_id, vpc.cidr_block);
    let zones: [(ZoneId, u8); 2] = [("cn-hangzhou-h".parse()?, 24), ("cn-hangzhou-i".parse()?, 24)];
    let mut vswitches = Vec::new();
    for planned in cidr::plan_vswitches(vpc.cidr_block, &[], &zones)? {
        let vsw =
            vpc_client.vswitches().create(&vpc.vpc_id, &planned.zone_id, planned.cidr).send_and_wait(&wait).await?;
        println!(
            "VSwitch  {}  {}  {}  {} addresses free",
            vsw.vswitch_id, vsw.zone_id, vsw.cidr_block, vsw.available_ip_address_count
        );
        vswitches.push(vsw);
    }

    // 2. An ECS instance to be the node (the mock creates it through its admin API).
    if let Some(mock) = &cloud.mock {
        let node = mock.create_instance(ack_net_mock::InstanceSeed {
            region_id: "cn-hangzhou".into(),
            zone_id: vswitches[0].zone_id.to_string(),
            instance_type: "ecs.g7.xlarge".into(),
            vswitch_id: vswitches[0].vswitch_id.to_string(),
            security_group_ids: Vec::new(),
            instance_id: None,
        })?;
        println!("Node     {}", node["InstanceId"].as_str().unwrap_or("?"));
    }

    println!("\nAPI calls made:\n{}", cloud.stats);
    println!("done in {:.2?}", started.elapsed());
    Ok(())
}
