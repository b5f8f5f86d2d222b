//! Route entries: CreateRouteEntry, DeleteRouteEntry, DescribeRouteEntryList.

use ack_net_core::de;
use ack_net_core::listing::token_stream;
use ack_net_core::{Product, RpcRequest};
use futures_util::stream::BoxStream;
use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

use crate::cidr::CidrError;
use crate::common::{opt_parsed, validate_page_size, validate_text, wire_enum, with_client_token, wrapped};
use crate::{Error, RouteEntryId, RouteTableId, VpcClient};

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

/// A CreateRouteEntry request.
///
/// ```no_run
/// # async fn demo(client: ack_net_vpc::VpcClient) -> Result<(), ack_net_vpc::Error> {
/// use ack_net_vpc::NextHopType;
/// let created = client
///     .route_tables()
///     .create_entry("vtb-bp1abc", "172.20.1.0/24")
///     .next_hop(NextHopType::Instance, "i-bp1node1")
///     .name("pods-of-node1")
///     .send()
///     .await?;
/// println!("{}", created.route_entry_id);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct CreateRouteEntry {
    client: VpcClient,
    route_table_id: String,
    destination_cidr_block: String,
    next_hop: Option<(NextHopType, String)>,
    name: Option<String>,
    description: Option<String>,
    client_token: Option<String>,
}

impl CreateRouteEntry {
    pub(crate) fn new(client: VpcClient, route_table_id: &str, destination_cidr_block: String) -> Self {
        Self {
            client,
            route_table_id: route_table_id.to_owned(),
            destination_cidr_block,
            next_hop: None,
            name: None,
            description: None,
            client_token: None,
        }
    }

    /// The next hop (`NextHopType`, `NextHopId`). Required.
    pub fn next_hop(mut self, kind: NextHopType, id: impl AsRef<str>) -> Self {
        self.next_hop = Some((kind, id.as_ref().to_owned()));
        self
    }

    /// `RouteEntryName` (at most 128 characters).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `Description` (at most 256 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// `ClientToken`: the same token and parameters create the entry only once. One is
    /// generated per call otherwise (and reused by the client's retries).
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// The request as it will be sent; checks every field first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let table = RouteTableId::new(self.route_table_id.as_str())?;
        let dest = parse_destination(&self.destination_cidr_block)?;
        let Some((kind, id)) = &self.next_hop else {
            return Err(Error::invalid_input("NextHopId", "a route entry needs a next hop"));
        };
        validate_next_hop(kind, id)?;
        if let Some(n) = &self.name {
            validate_text("RouteEntryName", n, 128)?;
        }
        if let Some(d) = &self.description {
            validate_text("Description", d, 256)?;
        }
        let req = RpcRequest::idempotent_write(Product::Vpc, "CreateRouteEntry")
            .param("RouteTableId", table)
            .param("DestinationCidrBlock", dest)
            .param("NextHopType", kind)
            .param("NextHopId", id)
            .opt_param("RouteEntryName", self.name.as_deref())
            .opt_param("Description", self.description.as_deref());
        Ok(with_client_token(req, self.client_token.as_deref())?)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<CreateRouteEntryResponse, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
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

/// A DeleteRouteEntry request: by entry id, or by destination (and next hop).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DeleteRouteEntry {
    client: VpcClient,
    route_table_id: String,
    route_entry_id: Option<String>,
    destination_cidr_block: Option<String>,
    next_hop_id: Option<String>,
}

impl DeleteRouteEntry {
    pub(crate) fn new(client: VpcClient, route_table_id: &str) -> Self {
        Self {
            client,
            route_table_id: route_table_id.to_owned(),
            route_entry_id: None,
            destination_cidr_block: None,
            next_hop_id: None,
        }
    }

    /// The entry to delete, by id.
    pub fn route_entry_id(mut self, id: impl AsRef<str>) -> Self {
        self.route_entry_id = Some(id.as_ref().to_owned());
        self
    }

