//! Security group rules as typed values: protocol, port range, peer, policy, priority.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ack_net_core::de;
use ipnet::IpNet;
use serde::Deserialize;

use crate::common::opt_parsed;
use crate::{Error, SecurityGroupId};

/// Rule direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Inbound: the peer is the source.
    Ingress,
    /// Outbound: the peer is the destination.
    Egress,
}

impl Direction {
    /// The API's spelling (`ingress`, `egress`).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// The protocol of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpProtocol {
    /// TCP (ports 1-65535).
    Tcp,
    /// UDP (ports 1-65535).
    Udp,
    /// ICMP (IPv4 peers; port range `-1/-1`).
    Icmp,
    /// ICMPv6 (IPv6 peers; port range `-1/-1`).
    IcmpV6,
    /// GRE (port range `-1/-1`).
    Gre,
    /// Every protocol (port range `-1/-1`).
    All,
}

impl IpProtocol {
    /// The API's spelling (`TCP`, `UDP`, `ICMP`, `ICMPv6`, `GRE`, `ALL`).
    pub fn as_str(self) -> &'static str {
        match self {
            IpProtocol::Tcp => "TCP",
            IpProtocol::Udp => "UDP",
            IpProtocol::Icmp => "ICMP",
            IpProtocol::IcmpV6 => "ICMPv6",
            IpProtocol::Gre => "GRE",
            IpProtocol::All => "ALL",
        }
    }

    /// Whether the protocol has ports.
    pub fn has_ports(self) -> bool {
        matches!(self, IpProtocol::Tcp | IpProtocol::Udp)
    }
}

impl FromStr for IpProtocol {
    type Err = ack_net_core::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "TCP" => IpProtocol::Tcp,
            "UDP" => IpProtocol::Udp,
            "ICMP" => IpProtocol::Icmp,
            "ICMPV6" => IpProtocol::IcmpV6,
            "GRE" => IpProtocol::Gre,
            "ALL" => IpProtocol::All,
            _ => {
                return Err(ack_net_core::Error::invalid_input(
                    "IpProtocol",
                    format!("{s:?} is not TCP, UDP, ICMP, ICMPv6, GRE or ALL"),
                ))
            }
        })
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A port range `from/to`: `1-65535` with `from <= to` for TCP and UDP, `-1/-1` (every
/// port) for the other protocols.
///
/// ```
/// use ack_net_eni::PortRange;
/// assert_eq!("80/80".parse::<PortRange>().unwrap(), PortRange::single(80));
/// assert!("80/70".parse::<PortRange>().is_err());
/// assert!(PortRange::new(80, 70).is_err());
/// assert_eq!(PortRange::ALL.to_string(), "-1/-1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    from: i32,
    to: i32,
}

impl PortRange {
    /// Every port (`-1/-1`), for ICMP, GRE and ALL.
    pub const ALL: PortRange = PortRange { from: -1, to: -1 };

    /// `from/to`: ports 1-65535 with `from <= to`.
    pub fn new(from: u16, to: u16) -> Result<Self, ack_net_core::Error> {
        if from == 0 || from > to {
            return Err(ack_net_core::Error::invalid_input(
                "PortRange",
                format!("{from}/{to} is not a range of ports 1-65535 with start <= end"),
            ));
        }
        Ok(Self { from: i32::from(from), to: i32::from(to) })
    }

    /// One port (`p/p`); port 0 is clamped to 1.
    pub fn single(port: u16) -> Self {
        let p = i32::from(port.max(1));
        Self { from: p, to: p }
    }

    /// The first port (-1 for every port).
    pub fn from_port(&self) -> i32 {
        self.from
    }

    /// The last port (-1 for every port).
    pub fn to_port(&self) -> i32 {
        self.to
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.from, self.to)
    }
}

impl FromStr for PortRange {
    type Err = ack_net_core::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || ack_net_core::Error::invalid_input("PortRange", format!("{s:?} is not like 80/80, 1/65535 or -1/-1"));
        let (a, b) = s.trim().split_once('/').ok_or_else(bad)?;
        if a == "-1" && b == "-1" {
            return Ok(PortRange::ALL);
        }
        let a: u16 = a.parse().map_err(|_| bad())?;
        let b: u16 = b.parse().map_err(|_| bad())?;
        PortRange::new(a, b)
    }
}

/// The other end of a rule: an address block or a security group of the same VPC.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Peer {
    /// An IPv4 or IPv6 block (kept in canonical form: `10.0.0.5/8` becomes `10.0.0.0/8`).
    Cidr(IpNet),
    /// Every instance and ENI of a security group.
    Group(SecurityGroupId),
}

