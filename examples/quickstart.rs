//! The ack-net quickstart, the whole mission in one run: a VPC and VSwitches, an ECS
//! instance as the node, a warm IP pool, pods given their networks, a Service bound to a
//! load balancer (plan printed, applied, and a second apply that makes no write), a pod
//! deleted and its address returned, and the API calls it all took — against the embedded
//! mock cloud unless `ACK_NET_ENDPOINT` is set. The node is an ECS instance of the examples'
//! VPC, found through the API: against a standalone mock, start it with
//! `--preload-instances 2`.
//!
//! ```sh
//! cargo run --example quickstart
//! cargo run -p ack-net-mock -- --listen 127.0.0.1:18080 --preload-instances 2 &
//! ACK_NET_ENDPOINT=http://127.0.0.1:18080 ALIBABA_CLOUD_REGION_ID=cn-hangzhou \
//!     ALIBABA_CLOUD_ACCESS_KEY_ID=testid ALIBABA_CLOUD_ACCESS_KEY_SECRET=testsecret cargo run --example quickstart
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use ack_net_eni::pod_network::PodNetwork;
use ack_net_eni::pool::{IpPool, MemoryStore, PoolConfig, PoolOwner};
use ack_net_eni::EcsClient;
use ack_net_examples::{demo_network, BoxError, Cloud};
use ack_net_slb::binding::{
    DrainPolicy, LoadBalancerAttributes, LoadBalancerSpec, ObserveOptions, Owner, PlanOptions, PortSpec, ServiceBinding,
};
use ack_net_slb::{Backend, InstanceSpec, SlbClient};

const CLUSTER: &str = "c-quickstart";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let started = Instant::now();
    let cloud = Cloud::connect().await?;
    println!("ack-net quickstart, talking to {}\n", cloud.describe());

    // 1. A VPC, two VSwitches in two zones with blocks the planner proves free, a security
    //    group that lets the VPC reach pods, and a node.
    println!("== network");
    let net = demo_network(&cloud, "ack-net-quickstart").await?;
    let node = match net.node() {
        Ok(node) => node.clone(),
        Err(why) => {
            println!("\nThe rest needs a node: {why}.");
            return Ok(());
        }
    };
    let node_id = &node.id;
    let vswitches = &net.vswitches;
    let ecs = EcsClient::new(cloud.rpc.clone());
    let limits = ecs.instance_types().limits(&node.instance_type).await?;
    println!("          {node_id} holds up to {} pods in multi-IP mode", limits.max_pods_multi_ip());

    // 3. A warm pool of pod addresses on the node.
    let config = PoolConfig::new(
        PoolOwner { cluster_id: CLUSTER.into(), pool_id: format!("pool-{node_id}") },
        node_id.clone(),
        node.instance_type.clone(),
    )
    .vswitch(vswitches[0].vswitch_id.clone())
    .security_group(net.security_group.clone())
    .warm_band(4, 12);
    let t = Instant::now();
    let pool = IpPool::builder(config).ecs(cloud.rpc.clone()).store(Arc::new(MemoryStore::new())).start().await?;
    let mut pods = Vec::new();
    println!("\n== pods\n{:<14} {:<16} {:<28} {:<14} MAC", "POD", "IP", "ENI", "GATEWAY");
    for i in 0..5 {
        let key = format!("default/web-{i}");
        let net = PodNetwork::setup(&pool, &key).await?;
        println!(
            "{key:<14} {:<16} {:<28} {:<14} {}",
            net.ipv4.to_string(),
            net.eni_id.to_string(),
            net.gateway4.to_string(),
            net.mac
        );
        pods.push(net);
    }
    let m = pool.metrics();
    println!(
        "pool: {} in use, {} idle, {} ENI(s); first five pods served in {:.0?}",
        m.in_use,
        m.idle,
        m.enis,
        t.elapsed()
    );
    let cni = pods[0].cni_result("eth0", Some("/var/run/netns/web-0"))?;
    println!("CNI result of web-0: {}", serde_json::to_string(&cni)?);

    // 4. A Service bound to a load balancer: plan, apply, and prove it converged.
    let slb = SlbClient::new(cloud.rpc.clone());
    let backends = |pods: &[PodNetwork]| -> Vec<Backend> {
        pods.iter().map(|p| Backend::eni(&p.eni_id, p.ipv4.addr().into(), 8080)).collect()
    };
    let spec_for = |pods: &[PodNetwork]| {
        LoadBalancerSpec::create(
            Owner::new(CLUSTER, "default/web"),
            LoadBalancerAttributes::intranet(vswitches[0].vswitch_id.clone(), InstanceSpec::S1Small),
        )
        .port(PortSpec::tcp(80, backends(pods)))
    };
    let binding = ServiceBinding::builder(spec_for(&pods)).slb(slb.clone()).build()?;
    let observed = binding.observe().await?;
    let plan = binding.plan(&observed)?;
    println!("\n== service default/web -> load balancer\n{plan}");
    let report = binding.apply(&plan).await?;
    let lb = report.load_balancer_id.clone().ok_or("the binding made no load balancer")?;
    println!("applied: load balancer {lb}, {} API call(s)", report.total_calls());
    let (writes, reads) = (cloud.stats.writes(), cloud.stats.reads());
    let observed = binding.observe_with(Some(&lb), &ObserveOptions::fast()).await?;
    let again = binding.plan(&observed)?;
    binding.apply(&again).await?;
    println!(
        "second apply: {} step(s), {} write(s), {} read(s): converged",
        again.steps.len(),
        cloud.stats.writes() - writes,
        cloud.stats.reads() - reads
    );

    // 5. A pod goes away: its backend leaves the group, its address returns to the pool.
    let gone = pods.remove(4);
    // Leaving backends drain at weight 0 before they go (a second here; 30 s by default).
    let drain = PlanOptions { drain: DrainPolicy::for_period(Duration::from_secs(1)), ..PlanOptions::default() };
    let binding = ServiceBinding::builder(spec_for(&pods)).slb(slb).plan_options(drain).build()?;
    let observed = binding.observe_with(Some(&lb), &ObserveOptions::fast()).await?;
    let plan = binding.plan(&observed)?;
    println!("{plan}");
    binding.apply(&plan).await?;
    PodNetwork::teardown(&pool, &gone.pod).await?;
    let m = pool.metrics();
    println!(
        "\n== {} deleted\nbackend removed ({} step(s)); {} back in the pool: {} in use, {} idle or cooling",
        gone.pod,
        plan.steps.len(),
        gone.ipv4.addr(),
        m.in_use,
        m.idle + m.cooling
    );

    println!("\n== API calls\n{}", cloud.stats);
    println!("total {} calls ({} writes) in {:.2?}", cloud.stats.total(), cloud.stats.writes(), started.elapsed());
    Ok(())
}
