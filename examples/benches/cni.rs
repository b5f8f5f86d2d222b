//! CNI ADD and DEL end to end on a warm pool, on the mock's data plane (Linux; enters the
//! namespace sandbox first, no root needed): the compiled `cni_plugin` executed as a container
//! runtime does (fork and exec in the node's namespace, the `CNI_*` environment, the
//! configuration on stdin), asking the node agent, which runs in a process of its own (this
//! bench executed again as the agent: an `IpPool` of an `ecs.g7.4xlarge` node against the
//! mock, served on its socket), then setting up the pod's namespace over netlink.
//!
//! - printed first: ADD and DEL p50 and p99 over the first 100 of 110 pods added one after
//!   another on one node (then deleted one after another), and the cloud API calls meanwhile;
//!   the parts of an ADD measured alone (exec of the plugin for VERSION, the agent's allocation
//!   over the socket, `datapath::setup` in process) and their share of the ADD p50; the
//!   agent's resident memory with 0 and 110 pods;
//! - `cni/add` and `cni/del` (criterion): one pod's ADD (its DEL unmeasured), one pod's DEL.
//!
//! ```sh
//! cargo build --release --example cni_plugin
//! cargo bench -p ack-net-examples --bench cni -- --warm-up-time 1 --measurement-time 5
//! ```

#[cfg(target_os = "linux")]
#[path = "../../ack-net-eni/tests/fabric_support/mod.rs"]
#[allow(dead_code)]
mod fabric_support;

#[cfg(target_os = "linux")]
#[path = "../tests/cni_support/mod.rs"]
#[allow(dead_code)]
mod cni_support;

/// Set in the agent's process: its spec as JSON.
#[cfg(target_os = "linux")]
const AGENT_VAR: &str = "ACK_NET_BENCH_AGENT";
/// 7 secondary ENIs of 20 addresses: room for 140 pods.
#[cfg(target_os = "linux")]
const INSTANCE_TYPE: &str = "ecs.g7.4xlarge";
#[cfg(target_os = "linux")]
const PODS: usize = 100;
#[cfg(target_os = "linux")]
const MEMORY_PODS: usize = 110;

#[cfg(target_os = "linux")]
fn main() {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use ack_net_eni::agent::{AgentClient, PodRef};
    use ack_net_eni::datapath::{self, PodInterface};
    use cni_support::{cni, netconf, Pod, Scratch};
    use criterion::Criterion;

    if let Ok(spec) = std::env::var(AGENT_VAR) {
        return agent::run(&spec);
    }
    if let Err(e) = cni_support::plugin() {
        panic!("{e}; for the bench: cargo build --release --example cni_plugin");
    }
    ack_net_mock::fabric::enter_sandbox().expect("a namespace sandbox (see the error for what the kernel needs)");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let scratch = Scratch::new("bench");
    let socket = scratch.0.join("agent.sock");
    let (n, node) = rt.block_on(async {
        let n = fabric_support::Net::new().await;
        let node = n.instance_of_type(&n.vswitches[0], &n.sg, INSTANCE_TYPE);
        n.settle().await;
        (n, node)
    });
    let spec = agent::Spec {
        endpoint: n.mock.url(),
        instance: node.id.clone(),
        vswitch: node.vswitch.clone(),
        group: n.sg.to_string(),
        socket: socket.clone(),
        warm: 120,
    };
    let mut child = Command::new(std::env::current_exe().expect("the bench's path"))
        .env(AGENT_VAR, serde_json::to_string(&spec).expect("the spec"))
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "testid")
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "testsecret")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the agent");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("its stdout")).read_line(&mut line).expect("the agent's word");
    assert_eq!(line.trim(), "ready", "the agent did not start (its error is above)");
    rt.block_on(n.settle());
    let ns = n.node(&node);
    let conf = netconf(&socket);
    let timed = |pod: &Pod, command: &str| {
        let started = Instant::now();
        let (ok, out) = rt.block_on(cni(&ns, pod.env(command), &conf));
        let took = started.elapsed();
        assert!(ok, "{command} {}: {out}", pod.name);
        took
    };

    // 110 pods one after another, then all deleted; the figures are those of the first 100.
    let pods: Vec<Pod> = (0..MEMORY_PODS).map(|i| Pod::new(&format!("p-{i}"))).collect();
    let rss_empty = agent::rss_kib(child.id());
    let calls_before = n.mock.calls().len();
    let mut adds: Vec<Duration> = pods.iter().map(|p| timed(p, "ADD")).collect();
    let rss_full = agent::rss_kib(child.id());
    let mut dels: Vec<Duration> = pods.iter().map(|p| timed(p, "DEL")).collect();
    let calls = n.mock.calls().len() - calls_before;
    adds.truncate(PODS);
    dels.truncate(PODS);

    // The parts, each alone.
    let version = Pod::new("version");
    let execs: Vec<Duration> = (0..PODS).map(|_| timed(&version, "VERSION")).collect();
    let client = AgentClient::new(&socket);
    let allocations: Vec<Duration> = (0..PODS)
        .map(|i| {
            let pod = PodRef::new("default", &format!("a-{i}"), "c", "eth0");
            let started = Instant::now();
            rt.block_on(client.add(&pod)).expect("an allocation");
            let took = started.elapsed();
            rt.block_on(client.release(&pod)).expect("a release");
            took
        })
        .collect();
    let net = rt.block_on(client.add(&PodRef::new("default", "setup", "c", "eth0"))).expect("an allocation");
    let iface = PodInterface::new(version.ns.path(), "eth0").expect("an interface");
    let setups: Vec<Duration> = (0..PODS)
        .map(|_| {
            ns.run(|| {
                let started = Instant::now();
                datapath::setup(&net, &iface).expect("setup");
                let took = started.elapsed();
                datapath::teardown(&net, &iface).expect("teardown");
                took
            })
            .expect("a thread in the node")
        })
        .collect();
    let (add50, add99) = percentiles(adds);
    let (del50, del99) = percentiles(dels);
    println!("\nCNI over {PODS} pods on one node (agent in its own process, warm pool):");
    println!("  ADD p50 {add50:.2?}  p99 {add99:.2?}");
    println!("  DEL p50 {del50:.2?}  p99 {del99:.2?}");
    println!("  cloud API calls during the {MEMORY_PODS} ADDs and DELs: {calls}");
    for (part, times) in [
        ("exec of the plugin (VERSION)", execs),
        ("the agent's allocation over the socket", allocations),
        ("datapath::setup in process", setups),
    ] {
        let (p50, p99) = percentiles(times);
        let share = 100.0 * p50.as_secs_f64() / add50.as_secs_f64();
        println!("  part: {part}: p50 {p50:.2?} ({share:.0}% of the ADD p50), p99 {p99:.2?}");
    }
    println!(
        "  the agent's resident memory: {rss_empty} KiB with 0 pods, {rss_full} KiB with {MEMORY_PODS} pods ({:+} KiB)\n",
        rss_full as i64 - rss_empty as i64
    );

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("cni");
    let pod = Pod::new("bench");
    g.bench_function("add", |b| {
        b.iter_custom(|iters| {
            (0..iters).fold(Duration::ZERO, |total, _| {
                let took = timed(&pod, "ADD");
                timed(&pod, "DEL");
                total + took
            })
        })
    });
    g.bench_function("del", |b| {
        b.iter_custom(|iters| {
            (0..iters).fold(Duration::ZERO, |total, _| {
                timed(&pod, "ADD");
                total + timed(&pod, "DEL")
            })
        })
    });
    g.finish();
    c.final_summary();
    let _ = child.kill();
    let _ = child.wait();
}

