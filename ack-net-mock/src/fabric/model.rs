//! What the fabric should look like, read from the mock's state (a pure function), and the
//! steps from one such picture to the next (a pure diff). The Linux executor only carries the
//! steps out.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use serde::Serialize;
use tokio::time::Instant;

use crate::ecs::{EniStatus, EniType};
use crate::state::State;

/// The whole data plane the mock's state asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Topology {
    /// One router namespace per VPC.
    pub vpcs: BTreeMap<String, VpcNet>,
    /// One node namespace per ECS instance: instance id -> its VPC.
    pub instances: BTreeMap<String, String>,
    /// One link per ENI.
    pub enis: BTreeMap<String, EniNet>,
    /// One namespace per load balancer in a VPC, holding its address and its TCP proxy.
    pub lbs: BTreeMap<String, LbNet>,
}

/// A load balancer (CLB) in the data plane: a namespace on its VPC's vRouter that holds the
/// load balancer's address, and the TCP listeners its proxy serves there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LbNet {
    /// Its VPC.
    pub vpc: String,
    /// Its address (the vRouter routes it to the namespace).
    pub address: Ipv4Addr,
    /// Listener port -> the backends of its VServer group, for each running TCP listener.
    pub listeners: BTreeMap<u16, Vec<LbBackend>>,
}

/// Where a load balancer's listener may send a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LbBackend {
    /// The backend's address: an `eni` or `eci` backend's `ServerIp`, an `ecs` backend's
    /// primary address.
    pub ip: Ipv4Addr,
    /// The backend port.
    pub port: u16,
    /// The weight new connections are shared by; 0 when the backend is set to 0 or fails
    /// its health check (it keeps its connections).
    pub weight: u8,
}

/// A VPC: its vRouter, its VSwitch segments, its routes and its security-group rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VpcNet {
    /// VSwitch id -> its segment.
    pub segments: BTreeMap<String, Segment>,
    /// Addresses (IPv4 and IPv6) the vRouter delivers to an ENI without asking (no ARP, no
    /// neighbour solicitation): address -> where.
    pub delivery: BTreeMap<IpAddr, Delivery>,
    /// Custom route entries: destination -> next hop (an instance's or ENI's primary address).
    pub routes: BTreeMap<Ipv4Net, Ipv4Addr>,
    /// The nftables ruleset enforcing the security groups of the VPC's ENIs.
    pub ruleset: String,
}

/// A VSwitch: a bridge on the vRouter holding the gateway address (and the IPv6 one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The gateway address with the VSwitch's prefix length.
    pub gateway: Ipv4Net,
    /// For a VSwitch with an IPv6 block: its IPv6 gateway ([`gateway6`]) with the block's prefix.
    pub gateway6: Option<Ipv6Net>,
}

/// Where the vRouter sends packets for one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The VSwitch whose segment the holding ENI is on.
    pub vswitch: String,
    /// The holding ENI's MAC.
    pub mac: String,
}

/// One ENI's link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EniNet {
    /// Its VPC.
    pub vpc: String,
    /// Its VSwitch.
    pub vswitch: String,
    /// The MAC the API reported.
    pub mac: String,
    /// Where the link is.
    pub placement: Placement,
    /// For an instance's primary ENI in place that holds IPv6 addresses: its first one (a /128,
    /// as DHCPv6 hands it out) and the VSwitch's IPv6 gateway (the default route, on-link),
    /// configured as the instance's image does. The other IPv6 addresses are only delivered.
    pub ipv6: Option<(Ipv6Net, Ipv6Addr)>,
}

/// Where an ENI's link is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Placement {
    /// On the vRouter, down: not attached (or attaching, or detaching).
    Parked,
    /// In an instance's namespace as `eth<device_index>`.
    Node {
        /// The instance.
        instance: String,
        /// Its device index (0 for the primary ENI).
        device_index: u32,
        /// For the primary ENI: the instance's own address with the VSwitch's prefix and
        /// its gateway, configured as the instance's image does. A hot-plugged ENI appears
        /// down and unconfigured (`None`).
        primary: Option<(Ipv4Net, Ipv4Addr)>,
    },
}

