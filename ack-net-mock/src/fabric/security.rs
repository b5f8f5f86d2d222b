//! Security groups as one nftables table in a VPC's vRouter (a pure rendering of the state).
//!
//! Every packet between ENIs passes the vRouter (the segments' ports are isolated and the
//! vRouter answers ARP for the whole VSwitch), so one `forward` chain sees it, with conntrack:
//! the groups are stateful, as on the real cloud. A new flow first passes the sender's egress
//! chain (an accept there returns, to go on), then the receiver's ingress chain. Each chain
//! holds the rules of all the ENI's groups, highest priority (1) first, a drop before an accept
//! of the same priority, then the default rules as the real cloud has them: a basic (`normal`)
//! group lets its own members in and everything out; an enterprise group lets nothing in or out.
//! IPv6 is handled alike: an ENI's IPv6 addresses are its own as its IPv4 ones are, a rule's
//! `Ipv6SourceCidrIp`/`Ipv6DestCidrIp` match IPv6 peers, a peer group means its members'
//! addresses of both families, `ICMP` is IPv4's and `ICMPV6` IPv6's.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

use crate::ecs::{Rule, SecurityGroup};
use crate::state::State;

/// The nftables table the fabric owns in each vRouter.
pub const TABLE: &str = "ack_net_fabric";

/// Which way a packet crosses the ENI.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    In,
    Out,
}

/// The nftables ruleset for the security groups of the ENIs in `vpc`, as one atomic
/// transaction (the old table is removed in the same transaction). `routes` are the VPC's
/// custom routes: a destination routed to an ENI's address counts as that ENI's.
pub fn ruleset(state: &State, vpc: &str, routes: &BTreeMap<Ipv4Net, Ipv4Addr>) -> String {
    let mut enis: Vec<_> = state.ecs.enis.values().filter(|e| e.vpc_id == vpc).collect();
    enis.sort_by(|a, b| a.id.cmp(&b.id));
    let addresses = |e: &crate::ecs::Eni| -> Vec<IpNet> {
        let v4 = std::iter::once(e.primary_ip).chain(e.secondary_ips.iter().copied()).map(IpAddr::V4);
        v4.chain(e.ipv6.iter().copied().map(IpAddr::V6)).map(IpNet::from).collect()
    };
    let members = |group: &str| -> BTreeSet<IpNet> {
        state
            .ecs
            .enis
            .values()
            .filter(|e| e.security_group_ids.iter().any(|g| g == group))
            .flat_map(addresses)
            .collect()
    };
    let mut out = String::new();
    let _ = writeln!(out, "add table inet {TABLE}\ndelete table inet {TABLE}\ntable inet {TABLE} {{");
    let mut forward = String::from(
        "  chain forward {\n    type filter hook forward priority filter; policy accept;\n    ct state established,related accept\n    ct state invalid drop\n",
    );
    let mut dispatch_in = String::new();
    let mut chains = String::new();
    for e in &enis {
        let routed = routes.iter().filter(|(_, via)| **via == e.primary_ip).map(|(dst, _)| IpNet::V4(*dst));
        let own: BTreeSet<IpNet> = addresses(e).into_iter().chain(routed).collect();
        let name = chain_name(&e.id);
        for m in peer_matches("saddr", &own) {
            let _ = writeln!(forward, "    {m} jump out_{name}");
        }
        for m in peer_matches("daddr", &own) {
            let _ = writeln!(dispatch_in, "    {m} jump in_{name}");
        }
        let groups: Vec<&SecurityGroup> = e.security_group_ids.iter().filter_map(|g| state.ecs.groups.get(g)).collect();
        for way in [Way::Out, Way::In] {
            let _ = writeln!(chains, "  chain {}_{name} {{", if way == Way::In { "in" } else { "out" });
            let mut rules: Vec<&Rule> = groups
                .iter()
                .flat_map(|g| g.rules.iter())
                .filter(|r| (r.direction == crate::ecs::Direction::Ingress) == (way == Way::In))
                .collect();
            // Highest priority first; at one priority, drop before accept.
            rules.sort_by_key(|r| (r.priority, r.policy != "Drop"));
            for line in rules.into_iter().flat_map(|r| rule_lines(r, way, &members)) {
                let _ = writeln!(chains, "    {line}");
            }
            for g in groups.iter().filter(|g| g.sg_type == "normal" && way == Way::In) {
                for m in peer_matches("saddr", &members(&g.id)) {
                    let _ = writeln!(chains, "    {m} accept");
                }
            }
            let enterprise = !groups.is_empty() && groups.iter().all(|g| g.sg_type == "enterprise");
            let fallback = match way {
                Way::In => "drop",
                Way::Out if enterprise => "drop",
                Way::Out => "return",
            };
            let _ = writeln!(chains, "    {fallback}\n  }}");
        }
    }
    out.push_str(&forward);
    out.push_str(&dispatch_in);
    out.push_str("  }\n");
    out.push_str(&chains);
    out.push_str("}\n");
    out
}

