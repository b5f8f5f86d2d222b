//! Route entries: CreateRouteEntry, DeleteRouteEntry, DescribeRouteEntryList.

use ack_net_core::de;
use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize, Serializer};

use crate::cidr::CidrError;
use crate::common::{check_name_and_description, opt_parsed, validate_page_size, wire_enum, wrapped};
use crate::{Error, RouteEntryId, RouteTableId};

/// The smallest page DescribeRouteEntryList accepts.
pub const MIN_MAX_RESULT: u32 = 20;
/// The largest page DescribeRouteEntryList returns.
pub const MAX_MAX_RESULT: u32 = 100;

wire_enum!(
    /// The kind of a route entry.
    RouteEntryType {
        /// Added by the system (the VSwitches' own blocks, cloud services).
        System = "System",
        /// Added by a user or a controller.
        Custom = "Custom",
        /// Learned over BGP.
        Bgp = "BGP",
    }
);

wire_enum!(
    /// The state of a route entry.
    RouteEntryStatus {
        /// Being created.
        Pending = "Pending",
        /// In effect.
        Available = "Available",
        /// Being changed.
        Modifying = "Modifying",
    }
);

wire_enum!(
    /// Where a route entry sends its traffic.
    NextHopType {
        /// An ECS instance (`i-...`): how node pod-CIDR routes point at their node.
        Instance = "Instance",
        /// An elastic network interface (`eni-...`).
        NetworkInterface = "NetworkInterface",
        /// A high-availability virtual IP.
        HaVip = "HaVip",
        /// A NAT gateway.
        NatGateway = "NatGateway",
        /// A VPN gateway.
        VpnGateway = "VpnGateway",
        /// A router interface.
        RouterInterface = "RouterInterface",
        /// An IPv6 gateway.
        Ipv6Gateway = "IPv6Gateway",
        /// An IPv4 gateway.
        Ipv4Gateway = "Ipv4Gateway",
        /// A VPC peering connection.
        VpcPeer = "VpcPeer",
        /// A transit router attachment.
        Attachment = "Attachment",
        /// The VPC itself (system entries of VSwitch blocks).
        Local = "local",
    }
);

/// Checks a next-hop id against its type: `i-` for instances, `eni-` for ENIs, id-like
/// characters for the rest.
pub(crate) fn validate_next_hop(kind: &NextHopType, id: &str) -> Result<(), Error> {
    let prefix = match kind {
        NextHopType::Instance => Some("i-"),
        NextHopType::NetworkInterface => Some("eni-"),
        _ => None,
    };
    let body = match prefix {
        Some(p) => id.strip_prefix(p),
        None => Some(id),
    };
    let ok = body.is_some_and(|b| {
        !b.is_empty() && b.len() <= 64 && b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "NextHopId",
            format!("{id:?} is not a {kind} id{}", prefix.map(|p| format!(" ({p}...)")).unwrap_or_default()),
        ))
    }
}

fn parse_destination(dest: &str) -> Result<IpNet, Error> {
    let net: IpNet = dest.trim().parse().map_err(|_| CidrError::Malformed { input: dest.to_owned() })?;
    if net.trunc() != net {
        let network = match net.trunc() {
            IpNet::V4(n) => n,
            // The error type carries an IPv4 network; for IPv6 say it in words.
            IpNet::V6(n) => {
                return Err(Error::invalid_input(
                    "DestinationCidrBlock",
                    format!("{dest} has host bits set; did you mean {n}?"),
                ))
            }
        };
        return Err(CidrError::NotCanonical { input: dest.to_owned(), network }.into());
    }
    Ok(net)
}

/// A destination block as the caller gave it, sent in its canonical form (after
/// `parse_destination` accepted it).
#[derive(Clone, Debug, Default)]
pub(crate) struct Destination(String);

impl Destination {
    pub(crate) fn new(dest: impl std::fmt::Display) -> Self {
        Destination(dest.to_string())
    }

    fn check(&self) -> Result<IpNet, Error> {
        parse_destination(&self.0)
    }
}

impl Serialize for Destination {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.check() {
            Ok(net) => s.collect_str(&net),
            Err(_) => s.serialize_str(&self.0),
        }
    }
}