/// The gateway of a VSwitch: its third-from-last address, as the real VPC answers (the
/// address the mock reserves and ack-net's pod networks use).
///
/// ```
/// use ack_net_mock::fabric::gateway;
/// assert_eq!(gateway("192.168.1.0/24".parse().unwrap()), Some("192.168.1.253/24".parse().unwrap()));
/// assert_eq!(gateway("10.0.0.0/30".parse().unwrap()), None);
/// ```
pub fn gateway(cidr: Ipv4Net) -> Option<Ipv4Net> {
    if cidr.prefix_len() > 29 {
        return None;
    }
    let last = u32::from(cidr.broadcast());
    Ipv4Net::new(Ipv4Addr::from(last - 2), cidr.prefix_len()).ok()
}

/// The IPv6 gateway of a VSwitch's IPv6 block: its third-from-last address, as for IPv4 (the
/// address the mock reserves and ack-net's dual-stack pod networks route through).
///
/// ```
/// use ack_net_mock::fabric::gateway6;
/// let gw = gateway6("2408:4005:300:1::/64".parse().unwrap()).unwrap();
/// assert_eq!(gw, "2408:4005:300:1:ffff:ffff:ffff:fffd/64".parse().unwrap());
/// assert_eq!(gateway6("2408:4005:300:1::/126".parse().unwrap()), None);
/// ```
pub fn gateway6(cidr: Ipv6Net) -> Option<Ipv6Net> {
    if cidr.prefix_len() > 125 {
        return None;
    }
    let last = u128::from(cidr.broadcast());
    Ipv6Net::new(Ipv6Addr::from(last - 2), cidr.prefix_len()).ok()
}

