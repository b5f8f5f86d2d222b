//! VSwitches: CreateVSwitch, DescribeVSwitches, DescribeVSwitchAttributes, DeleteVSwitch, and
//! waiting for one to be available.

use ack_net_core::de;
use ack_net_core::listing::numbered_stream;
use ack_net_core::{Product, RpcRequest};
use futures_util::stream::BoxStream;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::cidr::{parse_cidr, validate_vswitch_prefix};
use crate::common::{
    add_tags, opt_parsed, validate_page, validate_tags, validate_text, with_client_token, wrapped, ResourceStatus, Tag,
};
use crate::route_table::RouteTableType;
use crate::wait::{wait_for, Look, WaitPolicy};
use crate::{Error, RouteTableId, VSwitchId, VpcClient, VpcId, ZoneId};

/// The largest page DescribeVSwitches returns.
pub const MAX_PAGE_SIZE: u32 = 50;

/// VSwitch operations; from [`VpcClient::vswitches`].
#[derive(Clone, Debug)]
pub struct VSwitches {
    client: VpcClient,
}

impl VSwitches {
    pub(crate) fn new(client: VpcClient) -> Self {
        Self { client }
    }

    /// CreateVSwitch in `vpc_id`, zone `zone_id`, with the IPv4 block `cidr_block` (/16 to
    /// /29, inside the VPC's block; see [`crate::cidr`] to plan one).
    pub fn create(
        &self,
        vpc_id: impl AsRef<str>,
        zone_id: impl AsRef<str>,
        cidr_block: impl std::fmt::Display,
    ) -> CreateVSwitch {
        CreateVSwitch {
            client: self.client.clone(),
            vpc_id: vpc_id.as_ref().to_owned(),
            zone_id: zone_id.as_ref().to_owned(),
            cidr_block: cidr_block.to_string(),
            name: None,
            description: None,
            ipv6_cidr_block: None,
            tags: Vec::new(),
            client_token: None,
        }
    }

    /// DescribeVSwitches: one page with [`DescribeVSwitches::send`], every VSwitch with
    /// [`DescribeVSwitches::into_stream`].
    pub fn describe(&self) -> DescribeVSwitches {
        DescribeVSwitches {
            client: self.client.clone(),
            vpc_id: None,
            zone_id: None,
            vswitch_id: None,
            name: None,
            route_table_id: None,
            is_default: None,
            resource_group_id: None,
            tags: Vec::new(),
            page_number: None,
            page_size: None,
        }
    }

    /// DescribeVSwitchAttributes: one VSwitch, with its free address count. An unknown id is
    /// an error of class `NotFound` (`InvalidVSwitchId.NotFound`).
    pub async fn get(&self, vswitch_id: impl AsRef<str>) -> Result<VSwitch, Error> {
        let req = describe_attributes_request(vswitch_id.as_ref())?;
        let r: DescribeVSwitchAttributesResponse = self.client.call(req).await?;
        Ok(r.vswitch)
    }

    /// DeleteVSwitch. The VSwitch must hold no ENIs or other resources.
    pub fn delete(&self, vswitch_id: impl AsRef<str>) -> DeleteVSwitch {
        DeleteVSwitch { client: self.client.clone(), vswitch_id: vswitch_id.as_ref().to_owned() }
    }

    /// Polls DescribeVSwitchAttributes until the VSwitch is `Available`, and returns it.
    /// Throttling, 5xx and "not found" only mean "look again"; [`Error::WaitTimeout`] when
    /// `policy`'s timeout passes first.
    pub async fn wait_until_available(
        &self,
        vswitch_id: impl AsRef<str>,
        policy: &WaitPolicy,
    ) -> Result<VSwitch, Error> {
        let id = VSwitchId::new(vswitch_id.as_ref())?;
        wait_for(policy, "VSwitch", id.as_str(), || async {
            let v = self.get(&id).await?;
            Ok(if v.status == ResourceStatus::Available { Look::Ready(v) } else { Look::NotYet(v.status.to_string()) })
        })
        .await
    }
}