    /// The entry to delete, by destination.
    pub fn destination_cidr_block(mut self, cidr: impl std::fmt::Display) -> Self {
        self.destination_cidr_block = Some(cidr.to_string());
        self
    }

    /// With [`DeleteRouteEntry::destination_cidr_block`]: the entry's next hop.
    pub fn next_hop_id(mut self, id: impl AsRef<str>) -> Self {
        self.next_hop_id = Some(id.as_ref().to_owned());
        self
    }

    /// The request as it will be sent; checks every field first. DeleteRouteEntry takes no
    /// `ClientToken`: the client retries it only when it surely was not processed.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let table = RouteTableId::new(self.route_table_id.as_str())?;
        let mut req = RpcRequest::write(Product::Vpc, "DeleteRouteEntry").param("RouteTableId", table);
        if let Some(id) = &self.route_entry_id {
            req = req.param("RouteEntryId", RouteEntryId::new(id.as_str())?);
        }
        if let Some(d) = &self.destination_cidr_block {
            req = req.param("DestinationCidrBlock", parse_destination(d)?);
        }
        if let Some(h) = &self.next_hop_id {
            if self.destination_cidr_block.is_none() {
                return Err(Error::invalid_input("NextHopId", "only with DestinationCidrBlock"));
            }
            if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(Error::invalid_input("NextHopId", format!("{h:?} is not an id")));
            }
            req = req.param("NextHopId", h);
        }
        if self.route_entry_id.is_none() && self.destination_cidr_block.is_none() {
            return Err(Error::invalid_input(
                "RouteEntryId",
                "name the entry by RouteEntryId or by DestinationCidrBlock",
            ));
        }
        Ok(req)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<DeleteRouteEntryResponse, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
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

/// A DescribeRouteEntryList request (NextToken paging).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DescribeRouteEntryList {
    client: VpcClient,
    route_table_id: String,
    route_entry_id: Option<String>,
    route_entry_type: Option<RouteEntryType>,
    destination_cidr_block: Option<String>,
    next_hop_id: Option<String>,
    next_hop_type: Option<NextHopType>,
    name: Option<String>,
    max_result: Option<u32>,
    next_token: Option<String>,
}

impl DescribeRouteEntryList {
    pub(crate) fn new(client: VpcClient, route_table_id: &str) -> Self {
        Self {
            client,
            route_table_id: route_table_id.to_owned(),
            route_entry_id: None,
            route_entry_type: None,
            destination_cidr_block: None,
            next_hop_id: None,
            next_hop_type: None,
            name: None,
            max_result: None,
            next_token: None,
        }
    }