/// The topology the mock's state asks for at `now` (IPv4, and IPv6 where a VSwitch has an
/// IPv6 block).
pub fn topology(state: &State, now: Instant) -> Topology {
    let mut t = Topology::default();
    for id in state.vpc.vpcs.keys() {
        t.vpcs.insert(id.clone(), VpcNet::default());
    }
    for (id, v) in &state.vpc.vswitches {
        if let (Some(vpc), Some(gateway)) = (t.vpcs.get_mut(&v.info.vpc_id), gateway(v.info.cidr)) {
            let gateway6 = v.info.ipv6_cidr.and_then(gateway6);
            vpc.segments.insert(id.clone(), Segment { gateway, gateway6 });
        }
    }
    for (id, i) in &state.ecs.instances {
        if t.vpcs.contains_key(&i.vpc_id) {
            t.instances.insert(id.clone(), i.vpc_id.clone());
        }
    }
    for (id, e) in &state.ecs.enis {
        let Some(vpc) = t.vpcs.get_mut(&e.vpc_id) else { continue };
        let Some(segment) = vpc.segments.get(&e.vswitch_id).copied() else { continue };
        // An attach or detach whose delay has passed counts as done, as the next call sees it.
        let view = e.view(now);
        let placement = match (view.status, view.instance_id.as_deref(), view.device_index) {
            (EniStatus::InUse, Some(i), Some(index)) if t.instances.contains_key(i) => Placement::Node {
                instance: i.to_owned(),
                device_index: index,
                primary: (e.eni_type == EniType::Primary).then(|| {
                    let own = Ipv4Net::new(e.primary_ip, segment.gateway.prefix_len()).unwrap_or(segment.gateway);
                    (own, segment.gateway.addr())
                }),
            },
            _ => Placement::Parked,
        };
        let v4 = std::iter::once(e.primary_ip).chain(e.secondary_ips.iter().copied()).map(IpAddr::V4);
        for ip in v4.chain(e.ipv6.iter().copied().map(IpAddr::V6)) {
            vpc.delivery.insert(ip, Delivery { vswitch: e.vswitch_id.clone(), mac: e.mac.clone() });
        }
        let configured = matches!(placement, Placement::Node { primary: Some(_), .. });
        let ipv6 = match (e.ipv6.first(), segment.gateway6) {
            (Some(&own), Some(gw)) if configured => Some((Ipv6Net::from(own), gw.addr())),
            _ => None,
        };
        t.enis.insert(
            id.clone(),
            EniNet { vpc: e.vpc_id.clone(), vswitch: e.vswitch_id.clone(), mac: e.mac.clone(), placement, ipv6 },
        );
    }
    for table in state.vpc.route_tables.values() {
        let Some(vpc) = t.vpcs.get_mut(&table.vpc_id) else { continue };
        for r in table.entries.iter().filter(|r| r.kind == "Custom" && r.ready_at <= now) {
            let Ok(dst) = r.destination.parse::<Ipv4Net>() else { continue };
            let eni = match r.next_hop_type.as_str() {
                "Instance" => state.ecs.instances.get(&r.next_hop_id).and_then(|i| state.ecs.enis.get(&i.primary_eni)),
                "NetworkInterface" => state.ecs.enis.get(&r.next_hop_id),
                _ => None,
            };
            if let Some(eni) = eni {
                vpc.routes.insert(dst, eni.primary_ip);
            }
        }
    }
    for (id, vpc) in t.vpcs.iter_mut() {
        vpc.ruleset = super::security::ruleset(state, id, &vpc.routes);
    }
    for lb in state.slb.load_balancers() {
        let Ok(address) = lb.address.parse::<Ipv4Addr>() else { continue };
        if !t.vpcs.contains_key(&lb.vpc_id) {
            continue;
        }
        let listeners = state
            .slb
            .tcp_listeners(lb, now)
            .into_iter()
            .map(|(port, backends)| {
                let mut out: Vec<LbBackend> = backends
                    .into_iter()
                    .filter_map(|(b, healthy)| {
                        let ip = match b.kind.as_str() {
                            "ecs" if b.server_ip.is_empty() => state
                                .ecs
                                .instances
                                .get(&b.server_id)
                                .and_then(|i| state.ecs.enis.get(&i.primary_eni))
                                .map(|e| e.primary_ip),
                            _ => b.server_ip.parse().ok(),
                        }?;
                        Some(LbBackend { ip, port: b.port, weight: if healthy { b.weight } else { 0 } })
                    })
                    .collect();
                out.sort();
                (port, out)
            })
            .collect();
        t.lbs.insert(lb.id.clone(), LbNet { vpc: lb.vpc_id.clone(), address, listeners });
    }
    t
}

