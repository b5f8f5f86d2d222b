//! The load balancer's data plane in packets: an intranet CLB made through the typed calls,
//! its address reached from an instance's namespace, TCP connections spread over the
//! listener's VServer group by weight, a backend at weight 0 draining (no new connection, its
//! own keep flowing), a removed backend's connections reset, no backend or a stopped
//! listener refusing.
//!
//! `harness = false`: `main` enters the namespace sandbox while the process has one thread,
//! then runs each test on a fresh mock with its fabric (ack-net-eni's fabric harness). Needs
//! `ping` (iputils-ping) and `nft` (nftables). Every connection is bounded in time.

#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "the harness serves several test binaries")]
#[path = "../../ack-net-eni/tests/fabric_support/mod.rs"]
mod fabric_support;
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "shared with ack-net-k8s's rolling-update test")]
mod lb_support;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    fabric_support::run(&[
        ("connections_spread_by_weight", |n| Box::pin(tests::spread(n))),
        ("weight_zero_drains_and_removal_resets", |n| Box::pin(tests::drain_and_reset(n))),
    ])
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("the fabric tests need Linux (network namespaces and nftables); nothing was run");
    std::process::ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
mod tests {
    use std::collections::BTreeMap;
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Duration;

    use ack_net_eni::{IpProtocol, Peer, PortRange, SecurityGroupRule};
    use ack_net_slb::{
        AddressType, Backend, ListenerBackend, ListenerProtocol, ListenerSpec, LoadBalancerId, SlbClient,
        VServerGroupId,
    };

    use crate::fabric_support::{Net, Node};
    use crate::lb_support::{load, slb, Client, Server};

    /// An intranet load balancer in the first VSwitch with a running TCP listener on 80
    /// whose group holds `backends`; the nodes' group lets the VPC in on 8080.
    struct Lb {
        slb: SlbClient,
        id: LoadBalancerId,
        group: VServerGroupId,
        address: SocketAddr,
    }

    async fn lb(n: &Net, backends: Vec<Backend>) -> Lb {
        let slb = slb(&n.mock);
        let web =
            SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::single(8080), Peer::cidr("10.1.0.0/16").unwrap());
        n.ecs.security_groups().authorize(&n.sg).rule(web).send().await.expect("authorize TCP");
        let created = slb
            .load_balancers()
            .create()
            .address_type(AddressType::Intranet)
            .vswitch_id(n.vswitches[0].parse().expect("a VSwitch id"))
            .pay_by_clcu()
            .send()
            .await
            .expect("CreateLoadBalancer");
        let id = created.load_balancer_id;
        let group = slb.vserver_groups().create(&id, "web").backends(backends).send().await.expect("a group");
        let spec = ListenerSpec::tcp(80, ListenerBackend::VServerGroup(group.vserver_group_id.clone()));
        slb.listeners().create(&id, spec).send().await.expect("a listener");
        slb.listeners().start(&id, 80, ListenerProtocol::Tcp).send().await.expect("start");
        n.settle().await;
        Lb { slb, id, group: group.vserver_group_id, address: SocketAddr::from((created.address, 80)) }
    }

    fn ecs(node: &Node, weight: u8) -> Backend {
        Backend::ecs(&node.id.parse().unwrap(), 8080).with_weight(weight)
    }

    fn tally(outcomes: &[Result<String, String>]) -> BTreeMap<String, usize> {
        let mut t = BTreeMap::new();
        for o in outcomes {
            *t.entry(o.clone().unwrap_or_else(|e| format!("error: {e}"))).or_default() += 1;
        }
        t
    }

    pub async fn spread(n: Net) {
        let [client, a, b] = [&n.nodes[0], &n.nodes[1], &n.nodes[2]];
        let _sa = Server::start(&n.node(a), 8080, "a", Duration::ZERO);
        let _sb = Server::start(&n.node(b), 8080, "b", Duration::ZERO);
        let lb = lb(&n, vec![ecs(a, 100), ecs(b, 50)]).await;
        // One at a time: the scheduler's order is deterministic, so the counts are exact.
        let got = tally(
            &load(n.node(client), lb.address, 30, Duration::from_millis(20), Arc::default()).join().expect("load"),
        );
        assert_eq!(got, BTreeMap::from([("a".to_owned(), 20), ("b".to_owned(), 10)]));
    }

    pub async fn drain_and_reset(n: Net) {
        let [client, a, b] = [&n.nodes[0], &n.nodes[1], &n.nodes[2]];
        let _sa = Server::start(&n.node(a), 8080, "a", Duration::ZERO);
        let _sb = Server::start(&n.node(b), 8080, "b", Duration::ZERO);
        let lb = lb(&n, vec![ecs(a, 100)]).await;
        let ns = n.node(client);
        let mut kept = Client::connect(&ns, lb.address).expect("a connection through the load balancer");
        assert_eq!(kept.ask("one").expect("an answer"), "a one");

        // b joins, a drains: new connections all go to b, a's own connection keeps flowing.
        lb.slb.vserver_groups().add_backends(&lb.group, vec![ecs(b, 100)]).send().await.expect("add b");
        lb.slb.vserver_groups().set_backends(&lb.group, vec![ecs(a, 0)]).send().await.expect("a to 0");
        n.settle().await;
        let got =
            tally(&load(ns.clone(), lb.address, 10, Duration::from_millis(10), Arc::default()).join().expect("load"));
        assert_eq!(got, BTreeMap::from([("b".to_owned(), 10)]), "a drains");
        assert_eq!(kept.ask("two").expect("the draining connection flows"), "a two");

        // a leaves the group: its connection is reset, as CLB does.
        lb.slb.vserver_groups().remove_backends(&lb.group, vec![ecs(a, 0)]).send().await.expect("remove a");
        n.settle().await;
        // The proxy acts on the change on its own thread.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let e = kept.ask("three").expect_err("the removed backend's connection is reset");
        assert!(matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof), "{e:?}");

        // No backend with a weight: a new connection is reset, never served.
        lb.slb.vserver_groups().set_backends(&lb.group, vec![ecs(b, 0)]).send().await.expect("b to 0");
        n.settle().await;
        let got = load(ns.clone(), lb.address, 3, Duration::ZERO, Arc::default()).join().expect("load");
        assert!(got.iter().all(Result::is_err), "{got:?}");

        // A stopped listener refuses.
        lb.slb.vserver_groups().set_backends(&lb.group, vec![ecs(b, 100)]).send().await.expect("b to 100");
        lb.slb.listeners().stop(&lb.id, 80, ListenerProtocol::Tcp).send().await.expect("stop");
        n.settle().await;
        let mut refused = false;
        for _ in 0..20 {
            if Client::connect(&ns, lb.address).err().is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
            {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(refused, "the stopped listener still takes connections");
    }
}
