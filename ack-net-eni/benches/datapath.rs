//! The pod datapath on the mock's data plane (Linux; enters a user and network namespace
//! sandbox first, no root needed): a pool's ENI hot-plugged into a node's namespace, one pod
//! namespace, and
//!
//! - `datapath/setup`: one `datapath::setup` of the pod (veth pair, address, neighbour,
//!   routes, rules, the ENI table's route), measured alone (a teardown follows unmeasured);
//! - `datapath/teardown`: one `datapath::teardown` of a set-up pod, measured alone;
//! - `datapath/setup_dual_stack`: `setup` of a pod of a dual-stack pool (the IPv6 half too),
//!   on another node;
//! - `datapath/setup_exclusive` and `datapath/teardown_exclusive`: a pod of an exclusive-ENI
//!   pool (the ENI moved into the pod and back), on a third node.
//!
//! Each call includes its own thread, its current-thread runtime, its two netlink sockets and
//! the dumps that make it idempotent.
//!
//! `cargo bench -p ack-net-eni --bench datapath -- --warm-up-time 1 --measurement-time 5`

#[cfg(target_os = "linux")]
#[path = "../tests/fabric_support/mod.rs"]
#[allow(dead_code)]
mod fabric_support;

#[cfg(target_os = "linux")]
fn main() {
    use std::time::{Duration, Instant};

    use ack_net_eni::datapath::{self, PodInterface};
    use ack_net_eni::pod_network::PodNetwork;
    use ack_net_eni::pool::{IpStack, PoolMode};
    use ack_net_mock::fabric::Netns;
    use criterion::Criterion;

    ack_net_mock::fabric::enter_sandbox().expect("a namespace sandbox (see the error for what the kernel needs)");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    // A node per kind of pool: IPv4 shared, dual-stack shared, exclusive.
    let (n, _pools, nets) = rt.block_on(async {
        let n = fabric_support::Net::new().await;
        let pools = [
            n.pool(&n.nodes[0], "node-a").await,
            n.pool_with(&n.nodes[1], "node-b", |c| c.stack(IpStack::DualStack)).await,
            n.pool_with(&n.nodes[2], "node-c", |c| c.mode(PoolMode::Exclusive)).await,
        ];
        let mut nets = Vec::new();
        for pool in &pools {
            nets.push(PodNetwork::setup(pool, "default/bench-0").await.expect("an address"));
        }
        n.settle().await;
        (n, pools, nets)
    });
    let pod_ns = Netns::new().expect("a pod namespace");
    let pod = PodInterface::new(pod_ns.path(), "eth0").expect("an interface");
    let nodes: Vec<_> = n.nodes.iter().map(|node| n.node(node)).collect();
    let timed = |kind: usize, setup: bool| {
        let net = &nets[kind];
        nodes[kind]
            .run(|| {
                let started = Instant::now();
                let r = if setup { datapath::setup(net, &pod) } else { datapath::teardown(net, &pod) };
                r.expect("the datapath call");
                started.elapsed()
            })
            .expect("a thread in the node")
    };
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("datapath");
    for (name, kind, setup) in [
        ("setup", 0, true),
        ("teardown", 0, false),
        ("setup_dual_stack", 1, true),
        ("setup_exclusive", 2, true),
        ("teardown_exclusive", 2, false),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let made = timed(kind, true);
                    let gone = timed(kind, false);
                    total += if setup { made } else { gone };
                }
                total
            })
        });
    }
    g.finish();
    c.final_summary();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("the datapath bench needs Linux (network namespaces and netlink)");
    std::process::exit(1);
}