/// One step of the way from one topology to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Op {
    /// Make a VPC's router namespace.
    AddRouter {
        /// The VPC.
        vpc: String,
    },
    /// Make a VSwitch's segment: a bridge on the router with the gateway address.
    AddSegment {
        /// The VPC.
        vpc: String,
        /// The VSwitch.
        vswitch: String,
        /// Its gateway address and prefix.
        gateway: Ipv4Net,
        /// Its IPv6 gateway address and prefix, for a VSwitch with an IPv6 block.
        gateway6: Option<Ipv6Net>,
    },
    /// Make an instance's namespace.
    AddNode {
        /// The instance.
        instance: String,
        /// Its VPC.
        vpc: String,
    },
    /// Make an ENI's link (parked on its segment, down).
    AddEni {
        /// The ENI.
        eni: String,
        /// Its VPC.
        vpc: String,
        /// Its VSwitch.
        vswitch: String,
        /// Its MAC.
        mac: String,
    },
    /// Move an ENI's link (into an instance, or back to the router).
    Place {
        /// The ENI.
        eni: String,
        /// Where it goes.
        to: Placement,
    },
    /// Configure (or remove) the IPv6 address and default route of an instance's primary ENI
    /// (see [`EniNet::ipv6`]).
    SetIpv6 {
        /// The ENI (in place in its instance).
        eni: String,
        /// The address configured before, to remove.
        from: Option<Ipv6Net>,
        /// The address and gateway to configure.
        to: Option<(Ipv6Net, Ipv6Addr)>,
    },
    /// Deliver an address to the ENI with this MAC on this segment (a permanent neighbour).
    Deliver {
        /// The VPC.
        vpc: String,
        /// The address.
        ip: IpAddr,
        /// Where.
        to: Delivery,
    },
    /// Stop delivering an address.
    Undeliver {
        /// The VPC.
        vpc: String,
        /// The address.
        ip: IpAddr,
        /// Where it went.
        from: Delivery,
    },
    /// Route a destination to a next hop in the vRouter.
    AddRoute {
        /// The VPC.
        vpc: String,
        /// The destination.
        dst: Ipv4Net,
        /// The next hop.
        via: Ipv4Addr,
    },
    /// Remove a vRouter route.
    DelRoute {
        /// The VPC.
        vpc: String,
        /// The destination.
        dst: Ipv4Net,
    },
    /// Replace the VPC's security-group ruleset (one nftables transaction).
    SetSecurity {
        /// The VPC.
        vpc: String,
        /// The ruleset.
        ruleset: String,
    },
    /// Make a load balancer's namespace, linked to its VPC's vRouter, holding its address,
    /// with its proxy running (serving no listener yet).
    AddLb {
        /// The load balancer.
        lb: String,
        /// Its VPC.
        vpc: String,
        /// Its address.
        address: Ipv4Addr,
    },
    /// Give a load balancer's proxy its listeners and backends as they are now.
    SetLbListeners {
        /// The load balancer.
        lb: String,
        /// Listener port -> backends.
        listeners: BTreeMap<u16, Vec<LbBackend>>,
    },
    /// Remove a load balancer's namespace (its proxy resets every connection).
    DelLb {
        /// The load balancer.
        lb: String,
    },
    /// Remove an ENI's link.
    DelEni {
        /// The ENI.
        eni: String,
    },
    /// Remove an instance's namespace.
    DelNode {
        /// The instance.
        instance: String,
    },
    /// Remove a segment.
    DelSegment {
        /// The VPC.
        vpc: String,
        /// The VSwitch.
        vswitch: String,
    },
    /// Remove a router namespace (and everything still on it).
    DelRouter {
        /// The VPC.
        vpc: String,
    },
}

impl Op {
    /// The resource the step is about (the key of its error in the state dump).
    pub fn resource(&self) -> String {
        match self {
            Op::AddRouter { vpc } | Op::DelRouter { vpc } | Op::SetSecurity { vpc, .. } => vpc.clone(),
            Op::AddSegment { vswitch, .. } | Op::DelSegment { vswitch, .. } => vswitch.clone(),
            Op::AddNode { instance, .. } | Op::DelNode { instance } => instance.clone(),
            Op::AddEni { eni, .. } | Op::Place { eni, .. } | Op::SetIpv6 { eni, .. } | Op::DelEni { eni } => {
                eni.clone()
            }
            Op::Deliver { vpc, ip, .. } | Op::Undeliver { vpc, ip, .. } => format!("{vpc}/{ip}"),
            Op::AddRoute { vpc, dst, .. } | Op::DelRoute { vpc, dst } => format!("{vpc}/{dst}"),
            Op::AddLb { lb, .. } | Op::SetLbListeners { lb, .. } | Op::DelLb { lb } => lb.clone(),
        }
    }
}

