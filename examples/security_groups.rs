//! Security groups: keep the rules a tool owns equal to the rules it wants, and leave every
//! other rule alone. Lets pods reach ECS instances and instances reach pods in one VPC.
//!
//! ```sh
//! cargo run --example security_groups
//! ```

use ack_net_eni::{EcsClient, IpProtocol, Peer, PortRange, SecurityGroupRule};
use ack_net_examples::{BoxError, Cloud};
use ack_net_vpc::VpcClient;

const OWNER: &str = "ack-net:demo";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let cloud = Cloud::connect().await?;
    println!("security groups against {}\n", cloud.describe());
    let vpcs = VpcClient::new(cloud.rpc.clone());
    let ecs = EcsClient::new(cloud.rpc.clone());
    let vpc = vpcs.vpcs().create().cidr_block("10.0.0.0/8").name("sg-demo").send().await?;
    let group = ecs.security_groups().create(&vpc.vpc_id).name("pods").send().await?;
    println!("group {group} in {}", vpc.vpc_id);

    // A rule somebody else made: the converger must never touch it.
    let foreign = SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::single(22), Peer::cidr("192.168.0.0/16")?)
        .description("ssh from the office");
    ecs.security_groups().converger(&group, "office:").rule(foreign).apply().await?;

    let wanted = vec![
        SecurityGroupRule::ingress(IpProtocol::All, PortRange::ALL, Peer::cidr("10.0.0.0/8")?)
            .description("pods and nodes of the VPC"),
        SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::new(30000, 32767)?, Peer::cidr("0.0.0.0/0")?)
            .priority(50)
            .description("node ports for load balancers"),
    ];
    let converger = ecs.security_groups().converger(&group, OWNER).rules(wanted.clone());
    let plan = converger.plan().await?;
    println!(
        "plan: authorize {}, revoke {}, foreign rules left alone {}",
        plan.authorize.len(),
        plan.revoke.len(),
        plan.foreign
    );
    let report = converger.apply().await?;
    for call in &report.calls {
        println!("  {} ({} rules)", call.action, call.rules);
    }

    // Drift: the node-port rule is no longer wanted.
    let converger = ecs.security_groups().converger(&group, OWNER).rules(wanted[..1].to_vec());
    let report = converger.apply().await?;
    println!("after dropping the node-port rule: {} call(s), revoked {}", report.calls.len(), report.plan.revoke.len());
    let again = converger.plan().await?;
    println!("converged: {} (a second apply makes no write)", again.is_empty());
    println!("\nAPI calls made:\n{}", cloud.stats);
    Ok(())
}
