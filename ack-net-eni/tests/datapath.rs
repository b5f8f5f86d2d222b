//! The pod datapath proven with packets on the mock's data plane: a node's `IpPool` takes an
//! ENI with secondary addresses through the mock's API, the fabric hot-plugs the ENI into the
//! node's namespace, and `ack_net_eni::datapath` wires two pod namespaces to it. ICMP and TCP
//! from inside the pods show pod to pod on the node and pod to instances through the vRouter;
//! teardown leaves the node as it found it. A dual-stack pool's pods reach each other over IPv6
//! too (ICMPv6 and TCP) on one node, and across nodes through the vRouter to a pod in another
//! VSwitch and to an instance's IPv6 address, which its security group lets in or keeps out. A
//! pod with an exclusive ENI (the ENI's link moved into it) reaches a pod on
//! another node and instances, and goes back to the node as it was.
//!
//! `harness = false`, like `fabric`: `main` enters the namespace sandbox first. Needs `ping`
//! (iputils-ping), `nft` (nftables) and `ip` (iproute2, only to judge the node's state from
//! outside the library). Every probe is bounded: one echo with a one-second wait, ten tries.

#[cfg(target_os = "linux")]
#[allow(dead_code)]
mod fabric_support;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    if std::process::Command::new("ip").arg("-V").output().is_err() {
        eprintln!("the datapath tests need `ip` to read the node's state: apt-get install iproute2");
        return std::process::ExitCode::FAILURE;
    }
    fabric_support::run(&[
        ("pods_reach_each_other_and_the_vpc_and_teardown_restores_the_node", |n| Box::pin(tests::pods(n))),
        ("bad_input_and_a_failed_setup_change_nothing", |n| Box::pin(tests::bad_input(n))),
        ("dual_stack_pods_reach_each_other_over_ipv6_and_teardown_restores_the_node", |n| {
            Box::pin(tests::dual_stack(n))
        }),
        ("dual_stack_pods_reach_across_nodes_and_an_instance_over_ipv6_as_its_group_allows", |n| {
            Box::pin(tests::dual_stack_across_nodes(n))
        }),
        ("an_exclusive_eni_moves_into_the_pod_and_back", |n| Box::pin(tests::exclusive(n))),
    ])
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("the datapath tests need Linux (network namespaces and netlink); nothing was run");
    std::process::ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
mod tests {
    use std::process::Command;

    use ack_net_eni::datapath::{self, DatapathError, PodInterface, Step};
    use ack_net_eni::pod_network::PodNetwork;
    use ack_net_eni::pool::{IpStack, PoolMode};
    use ack_net_eni::{IpProtocol, Peer, PortRange, SecurityGroupRule};
    use ack_net_mock::fabric::Netns;

    use crate::fabric_support::*;

    /// The packets `link` in `ns` has sent, as `ip -j -s link` reads them.
    fn tx_packets(ns: &Netns, link: &str) -> u64 {
        let out = ns.output(Command::new("ip").args(["-j", "-s", "link", "show", "dev", link])).expect("running ip");
        assert!(out.status.success(), "ip link show {link}: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip's JSON");
        v[0]["stats64"]["tx"]["packets"].as_u64().unwrap_or_else(|| panic!("no tx packets in {v}"))
    }

    fn setup(node: &Netns, net: &PodNetwork, pod: &PodInterface) -> Result<(), DatapathError> {
        node.run(|| datapath::setup(net, pod)).expect("a thread in the node")
    }

    fn teardown(node: &Netns, net: &PodNetwork, pod: &PodInterface) {
        node.run(|| datapath::teardown(net, pod)).expect("a thread in the node").expect("teardown");
    }

    fn check(node: &Netns, net: &PodNetwork, pod: &PodInterface) -> Vec<Step> {
        node.run(|| datapath::check(net, pod)).expect("a thread in the node").expect("check")
    }

