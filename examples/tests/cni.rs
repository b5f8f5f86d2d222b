//! The CNI plugin (`cni_plugin`) and the node agent's socket proven with packets on the mock's
//! data plane. Each node runs the agent's logic (an `IpPool` on a journal file against the
//! mock, served by `ack_net_eni::agent`); pods are network namespaces added by executing the
//! compiled plugin exactly as a container runtime does (the `CNI_*` environment, the
//! configuration on stdin, the exit code and stdout), and through the CNI project's reference
//! client `cnitool`. ICMP and TCP show pod to pod on one node and across nodes through the
//! vRouter, pod to its node, pod to an ECS instance (with the security-group rule; blocked
//! without it); DEL leaves the node's links, routes, rules and neighbours as they were.
//!
//! `harness = false`, like ack-net-eni's `fabric` test: `main` builds `cnitool` (once, with Go,
//! into `target/tmp/`, before the sandbox cuts the network off) and then enters the namespace
//! sandbox. Needs `ping`, `nft`, `ip` and `unshare` (cnitool runs in a mount namespace of its
//! own, so that its result cache stays in a temporary directory). Every probe is bounded.

#[cfg(target_os = "linux")]
#[path = "../../ack-net-eni/tests/fabric_support/mod.rs"]
#[allow(dead_code)]
mod fabric_support;

#[cfg(target_os = "linux")]
mod cni_support;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    for (program, package) in [("ip", "iproute2"), ("unshare", "util-linux")] {
        if std::process::Command::new(program).arg("-V").output().is_err() {
            eprintln!("the CNI tests need `{program}`: apt-get install {package}");
            return std::process::ExitCode::FAILURE;
        }
    }
    if let Err(e) = cni_support::plugin().and_then(|_| tests::build_cnitool()) {
        eprintln!("{e}");
        return std::process::ExitCode::FAILURE;
    }
    fabric_support::run(&[
        ("pods_added_by_the_plugin_reach_pods_nodes_and_instances", |n| Box::pin(tests::pods(n))),
        ("thirty_pods_then_all_deleted_leave_nothing", |n| Box::pin(tests::thirty(n))),
        ("the_agent_restarts_between_add_and_del", |n| Box::pin(tests::restart(n))),
        ("a_failed_add_leaves_nothing_and_bad_input_is_refused", |n| Box::pin(tests::failures(n))),
        ("cnitool_drives_the_plugin", |n| Box::pin(tests::cnitool(n))),
        ("dual_stack_pods_get_both_addresses_and_reach_each_other_over_ipv6", |n| Box::pin(tests::dual_stack(n))),
        ("a_pod_with_an_exclusive_eni_reaches_a_pod_on_another_node", |n| Box::pin(tests::exclusive(n))),
    ])
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("the CNI tests need Linux (network namespaces and netlink); nothing was run");
    std::process::ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
mod tests {
    use std::collections::HashSet;
    use std::io::{self, BufRead as _};
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::Arc;

    use ack_net_eni::agent::{self, PoolAgent};
    use ack_net_eni::pool::{FileStore, IpPool, IpStack, PoolConfig, PoolMode};
    use ack_net_eni::{IpProtocol, Peer, PortRange, SecurityGroupRule};
    use ack_net_mock::fabric::Netns;
    use serde_json::{json, Value};

    use crate::cni_support::*;
    use crate::fabric_support::*;

    /// The version of the CNI project whose `cnitool` judges the plugin (CNI spec 1.1).
    const CNITOOL_VERSION: &str = "v1.3.0";

    fn cnitool_path() -> PathBuf {
        std::env::var_os("ACK_NET_CNITOOL").map(PathBuf::from).unwrap_or_else(|| {
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cnitool-{CNITOOL_VERSION}")).join("cnitool")
        })
    }