pub(crate) fn describe_attributes_request(vswitch_id: &str) -> Result<RpcRequest, Error> {
    let id = VSwitchId::new(vswitch_id)?;
    Ok(RpcRequest::read(Product::Vpc, "DescribeVSwitchAttributes").param("VSwitchId", id))
}

/// A CreateVSwitch request.
///
/// ```no_run
/// # async fn demo(client: ack_net_vpc::VpcClient, vpc_id: ack_net_vpc::VpcId) -> Result<(), ack_net_vpc::Error> {
/// use ack_net_vpc::WaitPolicy;
/// let vsw = client
///     .vswitches()
///     .create(&vpc_id, "cn-hangzhou-h", "10.0.0.0/20")
///     .name("pods-h")
///     .send_and_wait(&WaitPolicy::default())
///     .await?;
/// println!("{} has {} free addresses", vsw.vswitch_id, vsw.available_ip_address_count);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct CreateVSwitch {
    client: VpcClient,
    vpc_id: String,
    zone_id: String,
    cidr_block: String,
    name: Option<String>,
    description: Option<String>,
    ipv6_cidr_block: Option<u8>,
    tags: Vec<Tag>,
    client_token: Option<String>,
}

impl CreateVSwitch {
    /// `VSwitchName` (at most 128 characters).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `Description` (at most 256 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// `Ipv6CidrBlock`: which /64 of the VPC's IPv6 block (0-255) the VSwitch gets.
    pub fn ipv6_cidr_block(mut self, index: u8) -> Self {
        self.ipv6_cidr_block = Some(index);
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// Adds tags.
    pub fn tags(mut self, tags: impl IntoIterator<Item = Tag>) -> Self {
        self.tags.extend(tags);
        self
    }

    /// `ClientToken`: the same token and parameters create the VSwitch only once. One is
    /// generated per call otherwise (and reused by the client's retries).
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// The request as it will be sent; checks every field first: the ids' kinds, that the
    /// zone is in the client's region, that the block is canonical and /16 to /29. (Whether
    /// the block lies inside the VPC and is free only the cloud knows for sure; plan it with
    /// [`crate::cidr`].)
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let vpc_id = VpcId::new(self.vpc_id.as_str())?;
        let zone_id = ZoneId::new(self.zone_id.as_str())?;
        let region = self.client.rpc().region();
        if &zone_id.region() != region {
            return Err(Error::ZoneNotInRegion { zone: zone_id.to_string(), region: region.to_string() });
        }
        let cidr = parse_cidr(&self.cidr_block)?;
        validate_vswitch_prefix(cidr.prefix_len())?;
        if let Some(n) = &self.name {
            validate_text("VSwitchName", n, 128)?;
        }
        if let Some(d) = &self.description {
            validate_text("Description", d, 256)?;
        }
        validate_tags(&self.tags)?;
        let req = RpcRequest::idempotent_write(Product::Vpc, "CreateVSwitch")
            .param("VpcId", vpc_id)
            .param("ZoneId", zone_id)
            .param("CidrBlock", cidr)
            .opt_param("VSwitchName", self.name.as_deref())
            .opt_param("Description", self.description.as_deref())
            .opt_param("Ipv6CidrBlock", self.ipv6_cidr_block);
        Ok(with_client_token(add_tags(req, &self.tags), self.client_token.as_deref())?)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<CreateVSwitchResponse, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }

    /// Creates the VSwitch and waits until it is `Available` (see
    /// [`VSwitches::wait_until_available`]). A convenience for scripts and quickstarts.
    pub async fn send_and_wait(self, policy: &WaitPolicy) -> Result<VSwitch, Error> {
        let client = self.client.clone();
        let created = self.send().await?;
        client.vswitches().wait_until_available(&created.vswitch_id, policy).await
    }
}

/// What CreateVSwitch answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateVSwitchResponse {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// The new VSwitch.
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: VSwitchId,
}