    pub async fn pods(n: Net) {
        let pool = n.pool(&n.nodes[0], "node-a").await;
        let nets = [
            PodNetwork::setup(&pool, "default/web-0").await.expect("an address for web-0"),
            PodNetwork::setup(&pool, "default/web-1").await.expect("an address for web-1"),
        ];
        assert_eq!(nets[0].eni_id, nets[1].eni_id, "both pods on the pool's ENI");
        n.settle().await;
        let node = n.node(&n.nodes[0]);
        let before = snapshot(&node);
        let pods = [Netns::new().expect("a pod namespace"), Netns::new().expect("a pod namespace")];
        let ifaces: Vec<PodInterface> =
            pods.iter().map(|p| PodInterface::new(p.path(), "eth0").expect("an interface")).collect();
        for (net, pod) in nets.iter().zip(&ifaces) {
            assert!(!check(&node, net, pod).is_empty(), "nothing is there before setup");
            setup(&node, net, pod).expect("setup");
            setup(&node, net, pod).expect("a repeated setup is a no-op");
            assert_eq!(check(&node, net, pod), vec![], "check finds the whole layout");
        }
        let [ip0, ip1] = [nets[0].ipv4.addr(), nets[1].ipv4.addr()];
        let (b, c) = (&n.nodes[1], &n.nodes[2]);
        reaches_from(&pods[0], ip1, "pod to pod on the node").await;
        reaches_from(&pods[1], ip0, "pod to pod on the node, back").await;
        reaches_from(&pods[0], b.ip, "pod to an instance in its VSwitch").await;
        // Through the ENI (its table), not the node's primary interface.
        let eni = format!("eth{}", nets[0].device_index.expect("a device index"));
        let sent = tx_packets(&node, &eni);
        reaches_from(&pods[0], c.ip, "pod to an instance in another VSwitch").await;
        assert!(tx_packets(&node, &eni) > sent, "the pod's packets leave through {eni}");
        reaches_from(&n.node(c), ip1, "an instance to a pod through the vRouter").await;
        assert!(tcp_probe(&pods[0], &pods[1], ip1, 8080), "TCP pod to pod");
        assert!(tcp_probe(&pods[1], &n.node(c), c.ip, 8081), "TCP pod to an instance in another VSwitch");
        assert!(tcp_probe(&n.node(b), &pods[0], ip0, 8082), "TCP from an instance to a pod");

        // web-0 goes: its part is missing, web-1 keeps the ENI's table and its connectivity.
        teardown(&node, &nets[0], &ifaces[0]);
        teardown(&node, &nets[0], &ifaces[0]);
        let missing = check(&node, &nets[0], &ifaces[0]);
        assert!(missing.iter().any(|s| matches!(s, Step::Veth { .. })), "{missing:?}");
        assert!(missing.iter().any(|s| matches!(s, Step::FromPodRule { .. })), "{missing:?}");
        assert!(!missing.iter().any(|s| matches!(s, Step::EniDefaultRoute { .. })), "the table stays: {missing:?}");
        assert_eq!(check(&node, &nets[1], &ifaces[1]), vec![]);
        reaches_from(&pods[1], c.ip, "the other pod after a teardown").await;
        assert!(!ping_from(&pods[1], ip0), "a torn-down pod is not reached");
        assert!(pods[0].links().expect("links").iter().all(|l| l.name != "eth0"), "the pod side went with the pair");

        teardown(&node, &nets[1], &ifaces[1]);
        // The pod's namespace may be gone before a DEL: the node side is still cleaned.
        teardown(&node, &nets[1], &PodInterface::new("/nonexistent/netns", "eth0").expect("an interface"));
        assert_eq!(snapshot(&node), before, "teardown removes every link, route, rule and neighbour it added");
    }

    pub async fn bad_input(n: Net) {
        let pool = n.pool(&n.nodes[0], "node-a").await;
        let net = PodNetwork::setup(&pool, "default/bad").await.expect("an address");
        n.settle().await;
        let node = n.node(&n.nodes[0]);
        let before = snapshot(&node);
        let e = PodInterface::new("/nonexistent", "an-ifname-too-long").expect_err("too long");
        assert!(matches!(e, DatapathError::InvalidInput { what: "interface name", .. }), "{e}");
        let missing = PodInterface::new("/nonexistent/netns/cni-1", "eth0").expect("an interface");
        let e = setup(&node, &net, &missing).expect_err("no namespace");
        assert!(matches!(e, DatapathError::Netns { .. }), "{e}");
        // The pod already has an `eth0` that is not ours: setup fails and undoes its steps.
        let pod = Netns::new().expect("a pod namespace");
        pod.run(|| {
            Command::new("ip")
                .args(["link", "add", "eth0", "type", "veth", "peer", "name", "other"])
                .status()
                .map(|s| s.success())
        })
        .expect("a thread")
        .map(|ok| assert!(ok, "ip link add"))
        .expect("running ip");
        let iface = PodInterface::new(pod.path(), "eth0").expect("an interface");
        let pod_links = pod.links().expect("links");
        let e = setup(&node, &net, &iface).expect_err("eth0 is taken");
        assert!(matches!(e, DatapathError::Netlink { .. }), "{e}");
        assert_eq!(snapshot(&node), before, "a failed setup leaves nothing on the node");
        assert_eq!(pod.links().expect("links"), pod_links, "and nothing in the pod");
    }