    /// Builds `cnitool` from its Go module once (`go install …/cnitool@VERSION`), unless
    /// `ACK_NET_CNITOOL` names a prebuilt one.
    pub fn build_cnitool() -> Result<(), String> {
        let bin = cnitool_path();
        if bin.is_file() {
            return Ok(());
        }
        if std::env::var_os("ACK_NET_CNITOOL").is_some() {
            return Err(format!("ACK_NET_CNITOOL names {}, which is not a file", bin.display()));
        }
        let dir = bin.parent().ok_or("cnitool's directory")?;
        let partial = dir.with_extension("partial");
        let _ = std::fs::remove_dir_all(&partial);
        let go = std::env::var_os("GO").unwrap_or_else(|| "go".into());
        let package = format!("github.com/containernetworking/cni/cnitool@{CNITOOL_VERSION}");
        eprintln!("building {package} into {} (once)", dir.display());
        let status = Command::new(&go).args(["install", &package]).env("GOBIN", &partial).status().map_err(|e| {
            format!(
                "the CNI tests build cnitool with Go: install Go (https://go.dev/dl/, `go` on PATH or GO=…) or set \
                 ACK_NET_CNITOOL to a cnitool {CNITOOL_VERSION} ({e})"
            )
        })?;
        if !status.success() {
            return Err(format!("go install {package} failed ({status})"));
        }
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        std::fs::rename(partial.join("cnitool"), &bin).map_err(|e| format!("moving cnitool into place: {e}"))?;
        let _ = std::fs::remove_dir_all(&partial);
        Ok(())
    }

    /// A node's agent: its pool (journaled in `dir`) serving the socket in `dir`.
    struct Agent {
        pool: IpPool,
        socket: PathBuf,
        serving: tokio::task::JoinHandle<io::Result<()>>,
    }

    impl Agent {
        /// Starts the agent of `node` with `warm` idle addresses, and waits until they are there
        /// and the fabric has plugged the ENIs into the node.
        async fn start(n: &Net, node: &Node, instance_type: &str, dir: &Path, warm: u32) -> Agent {
            Agent::start_with(n, node, instance_type, dir, warm, |c| c).await
        }

        /// [`Agent::start`] with the pool's configuration changed by `tune` (its IP stack, its
        /// ENI mode).
        async fn start_with(
            n: &Net,
            node: &Node,
            instance_type: &str,
            dir: &Path,
            warm: u32,
            tune: impl FnOnce(PoolConfig) -> PoolConfig,
        ) -> Agent {
            let store = FileStore::open(dir.join("journal.json")).await.expect("the journal");
            let config = tune(pool_config(&node.id, instance_type, &node.vswitch, &n.sg, warm)).wait_policy(waits());
            let pool = IpPool::builder(config).ecs(n.rpc()).store(Arc::new(store)).start().await.expect("the pool");
            warm_up(&pool, warm).await;
            n.settle().await;
            let socket = dir.join("agent.sock");
            let listener = agent::bind(&socket).expect("the agent's socket");
            let serving = tokio::spawn(agent::serve(listener, Arc::new(PoolAgent::new(pool.clone()))));
            Agent { pool, socket, serving }
        }

        /// The network configuration naming this agent.
        fn conf(&self) -> Value {
            netconf(&self.socket)
        }

        /// Stops serving and drops the pool (its journal stays).
        async fn stop(self) {
            self.serving.abort();
            let _ = self.serving.await;
            drop(self.pool);
        }
    }

    /// ADD through the plugin, which must succeed: the pod's address from the result.
    async fn add(node: &Arc<Netns>, pod: &Pod, agent: &Agent) -> (Ipv4Addr, Value) {
        let (ok, result) = cni(node, pod.env("ADD"), &agent.conf()).await;
        assert!(ok, "ADD {}: {result}", pod.name);
        assert_eq!(result["cniVersion"], "1.1.0", "{result}");
        assert_eq!(result["interfaces"][0]["name"], "eth0", "{result}");
        assert_eq!(result["interfaces"][0]["sandbox"], pod.ns.path().display().to_string(), "{result}");
        let address = result["ips"][0]["address"].as_str().unwrap_or_else(|| panic!("no address in {result}"));
        let ip = address.split('/').next().and_then(|a| a.parse().ok()).expect("an IPv4 address");
        assert_eq!(agent.pool.held(&pod.key()).map(|a| a.ipv4), Some(ip), "the agent holds the pod's address");
        (ip, result)
    }