/// A DescribeVSwitches request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DescribeVSwitches {
    client: VpcClient,
    vpc_id: Option<String>,
    zone_id: Option<String>,
    vswitch_id: Option<String>,
    name: Option<String>,
    route_table_id: Option<String>,
    is_default: Option<bool>,
    resource_group_id: Option<String>,
    tags: Vec<Tag>,
    page_number: Option<u32>,
    page_size: Option<u32>,
}

impl DescribeVSwitches {
    /// Only VSwitches of this VPC.
    pub fn vpc_id(mut self, id: impl AsRef<str>) -> Self {
        self.vpc_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only VSwitches in this zone.
    pub fn zone_id(mut self, id: impl AsRef<str>) -> Self {
        self.zone_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only this VSwitch.
    pub fn vswitch_id(mut self, id: impl AsRef<str>) -> Self {
        self.vswitch_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only VSwitches of this name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Only VSwitches associated with this route table.
    pub fn route_table_id(mut self, id: impl AsRef<str>) -> Self {
        self.route_table_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only default VSwitches (`true`) or only the others.
    pub fn is_default(mut self, is_default: bool) -> Self {
        self.is_default = Some(is_default);
        self
    }

    /// Only VSwitches of this resource group.
    pub fn resource_group_id(mut self, id: impl Into<String>) -> Self {
        self.resource_group_id = Some(id.into());
        self
    }

    /// Only VSwitches with this tag (all given tags must match).
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// The page to fetch with [`DescribeVSwitches::send`] (from 1).
    pub fn page_number(mut self, n: u32) -> Self {
        self.page_number = Some(n);
        self
    }

    /// The page size (1-50; the API's default is 10). [`DescribeVSwitches::into_stream`]
    /// uses 50 unless set.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// The request as it will be sent; checks every field first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let mut req = RpcRequest::read(Product::Vpc, "DescribeVSwitches");
        if let Some(id) = &self.vpc_id {
            req = req.param("VpcId", VpcId::new(id.as_str())?);
        }
        if let Some(z) = &self.zone_id {
            req = req.param("ZoneId", ZoneId::new(z.as_str())?);
        }
        if let Some(id) = &self.vswitch_id {
            req = req.param("VSwitchId", VSwitchId::new(id.as_str())?);
        }
        if let Some(id) = &self.route_table_id {
            req = req.param("RouteTableId", RouteTableId::new(id.as_str())?);
        }
        validate_tags(&self.tags)?;
        validate_page(self.page_number, self.page_size, MAX_PAGE_SIZE)?;
        req = req
            .opt_param("VSwitchName", self.name.as_deref())
            .opt_param("IsDefault", self.is_default)
            .opt_param("ResourceGroupId", self.resource_group_id.as_deref())
            .opt_param("PageNumber", self.page_number)
            .opt_param("PageSize", self.page_size);
        Ok(add_tags(req, &self.tags))
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<DescribeVSwitchesResponse, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }

    /// Every matching VSwitch, over all pages (ignores [`DescribeVSwitches::page_number`]).
    /// Invalid input is the stream's only item.
    ///
    /// ```no_run
    /// # async fn demo(client: ack_net_vpc::VpcClient) -> Result<(), ack_net_vpc::Error> {
    /// use futures_util::TryStreamExt;
    /// let in_zone: Vec<_> =
    ///     client.vswitches().describe().zone_id("cn-hangzhou-h").into_stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn into_stream(mut self) -> BoxStream<'static, Result<VSwitch, Error>> {
        let size = self.page_size.unwrap_or(MAX_PAGE_SIZE);
        self.page_size = Some(size);
        self.page_number = None;
        let request = self.to_request();
        numbered_stream(self.client.rpc().clone(), request, size, |r: DescribeVSwitchesResponse| {
            (r.vswitches, r.total_count)
        })
    }
}

/// One page of DescribeVSwitches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DescribeVSwitchesResponse {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// How many VSwitches match, over all pages.
    #[serde(rename = "TotalCount", default, deserialize_with = "de::number")]
    pub total_count: u64,
    /// This page's number.
    #[serde(rename = "PageNumber", default, deserialize_with = "de::number")]
    pub page_number: u32,
    /// The page size.
    #[serde(rename = "PageSize", default, deserialize_with = "de::number")]
    pub page_size: u32,
    /// The VSwitches on this page.
    #[serde(rename = "VSwitches", default, deserialize_with = "wrapped")]
    pub vswitches: Vec<VSwitch>,
}

/// The route table a VSwitch is associated with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VSwitchRouteTable {
    /// The route table.
    #[serde(rename = "RouteTableId", default, deserialize_with = "opt_parsed")]
    pub route_table_id: Option<RouteTableId>,
    /// `System` or `Custom`.
    #[serde(rename = "RouteTableType", default, deserialize_with = "opt_parsed")]
    pub route_table_type: Option<RouteTableType>,
}