impl Peer {
    /// An address block; a plain address is a /32 (or /128).
    pub fn cidr(s: &str) -> Result<Self, ack_net_core::Error> {
        let s = s.trim();
        let net = match s.parse::<IpNet>() {
            Ok(n) => n,
            Err(_) => match s.parse::<IpAddr>() {
                Ok(ip) => IpNet::from(ip),
                Err(_) => {
                    return Err(ack_net_core::Error::invalid_input(
                        "SourceCidrIp",
                        format!("{s:?} is not a CIDR block"),
                    ))
                }
            },
        };
        Ok(Peer::Cidr(net.trunc()))
    }

    /// A security group.
    pub fn group(id: impl AsRef<str>) -> Result<Self, ack_net_core::Error> {
        Ok(Peer::Group(SecurityGroupId::new(id.as_ref())?))
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Cidr(n) => write!(f, "{n}"),
            Peer::Group(g) => write!(f, "{g}"),
        }
    }
}

/// Accept or drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Policy {
    /// Let the traffic through (the default).
    #[default]
    Accept,
    /// Drop it.
    Drop,
}

impl Policy {
    /// The API's spelling in requests (`accept`, `drop`).
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Accept => "accept",
            Policy::Drop => "drop",
        }
    }
}

/// A security group rule.
///
/// ```
/// use ack_net_eni::{IpProtocol, Peer, PortRange, SecurityGroupRule};
/// # fn demo() -> Result<(), ack_net_core::Error> {
/// let r = SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::new(30000, 32767)?, Peer::cidr("10.0.0.0/8")?)
///     .priority(10)
///     .description("node ports from the VPC");
/// assert!(r.validate().is_ok());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecurityGroupRule {
    /// Ingress or egress.
    pub direction: Direction,
    /// The protocol.
    pub protocol: IpProtocol,
    /// The ports.
    pub port_range: PortRange,
    /// The source (ingress) or destination (egress).
    pub peer: Peer,
    /// Accept or drop.
    pub policy: Policy,
    /// 1 (first) to 100.
    pub priority: u8,
    /// Free text, at most 512 characters (not part of the rule's identity).
    pub description: String,
}

/// What makes two rules the same rule for the API: everything but the description.
pub(crate) type RuleKey = (Direction, IpProtocol, PortRange, Peer, Policy, u8);

impl SecurityGroupRule {
    /// An inbound rule, accept, priority 1.
    pub fn ingress(protocol: IpProtocol, port_range: PortRange, source: Peer) -> Self {
        Self::new(Direction::Ingress, protocol, port_range, source)
    }

    /// An outbound rule, accept, priority 1.
    pub fn egress(protocol: IpProtocol, port_range: PortRange, destination: Peer) -> Self {
        Self::new(Direction::Egress, protocol, port_range, destination)
    }

    fn new(direction: Direction, protocol: IpProtocol, port_range: PortRange, peer: Peer) -> Self {
        Self { direction, protocol, port_range, peer, policy: Policy::Accept, priority: 1, description: String::new() }
    }

    /// Sets the policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the priority (1-100).
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Checks the rule as the API would: ports fit the protocol, priority 1-100, ICMP with
    /// IPv4 peers and ICMPv6 with IPv6 peers, a description of at most 512 characters not
    /// starting with `http://` or `https://`.
    pub fn validate(&self) -> Result<(), Error> {
        if self.protocol.has_ports() {
            if self.port_range.from < 1 {
                return Err(Error::invalid_input("PortRange", format!("{} needs ports 1-65535", self.protocol)));
            }
        } else if self.port_range != PortRange::ALL {
            return Err(Error::invalid_input("PortRange", format!("{} takes the port range -1/-1", self.protocol)));
        }
        if !(1..=100).contains(&self.priority) {
            return Err(Error::invalid_input("Priority", format!("{} is not 1-100", self.priority)));
        }
        match (&self.peer, self.protocol) {
            (Peer::Cidr(IpNet::V6(_)), IpProtocol::Icmp) => {
                return Err(Error::invalid_input("IpProtocol", "ICMP rules take IPv4 peers; use ICMPv6"))
            }
            (Peer::Cidr(IpNet::V4(_)), IpProtocol::IcmpV6) => {
                return Err(Error::invalid_input("IpProtocol", "ICMPv6 rules take IPv6 peers"))
            }
            _ => {}
        }
        Ok(crate::common::validate_text("Description", &self.description, 512)?)
    }

    pub(crate) fn key(&self) -> RuleKey {
        (self.direction, self.protocol, self.port_range, self.peer.clone(), self.policy, self.priority)
    }