/// An nftables chain name for an ENI id (letters, digits and `_`).
fn chain_name(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// One match per address family of `peers` (`ip saddr …`, `ip6 saddr …`): a block, an address
/// (a host block is written as its address) or a set of them; a /0 matches its whole family.
fn peer_matches(field: &str, peers: &BTreeSet<IpNet>) -> Vec<String> {
    [("ip", "ipv4", false), ("ip6", "ipv6", true)]
        .into_iter()
        .filter_map(|(family, nfproto, v6)| {
            let of: Vec<&IpNet> = peers.iter().filter(|p| matches!(p, IpNet::V6(_)) == v6).collect();
            if of.iter().any(|p| p.prefix_len() == 0) {
                return Some(format!("meta nfproto {nfproto}"));
            }
            let shown: Vec<String> = of
                .iter()
                .map(
                    |p| if p.prefix_len() == p.max_prefix_len() { p.addr().to_string() } else { p.trunc().to_string() },
                )
                .collect();
            match shown.as_slice() {
                [] => None,
                [one] => Some(format!("{family} {field} {one}")),
                many => Some(format!("{family} {field} {{ {} }}", many.join(", "))),
            }
        })
        .collect()
}

/// A rule as nftables statements, one per address family it matches; none when it can match
/// nothing here (a peer group without members, ICMP with only IPv6 peers, ICMPv6 with only IPv4
/// ones, an unknown protocol).
fn rule_lines(r: &Rule, way: Way, members: &dyn Fn(&str) -> BTreeSet<IpNet>) -> Vec<String> {
    let (cidr, cidr6, group, field) = match way {
        Way::In => (&r.source_cidr_ip, &r.ipv6_source_cidr_ip, &r.source_group_id, "saddr"),
        Way::Out => (&r.dest_cidr_ip, &r.ipv6_dest_cidr_ip, &r.dest_group_id, "daddr"),
    };
    let mut peers: BTreeSet<IpNet> = if group.is_empty() {
        [cidr, cidr6]
            .into_iter()
            .filter_map(|c| c.parse::<IpNet>().or_else(|_| c.parse::<IpAddr>().map(IpNet::from)).ok())
            .collect()
    } else {
        members(group)
    };
    let proto = match r.ip_protocol.as_str() {
        "TCP" | "UDP" => {
            let Some((lo, hi)) = r.port_range.split_once('/') else { return Vec::new() };
            let l4 = format!("meta l4proto {}", r.ip_protocol.to_ascii_lowercase());
            match (lo, hi) {
                ("1", "65535") => Some(l4),
                _ if lo == hi => Some(format!("{l4} th dport {lo}")),
                _ => Some(format!("{l4} th dport {lo}-{hi}")),
            }
        }
        "ICMP" => {
            peers.retain(|p| matches!(p, IpNet::V4(_)));
            Some("meta l4proto icmp".to_owned())
        }
        "ICMPV6" => {
            peers.retain(|p| matches!(p, IpNet::V6(_)));
            Some("meta l4proto ipv6-icmp".to_owned())
        }
        "GRE" => Some("meta l4proto gre".to_owned()),
        "ALL" => None,
        _ => return Vec::new(),
    };
    let verdict = match (r.policy.as_str(), way) {
        ("Drop", _) => "drop",
        (_, Way::In) => "accept",
        (_, Way::Out) => "return",
    };
    peer_matches(field, &peers)
        .into_iter()
        .map(|m| match &proto {
            Some(p) => format!("{m} {p} {verdict}"),
            None => format!("{m} {verdict}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(dir: crate::ecs::Direction, proto: &str, ports: &str, peer: &str, policy: &str, prio: u32) -> Rule {
        let ingress = dir == crate::ecs::Direction::Ingress;
        Rule {
            id: String::new(),
            direction: dir,
            ip_protocol: proto.into(),
            port_range: ports.into(),
            source_cidr_ip: if ingress { peer.into() } else { String::new() },
            ipv6_source_cidr_ip: String::new(),
            source_group_id: String::new(),
            dest_cidr_ip: if ingress { String::new() } else { peer.into() },
            ipv6_dest_cidr_ip: String::new(),
            dest_group_id: String::new(),
            policy: policy.into(),
            priority: prio,
            nic_type: "intranet".into(),
            description: String::new(),
            create_time: String::new(),
        }
    }

    #[test]
    fn rules_render_as_nft_statements() {
        use crate::ecs::Direction::{Egress, Ingress};
        let none = |_: &str| BTreeSet::new();
        let one = |r: Rule, way: Way| rule_lines(&r, way, &none);
        assert_eq!(
            one(rule(Ingress, "TCP", "80/80", "10.0.0.0/8", "Accept", 1), Way::In),
            ["ip saddr 10.0.0.0/8 meta l4proto tcp th dport 80 accept"]
        );
        assert_eq!(
            one(rule(Ingress, "UDP", "1000/2000", "10.1.2.3", "Drop", 1), Way::In),
            ["ip saddr 10.1.2.3 meta l4proto udp th dport 1000-2000 drop"]
        );
        assert_eq!(one(rule(Egress, "ALL", "-1/-1", "0.0.0.0/0", "Accept", 1), Way::Out), ["meta nfproto ipv4 return"]);
        assert_eq!(
            one(rule(Egress, "ICMP", "-1/-1", "192.168.0.0/16", "Drop", 5), Way::Out),
            ["ip daddr 192.168.0.0/16 meta l4proto icmp drop"]
        );
        assert!(one(rule(Ingress, "ICMPV6", "-1/-1", "10.0.0.0/8", "Accept", 1), Way::In).is_empty());
        let mut by_group = rule(Ingress, "TCP", "1/65535", "", "Accept", 1);
        by_group.source_group_id = "sg-empty".into();
        assert!(rule_lines(&by_group, Way::In, &none).is_empty(), "a group without members matches nothing");
        let two = |_: &str| BTreeSet::from(["10.0.0.1/32".parse().unwrap(), "10.0.0.2/32".parse().unwrap()]);
        assert_eq!(rule_lines(&by_group, Way::In, &two), ["ip saddr { 10.0.0.1, 10.0.0.2 } meta l4proto tcp accept"]);
    }

    #[test]
    fn ipv6_rules_match_ipv6_peers_and_groups_both_families() {
        use crate::ecs::Direction::{Egress, Ingress};
        let none = |_: &str| BTreeSet::new();
        let v6 = |dir, proto: &str, ports: &str, peer: &str, policy: &str| {
            let mut r = rule(dir, proto, ports, "", policy, 1);
            if dir == Ingress {
                r.ipv6_source_cidr_ip = peer.into();
            } else {
                r.ipv6_dest_cidr_ip = peer.into();
            }
            r
        };
        assert_eq!(
            rule_lines(&v6(Ingress, "TCP", "8080/8080", "2408:4005:300::/56", "Accept"), Way::In, &none),
            ["ip6 saddr 2408:4005:300::/56 meta l4proto tcp th dport 8080 accept"]
        );
        assert_eq!(
            rule_lines(&v6(Ingress, "ICMPV6", "-1/-1", "2408:4005:300:1::5", "Accept"), Way::In, &none),
            ["ip6 saddr 2408:4005:300:1::5 meta l4proto ipv6-icmp accept"]
        );
        assert!(
            rule_lines(&v6(Ingress, "ICMP", "-1/-1", "2408:4005:300::/56", "Accept"), Way::In, &none).is_empty(),
            "ICMP is IPv4's"
        );
        assert_eq!(
            rule_lines(&v6(Egress, "ALL", "-1/-1", "::/0", "Drop"), Way::Out, &none),
            ["meta nfproto ipv6 drop"]
        );
        let mut by_group = rule(Ingress, "ALL", "-1/-1", "", "Accept", 1);
        by_group.source_group_id = "sg-dual".into();
        let dual =
            |_: &str| BTreeSet::from(["10.0.0.1/32".parse().unwrap(), "2408:4005:300:1::5/128".parse().unwrap()]);
        assert_eq!(
            rule_lines(&by_group, Way::In, &dual),
            ["ip saddr 10.0.0.1 accept", "ip6 saddr 2408:4005:300:1::5 accept"]
        );
    }
}