/// A VSwitch as DescribeVSwitches and DescribeVSwitchAttributes show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VSwitch {
    /// The id.
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: VSwitchId,
    /// Its VPC.
    #[serde(rename = "VpcId")]
    pub vpc_id: VpcId,
    /// Its zone.
    #[serde(rename = "ZoneId")]
    pub zone_id: ZoneId,
    /// Its IPv4 block.
    #[serde(rename = "CidrBlock")]
    pub cidr_block: Ipv4Net,
    /// Its IPv6 block, when IPv6 is enabled.
    #[serde(rename = "Ipv6CidrBlock", default, deserialize_with = "de::string")]
    pub ipv6_cidr_block: String,
    /// Free IPv4 addresses.
    #[serde(rename = "AvailableIpAddressCount", default, deserialize_with = "de::number")]
    pub available_ip_address_count: u64,
    /// `Pending` or `Available`.
    #[serde(rename = "Status")]
    pub status: ResourceStatus,
    /// The name.
    #[serde(rename = "VSwitchName", default, deserialize_with = "de::string")]
    pub vswitch_name: String,
    /// The description.
    #[serde(rename = "Description", default, deserialize_with = "de::string")]
    pub description: String,
    /// When it was created.
    #[serde(rename = "CreationTime", default, deserialize_with = "de::string")]
    pub creation_time: String,
    /// Whether it is the zone's default VSwitch.
    #[serde(rename = "IsDefault", default, deserialize_with = "de::boolean")]
    pub is_default: bool,
    /// Whether IPv6 is enabled.
    #[serde(rename = "EnabledIpv6", default, deserialize_with = "de::boolean")]
    pub enabled_ipv6: bool,
    /// The route table it is associated with.
    #[serde(rename = "RouteTable", default)]
    pub route_table: Option<VSwitchRouteTable>,
    /// Its network ACL.
    #[serde(rename = "NetworkAclId", default, deserialize_with = "de::string")]
    pub network_acl_id: String,
    /// Its resource group.
    #[serde(rename = "ResourceGroupId", default, deserialize_with = "de::string")]
    pub resource_group_id: String,
    /// Its tags.
    #[serde(rename = "Tags", default, deserialize_with = "wrapped")]
    pub tags: Vec<Tag>,
}

/// What DescribeVSwitchAttributes answers: the VSwitch's fields at the top level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DescribeVSwitchAttributesResponse {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// The VSwitch.
    #[serde(flatten)]
    pub vswitch: VSwitch,
}

/// A DeleteVSwitch request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DeleteVSwitch {
    client: VpcClient,
    vswitch_id: String,
}

impl DeleteVSwitch {
    /// The request as it will be sent; checks the id first. DeleteVSwitch takes no
    /// `ClientToken`: the client retries it only when it surely was not processed.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let id = VSwitchId::new(self.vswitch_id.as_str())?;
        Ok(RpcRequest::write(Product::Vpc, "DeleteVSwitch").param("VSwitchId", id))
    }

    /// Sends the request.
    pub async fn send(self) -> Result<DeleteVSwitchResponse, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }
}