/// The steps from `from` to `to`, in an order that never needs a missing piece: routers,
/// segments, nodes and links first, then placement, delivery, routes and rules, load
/// balancers, removals last (load balancers first among them).
pub fn plan(from: &Topology, to: &Topology) -> Vec<Op> {
    let mut ops = Vec::new();
    let empty = VpcNet::default();
    for (id, vpc) in &to.vpcs {
        let old = from.vpcs.get(id);
        if old.is_none() {
            ops.push(Op::AddRouter { vpc: id.clone() });
        }
        let old = old.unwrap_or(&empty);
        for (vsw, seg) in &vpc.segments {
            if old.segments.get(vsw) != Some(seg) {
                ops.push(Op::AddSegment {
                    vpc: id.clone(),
                    vswitch: vsw.clone(),
                    gateway: seg.gateway,
                    gateway6: seg.gateway6,
                });
            }
        }
    }
    for (id, vpc) in &to.instances {
        if !from.instances.contains_key(id) {
            ops.push(Op::AddNode { instance: id.clone(), vpc: vpc.clone() });
        }
    }
    for (id, e) in &to.enis {
        let old = from.enis.get(id);
        if old.is_none() {
            ops.push(Op::AddEni {
                eni: id.clone(),
                vpc: e.vpc.clone(),
                vswitch: e.vswitch.clone(),
                mac: e.mac.clone(),
            });
        }
        let was = old.map(|o| &o.placement).unwrap_or(&Placement::Parked);
        if *was != e.placement {
            ops.push(Op::Place { eni: id.clone(), to: e.placement.clone() });
        }
        // A link that moved lost its addresses on the way.
        let before = old.filter(|o| o.placement == e.placement).and_then(|o| o.ipv6);
        if before != e.ipv6 {
            ops.push(Op::SetIpv6 { eni: id.clone(), from: before.map(|(own, _)| own), to: e.ipv6 });
        }
    }
    for (id, vpc) in &to.vpcs {
        let old = from.vpcs.get(id).unwrap_or(&empty);
        for (ip, d) in &old.delivery {
            if !vpc.delivery.contains_key(ip) {
                ops.push(Op::Undeliver { vpc: id.clone(), ip: *ip, from: d.clone() });
            }
        }
        for (ip, d) in &vpc.delivery {
            if old.delivery.get(ip) != Some(d) {
                if let Some(prev) = old.delivery.get(ip).filter(|p| p.vswitch != d.vswitch) {
                    ops.push(Op::Undeliver { vpc: id.clone(), ip: *ip, from: prev.clone() });
                }
                ops.push(Op::Deliver { vpc: id.clone(), ip: *ip, to: d.clone() });
            }
        }
        for (dst, via) in &old.routes {
            if vpc.routes.get(dst) != Some(via) {
                ops.push(Op::DelRoute { vpc: id.clone(), dst: *dst });
            }
        }
        for (dst, via) in &vpc.routes {
            if old.routes.get(dst) != Some(via) {
                ops.push(Op::AddRoute { vpc: id.clone(), dst: *dst, via: *via });
            }
        }
        if old.ruleset != vpc.ruleset {
            ops.push(Op::SetSecurity { vpc: id.clone(), ruleset: vpc.ruleset.clone() });
        }
    }
    for (id, lb) in &to.lbs {
        let old = from.lbs.get(id);
        // A load balancer that moved (another VPC or address) is made again.
        let same = old.is_some_and(|o| o.vpc == lb.vpc && o.address == lb.address);
        if !same {
            if old.is_some() {
                ops.push(Op::DelLb { lb: id.clone() });
            }
            ops.push(Op::AddLb { lb: id.clone(), vpc: lb.vpc.clone(), address: lb.address });
        }
        if !same || old.is_some_and(|o| o.listeners != lb.listeners) {
            ops.push(Op::SetLbListeners { lb: id.clone(), listeners: lb.listeners.clone() });
        }
    }
    for id in from.lbs.keys().filter(|id| !to.lbs.contains_key(*id)) {
        ops.push(Op::DelLb { lb: id.clone() });
    }
    for id in from.enis.keys().filter(|id| !to.enis.contains_key(*id)) {
        ops.push(Op::DelEni { eni: id.clone() });
    }
    for id in from.instances.keys().filter(|id| !to.instances.contains_key(*id)) {
        ops.push(Op::DelNode { instance: id.clone() });
    }
    for (id, vpc) in &from.vpcs {
        match to.vpcs.get(id) {
            None => ops.push(Op::DelRouter { vpc: id.clone() }),
            Some(now) => {
                for vsw in vpc.segments.keys().filter(|v| !now.segments.contains_key(*v)) {
                    ops.push(Op::DelSegment { vpc: id.clone(), vswitch: vsw.clone() });
                }
            }
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::InstanceSeed;
    use crate::handler::Req;
    use crate::vpc::{NewVSwitch, NewVpc};

    /// A dual-stack VPC (a /56) with one VSwitch (its /64 number 1) and an instance in it.
    fn world() -> (State, String, String, String) {
        let mut s = State::new(3);
        let now = Instant::now();
        let vpc = crate::vpc::create_vpc(
            &mut s,
            now,
            NewVpc {
                region_id: "cn-hangzhou".into(),
                cidr_block: Some("10.1.0.0/16".into()),
                enable_ipv6: true,
                ..NewVpc::default()
            },
        )
        .unwrap();
        let vsw = crate::vpc::create_vswitch(
            &mut s,
            now,
            NewVSwitch {
                vpc_id: vpc.clone(),
                zone_id: "cn-hangzhou-h".into(),
                cidr_block: "10.1.1.0/24".into(),
                ipv6_index: Some(1),
                ..NewVSwitch::default()
            },
        )
        .unwrap();
        let i = crate::ecs::create_instance(
            &mut s,
            InstanceSeed {
                region_id: "cn-hangzhou".into(),
                zone_id: "cn-hangzhou-h".into(),
                instance_type: "ecs.g7.large".into(),
                vswitch_id: vsw.clone(),
                security_group_ids: Vec::new(),
                instance_id: None,
            },
        )
        .unwrap();
        (s, vpc, vsw, i["InstanceId"].as_str().unwrap().to_owned())
    }

    fn ecs(s: &mut State, action: &str, params: &[(&str, &str)]) -> serde_json::Value {
        let mut p = vec![("RegionId", "cn-hangzhou")];
        p.extend_from_slice(params);
        crate::ecs::handle(s, &Req::new(action, crate::ecs::VERSION, &p)).unwrap().unwrap()
    }

    #[test]
    fn a_new_world_is_built_in_order_and_a_second_look_changes_nothing() {
        let (s, vpc, vsw, instance) = world();
        let t = topology(&s, Instant::now());
        assert_eq!(t.vpcs[&vpc].segments[&vsw].gateway, "10.1.1.253/24".parse().unwrap());
        let ops = plan(&Topology::default(), &t);
        let kinds: Vec<&str> = ops
            .iter()
            .map(|o| match o {
                Op::AddRouter { .. } => "router",
                Op::AddSegment { .. } => "segment",
                Op::AddNode { .. } => "node",
                Op::AddEni { .. } => "eni",
                Op::Place { .. } => "place",
                Op::Deliver { .. } => "deliver",
                Op::SetSecurity { .. } => "security",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["router", "segment", "node", "eni", "place", "deliver", "security"]);
        match &ops[4] {
            Op::Place { to: Placement::Node { instance: i, device_index: 0, primary: Some((own, gw)) }, .. } => {
                assert_eq!(i, &instance);
                assert_eq!(own.prefix_len(), 24);
                assert_eq!(gw.to_string(), "10.1.1.253");
            }
            other => panic!("{other:?}"),
        }
        assert!(plan(&t, &topology(&s, Instant::now())).is_empty());
    }

    #[test]
    fn enis_move_when_in_use_and_addresses_follow_assignment() {
        let (mut s, vpc, vsw, instance) = world();
        s.ecs.set_delays(std::time::Duration::ZERO, std::time::Duration::ZERO);
        let sg = ecs(&mut s, "CreateSecurityGroup", &[("VpcId", &vpc)]);
        let sg = sg["SecurityGroupId"].as_str().unwrap().to_owned();
        let before = topology(&s, Instant::now());
        let eni = ecs(&mut s, "CreateNetworkInterface", &[("VSwitchId", &vsw), ("SecurityGroupId", &sg)]);
        let eni = eni["NetworkInterfaceId"].as_str().unwrap().to_owned();
        let created = topology(&s, Instant::now());
        let ops = plan(&before, &created);
        assert!(matches!(&ops[0], Op::AddEni { eni: e, .. } if *e == eni), "{ops:?}");
        assert_eq!(created.enis[&eni].placement, Placement::Parked);

        ecs(&mut s, "AttachNetworkInterface", &[("NetworkInterfaceId", &eni), ("InstanceId", &instance)]);
        let attached = topology(&s, Instant::now());
        let expected = Placement::Node { instance: instance.clone(), device_index: 1, primary: None };
        assert_eq!(plan(&created, &attached), vec![Op::Place { eni: eni.clone(), to: expected }]);

        let ips = ecs(
            &mut s,
            "AssignPrivateIpAddresses",
            &[("NetworkInterfaceId", &eni), ("SecondaryPrivateIpAddressCount", "1")],
        );
        let ip: Ipv4Addr = ips["AssignedPrivateIpAddressesSet"]["PrivateIpSet"]["PrivateIpAddress"][0]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let assigned = topology(&s, Instant::now());
        let ops = plan(&attached, &assigned);
        assert!(ops.iter().any(|o| matches!(o, Op::Deliver { ip: i, .. } if *i == ip)), "{ops:?}");
        let ip_s = ip.to_string();
        ecs(&mut s, "UnassignPrivateIpAddresses", &[("NetworkInterfaceId", &eni), ("PrivateIpAddress.1", &ip_s)]);
        let ops = plan(&assigned, &topology(&s, Instant::now()));
        assert!(
            ops.iter().any(|o| matches!(o, Op::Undeliver { ip: i, vpc: v, .. } if *i == ip && *v == vpc)),
            "{ops:?}"
        );

        ecs(&mut s, "DetachNetworkInterface", &[("NetworkInterfaceId", &eni), ("InstanceId", &instance)]);
        let detached = topology(&s, Instant::now());
        assert_eq!(detached.enis[&eni].placement, Placement::Parked);
        ecs(&mut s, "DeleteNetworkInterface", &[("NetworkInterfaceId", &eni)]);
        let ops = plan(&detached, &topology(&s, Instant::now()));
        assert!(ops.contains(&Op::DelEni { eni: eni.clone() }), "{ops:?}");
    }

    #[test]
    fn ipv6_gets_a_gateway_delivery_and_the_primary_enis_address() {
        let (mut s, vpc, vsw, instance) = world();
        let t = topology(&s, Instant::now());
        let block = s.vpc.vswitches[&vsw].info.ipv6_cidr.expect("an IPv6 block");
        let gw = t.vpcs[&vpc].segments[&vsw].gateway6.expect("an IPv6 gateway");
        assert_eq!(Some(gw), gateway6(block));
        assert_eq!(u128::from(gw.addr()), u128::from(block.broadcast()) - 2);
        let primary = s.ecs.instances[&instance].primary_eni.clone();
        assert_eq!(t.enis[&primary].ipv6, None, "no IPv6 address yet");

        let got = ecs(&mut s, "AssignIpv6Addresses", &[("NetworkInterfaceId", &primary), ("Ipv6AddressCount", "2")]);
        let ips: Vec<Ipv6Addr> = got["Ipv6Sets"]["Ipv6Address"]
            .as_array()
            .expect("addresses")
            .iter()
            .map(|v| v.as_str().expect("an address").parse().expect("IPv6"))
            .collect();
        assert_eq!(ips.len(), 2);
        let assigned = topology(&s, Instant::now());
        let own = Ipv6Net::from(ips[0]);
        assert_eq!(assigned.enis[&primary].ipv6, Some((own, gw.addr())));
        let ops = plan(&t, &assigned);
        assert!(ops.contains(&Op::SetIpv6 { eni: primary.clone(), from: None, to: Some((own, gw.addr())) }), "{ops:?}");
        for ip in &ips {
            assert!(
                ops.iter().any(|o| matches!(o, Op::Deliver { ip: i, .. } if *i == IpAddr::V6(*ip))),
                "{ip} is delivered: {ops:?}"
            );
        }
        assert!(
            assigned.vpcs[&vpc].ruleset.contains(&ips[1].to_string()),
            "the group's chains know its IPv6 addresses"
        );

        let first = ips[0].to_string();
        ecs(&mut s, "UnassignIpv6Addresses", &[("NetworkInterfaceId", &primary), ("Ipv6Address.1", &first)]);
        let after = topology(&s, Instant::now());
        let moved = Some((Ipv6Net::from(ips[1]), gw.addr()));
        let ops = plan(&assigned, &after);
        assert!(ops.contains(&Op::SetIpv6 { eni: primary.clone(), from: Some(own), to: moved }), "{ops:?}");
        assert!(ops.iter().any(|o| matches!(o, Op::Undeliver { ip, .. } if *ip == IpAddr::V6(ips[0]))), "{ops:?}");
    }

    #[test]
    fn a_load_balancer_in_a_vpc_serves_its_running_tcp_listeners_backends() {
        use crate::slb::testutil::{group, instance, ok, vswitch};
        let mut s = State::new(3);
        let vsw = vswitch(&mut s);
        let (a, _, a_ip) = instance(&mut s, &vsw);
        let (_, b_eni, b_ip) = instance(&mut s, &vsw);
        let created = ok(
            &mut s,
            "CreateLoadBalancer",
            &[
                ("RegionId", "cn-hangzhou"),
                ("AddressType", "intranet"),
                ("VSwitchId", &vsw),
                ("LoadBalancerSpec", "slb.s2.small"),
            ],
        );
        let lb = created["LoadBalancerId"].as_str().unwrap().to_owned();
        let address: Ipv4Addr = created["Address"].as_str().unwrap().parse().unwrap();
        let backends = format!(
            r#"[{{"ServerId":"{a}","Port":"8080","Weight":"100"}},{{"ServerId":"{b_eni}","Type":"eni","ServerIp":"{b_ip}","Port":"8080","Weight":"50"}}]"#
        );
        let g = group(&mut s, &lb, Some(&backends));
        let listener = |action: &str| -> Vec<(&str, String)> {
            let mut p = vec![
                ("RegionId", "cn-hangzhou".to_owned()),
                ("LoadBalancerId", lb.clone()),
                ("ListenerPort", "80".into()),
            ];
            if action == "CreateLoadBalancerTCPListener" {
                p.extend([("VServerGroupId", g.clone()), ("Bandwidth", "-1".into())]);
            }
            p
        };
        let call = |s: &mut State, action: &str| {
            let p = listener(action);
            let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
            ok(s, action, &p);
        };
        call(&mut s, "CreateLoadBalancerTCPListener");
        let stopped = topology(&s, Instant::now());
        assert!(stopped.lbs[&lb].listeners.is_empty(), "a stopped listener serves nothing");
        let ops = plan(&Topology::default(), &stopped);
        let vpc = stopped.lbs[&lb].vpc.clone();
        assert!(ops.contains(&Op::AddLb { lb: lb.clone(), vpc, address }), "{ops:?}");

        call(&mut s, "StartLoadBalancerListener");
        let running = topology(&s, Instant::now());
        let want = vec![
            LbBackend { ip: a_ip.parse().unwrap(), port: 8080, weight: 100 },
            LbBackend { ip: b_ip.parse().unwrap(), port: 8080, weight: 50 },
        ];
        let mut sorted = want.clone();
        sorted.sort();
        assert_eq!(running.lbs[&lb].listeners, BTreeMap::from([(80, sorted.clone())]));
        assert_eq!(
            plan(&stopped, &running),
            vec![Op::SetLbListeners { lb: lb.clone(), listeners: BTreeMap::from([(80, sorted)]) }]
        );

        // A failing health check takes no new connections, like weight 0.
        s.slb.set_backend_abnormal(&b_ip, true);
        let unhealthy = topology(&s, Instant::now());
        let b = unhealthy.lbs[&lb].listeners[&80].iter().find(|x| x.ip.to_string() == b_ip).unwrap();
        assert_eq!(b.weight, 0);

        ok(
            &mut s,
            "DeleteLoadBalancerListener",
            &[("RegionId", "cn-hangzhou"), ("LoadBalancerId", &lb), ("ListenerPort", "80")],
        );
        ok(&mut s, "DeleteLoadBalancer", &[("RegionId", "cn-hangzhou"), ("LoadBalancerId", &lb)]);
        assert_eq!(plan(&unhealthy, &topology(&s, Instant::now())), vec![Op::DelLb { lb }]);
    }
}