ack_net_core::operation! {
    /// A CreateRouteEntry request.
    ///
    /// ```no_run
    /// # async fn demo(client: ack_net_vpc::VpcClient) -> Result<(), ack_net_vpc::Error> {
    /// use ack_net_vpc::NextHopType;
    /// let created = client
    ///     .route_tables()
    ///     .create_entry(&"vtb-bp1abc".parse()?, "172.20.1.0/24")
    ///     .next_hop(NextHopType::Instance, "i-bp1node1")
    ///     .name("pods-of-node1")
    ///     .send()
    ///     .await?;
    /// println!("{}", created.route_entry_id);
    /// # Ok(()) }
    /// ```
    pub struct CreateRouteEntry: crate::VPC, "CreateRouteEntry", idempotent_write -> CreateRouteEntryResponse, Error;
    required {
        route_table_id: RouteTableId = "RouteTableId";
        destination_cidr_block: Destination = "DestinationCidrBlock";
    }
    optional {
        /// `NextHopType`: see [`CreateRouteEntry::next_hop`].
        next_hop_type: Option<NextHopType> = "NextHopType" => by_hand(NextHopType);
        /// `NextHopId`: see [`CreateRouteEntry::next_hop`].
        next_hop_id: Option<String> = "NextHopId" => by_hand(String);
        /// `RouteEntryName` (at most 128 characters).
        name: Option<String> = "RouteEntryName" => into(String);
        /// `Description` (at most 256 characters).
        description: Option<String> = "Description" => into(String);
    }
    check: Self::check_input;
}

impl CreateRouteEntry {
    /// The next hop (`NextHopType`, `NextHopId`). Required.
    pub fn next_hop(mut self, kind: NextHopType, id: impl Into<String>) -> Self {
        self.next_hop_type = Some(kind);
        self.next_hop_id = Some(id.into());
        self
    }

    fn check_input(&self) -> Result<(), Error> {
        self.destination_cidr_block.check()?;
        let (Some(kind), Some(id)) = (&self.next_hop_type, &self.next_hop_id) else {
            return Err(Error::invalid_input("NextHopId", "a route entry needs a next hop"));
        };
        validate_next_hop(kind, id)?;
        check_name_and_description("RouteEntryName", &self.name, &self.description)
    }
}

/// What CreateRouteEntry answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateRouteEntryResponse {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// The new entry.
    #[serde(rename = "RouteEntryId")]
    pub route_entry_id: RouteEntryId,
}

ack_net_core::operation! {
    /// A DeleteRouteEntry request: by entry id, or by destination (and next hop).
    /// DeleteRouteEntry takes no `ClientToken`: the client retries it only when it surely was
    /// not processed.
    pub struct DeleteRouteEntry: crate::VPC, "DeleteRouteEntry", write -> DeleteRouteEntryResponse, Error;
    required {
        route_table_id: RouteTableId = "RouteTableId";
    }
    optional {
        /// The entry to delete, by id.
        route_entry_id: Option<RouteEntryId> = "RouteEntryId" => into(RouteEntryId);
        /// The entry to delete, by destination.
        destination_cidr_block: Option<Destination> = "DestinationCidrBlock" => by_hand(Destination);
        /// With [`DeleteRouteEntry::destination_cidr_block`]: the entry's next hop.
        next_hop_id: Option<String> = "NextHopId" => into(String);
    }
    check: Self::check_input;
}

impl DeleteRouteEntry {
    /// The entry to delete, by destination.
    pub fn destination_cidr_block(mut self, cidr: impl std::fmt::Display) -> Self {
        self.destination_cidr_block = Some(Destination::new(cidr));
        self
    }

    fn check_input(&self) -> Result<(), Error> {
        if let Some(d) = &self.destination_cidr_block {
            d.check()?;
        }
        if let Some(h) = &self.next_hop_id {
            if self.destination_cidr_block.is_none() {
                return Err(Error::invalid_input("NextHopId", "only with DestinationCidrBlock"));
            }
            if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(Error::invalid_input("NextHopId", format!("{h:?} is not an id")));
            }
        }
        if self.route_entry_id.is_none() && self.destination_cidr_block.is_none() {
            return Err(Error::invalid_input(
                "RouteEntryId",
                "name the entry by RouteEntryId or by DestinationCidrBlock",
            ));
        }
        Ok(())
    }
}

/// What DeleteRouteEntry answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeleteRouteEntryResponse {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
}

ack_net_core::operation! {
    /// A DescribeRouteEntryList request (NextToken paging).
    pub struct DescribeRouteEntryList: crate::VPC, "DescribeRouteEntryList", read
        -> DescribeRouteEntryListResponse, Error;
    required {
        route_table_id: RouteTableId = "RouteTableId";
    }
    optional {
        /// Only this entry.
        route_entry_id: Option<RouteEntryId> = "RouteEntryId" => into(RouteEntryId);
        /// Only the entry for this destination.
        destination_cidr_block: Option<Destination> = "DestinationCidrBlock" => by_hand(Destination);
        /// Only entries of this type (`System`, `Custom`, `BGP`).
        route_entry_type: Option<RouteEntryType> = "RouteEntryType" => set(RouteEntryType);
        /// Only entries with this next hop.
        next_hop_id: Option<String> = "NextHopId" => into(String);
        /// Only entries with this kind of next hop.
        next_hop_type: Option<NextHopType> = "NextHopType" => set(NextHopType);
        /// Only entries of this name.
        name: Option<String> = "RouteEntryName" => into(String);
        /// `MaxResult`: the page size (20-100; the API's default is 50).
        max_result: Option<u32> = "MaxResult" => set(u32);
    }
    check: Self::check_input;
    pages: token, route_entries: RouteEntry, next_token;
}