/// What DeleteVSwitch answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeleteVSwitchResponse {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn create_params() {
        let req = client()
            .vswitches()
            .create("vpc-1", "cn-hangzhou-h", "10.0.0.0/20")
            .name("pods")
            .ipv6_cidr_block(3)
            .tag(Tag::new("k", "v"))
            .to_request()
            .unwrap();
        assert_eq!(
            params(&req),
            p(&[
                ("VpcId", "vpc-1"),
                ("ZoneId", "cn-hangzhou-h"),
                ("CidrBlock", "10.0.0.0/20"),
                ("VSwitchName", "pods"),
                ("Ipv6CidrBlock", "3"),
                ("Tag.1.Key", "k"),
                ("Tag.1.Value", "v"),
            ])
        );
        assert!(matches!(req.idempotency(), ack_net_core::Idempotency::ClientToken(None)));
    }

    #[test]
    fn create_rejects_bad_input_before_any_call() {
        let c = client();
        let vs = c.vswitches();
        assert!(vs.create("vsw-1", "cn-hangzhou-h", "10.0.0.0/20").to_request().unwrap_err().is_invalid_input());
        assert!(vs.create("vpc-1", "hangzhou", "10.0.0.0/20").to_request().unwrap_err().is_invalid_input());
        let e = vs.create("vpc-1", "cn-beijing-a", "10.0.0.0/20").to_request().unwrap_err();
        assert!(matches!(e, Error::ZoneNotInRegion { .. }), "{e}");
        for bad in ["10.0.0.0/15", "10.0.0.0/30", "10.0.0.1/24", "10.0.0.0"] {
            let e = vs.create("vpc-1", "cn-hangzhou-h", bad).to_request().unwrap_err();
            assert!(matches!(e, Error::Cidr(_)), "{bad}: {e}");
        }
    }

    #[test]
    fn describe_and_delete_params() {
        let c = client();
        let req = c.vswitches().describe().vpc_id("vpc-1").zone_id("cn-hangzhou-h").page_size(20).to_request().unwrap();
        assert_eq!(params(&req), p(&[("VpcId", "vpc-1"), ("ZoneId", "cn-hangzhou-h"), ("PageSize", "20")]));
        assert!(c.vswitches().describe().vswitch_id("vpc-1").to_request().is_err());
        assert!(c.vswitches().describe().route_table_id("vrt-1").to_request().is_err());
        let req = c.vswitches().delete("vsw-1").to_request().unwrap();
        assert_eq!(req.idempotency(), &ack_net_core::Idempotency::Unsafe);
        assert!(c.vswitches().delete("vpc-1").to_request().is_err());
    }

    #[test]
    fn decodes_attributes_at_top_level() {
        let body = r#"{"RequestId":"r","VSwitchId":"vsw-1","VpcId":"vpc-1","ZoneId":"cn-hangzhou-h",
            "CidrBlock":"10.0.0.0/24","AvailableIpAddressCount":"252","Status":"Available",
            "RouteTable":{"RouteTableId":"vtb-1","RouteTableType":"System"},"Tags":{"Tag":[]}}"#;
        let r: DescribeVSwitchAttributesResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.request_id, "r");
        assert_eq!(r.vswitch.available_ip_address_count, 252);
        assert_eq!(r.vswitch.route_table.unwrap().route_table_type, Some(RouteTableType::System));
        let list: DescribeVSwitchesResponse = serde_json::from_str(
            r#"{"TotalCount":1,"VSwitches":{"VSwitch":{"VSwitchId":"vsw-1","VpcId":"vpc-1","ZoneId":"cn-hangzhou-h",
            "CidrBlock":"10.0.0.0/24","AvailableIpAddressCount":5,"Status":"Pending"}}}"#,
        )
        .unwrap();
        assert_eq!(list.vswitches[0].status, ResourceStatus::Pending);
    }
}
