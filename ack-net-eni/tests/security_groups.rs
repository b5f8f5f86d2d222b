//! Security groups and the rule converger against the mock: from empty, from a drifted
//! group, with foreign rules present.

mod common;

use ack_net_core::ErrorInfo;

use ack_net_eni::{Direction, IpProtocol, Peer, Policy, PortRange, Removed, SecurityGroupRule, Tag};
use common::env;
use futures_util::TryStreamExt;

fn pods_in() -> SecurityGroupRule {
    SecurityGroupRule::ingress(IpProtocol::All, PortRange::ALL, Peer::cidr("10.1.0.0/16").unwrap()).description("pods")
}

fn node_ports() -> SecurityGroupRule {
    SecurityGroupRule::ingress(
        IpProtocol::Tcp,
        PortRange::new(30000, 32767).unwrap(),
        Peer::cidr("192.168.0.0/16").unwrap(),
    )
    .priority(10)
}

fn dns_out() -> SecurityGroupRule {
    SecurityGroupRule::egress(IpProtocol::Udp, PortRange::single(53), Peer::cidr("0.0.0.0/0").unwrap())
}

#[tokio::test]
async fn groups_and_rules() {
    let e = env("ecs.g7.large").await;
    let sgs = e.ecs.security_groups();
    let g = sgs
        .create(&e.vpc.parse().unwrap())
        .name("extra")
        .description("for tests")
        .tag(Tag::new("k", "v"))
        .send()
        .await
        .unwrap();
    let listed: Vec<_> =
        sgs.describe().vpc_id(e.vpc.parse::<ack_net_eni::VpcId>().unwrap()).into_stream().try_collect().await.unwrap();
    assert_eq!(listed.len(), 2);
    let mine = sgs.describe().group_id(&g).send().await.unwrap().security_groups.remove(0);
    assert_eq!((mine.name.as_str(), mine.tags.len()), ("extra", 1));

    sgs.authorize(&g).rule(pods_in()).rule(node_ports()).client_token("auth-1").send().await.unwrap();
    sgs.authorize(&g).rule(dns_out()).send().await.unwrap();
    sgs.authorize(&g)
        .rule(
            SecurityGroupRule::ingress(IpProtocol::All, PortRange::ALL, Peer::group(&e.sg).unwrap())
                .policy(Policy::Accept),
        )
        .send()
        .await
        .unwrap();
    let attr = sgs.rules(&g).send().await.unwrap();
    assert_eq!(attr.permissions.len(), 4);
    let rules: Vec<SecurityGroupRule> = attr.permissions.iter().filter_map(|p| p.to_rule()).collect();
    assert_eq!(rules.len(), 4);
    assert!(rules.iter().any(|r| r.direction == Direction::Egress && r.port_range == PortRange::single(53)));
    assert!(rules.iter().any(|r| r.peer == Peer::group(&e.sg).unwrap()));
    let ingress = sgs.rules(&g).direction(Direction::Ingress).send().await.unwrap();
    assert_eq!(ingress.permissions.len(), 3);
    // Pages of 10 over 14 rules.
    for p in 1..=10 {
        sgs.authorize(&g)
            .rule(SecurityGroupRule::ingress(
                IpProtocol::Tcp,
                PortRange::single(8000 + p),
                Peer::cidr("10.0.0.0/8").unwrap(),
            ))
            .send()
            .await
            .unwrap();
    }
    e.stats.reset();
    let all: Vec<_> = sgs.rules(&g).max_results(10).into_stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 14);
    assert_eq!(e.stats.calls("DescribeSecurityGroupAttribute"), 2);

    sgs.revoke(&g).rule(node_ports()).send().await.unwrap();
    sgs.revoke(&g).rule(node_ports()).send().await.unwrap(); // not there any more: no error
    assert_eq!(sgs.rules(&g).send().await.unwrap().permissions.len(), 13);

    // A port range like 80/70 never reaches the API.
    e.stats.reset();
    assert!(PortRange::new(80, 70).is_err());
    let bad = SecurityGroupRule { port_range: PortRange::ALL, ..node_ports() };
    assert!(sgs.authorize(&g).rule(bad).send().await.unwrap_err().is_invalid_input());
    assert_eq!(e.stats.total(), 0);

    // In use: refused. Unused: deleted; then gone is success.
    assert!(sgs.delete(&e.sg).await.unwrap_err().is_code("DependencyViolation"));
    assert_eq!(sgs.delete(&g).await.unwrap(), Removed::Now);
    assert_eq!(sgs.delete(&g).await.unwrap(), Removed::Already);
}