impl DescribeRouteEntryList {
    /// Only the entry for this destination.
    pub fn destination_cidr_block(mut self, cidr: impl std::fmt::Display) -> Self {
        self.destination_cidr_block = Some(Destination::new(cidr));
        self
    }

    fn check_input(&self) -> Result<(), Error> {
        if let Some(d) = &self.destination_cidr_block {
            d.check()?;
        }
        if let Some(n) = self.max_result {
            validate_page_size("MaxResult", n, MIN_MAX_RESULT, MAX_MAX_RESULT)?;
        }
        Ok(())
    }
}

/// One page of DescribeRouteEntryList.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DescribeRouteEntryListResponse {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// The token of the next page; `None` on the last.
    #[serde(rename = "NextToken", default, deserialize_with = "opt_parsed")]
    pub next_token: Option<String>,
    /// How many entries match, when the API says.
    #[serde(rename = "TotalCount", default, deserialize_with = "de::opt_number")]
    pub total_count: Option<u64>,
    /// The entries on this page (`RouteEntrys.RouteEntry[]` on the wire).
    #[serde(rename = "RouteEntrys", default, deserialize_with = "wrapped")]
    pub route_entries: Vec<RouteEntry>,
}

/// One next hop of a route entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NextHop {
    /// The next hop's id (an instance, an ENI, a gateway...).
    #[serde(rename = "NextHopId", default, deserialize_with = "de::string")]
    pub next_hop_id: String,
    /// Its kind.
    #[serde(rename = "NextHopType", default, deserialize_with = "opt_parsed")]
    pub next_hop_type: Option<NextHopType>,
    /// Whether the hop is enabled (ECMP entries may disable one).
    #[serde(rename = "Enabled", default = "enabled_default", deserialize_with = "de::boolean")]
    pub enabled: bool,
    /// Its ECMP weight.
    #[serde(rename = "Weight", default, deserialize_with = "de::opt_number")]
    pub weight: Option<u32>,
}

fn enabled_default() -> bool {
    true
}

/// A route entry as DescribeRouteEntryList shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RouteEntry {
    /// The id (system entries may have none).
    #[serde(rename = "RouteEntryId", default, deserialize_with = "opt_parsed")]
    pub route_entry_id: Option<RouteEntryId>,
    /// The table it belongs to.
    #[serde(rename = "RouteTableId", default, deserialize_with = "opt_parsed")]
    pub route_table_id: Option<RouteTableId>,
    /// The destination: an IPv4 or IPv6 block, or a prefix list id.
    #[serde(rename = "DestinationCidrBlock", default, deserialize_with = "de::string")]
    pub destination_cidr_block: String,
    /// `System`, `Custom`, `BGP`.
    #[serde(rename = "Type", default, deserialize_with = "opt_parsed")]
    pub entry_type: Option<RouteEntryType>,
    /// `Pending`, `Available`, `Modifying`.
    #[serde(rename = "Status", default = "unknown_status")]
    pub status: RouteEntryStatus,
    /// Where it sends traffic (one hop, or several for ECMP).
    #[serde(rename = "NextHops", default, deserialize_with = "wrapped")]
    pub next_hops: Vec<NextHop>,
    /// The name.
    #[serde(rename = "RouteEntryName", default, deserialize_with = "de::string")]
    pub route_entry_name: String,
    /// The description.
    #[serde(rename = "Description", default, deserialize_with = "de::string")]
    pub description: String,
    /// `ipv4` or `ipv6`.
    #[serde(rename = "IpVersion", default, deserialize_with = "de::string")]
    pub ip_version: String,
}

fn unknown_status() -> RouteEntryStatus {
    RouteEntryStatus::Unknown(String::new())
}

impl RouteEntry {
    /// The destination as an IPv4 block, if it is one.
    pub fn destination_ipv4(&self) -> Option<Ipv4Net> {
        self.destination_cidr_block.parse().ok()
    }

