//! A Service's load balancer as desired state: plan it, print the plan, apply it, change it.
//! `--dry-run` prints the plan and stops before any write.
//!
//! ```sh
//! cargo run --example service_to_slb -- --dry-run
//! cargo run --example service_to_slb
//! ```

use ack_net_examples::{demo_network, BoxError, Cloud};
use ack_net_slb::binding::{
    DrainPolicy, LoadBalancerAttributes, LoadBalancerSpec, Owner, PlanOptions, PortSpec, ServiceBinding,
};
use ack_net_slb::{Backend, InstanceSpec, SlbClient};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let dry_run = std::env::args().any(|a| a == "--dry-run");
    let cloud = Cloud::connect().await?;
    println!("Service to SLB against {}{}\n", cloud.describe(), if dry_run { " (dry run)" } else { "" });
    let net = demo_network(&cloud, "ack-net-service").await?;
    let node = net.node()?.id.clone();
    let vswitch = net.vswitches[0].vswitch_id.clone();
    // Backends: the node on its NodePorts (Cluster mode, as a Service without ENI backends).
    let spec = |weight: u8| {
        LoadBalancerSpec::create(
            Owner::new("c-demo", "shop/web"),
            LoadBalancerAttributes::intranet(vswitch.clone(), InstanceSpec::S1Small),
        )
        .port(PortSpec::tcp(80, vec![Backend::ecs(&node, 30080).with_weight(weight)]))
        .port(PortSpec::tcp(443, vec![Backend::ecs(&node, 30443)]))
    };
    let options = PlanOptions { drain: DrainPolicy::none(), ..PlanOptions::default() };
    let slb = SlbClient::new(cloud.rpc.clone());
    let binding = ServiceBinding::builder(spec(100)).slb(slb.clone()).plan_options(options.clone()).build()?;
    let writes_before = cloud.stats.writes();
    let plan = binding.plan(&binding.observe().await?)?;
    println!("\n{plan}");
    if dry_run {
        println!("dry run: {} write calls made for the binding", cloud.stats.writes() - writes_before);
        return Ok(());
    }
    let report = binding.apply(&plan).await?;
    let lb = report.load_balancer_id.clone().ok_or("no load balancer")?;
    println!("applied with {} API calls: {lb}", report.total_calls());

    // A weight change is one write, in place.
    let binding = ServiceBinding::builder(spec(50)).slb(slb).plan_options(options).build()?;
    let plan = binding.plan(&binding.observe_remembered(&lb).await?)?;
    println!("\n{plan}");
    let report = binding.apply(&plan).await?;
    println!("applied with {} write call(s)", report.writes());
    let plan = binding.plan(&binding.observe_remembered(&lb).await?)?;
    println!("converged: {}", plan.is_empty());
    println!("\nAPI calls made:\n{}", cloud.stats);
    Ok(())
}