#[tokio::test]
async fn converger_from_empty_then_converged() {
    let e = env("ecs.g7.large").await;
    let sgs = e.ecs.security_groups();
    let g = sgs.create(&e.vpc.parse().unwrap()).send().await.unwrap();
    let conv = sgs.converger(&g, "ack-net:").rule(pods_in()).rule(node_ports()).rule(dns_out());
    let report = conv.apply().await.unwrap();
    assert_eq!(report.plan.authorize.len(), 3);
    assert_eq!(report.calls.len(), 2, "one ingress call and one egress call");
    assert_eq!(report.calls[0].action, "AuthorizeSecurityGroup");
    assert_eq!(report.calls[1].action, "AuthorizeSecurityGroupEgress");
    let held = sgs.rules(&g).send().await.unwrap().permissions;
    assert_eq!(held.len(), 3);
    assert!(held.iter().all(|p| p.description.starts_with("ack-net:")));

    e.stats.reset();
    let again = conv.apply().await.unwrap();
    assert!(again.plan.is_empty());
    assert_eq!(again.plan.unchanged.len(), 3);
    assert!(again.calls.is_empty());
    assert_eq!(e.stats.writes(), 0);
}

#[tokio::test]
async fn converger_from_drift_leaves_foreign_rules_alone() {
    let e = env("ecs.g7.large").await;
    let sgs = e.ecs.security_groups();
    let g = sgs.create(&e.vpc.parse().unwrap()).send().await.unwrap();
    // Drift: an owned rule no longer wanted, a foreign rule, and a foreign rule that grants
    // exactly what we want.
    let stale = SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::single(8080), Peer::cidr("10.0.0.0/8").unwrap())
        .description("ack-net: old");
    let ssh = SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::single(22), Peer::cidr("0.0.0.0/0").unwrap())
        .description("admin ssh");
    let foreign_pods = SecurityGroupRule { description: "someone else".into(), ..pods_in() };
    sgs.authorize(&g).rule(stale).rule(ssh.clone()).rule(foreign_pods).send().await.unwrap();

    let conv = sgs.converger(&g, "ack-net:").rule(pods_in()).rule(node_ports());
    let plan = conv.plan().await.unwrap();
    assert_eq!(plan.authorize.len(), 1);
    assert_eq!(plan.revoke.len(), 1);
    assert_eq!(plan.covered_by_foreign.len(), 1);
    assert_eq!(plan.foreign, 2);

    let report = conv.apply().await.unwrap();
    let actions: Vec<&str> = report.calls.iter().map(|c| c.action).collect();
    assert_eq!(actions, vec!["AuthorizeSecurityGroup", "RevokeSecurityGroup"], "authorize before revoke");
    let held: Vec<SecurityGroupRule> =
        sgs.rules(&g).send().await.unwrap().permissions.iter().filter_map(|p| p.to_rule()).collect();
    assert_eq!(held.len(), 3);
    assert!(held.iter().any(|r| r.description == "admin ssh"), "foreign rule kept");
    assert!(held.iter().any(|r| r.description == "someone else"), "foreign rule kept");
    assert!(held.iter().all(|r| r.port_range != PortRange::single(8080)), "stale owned rule revoked");
    assert!(conv.plan().await.unwrap().is_empty());

    // Wanting nothing any more removes only what is ours.
    let report = sgs.converger(&g, "ack-net:").apply().await.unwrap();
    assert_eq!(report.plan.revoke.len(), 1);
    assert_eq!(sgs.rules(&g).send().await.unwrap().permissions.len(), 2);
}