    /// Runs `ip ARGS` in `ns` and asserts it succeeded.
    fn ip(ns: &Netns, args: &[&str]) {
        let out = ns.output(Command::new("ip").args(args)).expect("running ip");
        assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub async fn dual_stack(n: Net) {
        let pool = n.pool_with(&n.nodes[0], "node-a", |c| c.stack(IpStack::DualStack)).await;
        let nets = [
            PodNetwork::setup(&pool, "default/v6-0").await.expect("addresses for v6-0"),
            PodNetwork::setup(&pool, "default/v6-1").await.expect("addresses for v6-1"),
        ];
        n.settle().await;
        let node = n.node(&n.nodes[0]);
        // What the datapath leaves on the node by design: the ENI up, IPv6 forwarding on (with
        // their link-local and anycast routes). Made first, so that the comparison below is of
        // what a pod adds; the ENI's link-local address is given its second of DAD.
        let eni = format!("eth{}", nets[0].device_index.expect("a device index"));
        ip(&node, &["link", "set", &eni, "up"]);
        node.run(|| std::fs::write("/proc/sys/net/ipv6/conf/all/forwarding", "1"))
            .expect("a thread in the node")
            .expect("IPv6 forwarding on");
        for _ in 0..40 {
            let out = node.output(Command::new("ip").args(["-6", "addr", "show", "tentative"])).expect("running ip");
            if out.stdout.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let before = snapshot_dual(&node);
        let pods = [Netns::new().expect("a pod namespace"), Netns::new().expect("a pod namespace")];
        let ifaces: Vec<PodInterface> =
            pods.iter().map(|p| PodInterface::new(p.path(), "eth0").expect("an interface")).collect();
        for (net, pod) in nets.iter().zip(&ifaces) {
            assert!(net.ipv6.is_some(), "a dual-stack pool gives {} an IPv6 address", net.pod);
            setup(&node, net, pod).expect("setup");
            setup(&node, net, pod).expect("a repeated setup is a no-op");
            assert_eq!(check(&node, net, pod), vec![], "check finds the whole layout");
        }
        let [a0, a1] = [nets[0].ipv6.expect("IPv6").addr(), nets[1].ipv6.expect("IPv6").addr()];
        reaches_from(&pods[0], a1, "IPv6 pod to pod on the node").await;
        reaches_from(&pods[1], a0, "IPv6 pod to pod on the node, back").await;
        reaches_from(&pods[0], nets[1].ipv4.addr(), "and still IPv4").await;
        assert!(tcp_probe(&pods[0], &pods[1], a1, 8090), "TCP over IPv6 pod to pod");
        assert!(tcp_probe(&pods[1], &pods[0], a0, 8091), "TCP over IPv6 pod to pod, back");

        // check sees a missing IPv6 piece, and a repeated setup restores it.
        let out = node.output(Command::new("ip").args(["-j", "link", "show", "dev", &eni])).expect("running ip");
        let link: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip's JSON");
        let index = link[0]["ifindex"].as_u64().and_then(|i| u32::try_from(i).ok()).expect("the ENI's index");
        let (a, table) = (a0.to_string(), datapath::eni_table(index));
        ip(&node, &["-6", "rule", "del", "from", &a, "lookup", &table.to_string(), "priority", "2048"]);
        let missing = check(&node, &nets[0], &ifaces[0]);
        assert_eq!(missing, vec![Step::FromPodRule { address: a0.into(), table }], "{missing:?}");
        setup(&node, &nets[0], &ifaces[0]).expect("setup again");
        assert_eq!(check(&node, &nets[0], &ifaces[0]), vec![]);

        // v6-0 goes: v6-1 keeps the ENI's IPv6 table route and its connectivity.
        teardown(&node, &nets[0], &ifaces[0]);
        teardown(&node, &nets[0], &ifaces[0]);
        let missing = check(&node, &nets[0], &ifaces[0]);
        assert!(!missing.iter().any(|s| matches!(s, Step::EniDefaultRoute { .. })), "the table stays: {missing:?}");
        assert_eq!(check(&node, &nets[1], &ifaces[1]), vec![]);
        assert!(!ping_from(&pods[1], a0), "a torn-down pod is not reached over IPv6");
        assert!(pods[0].links().expect("links").iter().all(|l| l.name != "eth0"), "the pod side went with the pair");

        teardown(&node, &nets[1], &ifaces[1]);
        teardown(&node, &nets[1], &ifaces[1]);
        assert_eq!(
            snapshot_dual(&node),
            before,
            "teardown removes every link, IPv4 and IPv6 route, rule and neighbour it added"
        );
    }

    pub async fn dual_stack_across_nodes(n: Net) {
        let (a, c) = (&n.nodes[0], &n.nodes[2]);
        assert_ne!(a.vswitch, c.vswitch, "the nodes are in two VSwitches");
        let pool_a = n.pool_with(a, "node-a", |p| p.stack(IpStack::DualStack)).await;
        let pool_c = n.pool_with(c, "node-c", |p| p.stack(IpStack::DualStack)).await;
        let nets = [
            PodNetwork::setup(&pool_a, "default/v6-a").await.expect("addresses for v6-a"),
            PodNetwork::setup(&pool_c, "default/v6-c").await.expect("addresses for v6-c"),
        ];
        // An instance in a group of its own, in node A's VSwitch (so through the vRouter and
        // back out of the same segment), with an IPv6 address on its primary ENI.
        let guarded = n.instance_in_new_group(&a.vswitch).await;
        let g6 = n.assign_ipv6(&guarded.node, 1).await[0];
        n.settle().await;
        let nodes = [n.node(a), n.node(c)];
        let pods = [Netns::new().expect("a pod namespace"), Netns::new().expect("a pod namespace")];
        let ifaces: Vec<PodInterface> =
            pods.iter().map(|p| PodInterface::new(p.path(), "eth0").expect("an interface")).collect();
        for ((node, net), pod) in nodes.iter().zip(&nets).zip(&ifaces) {
            setup(node, net, pod).expect("setup");
            assert_eq!(check(node, net, pod), vec![], "check finds the whole layout");
        }
        let [pa, pc] = [nets[0].ipv6.expect("IPv6").addr(), nets[1].ipv6.expect("IPv6").addr()];
        let eni = format!("eth{}", nets[0].device_index.expect("a device index"));
        let sent = tx_packets(&nodes[0], &eni);
        reaches_from(&pods[0], pc, "IPv6 pod to a pod on another node, through the vRouter").await;
        assert!(tx_packets(&nodes[0], &eni) > sent, "the pod's IPv6 packets leave through {eni}");
        reaches_from(&pods[1], pa, "and back").await;
        reaches_from(&pods[0], nets[1].ipv4.addr(), "and still IPv4").await;
        assert!(tcp_probe(&pods[0], &pods[1], pc, 8110), "TCP over IPv6 pod to a pod on another node");
        assert!(tcp_probe(&pods[1], &pods[0], pa, 8111), "and back");

        // The instance's group lets nothing in yet: blocked; then TCP from pod A only.
        let instance = n.node(&guarded.node);
        assert!(!tcp_probe(&pods[0], &instance, g6, 8112), "the instance's group keeps the pod out");
        let from_a = SecurityGroupRule::ingress(
            IpProtocol::Tcp,
            PortRange::single(8112),
            Peer::cidr(&format!("{pa}/128")).unwrap(),
        );
        n.ecs.security_groups().authorize(&guarded.group).rule(from_a).send().await.expect("authorize");
        n.settle().await;
        let mut reached = false;
        for _ in 0..10 {
            reached = tcp_probe(&pods[0], &instance, g6, 8112);
            if reached {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(reached, "pod {pa} cannot connect to the instance's [{g6}]:8112 its group now allows");
        assert!(!tcp_probe(&pods[1], &instance, g6, 8112), "the rule lets pod A in, not pod C");
        assert!(!tcp_probe(&pods[0], &instance, g6, 8113), "nor another port");

        for ((node, net), pod) in nodes.iter().zip(&nets).zip(&ifaces) {
            teardown(node, net, pod);
        }
    }

    pub async fn exclusive(n: Net) {
        let (a, c) = (&n.nodes[0], &n.nodes[2]);
        let pool = n.pool_with(a, "node-a", |c| c.mode(PoolMode::Exclusive)).await;
        let net = PodNetwork::setup(&pool, "default/own-0").await.expect("an ENI for own-0");
        assert_eq!(net.mode, PoolMode::Exclusive);
        // A shared-ENI pod on a node in the other VSwitch, to reach across the vRouter.
        let remote_pool = n.pool(c, "node-c").await;
        let remote_net = PodNetwork::setup(&remote_pool, "default/db-0").await.expect("an address for db-0");
        n.settle().await;
        let (node, remote_node) = (n.node(a), n.node(c));
        let eni = format!("eth{}", net.device_index.expect("a device index"));
        assert!(n.link(a, &eni).is_some_and(|l| !l.up), "the fabric plugged the ENI in, down");
        let before = snapshot(&node);
        let remote = Netns::new().expect("a pod namespace");
        let remote_iface = PodInterface::new(remote.path(), "eth0").expect("an interface");
        setup(&remote_node, &remote_net, &remote_iface).expect("the remote pod's setup");

        // A failed ADD (the pod has an `eth0` of its own) leaves the ENI where it was.
        let busy = Netns::new().expect("a pod namespace");
        ip(&busy, &["link", "add", "eth0", "type", "veth", "peer", "name", "other"]);
        let e = setup(&node, &net, &PodInterface::new(busy.path(), "eth0").expect("an interface"));
        assert!(matches!(e, Err(DatapathError::Netlink { .. })), "{e:?}");
        assert_eq!(snapshot(&node), before, "a failed ADD changes nothing on the node");

        let pod = Netns::new().expect("a pod namespace");
        let iface = PodInterface::new(pod.path(), "eth0").expect("an interface");
        assert!(!check(&node, &net, &iface).is_empty(), "nothing is there before setup");
        setup(&node, &net, &iface).expect("setup");
        setup(&node, &net, &iface).expect("a repeated setup is a no-op");
        assert_eq!(check(&node, &net, &iface), vec![], "check finds the whole layout");
        assert!(n.link(a, &eni).is_none(), "the ENI left the node");
        let inside = pod.links().expect("links").into_iter().find(|l| l.name == "eth0").expect("eth0 in the pod");
        assert_eq!(inside.mac, net.mac.to_string(), "the pod's eth0 is the ENI");

        let (ip0, ipr) = (net.ipv4.addr(), remote_net.ipv4.addr());
        reaches_from(&pod, ipr, "exclusive pod to a pod on another node").await;
        reaches_from(&remote, ip0, "and back").await;
        assert!(tcp_probe(&pod, &remote, ipr, 8100), "TCP exclusive pod to a pod on another node");
        reaches_from(&pod, n.nodes[1].ip, "exclusive pod to an instance in its VSwitch").await;
        reaches_from(&pod, c.ip, "exclusive pod to an instance in another VSwitch").await;
        assert!(tcp_probe(&n.node(&n.nodes[1]), &pod, ip0, 8101), "TCP from an instance to the pod");

        teardown(&node, &net, &iface);
        teardown(&node, &net, &iface);
        // A DEL without a namespace (the plugin then names `/`) has nothing to take back.
        teardown(&node, &net, &PodInterface::new("/", "eth0").expect("an interface"));
        assert_eq!(snapshot(&node), before, "the ENI is back under its name, nothing else changed");
        assert!(n.link(a, &eni).is_some_and(|l| !l.up), "and down");
        let out = node.output(Command::new("ip").args(["-j", "addr", "show", "dev", &eni])).expect("running ip");
        let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip's JSON");
        assert_eq!(shown[0]["addr_info"], serde_json::json!([]), "and unaddressed: {shown}");
        assert!(shown[0].get("ifalias").is_none(), "its alias cleared: {shown}");
        assert!(pod.links().expect("links").iter().all(|l| l.name == "lo"), "the pod has only lo left");
        assert!(!check(&node, &net, &iface).is_empty(), "check sees it gone");
        teardown(&remote_node, &remote_net, &remote_iface);
    }
}