    /// Only this entry.
    pub fn route_entry_id(mut self, id: impl AsRef<str>) -> Self {
        self.route_entry_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only entries of this type (`System`, `Custom`, `BGP`).
    pub fn route_entry_type(mut self, t: RouteEntryType) -> Self {
        self.route_entry_type = Some(t);
        self
    }

    /// Only the entry for this destination.
    pub fn destination_cidr_block(mut self, cidr: impl std::fmt::Display) -> Self {
        self.destination_cidr_block = Some(cidr.to_string());
        self
    }

    /// Only entries with this next hop.
    pub fn next_hop_id(mut self, id: impl AsRef<str>) -> Self {
        self.next_hop_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only entries with this kind of next hop.
    pub fn next_hop_type(mut self, t: NextHopType) -> Self {
        self.next_hop_type = Some(t);
        self
    }

    /// Only entries of this name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `MaxResult`: the page size (20-100; the API's default is 50).
    pub fn max_result(mut self, n: u32) -> Self {
        self.max_result = Some(n);
        self
    }

    /// `NextToken`: the page after the one that returned it.
    pub fn next_token(mut self, token: impl Into<String>) -> Self {
        self.next_token = Some(token.into());
        self
    }

    /// The request as it will be sent; checks every field first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let table = RouteTableId::new(self.route_table_id.as_str())?;
        let mut req = RpcRequest::read(Product::Vpc, "DescribeRouteEntryList").param("RouteTableId", table);
        if let Some(id) = &self.route_entry_id {
            req = req.param("RouteEntryId", RouteEntryId::new(id.as_str())?);
        }
        if let Some(d) = &self.destination_cidr_block {
            req = req.param("DestinationCidrBlock", parse_destination(d)?);
        }
        if let Some(n) = self.max_result {
            validate_page_size("MaxResult", n, MIN_MAX_RESULT, MAX_MAX_RESULT)?;
        }
        Ok(req
            .opt_param("RouteEntryType", self.route_entry_type.as_ref())
            .opt_param("NextHopId", self.next_hop_id.as_deref())
            .opt_param("NextHopType", self.next_hop_type.as_ref())
            .opt_param("RouteEntryName", self.name.as_deref())
            .opt_param("MaxResult", self.max_result)
            .opt_param("NextToken", self.next_token.as_deref().filter(|t| !t.is_empty())))
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<DescribeRouteEntryListResponse, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }

    /// Every matching entry, over all pages (ignores [`DescribeRouteEntryList::next_token`]).
    /// Invalid input is the stream's only item.
    pub fn into_stream(mut self) -> BoxStream<'static, Result<RouteEntry, Error>> {
        self.next_token = None;
        let request = self.to_request();
        token_stream(self.client.rpc().clone(), request, |r: DescribeRouteEntryListResponse| {
            (r.route_entries, r.next_token)
        })
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
    use crate::client::test_support::{client, params};

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn create_params_and_checks() {
        let c = client();
        let rt = c.route_tables();
        let req = rt
            .create_entry("vtb-1", "172.20.1.0/24")
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
        assert!(rt.create_entry("vtb-1", "172.20.1.0/24").to_request().is_err(), "no next hop");
        assert!(rt
            .create_entry("vtb-1", "172.20.1.0/24")
            .next_hop(NextHopType::Instance, "eni-1")
            .to_request()
            .is_err());
        assert!(rt.create_entry("vtb-1", "172.20.1.1/24").next_hop(NextHopType::Instance, "i-1").to_request().is_err());
        assert!(rt.create_entry("vsw-1", "172.20.1.0/24").next_hop(NextHopType::Instance, "i-1").to_request().is_err());
        assert!(rt
            .create_entry("vtb-1", "2408:4000::/56")
            .next_hop(NextHopType::Ipv6Gateway, "ipv6gw-1")
            .to_request()
            .is_ok());
        assert!(rt
            .create_entry("vtb-1", "2408:4000::1/56")
            .next_hop(NextHopType::Ipv6Gateway, "g")
            .to_request()
            .is_err());
    }

    #[test]
    fn delete_and_describe_params() {
        let c = client();
        let rt = c.route_tables();
        let req = rt.delete_entry("vtb-1").route_entry_id("rte-1").to_request().unwrap();
        assert_eq!(params(&req), p(&[("RouteTableId", "vtb-1"), ("RouteEntryId", "rte-1")]));
        let req =
            rt.delete_entry("vtb-1").destination_cidr_block("10.1.0.0/24").next_hop_id("i-1").to_request().unwrap();
        assert_eq!(
            params(&req),
            p(&[("RouteTableId", "vtb-1"), ("DestinationCidrBlock", "10.1.0.0/24"), ("NextHopId", "i-1")])
        );
        assert!(rt.delete_entry("vtb-1").to_request().is_err());
        assert!(rt.delete_entry("vtb-1").next_hop_id("i-1").to_request().is_err());
        let req = rt
            .describe_entries("vtb-1")
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
        assert!(rt.describe_entries("vtb-1").max_result(10).to_request().is_err());
        assert!(rt.describe_entries("rte-1").to_request().is_err());
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