    /// The single next hop, if there is exactly one.
    pub fn single_next_hop(&self) -> Option<&NextHop> {
        match self.next_hops.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, id, params};

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn create_params_and_checks() {
        let c = client();
        let rt = c.route_tables();
        let req = rt
            .create_entry(&id("vtb-1"), "172.20.1.0/24")
            .next_hop(NextHopType::Instance, "i-1")
            .name("n1")
            .client_token("t")
            .to_request()
            .unwrap();
        assert_eq!(
            params(&req),
            p(&[
                ("RouteTableId", "vtb-1"),
                ("DestinationCidrBlock", "172.20.1.0/24"),
                ("NextHopType", "Instance"),
                ("NextHopId", "i-1"),
                ("RouteEntryName", "n1"),
            ])
        );
        assert!(rt.create_entry(&id("vtb-1"), "172.20.1.0/24").to_request().is_err(), "no next hop");
        assert!(rt
            .create_entry(&id("vtb-1"), "172.20.1.0/24")
            .next_hop(NextHopType::Instance, "eni-1")
            .to_request()
            .is_err());
        assert!(rt
            .create_entry(&id("vtb-1"), "172.20.1.1/24")
            .next_hop(NextHopType::Instance, "i-1")
            .to_request()
            .is_err());
        assert!("vsw-1".parse::<RouteTableId>().is_err());
        assert!(rt
            .create_entry(&id("vtb-1"), "2408:4000::/56")
            .next_hop(NextHopType::Ipv6Gateway, "ipv6gw-1")
            .to_request()
            .is_ok());
        assert!(rt
            .create_entry(&id("vtb-1"), "2408:4000::1/56")
            .next_hop(NextHopType::Ipv6Gateway, "g")
            .to_request()
            .is_err());
    }

    #[test]
    fn delete_and_describe_params() {
        let c = client();
        let rt = c.route_tables();
        let req = rt.delete_entry(&id("vtb-1")).route_entry_id(id::<RouteEntryId>("rte-1")).to_request().unwrap();
        assert_eq!(params(&req), p(&[("RouteTableId", "vtb-1"), ("RouteEntryId", "rte-1")]));
        let req = rt
            .delete_entry(&id("vtb-1"))
            .destination_cidr_block("10.1.0.0/24")
            .next_hop_id("i-1")
            .to_request()
            .unwrap();
        assert_eq!(
            params(&req),
            p(&[("RouteTableId", "vtb-1"), ("DestinationCidrBlock", "10.1.0.0/24"), ("NextHopId", "i-1")])
        );
        assert!(rt.delete_entry(&id("vtb-1")).to_request().is_err());
        assert!(rt.delete_entry(&id("vtb-1")).next_hop_id("i-1").to_request().is_err());
        let req = rt
            .describe_entries(&id("vtb-1"))
            .route_entry_type(RouteEntryType::Custom)
            .next_hop_type(NextHopType::Instance)
            .max_result(100)
            .next_token("")
            .to_request()
            .unwrap();
        assert_eq!(
            params(&req),
            p(&[
                ("RouteTableId", "vtb-1"),
                ("RouteEntryType", "Custom"),
                ("NextHopType", "Instance"),
                ("MaxResult", "100")
            ])
        );
        assert!(rt.describe_entries(&id("vtb-1")).max_result(10).to_request().is_err());
        assert!("rte-1".parse::<RouteTableId>().is_err());
    }

    #[test]
    fn decodes_route_entrys() {
        let body = r#"{"RequestId":"r","NextToken":"","RouteEntrys":{"RouteEntry":[
            {"RouteEntryId":"rte-1","RouteTableId":"vtb-1","DestinationCidrBlock":"172.20.1.0/24","Type":"Custom",
             "Status":"Available","NextHops":{"NextHop":[{"NextHopId":"i-1","NextHopType":"Instance","Enabled":1,"Weight":"100"}]}},
            {"DestinationCidrBlock":"10.0.0.0/24","Type":"System","Status":"Available","NextHops":{"NextHop":[{"NextHopType":"local"}]}}]}}"#;
        let r: DescribeRouteEntryListResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.next_token, None);
        let e = &r.route_entries[0];
        assert_eq!(e.entry_type, Some(RouteEntryType::Custom));
        assert_eq!(e.destination_ipv4().unwrap().to_string(), "172.20.1.0/24");
        let hop = e.single_next_hop().unwrap();
        assert_eq!(
            (hop.next_hop_type.clone(), hop.enabled, hop.weight),
            (Some(NextHopType::Instance), true, Some(100))
        );
        assert_eq!(r.route_entries[1].route_entry_id, None);
        assert_eq!(r.route_entries[1].next_hops[0].next_hop_type, Some(NextHopType::Local));
    }
}
