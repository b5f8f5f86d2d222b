//! Proof with real packets: the mock's data plane (ack-net-mock's `fabric`) driven through the
//! library's own typed calls, checked with ICMP and TCP from inside the instances' namespaces.
//!
//! `harness = false`: `main` enters the namespace sandbox while the process has one thread
//! (a user and network namespace of its own: no root needed, the machine's networking never
//! touched), then runs each test on a fresh mock. Needs `ping` (Debian's iputils-ping) and `nft`
//! (nftables). Every probe is bounded: one echo with a one-second wait, at most a few times.

#[cfg(target_os = "linux")]
mod fabric_support;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    fabric_support::run(&[
        ("same_and_cross_vswitch_reachability", |n| Box::pin(tests::reachability(n))),
        ("secondary_addresses_are_delivered_while_held", |n| Box::pin(tests::secondary_addresses(n))),
        ("security_groups_decide_what_passes", |n| Box::pin(tests::security_groups(n))),
        ("ipv6_between_instances_as_addresses_and_groups_say", |n| Box::pin(tests::ipv6(n))),
        ("a_custom_route_sends_a_cidr_to_an_instance", |n| Box::pin(tests::custom_route(n))),
        ("pod_route_converger_in_packets", |n| Box::pin(tests::pod_route_converger(n))),
        ("security_group_converger_in_packets", |n| Box::pin(tests::security_group_converger(n))),
        ("the_fabric_goes_away_with_the_mock", |n| Box::pin(tests::teardown(n))),
        ("without_nft_the_fabric_names_it_and_the_api_serves", |n| Box::pin(tests::without_nft(n))),
        ("a_failing_step_is_reported_and_the_rest_works", |n| Box::pin(tests::failing_step(n))),
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
    use std::net::Ipv4Addr;

    use ack_net_eni::{IpProtocol, Peer, Policy, PortRange, SecurityGroupRule};
    use ack_net_vpc::{NextHopType, PodRouteConverger};
    use ipnet::Ipv4Net;

    use crate::fabric_support::*;

    pub async fn reachability(n: Net) {
        let [a, b, c] = [&n.nodes[0], &n.nodes[1], &n.nodes[2]];
        assert_eq!(a.vswitch, b.vswitch);
        assert_ne!(a.vswitch, c.vswitch);
        n.reaches(a, b.ip).await;
        n.reaches(b, a.ip).await;
        n.reaches(a, c.ip).await;
        n.reaches(c, b.ip).await;
        // Each node answers at its VSwitch's gateway too.
        n.reaches(c, n.gateway(&c.vswitch)).await;
        n.tcp_reaches(a, c, 8080).await;
        // An address in the VSwitch that no ENI holds is not delivered.
        n.unreachable(a, Ipv4Addr::new(10, 1, 1, 200)).await;
    }

    pub async fn secondary_addresses(n: Net) {
        let [a, b] = [&n.nodes[0], &n.nodes[1]];
        let eni = n
            .ecs
            .network_interfaces()
            .create(&a.vswitch.parse().expect("VSwitch id"))
            .security_group(&n.sg)
            .send_and_attach(&a.id.parse().expect("instance id"), &waits())
            .await
            .expect("an ENI attached to the first instance");
        let ips = n.ecs.network_interfaces().assign_private_ips(&eni.id).count(2).send().await.expect("assign");
        n.settle().await;
        let node = n.node(a);
        let link = format!("eth{}", eni.device_index.expect("a device index"));
        // Hot-plugged: there, down, bare, with the API's MAC; the instance configures it.
        let hot = n.link(a, &link).unwrap_or_else(|| panic!("{link} in the instance"));
        assert_eq!(hot.mac, eni.mac.to_string().to_ascii_lowercase());
        assert!(!hot.up, "a hot-plugged ENI appears down");
        for ip in &ips {
            n.unreachable(b, *ip).await;
        }
        for ip in &ips {
            node.configure_link(&link, Some(Ipv4Net::new(*ip, 24).unwrap())).expect("configure the ENI");
        }
        for ip in &ips {
            n.reaches(b, *ip).await;
        }
        n.reaches(&n.nodes[2], ips[0]).await;
        n.ecs.network_interfaces().unassign_private_ips(&eni.id, [ips[1]]).send().await.expect("unassign");
        n.settle().await;
        n.unreachable(b, ips[1]).await;
        n.reaches(b, ips[0]).await;
        // Detached, the link goes back to the vRouter: gone from the instance.
        n.ecs.network_interfaces().detach_and_delete(&eni.id, &waits()).await.expect("detach and delete");
        n.settle().await;
        n.unreachable(b, ips[0]).await;
        assert!(n.link(a, &link).is_none(), "{link} left the instance");
    }

    pub async fn ipv6(n: Net) {
        let [a, b, c] = [&n.nodes[0], &n.nodes[1], &n.nodes[2]];
        let (a6, b6, c6) = (n.assign_ipv6(a, 1).await[0], n.assign_ipv6(b, 2).await, n.assign_ipv6(c, 1).await[0]);
        n.settle().await;
        let (na, nc) = (n.node(a), n.node(c));
        // In one VSwitch (through the vRouter and back out of the segment) and across two.
        reaches_from(&na, b6[0], "IPv6 to an instance in the VSwitch").await;
        reaches_from(&na, c6, "IPv6 to an instance in another VSwitch").await;
        reaches_from(&nc, a6, "and back").await;
        assert!(tcp_probe(&nc, &na, a6, 8070), "TCP over IPv6 across VSwitches");
        // b's second address is delivered but not configured on its ENI (as a secondary IPv4 one).
        n.settle().await;
        assert!(!ping_from(&na, b6[1]), "an address the instance did not configure does not answer");
        // Its first goes: the fabric configures the next one, and the first is no longer delivered.
        let enis = n.ecs.network_interfaces();
        let page = enis.describe().primary_ip(b.ip).send().await.expect("DescribeNetworkInterfaces");
        enis.unassign_ipv6(&page.network_interfaces[0].id, [b6[0]]).send().await.expect("UnassignIpv6Addresses");
        n.settle().await;
        reaches_from(&na, b6[1], "the instance's next IPv6 address").await;
        assert!(!ping_from(&na, b6[0]), "an unassigned IPv6 address is not reached");

        // A group of its own lets in only what its rules say, IPv6 rules for IPv6.
        let g = n.instance_in_new_group(&c.vswitch).await;
        let g6 = n.assign_ipv6(&g.node, 1).await[0];
        let ng = n.node(&g.node);
        let v4_icmp = SecurityGroupRule::ingress(IpProtocol::Icmp, PortRange::ALL, Peer::cidr("10.1.0.0/16").unwrap());
        n.ecs.security_groups().authorize(&g.group).rule(v4_icmp).send().await.expect("authorize ICMP");
        n.settle().await;
        reaches_from(&na, g.node.ip, "ICMP from the VPC").await;
        assert!(!ping_from(&na, g6), "an ICMP (IPv4) rule does not let ICMPv6 in");
        let from_a =
            SecurityGroupRule::ingress(IpProtocol::IcmpV6, PortRange::ALL, Peer::cidr(&format!("{a6}/128")).unwrap());
        n.ecs.security_groups().authorize(&g.group).rule(from_a.clone()).send().await.expect("authorize ICMPv6");
        n.settle().await;
        reaches_from(&na, g6, "ICMPv6 from a, as the rule says").await;
        assert!(!ping_from(&n.node(b), g6), "not from b");
        // g may send anything (a basic group's default), but a's group lets in only its members.
        assert!(!ping_from(&ng, a6), "a's group keeps g out");
        n.ecs.security_groups().revoke(&g.group).rule(from_a).send().await.expect("revoke");
        n.settle().await;
        assert!(!ping_from(&na, g6), "revoked");
    }

    pub async fn security_groups(n: Net) {
        let [a, b] = [&n.nodes[0], &n.nodes[1]];
        let guarded = n.instance_in_new_group(&n.vswitches[1]).await;
        let (g, d) = (&guarded.group, &guarded.node);
        // A new group lets nothing in from outside it.
        n.unreachable(a, d.ip).await;
        n.unreachable(b, d.ip).await;
        // Going out is allowed by default: once the others' group lets it in, the guarded
        // node reaches them.
        let from_d =
            SecurityGroupRule::ingress(IpProtocol::Icmp, PortRange::ALL, Peer::cidr(&format!("{}/32", d.ip)).unwrap());
        n.ecs.security_groups().authorize(&n.sg).rule(from_d).send().await.expect("authorize");
        n.reaches(d, a.ip).await;
        // A rule for one address lets exactly that in.
        let from_a =
            SecurityGroupRule::ingress(IpProtocol::Icmp, PortRange::ALL, Peer::cidr(&format!("{}/32", a.ip)).unwrap())
                .priority(5);
        n.ecs.security_groups().authorize(g).rule(from_a.clone()).send().await.expect("authorize");
        n.reaches(a, d.ip).await;
        n.unreachable(b, d.ip).await;
        // A drop rule with a higher priority wins.
        let drop_a =
            SecurityGroupRule::ingress(IpProtocol::All, PortRange::ALL, Peer::cidr(&format!("{}/32", a.ip)).unwrap())
                .policy(Policy::Drop)
                .priority(1);
        n.ecs.security_groups().authorize(g).rule(drop_a.clone()).send().await.expect("authorize a drop");
        n.settle().await;
        n.unreachable(a, d.ip).await;
        n.ecs.security_groups().revoke(g).rule(drop_a).send().await.expect("revoke the drop");
        n.reaches(a, d.ip).await;
        // Revoking restores the denial.
        n.ecs.security_groups().revoke(g).rule(from_a).send().await.expect("revoke");
        n.settle().await;
        n.unreachable(a, d.ip).await;
        // TCP by port: exactly the port.
        let web =
            SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::single(8080), Peer::cidr("10.1.0.0/16").unwrap());
        n.ecs.security_groups().authorize(g).rule(web).send().await.expect("authorize TCP");
        n.tcp_reaches(b, d, 8080).await;
        n.settle().await;
        n.tcp_refused(b, d, 8081).await;
        // An egress drop stops the guarded node from starting anything towards a CIDR.
        let no_out = SecurityGroupRule::egress(IpProtocol::Icmp, PortRange::ALL, Peer::cidr("10.1.1.0/24").unwrap())
            .policy(Policy::Drop);
        n.ecs.security_groups().authorize(g).rule(no_out).send().await.expect("authorize egress drop");
        n.settle().await;
        n.unreachable(d, a.ip).await;
        n.reaches(d, n.nodes[2].ip).await;
    }

    pub async fn custom_route(n: Net) {
        let [a, c] = [&n.nodes[0], &n.nodes[2]];
        let target: Ipv4Addr = "172.30.0.1".parse().unwrap();
        n.node(c).configure_link("lo", Some(Ipv4Net::new(target, 32).unwrap())).expect("an address on lo");
        n.unreachable(a, target).await;
        let rt = n.vpc.route_tables();
        rt.create_entry(&n.route_table, "172.30.0.0/24")
            .next_hop(NextHopType::Instance, &c.id)
            .send()
            .await
            .expect("a route entry");
        n.reaches(a, target).await;
    }

    pub async fn pod_route_converger(n: Net) {
        let cluster: Ipv4Net = "172.20.0.0/16".parse().unwrap();
        let mut wanted = BTreeMap::new();
        for (i, node) in n.nodes.iter().enumerate() {
            let pods: Ipv4Net = format!("172.20.{i}.0/24").parse().unwrap();
            n.node(node).configure_link("lo", Some(Ipv4Net::new(pods.hosts().next().unwrap(), 32).unwrap())).unwrap();
            wanted.insert(pods, node.id.clone());
        }
        n.unreachable(&n.nodes[0], "172.20.2.1".parse().unwrap()).await;
        let converger = PodRouteConverger::new(n.vpc.clone(), &n.route_table).cluster_cidr(cluster);
        let report = converger.converge(&wanted).await.expect("converge");
        assert!(report.is_converged(), "{report:?}");
        for (i, from) in n.nodes.iter().enumerate() {
            for j in 0..n.nodes.len() {
                if i != j {
                    n.reaches(from, format!("172.20.{j}.1").parse().unwrap()).await;
                }
            }
        }
        // A node leaves: its pod CIDR route goes, and its pods are out of reach.
        wanted.remove(&"172.20.2.0/24".parse::<Ipv4Net>().unwrap());
        converger.converge(&wanted).await.expect("converge");
        n.settle().await;
        n.unreachable(&n.nodes[0], "172.20.2.1".parse().unwrap()).await;
        n.reaches(&n.nodes[0], "172.20.1.1".parse().unwrap()).await;
    }

    pub async fn security_group_converger(n: Net) {
        let [a, b] = [&n.nodes[0], &n.nodes[1]];
        let guarded = n.instance_in_new_group(&n.vswitches[1]).await;
        let d = &guarded.node;
        n.tcp_refused(a, d, 9000).await;
        let converger = n.ecs.security_groups().converger(&guarded.group, "fabric-test");
        let only_a = SecurityGroupRule::ingress(
            IpProtocol::Tcp,
            PortRange::single(9000),
            Peer::cidr(&format!("{}/32", a.ip)).unwrap(),
        );
        converger.clone().rule(only_a).apply().await.expect("converge");
        n.tcp_reaches(a, d, 9000).await;
        n.settle().await;
        n.tcp_refused(b, d, 9000).await;
        converger.apply().await.expect("converge to nothing");
        n.settle().await;
        n.tcp_refused(a, d, 9000).await;
    }

    pub async fn without_nft(n: Net) {
        use ack_net_mock::fabric::{FabricConfig, FabricError};
        let mock = ack_net_mock::MockCloud::builder()
            .fabric(FabricConfig::default().nft_program("/nonexistent/nft"))
            .start()
            .await
            .expect("the mock starts");
        let e = mock.fabric_error().expect("no fabric without nft");
        assert!(matches!(e, FabricError::Missing { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("/nonexistent/nft") && text.contains("nftables"), "{text}");
        let rpc = mock.client_builder().build().unwrap();
        ack_net_vpc::VpcClient::new(rpc)
            .vpcs()
            .create()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .expect("the API serves");
        mock.shutdown().await;
        // The other mock's fabric is unaffected.
        n.reaches(&n.nodes[0], n.nodes[2].ip).await;
    }

    pub async fn failing_step(n: Net) {
        // An `nft` that runs but refuses everything: the rules of the VPC fail, the rest stands.
        let mock = ack_net_mock::MockCloud::builder()
            .fabric(ack_net_mock::fabric::FabricConfig::default().nft_program("false"))
            .start()
            .await
            .expect("the mock starts");
        let other = Net::on(mock).await;
        let dump = other.mock.dump();
        let errors = dump["fabric"]["errors"].as_object().expect("errors").clone();
        assert!(
            errors.get(other.vpc_id.as_str()).and_then(|e| e.as_str()).is_some_and(|e| e.contains("nft")),
            "{errors:?}"
        );
        assert_eq!(errors.len(), 1, "only the VPC's rules failed: {errors:?}");
        other.reaches(&other.nodes[0], other.nodes[2].ip).await;
        drop(n);
    }

    pub async fn teardown(n: Net) {
        let node = n.node(&n.nodes[0]);
        let path = node.path();
        drop(node);
        assert!(std::fs::read_link(&path).is_ok(), "the node's namespace is open");
        let dump = n.mock.dump();
        assert_eq!(dump["fabric"]["nodes"], 3, "{}", dump["fabric"]);
        assert_eq!(dump["fabric"]["errors"], serde_json::json!({}), "{}", dump["fabric"]);
        n.mock.shutdown().await;
        assert!(std::fs::read_link(&path).is_err(), "the node's namespace was closed");
    }
}