    /// Adds the rule as `Permissions.{n}.*`.
    /// The rule as one `Permissions.N` of an authorize (or, without its description, a
    /// revoke) call.
    pub(crate) fn wire(&self, with_description: bool) -> WireRule<'_> {
        let mut w = WireRule {
            ip_protocol: self.protocol.as_str(),
            port_range: self.port_range.to_string(),
            source_cidr_ip: None,
            ipv6_source_cidr_ip: None,
            source_group_id: None,
            dest_cidr_ip: None,
            ipv6_dest_cidr_ip: None,
            dest_group_id: None,
            policy: self.policy.as_str(),
            priority: self.priority,
            nic_type: "intranet",
            description: Some(self.description.as_str()).filter(|d| with_description && !d.is_empty()),
        };
        let (v4, v6, group) = match self.direction {
            Direction::Ingress => (&mut w.source_cidr_ip, &mut w.ipv6_source_cidr_ip, &mut w.source_group_id),
            Direction::Egress => (&mut w.dest_cidr_ip, &mut w.ipv6_dest_cidr_ip, &mut w.dest_group_id),
        };
        match &self.peer {
            Peer::Cidr(IpNet::V4(n4)) => *v4 = Some(n4.to_string()),
            Peer::Cidr(IpNet::V6(n6)) => *v6 = Some(n6.to_string()),
            Peer::Group(g) => *group = Some(g.to_string()),
        }
        w
    }
}

/// One rule's parameters in an authorize or revoke call.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireRule<'a> {
    ip_protocol: &'static str,
    port_range: String,
    source_cidr_ip: Option<String>,
    ipv6_source_cidr_ip: Option<String>,
    source_group_id: Option<String>,
    dest_cidr_ip: Option<String>,
    ipv6_dest_cidr_ip: Option<String>,
    dest_group_id: Option<String>,
    policy: &'static str,
    priority: u8,
    nic_type: &'static str,
    description: Option<&'a str>,
}

/// A rule as DescribeSecurityGroupAttribute answers it (`Permissions.Permission[]`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Permission {
    /// `sgr-...`
    #[serde(rename = "SecurityGroupRuleId", default, deserialize_with = "de::string")]
    pub rule_id: String,
    /// `ingress` or `egress`.
    #[serde(rename = "Direction", default, deserialize_with = "de::string")]
    pub direction: String,
    /// `TCP`, `UDP`, `ICMP`, `ICMPv6`, `GRE`, `ALL`.
    #[serde(rename = "IpProtocol", default, deserialize_with = "de::string")]
    pub ip_protocol: String,
    /// `80/80`, `-1/-1`.
    #[serde(rename = "PortRange", default, deserialize_with = "de::string")]
    pub port_range: String,
    /// IPv4 source.
    #[serde(rename = "SourceCidrIp", default, deserialize_with = "de::string")]
    pub source_cidr_ip: String,
    /// IPv6 source.
    #[serde(rename = "Ipv6SourceCidrIp", default, deserialize_with = "de::string")]
    pub ipv6_source_cidr_ip: String,
    /// Source group.
    #[serde(rename = "SourceGroupId", default, deserialize_with = "opt_parsed")]
    pub source_group_id: Option<SecurityGroupId>,
    /// IPv4 destination.
    #[serde(rename = "DestCidrIp", default, deserialize_with = "de::string")]
    pub dest_cidr_ip: String,
    /// IPv6 destination.
    #[serde(rename = "Ipv6DestCidrIp", default, deserialize_with = "de::string")]
    pub ipv6_dest_cidr_ip: String,
    /// Destination group.
    #[serde(rename = "DestGroupId", default, deserialize_with = "opt_parsed")]
    pub dest_group_id: Option<SecurityGroupId>,
    /// A source prefix list (rules with one are not representable as [`SecurityGroupRule`]).
    #[serde(rename = "SourcePrefixListId", default, deserialize_with = "de::string")]
    pub source_prefix_list_id: String,
    /// A destination prefix list.
    #[serde(rename = "DestPrefixListId", default, deserialize_with = "de::string")]
    pub dest_prefix_list_id: String,
    /// `Accept` or `Drop`.
    #[serde(rename = "Policy", default, deserialize_with = "de::string")]
    pub policy: String,
    /// `1`-`100`.
    #[serde(rename = "Priority", default, deserialize_with = "de::string")]
    pub priority: String,
    /// `intranet`.
    #[serde(rename = "NicType", default, deserialize_with = "de::string")]
    pub nic_type: String,
    /// Free text.
    #[serde(rename = "Description", default, deserialize_with = "de::string")]
    pub description: String,
    /// When it was created.
    #[serde(rename = "CreateTime", default, deserialize_with = "de::string")]
    pub create_time: String,
}

