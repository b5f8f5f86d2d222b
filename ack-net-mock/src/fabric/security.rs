//! Security groups as one nftables table in a VPC's vRouter (a pure rendering of the state).
//!
//! Every packet between ENIs passes the vRouter (the segments' ports are isolated and the
//! vRouter answers ARP for the whole VSwitch), so one `forward` chain sees it, with conntrack:
//! the groups are stateful, as on the real cloud. A new flow first passes the sender's egress
//! chain (an accept there returns, to go on), then the receiver's ingress chain. Each chain
//! holds the rules of all the ENI's groups, highest priority (1) first, a drop before an accept
//! of the same priority, then the default rules as the real cloud has them: a basic (`normal`)
//! group lets its own members in and everything out; an enterprise group lets nothing in or out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

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
    let members = |group: &str| -> BTreeSet<Ipv4Addr> {
        state
            .ecs
            .enis
            .values()
            .filter(|e| e.security_group_ids.iter().any(|g| g == group))
            .flat_map(|e| std::iter::once(e.primary_ip).chain(e.secondary_ips.iter().copied()))
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
        let own: Vec<String> = std::iter::once(e.primary_ip)
            .chain(e.secondary_ips.iter().copied())
            .map(|ip| ip.to_string())
            .chain(routes.iter().filter(|(_, via)| **via == e.primary_ip).map(|(dst, _)| dst.to_string()))
            .collect();
        let set = format!("{{ {} }}", own.join(", "));
        let name = chain_name(&e.id);
        let _ = writeln!(forward, "    ip saddr {set} jump out_{name}");
        let _ = writeln!(dispatch_in, "    ip daddr {set} jump in_{name}");
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
            for r in rules {
                if let Some(line) = rule_line(r, way, &members) {
                    let _ = writeln!(chains, "    {line}");
                }
            }
            for g in &groups {
                let intra = members(&g.id);
                if g.sg_type == "normal" && way == Way::In && !intra.is_empty() {
                    let _ = writeln!(chains, "    ip saddr {} accept", addr_set(&intra));
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

fn addr_set(ips: &BTreeSet<Ipv4Addr>) -> String {
    format!("{{ {} }}", ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
}

/// One rule as an nftables statement; `None` when it can match nothing here (an IPv6 peer,
/// ICMPv6, a peer group without members).
fn rule_line(r: &Rule, way: Way, members: &dyn Fn(&str) -> BTreeSet<Ipv4Addr>) -> Option<String> {
    let mut m = Vec::new();
    let (cidr, group, field) = match way {
        Way::In => (&r.source_cidr_ip, &r.source_group_id, "saddr"),
        Way::Out => (&r.dest_cidr_ip, &r.dest_group_id, "daddr"),
    };
    if !group.is_empty() {
        let ips = members(group);
        if ips.is_empty() {
            return None;
        }
        m.push(format!("ip {field} {}", addr_set(&ips)));
    } else if !cidr.is_empty() {
        let net: Ipv4Net = cidr.parse().or_else(|_| cidr.parse::<Ipv4Addr>().map(Ipv4Net::from)).ok()?;
        if net.prefix_len() == 0 {
            m.push("meta nfproto ipv4".to_owned());
        } else {
            m.push(format!("ip {field} {}", net.trunc()));
        }
    } else {
        return None;
    }
    match r.ip_protocol.as_str() {
        "TCP" | "UDP" => {
            let proto = r.ip_protocol.to_ascii_lowercase();
            m.push(format!("meta l4proto {proto}"));
            let (lo, hi) = r.port_range.split_once('/')?;
            if (lo, hi) != ("1", "65535") {
                m.push(if lo == hi { format!("th dport {lo}") } else { format!("th dport {lo}-{hi}") });
            }
        }
        "ICMP" => m.push("meta l4proto icmp".to_owned()),
        "GRE" => m.push("meta l4proto gre".to_owned()),
        "ALL" => {}
        _ => return None,
    }
    let verdict = match (r.policy.as_str(), way) {
        ("Drop", _) => "drop",
        (_, Way::In) => "accept",
        (_, Way::Out) => "return",
    };
    Some(format!("{} {verdict}", m.join(" ")))
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
        assert_eq!(
            rule_line(&rule(Ingress, "TCP", "80/80", "10.0.0.0/8", "Accept", 1), Way::In, &none).unwrap(),
            "ip saddr 10.0.0.0/8 meta l4proto tcp th dport 80 accept"
        );
        assert_eq!(
            rule_line(&rule(Ingress, "UDP", "1000/2000", "10.1.2.3", "Drop", 1), Way::In, &none).unwrap(),
            "ip saddr 10.1.2.3/32 meta l4proto udp th dport 1000-2000 drop"
        );
        assert_eq!(
            rule_line(&rule(Egress, "ALL", "-1/-1", "0.0.0.0/0", "Accept", 1), Way::Out, &none).unwrap(),
            "meta nfproto ipv4 return"
        );
        assert_eq!(
            rule_line(&rule(Egress, "ICMP", "-1/-1", "192.168.0.0/16", "Drop", 5), Way::Out, &none).unwrap(),
            "ip daddr 192.168.0.0/16 meta l4proto icmp drop"
        );
        assert!(rule_line(&rule(Ingress, "ICMPV6", "-1/-1", "10.0.0.0/8", "Accept", 1), Way::In, &none).is_none());
        let mut by_group = rule(Ingress, "TCP", "1/65535", "", "Accept", 1);
        by_group.source_group_id = "sg-empty".into();
        assert!(rule_line(&by_group, Way::In, &none).is_none(), "a group without members matches nothing");
        let two = |_: &str| BTreeSet::from(["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()]);
        assert_eq!(
            rule_line(&by_group, Way::In, &two).unwrap(),
            "ip saddr { 10.0.0.1, 10.0.0.2 } meta l4proto tcp accept"
        );
    }
}