/// The p50 and p99 (nearest rank).
#[cfg(target_os = "linux")]
fn percentiles(mut times: Vec<std::time::Duration>) -> (std::time::Duration, std::time::Duration) {
    times.sort();
    let rank = |p: f64| times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    (rank(0.50), rank(0.99))
}

/// The node agent's process.
#[cfg(target_os = "linux")]
mod agent {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::Duration;

    use ack_net_eni::agent::{bind, serve, PoolAgent};
    use ack_net_eni::pool::{IpPool, MemoryStore};
    use serde::{Deserialize, Serialize};

    use crate::cni_support::{pool_config, warm_up};

    /// What the agent's process serves.
    #[derive(Serialize, Deserialize)]
    pub struct Spec {
        pub endpoint: String,
        pub instance: String,
        pub vswitch: String,
        pub group: String,
        pub socket: PathBuf,
        pub warm: u32,
    }

    /// The agent: a pool against the mock, served on the socket; says `ready` on stdout once
    /// the pool is warm, then serves until it is killed.
    pub fn run(spec: &str) {
        let spec: Spec = serde_json::from_str(spec).expect("the agent's spec");
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        rt.block_on(async {
            let cloud = ack_net_examples::Cloud::connect_with(Some(&spec.endpoint), "cn-hangzhou", None)
                .await
                .expect("a client of the mock");
            let group = spec.group.parse().expect("a group id");
            // Addresses rest briefly, so that the repeated ADD and DEL of the bench find them idle.
            // The pool holds `warm` addresses and no more: the bench's ADDs and DELs start no
            // refill (the cloud's work runs on this machine's cores too, the mock's data plane).
            let config = pool_config(&spec.instance, super::INSTANCE_TYPE, &spec.vswitch, &group, spec.warm)
                .max_pods(spec.warm)
                .cooldown(Duration::from_millis(100));
            let pool = IpPool::builder(config)
                .ecs(cloud.rpc.clone())
                .store(Arc::new(MemoryStore::new()))
                .start()
                .await
                .expect("the pool");
            warm_up(&pool, spec.warm).await;
            let listener = bind(&spec.socket).expect("the agent's socket");
            println!("ready");
            serve(listener, Arc::new(PoolAgent::new(pool))).await.expect("serving");
        });
    }

    /// The resident memory of process `pid` (KiB, /proc/PID/status).
    pub fn rss_kib(pid: u32) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the agent's status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("the CNI bench needs Linux (network namespaces and netlink)");
    std::process::exit(1);
}
