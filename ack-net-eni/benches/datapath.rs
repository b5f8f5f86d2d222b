//! The pod datapath on the mock's data plane (Linux; enters a user and network namespace
//! sandbox first, no root needed): a pool's ENI hot-plugged into a node's namespace, one pod
//! namespace, and
//!
//! - `datapath/setup`: one `datapath::setup` of the pod (veth pair, address, neighbour,
//!   routes, rules, the ENI table's route), measured alone (a teardown follows unmeasured);
//! - `datapath/teardown`: one `datapath::teardown` of a set-up pod, measured alone.
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
    use ack_net_mock::fabric::Netns;
    use criterion::Criterion;

    ack_net_mock::fabric::enter_sandbox().expect("a namespace sandbox (see the error for what the kernel needs)");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let (n, _pool, net) = rt.block_on(async {
        let n = fabric_support::Net::new().await;
        let pool = n.pool(&n.nodes[0], "node-a").await;
        let net = PodNetwork::setup(&pool, "default/bench-0").await.expect("an address");
        n.settle().await;
        (n, pool, net)
    });
    let node = n.node(&n.nodes[0]);
    let pod_ns = Netns::new().expect("a pod namespace");
    let pod = PodInterface::new(pod_ns.path(), "eth0").expect("an interface");
    let timed = |setup: bool| {
        node.run(|| {
            let started = Instant::now();
            let r = if setup { datapath::setup(&net, &pod) } else { datapath::teardown(&net, &pod) };
            r.expect("the datapath call");
            started.elapsed()
        })
        .expect("a thread in the node")
    };
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("datapath");
    g.bench_function("setup", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += timed(true);
                timed(false);
            }
            total
        })
    });
    g.bench_function("teardown", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                timed(true);
                total += timed(false);
            }
            total
        })
    });
    g.finish();
    c.final_summary();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("the datapath bench needs Linux (network namespaces and netlink)");
    std::process::exit(1);
}