    /// DEL through the plugin, which must succeed.
    async fn del(node: &Arc<Netns>, pod: &Pod, agent: &Agent) {
        let (ok, out) = cni(node, pod.env("DEL"), &agent.conf()).await;
        assert!(ok && out.is_null(), "DEL {}: {out}", pod.name);
    }

    /// The node's pod layout: [`snapshot`] without the ENIs' own links, which the pool may plug
    /// in while it refills (the plugin never adds or removes them).
    fn layout(node: &Netns) -> String {
        snapshot(node)
            .lines()
            .map(|l| match l.strip_prefix("links: ") {
                Some(links) => {
                    let names: Vec<String> = serde_json::from_str::<Vec<String>>(links)
                        .map(|v| v.into_iter().filter(|n| !n.starts_with("eth")).collect())
                        .unwrap_or_else(|_| vec![links.to_owned()]);
                    format!("links: {names:?}")
                }
                None => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// [`layout`] with the node's IPv6 rules and routes of every table, but for the link-local
    /// and multicast routes the kernel gives every link that is up (the ENI stays up).
    fn layout_dual(node: &Netns) -> String {
        let all = snapshot_dual(node);
        let v6 = all.split_once("routes6:\n").map_or("", |(_, v6)| v6);
        let kept: Vec<&str> = v6.lines().filter(|l| !l.contains("fe80::") && !l.starts_with("multicast")).collect();
        format!("{}\n{}", layout(node), kept.join("\n"))
    }

    pub async fn dual_stack(n: Net) {
        let scratch = Scratch::new("dual");
        let node = n.nodes[0].clone();
        let ns = n.node(&node);
        let agent = Agent::start_with(&n, &node, "ecs.g7.large", &scratch.0, 2, |c| c.stack(IpStack::DualStack)).await;
        let before = layout_dual(&ns);
        let pods = [Pod::new("v6-0"), Pod::new("v6-1")];
        let mut v6 = Vec::new();
        let mut results = Vec::new();
        for pod in &pods {
            let (_, result) = add(&ns, pod, &agent).await;
            let ips = result["ips"].as_array().unwrap_or_else(|| panic!("no ips in {result}"));
            assert_eq!(ips.len(), 2, "an IPv4 and an IPv6 address: {result}");
            let address: Ipv6Addr = ips[1]["address"]
                .as_str()
                .and_then(|a| a.split('/').next()?.parse().ok())
                .unwrap_or_else(|| panic!("no IPv6 address in {result}"));
            assert_eq!(agent.pool.held(&pod.key()).and_then(|a| a.ipv6), Some(address), "the agent holds it");
            v6.push(address);
            results.push(result);
        }
        reaches_from(&pods[0].ns, v6[1], "IPv6 pod to pod through the plugin").await;
        reaches_from(&pods[1].ns, v6[0], "IPv6 pod to pod through the plugin, back").await;
        assert!(tcp_probe(&pods[1].ns, &pods[0].ns, v6[0], 8092), "TCP over IPv6 pod to pod");

        let mut conf = agent.conf();
        conf["prevResult"] = results[0].clone();
        let (ok, out) = cni(&ns, pods[0].env("CHECK"), &conf).await;
        assert!(ok && out.is_null(), "CHECK of a dual-stack pod: {out}");
        conf["prevResult"]["ips"].as_array_mut().expect("ips").truncate(1);
        let (ok, out) = cni(&ns, pods[0].env("CHECK"), &conf).await;
        assert!(!ok && out["code"] == 102, "CHECK of a result without the IPv6 address: {out}");

        // cnitool (libcni) as the judge of a dual-stack result: ADD, CHECK (with its cached
        // result), DEL.
        std::fs::create_dir_all(scratch.0.join("net.d")).unwrap();
        std::fs::write(scratch.0.join("net.d/10-ack-net.conf"), agent.conf().to_string()).unwrap();
        let judged = Pod::new("v6-2");
        let (ok, result) = cnitool_run(&ns, &scratch.0, "add", &judged).await;
        assert!(ok, "cnitool add: {result}");
        let want = agent.pool.held(&judged.key()).and_then(|a| a.ipv6).expect("an IPv6 address").to_string();
        let listed = result["ips"].as_array().is_some_and(|ips| {
            ips.iter().any(|ip| ip["address"].as_str().is_some_and(|a| a.starts_with(&format!("{want}/"))))
        });
        assert!(listed, "cnitool's result lists {want}: {result}");
        reaches_from(&judged.ns, v6[0], "a pod added by cnitool over IPv6").await;
        let (ok, out) = cnitool_run(&ns, &scratch.0, "check", &judged).await;
        assert!(ok, "cnitool check: {out}");
        let (ok, out) = cnitool_run(&ns, &scratch.0, "del", &judged).await;
        assert!(ok, "cnitool del: {out}");

        for p in &pods {
            del(&ns, p, &agent).await;
            del(&ns, p, &agent).await;
        }
        assert_eq!(layout_dual(&ns), before, "DEL removes every IPv4 and IPv6 route and rule ADD made");
        assert!(agent.pool.pods().is_empty(), "every address released");
    }

    pub async fn exclusive(n: Net) {
        let scratch = Scratch::new("exclusive");
        let (a, c) = (n.nodes[0].clone(), n.nodes[2].clone());
        let (da, dc) = (scratch.sub("a"), scratch.sub("c"));
        let agent = Agent::start_with(&n, &a, "ecs.g7.large", &da, 1, |c| c.mode(PoolMode::Exclusive)).await;
        let remote_agent = Agent::start(&n, &c, "ecs.g7.large", &dc, 1).await;
        let (node_a, node_c) = (n.node(&a), n.node(&c));
        let before = layout(&node_a);

        let (pod, remote) = (Pod::new("own-0"), Pod::new("db-0"));
        let (ip, result) = add(&node_a, &pod, &agent).await;
        let mac = agent.pool.held(&pod.key()).map(|a| a.mac.to_string()).expect("the pod's ENI");
        assert_eq!(result["interfaces"][0]["mac"], json!(mac), "the pod's interface is its ENI: {result}");
        let inside = pod.ns.links().expect("links").into_iter().find(|l| l.name == "eth0").expect("eth0 in the pod");
        assert_eq!(inside.mac, mac, "the ENI's link is the pod's eth0");
        assert_eq!(add(&node_a, &pod, &agent).await.0, ip, "a repeated ADD is the same pod");
        let (ipr, _) = add(&node_c, &remote, &remote_agent).await;
        reaches_from(&pod.ns, ipr, "exclusive pod to a pod on another node").await;
        reaches_from(&remote.ns, ip, "and back").await;
        assert!(tcp_probe(&remote.ns, &pod.ns, ip, 8093), "TCP to the exclusive pod across nodes");

        let mut conf = agent.conf();
        conf["prevResult"] = result;
        let (ok, out) = cni(&node_a, pod.env("CHECK"), &conf).await;
        assert!(ok && out.is_null(), "CHECK of an exclusive pod: {out}");

        del(&node_a, &pod, &agent).await;
        del(&node_a, &pod, &agent).await;
        assert_eq!(layout(&node_a), before, "DEL leaves the node's layout as it was");
        let back = node_a.links().expect("links").into_iter().find(|l| l.mac == mac).expect("the ENI is back");
        assert!(!back.up && back.name.starts_with("eth"), "down, under its node name: {back:?}");
        assert!(pod.ns.links().expect("links").iter().all(|l| l.name == "lo"), "the pod has only lo left");
        assert!(agent.pool.pods().is_empty(), "the ENI is back in the pool");
        del(&node_c, &remote, &remote_agent).await;
    }

    pub async fn pods(n: Net) {
        let scratch = Scratch::new("pods");
        let (a, b) = (n.nodes[0].clone(), n.nodes[2].clone());
        let (da, db) = (scratch.sub("a"), scratch.sub("b"));
        let agent_a = Agent::start(&n, &a, "ecs.g7.large", &da, 3).await;
        let agent_b = Agent::start(&n, &b, "ecs.g7.large", &db, 2).await;
        let (node_a, node_b) = (n.node(&a), n.node(&b));
        let (before_a, before_b) = (layout(&node_a), layout(&node_b));

        let pods = [Pod::new("web-0"), Pod::new("web-1")];
        let remote = Pod::new("db-0");
        let (ip0, result0) = add(&node_a, &pods[0], &agent_a).await;
        let (ip1, _) = add(&node_a, &pods[1], &agent_a).await;
        let (ipr, _) = add(&node_b, &remote, &agent_b).await;
        let (again, _) = add(&node_a, &pods[0], &agent_a).await;
        assert_eq!(again, ip0, "a repeated ADD is the same pod");

        reaches_from(&pods[0].ns, ip1, "pod to pod on one node").await;
        assert!(tcp_probe(&pods[1].ns, &pods[0].ns, ip0, 8080), "TCP pod to pod on one node");
        reaches_from(&pods[0].ns, ipr, "pod to pod across nodes").await;
        reaches_from(&remote.ns, ip1, "pod to pod across nodes, back").await;
        assert!(tcp_probe(&pods[1].ns, &remote.ns, ipr, 8081), "TCP pod to pod across nodes");
        reaches_from(&pods[0].ns, a.ip, "pod to its node").await;
        assert!(tcp_probe(&pods[0].ns, &node_a, a.ip, 8082), "TCP pod to its node");
        assert!(tcp_probe(&node_a, &pods[0].ns, ip0, 8083), "TCP node to its pod");

        // An ECS instance in a group of its own: nothing from the pod gets in until a rule lets
        // the pod's address in (and the answers come back: the groups are stateful).
        let guarded = n.instance_in_new_group(&n.vswitches[1]).await;
        let instance = n.node(&guarded.node);
        n.settle().await;
        assert!(!ping_from(&pods[0].ns, guarded.node.ip), "the group lets nothing in without a rule");
        assert!(!tcp_probe(&pods[0].ns, &instance, guarded.node.ip, 8084), "nor TCP");
        let from_pod = Peer::cidr(&format!("{ip0}/32")).unwrap();
        for rule in [
            SecurityGroupRule::ingress(IpProtocol::Icmp, PortRange::ALL, from_pod.clone()),
            SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::single(8084), from_pod),
        ] {
            n.ecs.security_groups().authorize(&guarded.group).rule(rule).send().await.expect("authorize");
        }
        n.settle().await;
        reaches_from(&pods[0].ns, guarded.node.ip, "pod to an ECS instance with the rule").await;
        assert!(tcp_probe(&pods[0].ns, &instance, guarded.node.ip, 8084), "TCP pod to an ECS instance with the rule");
        assert!(!ping_from(&pods[1].ns, guarded.node.ip), "the rule lets in that pod only");

        // CHECK with the ADD's result, as a runtime sends it.
        let mut conf = agent_a.conf();
        conf["prevResult"] = result0.clone();
        let (ok, out) = cni(&node_a, pods[0].env("CHECK"), &conf).await;
        assert!(ok && out.is_null(), "CHECK: {out}");
        conf["prevResult"]["ips"][0]["address"] = json!("10.1.1.99/24");
        let (ok, out) = cni(&node_a, pods[0].env("CHECK"), &conf).await;
        assert!(!ok && out["code"] == 102, "CHECK of another address: {out}");
        let (ok, out) = cni(&node_a, Pod::new("never-added").env("CHECK"), &agent_a.conf()).await;
        assert!(!ok && out["code"] == 3, "CHECK of an unknown pod: {out}");

        for p in &pods {
            del(&node_a, p, &agent_a).await;
            del(&node_a, p, &agent_a).await;
        }
        assert!(!ping_from(&remote.ns, ip0), "a deleted pod is not reached");
        del(&node_b, &remote, &agent_b).await;
        assert_eq!(layout(&node_a), before_a, "DEL removes every link, route, rule and neighbour ADD made");
        assert_eq!(layout(&node_b), before_b, "on the other node too");
        assert!(agent_a.pool.pods().is_empty() && agent_b.pool.pods().is_empty(), "every address released");
        assert!(pods[0].ns.links().expect("links").iter().all(|l| l.name != "eth0"), "the pod side is gone");
    }

    pub async fn thirty(n: Net) {
        let scratch = Scratch::new("thirty");
        let node = n.instance_of_type(&n.vswitches[0], &n.sg, "ecs.g7.xlarge");
        n.settle().await;
        let agent = Agent::start(&n, &node, "ecs.g7.xlarge", &scratch.0, 30).await;
        let ns = n.node(&node);
        let before = layout(&ns);
        let pods: Vec<Pod> = (0..30).map(|i| Pod::new(&format!("p-{i}"))).collect();
        let mut ips = Vec::new();
        for p in &pods {
            ips.push(add(&ns, p, &agent).await.0);
        }
        assert_eq!(ips.iter().collect::<HashSet<_>>().len(), 30, "30 different addresses: {ips:?}");
        reaches_from(&pods[0].ns, ips[29], "the first pod to the last").await;
        reaches_from(&pods[29].ns, n.nodes[2].ip, "the last pod to an instance in another VSwitch").await;
        for p in &pods {
            del(&ns, p, &agent).await;
        }
        assert_eq!(layout(&ns), before, "30 pods deleted leave nothing behind");
        assert!(agent.pool.pods().is_empty(), "no pod holds an address");
        let held: HashSet<Ipv4Addr> = agent.pool.addresses().iter().map(|(_, ip, _)| *ip).collect();
        assert!(ips.iter().all(|ip| held.contains(ip)), "every address is back in the pool");
        assert_eq!(agent.pool.metrics().in_use, 0);
    }

    pub async fn restart(n: Net) {
        let scratch = Scratch::new("restart");
        let node = n.nodes[0].clone();
        let ns = n.node(&node);
        let first = Agent::start(&n, &node, "ecs.g7.large", &scratch.0, 2).await;
        let before = layout(&ns);
        let pod = Pod::new("web-0");
        let (ip, _) = add(&ns, &pod, &first).await;
        let conf = first.conf();
        reaches_from(&pod.ns, n.nodes[2].ip, "the pod before the restart").await;
        first.stop().await;

        // The agent is down: the pod keeps its network; a DEL now fails, to be retried.
        reaches_from(&pod.ns, n.nodes[2].ip, "the pod while its agent is down").await;
        let (ok, out) = cni(&ns, pod.env("DEL"), &conf).await;
        assert!(!ok && out["code"] == 11, "DEL without the agent: {out}");
        reaches_from(&pod.ns, n.nodes[2].ip, "the pod after a failed DEL").await;

        let second = Agent::start(&n, &node, "ecs.g7.large", &scratch.0, 2).await;
        assert_eq!(second.pool.held(&pod.key()).map(|a| a.ipv4), Some(ip), "the journal kept the pod's address");
        reaches_from(&pod.ns, n.nodes[2].ip, "the pod after the restart").await;
        let (ok, out) = cni(&ns, pod.env("CHECK"), &second.conf()).await;
        assert!(ok, "CHECK after the restart: {out}");
        del(&ns, &pod, &second).await;
        assert_eq!(layout(&ns), before, "the DEL after the restart cleans up");
        assert!(second.pool.pods().is_empty());
    }

    pub async fn failures(n: Net) {
        let scratch = Scratch::new("failures");
        let node = n.nodes[0].clone();
        let ns = n.node(&node);
        let agent = Agent::start(&n, &node, "ecs.g7.large", &scratch.0, 2).await;
        let before = layout(&ns);
        let conf = agent.conf();

        // The pod already has an eth0 that is not ours: the setup fails, undoes its steps and
        // the address goes back.
        let busy = Pod::new("busy");
        let made = busy
            .ns
            .output(Command::new("ip").args(["link", "add", "eth0", "type", "veth", "peer", "name", "other"]))
            .expect("running ip");
        assert!(made.status.success(), "ip link add");
        let pod_links = busy.ns.links().expect("links");
        let (ok, out) = cni(&ns, busy.env("ADD"), &conf).await;
        assert!(!ok && out["code"] == 101, "ADD into a taken eth0: {out}");
        assert_eq!(layout(&ns), before, "a failed ADD leaves nothing on the node");
        assert_eq!(busy.ns.links().expect("links"), pod_links, "nor in the pod");
        assert!(agent.pool.pods().is_empty(), "and the address is back: {:?}", agent.pool.pods());

        // Bad input: refused before the agent allocates anything.
        let pod = Pod::new("web-0");
        let with = |k: &str, v: &str| {
            let mut env = pod.env("ADD");
            env.retain(|(key, _)| key != k);
            if !v.is_empty() {
                env.push((k.to_owned(), v.to_owned()));
            }
            env
        };
        let gone = format!("/proc/{}/fd/999999", std::process::id());
        type Env = Vec<(String, String)>;
        let cases: Vec<(Env, Value, u64)> = vec![
            (with("CNI_NETNS", ""), conf.clone(), 4),
            (with("CNI_NETNS", &gone), conf.clone(), 3),
            (with("CNI_NETNS", "/tmp"), conf.clone(), 4),
            (with("CNI_IFNAME", "an-ifname-too-long"), conf.clone(), 4),
            (with("CNI_ARGS", "K8S_POD_NAMESPACE=default"), conf.clone(), 4),
            (pod.env("ADD"), json!({"cniVersion": "0.3.1", "name": "ack-net", "type": "cni_plugin"}), 1),
        ];
        for (env, conf, code) in cases {
            let (ok, out) = cni(&ns, env, &conf).await;
            assert!(!ok && out["code"] == code, "expected code {code}: {out}");
        }
        let plugin = plugin().unwrap().display().to_string();
        let (ok, out) = exec(&ns, vec![plugin], pod.env("ADD"), "{not json".into()).await;
        assert!(!ok && out["code"] == 6, "malformed JSON: {out}");

        // The agent is down, or too slow: a CNI error within the plugin's timeout.
        let mut down = conf.clone();
        down["agentSocket"] = json!(scratch.0.join("nobody.sock"));
        let (ok, out) = cni(&ns, pod.env("ADD"), &down).await;
        assert!(!ok && out["code"] == 11, "agent down: {out}");
        let silent_path = scratch.0.join("silent.sock");
        let silent = std::os::unix::net::UnixListener::bind(&silent_path).expect("a silent socket");
        let holding = std::thread::spawn(move || {
            let (s, _) = silent.accept().expect("the plugin connects");
            let mut line = String::new();
            let _ = io::BufReader::new(&s).read_line(&mut line);
            let _ = io::BufReader::new(&s).read_line(&mut line);
        });
        let mut slow = conf.clone();
        slow["agentSocket"] = json!(silent_path);
        slow["agentTimeoutMs"] = json!(300);
        let (ok, out) = cni(&ns, pod.env("ADD"), &slow).await;
        assert!(!ok && out["code"] == 11, "agent silent: {out}");
        holding.join().expect("the silent agent");

        assert!(agent.pool.pods().is_empty(), "nothing was allocated: {:?}", agent.pool.pods());
        assert_eq!(layout(&ns), before, "nothing changed on the node");
        assert!(pod.ns.links().expect("links").iter().all(|l| l.name == "lo"), "nor in the pod");
    }

    /// Runs `cnitool COMMAND ack-net NETNS` in `node` with the plugin and the configuration in
    /// `dir`, in a mount namespace of its own whose `/var/lib` is `dir/cache` (libcni's result
    /// cache is `/var/lib/cni`).
    async fn cnitool_run(node: &Arc<Netns>, dir: &Path, command: &str, pod: &Pod) -> (bool, Value) {
        let cache = dir.join("cache");
        std::fs::create_dir_all(&cache).expect("the cache directory");
        let program = [
            "unshare",
            "--mount",
            "--",
            "sh",
            "-c",
            "mount --bind \"$1\" /var/lib && shift && exec \"$@\"",
            "sh",
            &cache.display().to_string(),
            &cnitool_path().display().to_string(),
            command,
            "ack-net",
            &pod.ns.path().display().to_string(),
        ]
        .map(str::to_owned)
        .to_vec();
        let plugin_dir = plugin().expect("the plugin").parent().expect("its directory").display().to_string();
        let env = vec![
            ("NETCONFPATH".to_owned(), dir.join("net.d").display().to_string()),
            ("CNI_PATH".to_owned(), plugin_dir),
            ("CNI_ARGS".to_owned(), pod.args()),
            ("CNI_IFNAME".to_owned(), "eth0".to_owned()),
        ];
        exec(node, program, env, String::new()).await
    }

    pub async fn cnitool(n: Net) {
        let scratch = Scratch::new("cnitool");
        let node = n.nodes[0].clone();
        let ns = n.node(&node);
        let agent = Agent::start(&n, &node, "ecs.g7.large", &scratch.0, 3).await;
        std::fs::create_dir_all(scratch.0.join("net.d")).unwrap();
        std::fs::write(scratch.0.join("net.d/10-ack-net.conf"), agent.conf().to_string()).unwrap();
        let before = layout(&ns);

        let pod = Pod::new("web-0");
        let (ok, result) = cnitool_run(&ns, &scratch.0, "add", &pod).await;
        assert!(ok, "cnitool add: {result}");
        let ip: Ipv4Addr = result["ips"][0]["address"]
            .as_str()
            .and_then(|a| a.split('/').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no address in {result}"));
        assert_eq!(agent.pool.held(&pod.key()).map(|a| a.ipv4), Some(ip));
        reaches_from(&pod.ns, n.nodes[2].ip, "a pod added by cnitool to an instance").await;
        let (ok, out) = cnitool_run(&ns, &scratch.0, "check", &pod).await;
        assert!(ok, "cnitool check: {out}");
        let (ok, out) = cnitool_run(&ns, &scratch.0, "status", &pod).await;
        assert!(ok, "cnitool status: {out}");
        let (ok, out) = cnitool_run(&ns, &scratch.0, "del", &pod).await;
        assert!(ok, "cnitool del: {out}");
        assert_eq!(layout(&ns), before, "cnitool del cleans up");
        assert!(agent.pool.pods().is_empty());

        // GC: one pod through cnitool, one through the plugin directly (libcni has no record of
        // it); `cnitool gc` names no valid attachment, so both go.
        let (ok, out) = cnitool_run(&ns, &scratch.0, "add", &pod).await;
        assert!(ok, "cnitool add: {out}");
        let other = Pod::new("web-1");
        add(&ns, &other, &agent).await;
        assert_eq!(agent.pool.pods().len(), 2);
        let (ok, out) = cnitool_run(&ns, &scratch.0, "gc", &pod).await;
        assert!(ok, "cnitool gc: {out}");
        assert_eq!(layout(&ns), before, "GC removed both pods' datapath");
        assert!(agent.pool.pods().is_empty(), "and released both: {:?}", agent.pool.pods());
    }
}