impl Permission {
    /// The rule as a typed value; `None` when it uses something this crate does not model
    /// (prefix lists, an unknown protocol, source ports...).
    pub fn to_rule(&self) -> Option<SecurityGroupRule> {
        let direction = match self.direction.to_ascii_lowercase().as_str() {
            "ingress" | "" => Direction::Ingress,
            "egress" => Direction::Egress,
            _ => return None,
        };
        let protocol: IpProtocol = self.ip_protocol.parse().ok()?;
        let port_range: PortRange = self.port_range.parse().ok()?;
        let (v4, v6, group, prefix_list) = match direction {
            Direction::Ingress => {
                (&self.source_cidr_ip, &self.ipv6_source_cidr_ip, &self.source_group_id, &self.source_prefix_list_id)
            }
            Direction::Egress => {
                (&self.dest_cidr_ip, &self.ipv6_dest_cidr_ip, &self.dest_group_id, &self.dest_prefix_list_id)
            }
        };
        if !prefix_list.is_empty() {
            return None;
        }
        let peer = match (v4.is_empty(), v6.is_empty(), group) {
            (false, true, None) => Peer::cidr(v4).ok()?,
            (true, false, None) => Peer::cidr(v6).ok()?,
            (true, true, Some(g)) => Peer::Group(g.clone()),
            _ => return None,
        };
        let policy = match self.policy.to_ascii_lowercase().as_str() {
            "accept" | "" => Policy::Accept,
            "drop" => Policy::Drop,
            _ => return None,
        };
        let priority = if self.priority.is_empty() { 1 } else { self.priority.trim().parse().ok()? };
        Some(SecurityGroupRule {
            direction,
            protocol,
            port_range,
            peer,
            policy,
            priority,
            description: self.description.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges() {
        assert_eq!("1/65535".parse::<PortRange>().unwrap(), PortRange::new(1, 65535).unwrap());
        for bad in ["80/70", "0/80", "80", "a/b", "-1/80", "1/65536", ""] {
            assert!(bad.parse::<PortRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn rules_validate() {
        let tcp = |r| SecurityGroupRule::ingress(IpProtocol::Tcp, r, Peer::cidr("10.0.0.0/8").unwrap());
        assert!(tcp(PortRange::single(80)).validate().is_ok());
        assert!(tcp(PortRange::ALL).validate().is_err());
        assert!(tcp(PortRange::single(80)).priority(0).validate().is_err());
        assert!(tcp(PortRange::single(80)).priority(101).validate().is_err());
        assert!(tcp(PortRange::single(80)).description("https://x").validate().is_err());
        let icmp = SecurityGroupRule::ingress(IpProtocol::Icmp, PortRange::single(1), Peer::cidr("0.0.0.0/0").unwrap());
        assert!(icmp.validate().is_err());
        let icmp6 = SecurityGroupRule::ingress(IpProtocol::Icmp, PortRange::ALL, Peer::cidr("::/0").unwrap());
        assert!(icmp6.validate().is_err());
        assert_eq!(Peer::cidr("10.1.2.3/8").unwrap(), Peer::cidr("10.0.0.0/8").unwrap());
        assert_eq!(Peer::cidr("10.1.2.3").unwrap().to_string(), "10.1.2.3/32");
        assert!(Peer::cidr("10.0.0.0/33").is_err());
    }

    #[test]
    fn permissions_round_trip() {
        let p: Permission = serde_json::from_str(
            r#"{"SecurityGroupRuleId":"sgr-1","Direction":"ingress","IpProtocol":"TCP","PortRange":"80/80",
                "SourceCidrIp":"10.0.0.0/8","SourceGroupId":"","Policy":"Accept","Priority":"5",
                "NicType":"intranet","Description":"x"}"#,
        )
        .unwrap();
        let r = p.to_rule().unwrap();
        assert_eq!(
            r.key(),
            (
                Direction::Ingress,
                IpProtocol::Tcp,
                PortRange::single(80),
                Peer::cidr("10.0.0.0/8").unwrap(),
                Policy::Accept,
                5
            )
        );
        let sg = "sg-1".parse().unwrap();
        let req = crate::client::test_support::client().security_groups().authorize(&sg).rule(r).to_request().unwrap();
        let params = req.get_params();
        assert_eq!(params.get("Permissions.1.SourceCidrIp"), Some("10.0.0.0/8"));
        assert_eq!(params.get("Permissions.1.Priority"), Some("5"));
        assert_eq!(params.get("Permissions.1.Policy"), Some("accept"));
        let prefix_list = Permission { source_prefix_list_id: "pl-1".into(), source_cidr_ip: String::new(), ..p };
        assert!(prefix_list.to_rule().is_none());
    }
}
