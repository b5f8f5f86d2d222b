//! VPCs: CreateVpc, DescribeVpcs, DeleteVpc, and waiting for one to be available.

use ack_net_core::de;
use ack_net_core::listing::numbered_stream;
use ack_net_core::{Product, RpcRequest};
use futures_util::stream::BoxStream;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::cidr::{parse_cidr, validate_vpc_cidr};
use crate::common::{
    add_tags, opt_parsed, validate_page, validate_tags, validate_text, with_client_token, wrapped, ResourceStatus, Tag,
};
use crate::wait::{wait_for, Look, WaitPolicy};
use crate::{Error, RouteTableId, VRouterId, VSwitchId, VpcClient, VpcId};

/// The largest page DescribeVpcs returns.
pub const MAX_PAGE_SIZE: u32 = 50;

/// VPC operations; from [`VpcClient::vpcs`].
#[derive(Clone, Debug)]
pub struct Vpcs {
    client: VpcClient,
}

impl Vpcs {
    pub(crate) fn new(client: VpcClient) -> Self {
        Self { client }
    }

    /// CreateVpc.
    pub fn create(&self) -> CreateVpc {
        CreateVpc {
            client: self.client.clone(),
            cidr_block: None,
            name: None,
            description: None,
            enable_ipv6: None,
            resource_group_id: None,
            tags: Vec::new(),
            client_token: None,
        }
    }

    /// DescribeVpcs: one page with [`DescribeVpcs::send`], every VPC with
    /// [`DescribeVpcs::into_stream`].
    pub fn describe(&self) -> DescribeVpcs {
        DescribeVpcs {
            client: self.client.clone(),
            vpc_id: None,
            name: None,
            is_default: None,
            resource_group_id: None,
            tags: Vec::new(),
            page_number: None,
            page_size: None,
        }
    }

    /// DeleteVpc. The VPC must have no VSwitches left (unless [`DeleteVpc::force`]).
    pub fn delete(&self, vpc_id: impl AsRef<str>) -> DeleteVpc {
        DeleteVpc { client: self.client.clone(), vpc_id: vpc_id.as_ref().to_owned(), force: None, client_token: None }
    }

    /// The VPC `vpc_id`, or `None` if the API does not list it.
    pub async fn get(&self, vpc_id: impl AsRef<str>) -> Result<Option<Vpc>, Error> {
        let page = self.describe().vpc_id(vpc_id).send().await?;
        Ok(page.vpcs.into_iter().next())
    }

    /// Polls DescribeVpcs until the VPC is `Available`, and returns it. Throttling, 5xx and
    /// "not found" (a new VPC may not be listed at once) only mean "look again";
    /// [`Error::WaitTimeout`] when `policy`'s timeout passes first.
    pub async fn wait_until_available(&self, vpc_id: impl AsRef<str>, policy: &WaitPolicy) -> Result<Vpc, Error> {
        let vpc_id = VpcId::new(vpc_id.as_ref())?;
        wait_for(policy, "VPC", vpc_id.as_str(), || async {
            Ok(match self.get(&vpc_id).await? {
                Some(v) if v.status == ResourceStatus::Available => Look::Ready(v),
                Some(v) => Look::NotYet(v.status.to_string()),
                None => Look::NotYet("not found".to_owned()),
            })
        })
        .await
    }
}

/// A CreateVpc request.
///
/// ```no_run
/// # async fn demo(client: ack_net_vpc::VpcClient) -> Result<(), ack_net_vpc::Error> {
/// use ack_net_vpc::{Tag, WaitPolicy};
/// let vpc = client
///     .vpcs()
///     .create()
///     .cidr_block("10.0.0.0/8")
///     .name("prod")
///     .tag(Tag::new("team", "net"))
///     .client_token("create-prod-vpc-1")
///     .send_and_wait(&WaitPolicy::default())
///     .await?;
/// assert_eq!(vpc.cidr_block.to_string(), "10.0.0.0/8");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct CreateVpc {
    client: VpcClient,
    cidr_block: Option<String>,
    name: Option<String>,
    description: Option<String>,
    enable_ipv6: Option<bool>,
    resource_group_id: Option<String>,
    tags: Vec<Tag>,
    client_token: Option<String>,
}

impl CreateVpc {
    /// The IPv4 block (`10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` or a part of one, or a
    /// custom block); /8 to /28. The cloud picks `172.16.0.0/12` when unset.
    pub fn cidr_block(mut self, cidr: impl std::fmt::Display) -> Self {
        self.cidr_block = Some(cidr.to_string());
        self
    }

    /// `VpcName` (at most 128 characters).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `Description` (at most 256 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// `EnableIpv6`: also give the VPC an IPv6 block.
    pub fn enable_ipv6(mut self, enable: bool) -> Self {
        self.enable_ipv6 = Some(enable);
        self
    }

    /// `ResourceGroupId`.
    pub fn resource_group_id(mut self, id: impl Into<String>) -> Self {
        self.resource_group_id = Some(id.into());
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

    /// `ClientToken`: the same token and parameters create the VPC only once. Derive it from
    /// your intent to be idempotent across restarts; one is generated per call otherwise
    /// (and reused by the client's retries).
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// The request as it will be sent; checks every field first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let mut req = RpcRequest::idempotent_write(Product::Vpc, "CreateVpc");
        if let Some(c) = &self.cidr_block {
            let net = parse_cidr(c)?;
            validate_vpc_cidr(net)?;
            req = req.param("CidrBlock", net);
        }
        if let Some(n) = &self.name {
            validate_text("VpcName", n, 128)?;
        }
        if let Some(d) = &self.description {
            validate_text("Description", d, 256)?;
        }
        validate_tags(&self.tags)?;
        req = req
            .opt_param("VpcName", self.name.as_deref())
            .opt_param("Description", self.description.as_deref())
            .opt_param("EnableIpv6", self.enable_ipv6)
            .opt_param("ResourceGroupId", self.resource_group_id.as_deref());
        req = add_tags(req, &self.tags);
        Ok(with_client_token(req, self.client_token.as_deref())?)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<CreateVpcResponse, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }

    /// Creates the VPC and waits until it is `Available` (see [`Vpcs::wait_until_available`]).
    /// A convenience for scripts and quickstarts.
    pub async fn send_and_wait(self, policy: &WaitPolicy) -> Result<Vpc, Error> {
        let client = self.client.clone();
        let created = self.send().await?;
        client.vpcs().wait_until_available(&created.vpc_id, policy).await
    }
}

/// What CreateVpc answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateVpcResponse {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// The new VPC.
    #[serde(rename = "VpcId")]
    pub vpc_id: VpcId,
    /// Its router.
    #[serde(rename = "VRouterId", default, deserialize_with = "opt_parsed")]
    pub vrouter_id: Option<VRouterId>,
    /// Its system route table.
    #[serde(rename = "RouteTableId", default, deserialize_with = "opt_parsed")]
    pub route_table_id: Option<RouteTableId>,
    /// Its resource group.
    #[serde(rename = "ResourceGroupId", default, deserialize_with = "opt_parsed")]
    pub resource_group_id: Option<String>,
}

/// A DescribeVpcs request.
///
/// ```no_run
/// # async fn demo(client: ack_net_vpc::VpcClient) -> Result<(), ack_net_vpc::Error> {
/// use futures_util::TryStreamExt;
/// use ack_net_vpc::Tag;
/// let all: Vec<_> = client.vpcs().describe().tag(Tag::new("team", "net")).into_stream().try_collect().await?;
/// println!("{} VPCs", all.len());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DescribeVpcs {
    client: VpcClient,
    vpc_id: Option<String>,
    name: Option<String>,
    is_default: Option<bool>,
    resource_group_id: Option<String>,
    tags: Vec<Tag>,
    page_number: Option<u32>,
    page_size: Option<u32>,
}

impl DescribeVpcs {
    /// Only this VPC.
    pub fn vpc_id(mut self, id: impl AsRef<str>) -> Self {
        self.vpc_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only VPCs of this name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Only the default VPC (`true`) or only the others (`false`).
    pub fn is_default(mut self, is_default: bool) -> Self {
        self.is_default = Some(is_default);
        self
    }

    /// Only VPCs of this resource group.
    pub fn resource_group_id(mut self, id: impl Into<String>) -> Self {
        self.resource_group_id = Some(id.into());
        self
    }

    /// Only VPCs with this tag (all given tags must match).
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// The page to fetch with [`DescribeVpcs::send`] (from 1).
    pub fn page_number(mut self, n: u32) -> Self {
        self.page_number = Some(n);
        self
    }

    /// The page size (1-50; the API's default is 10). [`DescribeVpcs::into_stream`] uses 50
    /// unless set.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// The request as it will be sent; checks every field first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let mut req = RpcRequest::read(Product::Vpc, "DescribeVpcs");
        if let Some(id) = &self.vpc_id {
            req = req.param("VpcId", VpcId::new(id.as_str())?);
        }
        validate_tags(&self.tags)?;
        validate_page(self.page_number, self.page_size, MAX_PAGE_SIZE)?;
        req = req
            .opt_param("VpcName", self.name.as_deref())
            .opt_param("IsDefault", self.is_default)
            .opt_param("ResourceGroupId", self.resource_group_id.as_deref())
            .opt_param("PageNumber", self.page_number)
            .opt_param("PageSize", self.page_size);
        Ok(add_tags(req, &self.tags))
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<DescribeVpcsResponse, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }

    /// Every matching VPC, over all pages (ignores [`DescribeVpcs::page_number`]). Invalid
    /// input is the stream's only item.
    pub fn into_stream(mut self) -> BoxStream<'static, Result<Vpc, Error>> {
        let size = self.page_size.unwrap_or(MAX_PAGE_SIZE);
        self.page_size = Some(size);
        self.page_number = None;
        let request = self.to_request();
        numbered_stream(self.client.rpc().clone(), request, size, |r: DescribeVpcsResponse| (r.vpcs, r.total_count))
    }
}

/// One page of DescribeVpcs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DescribeVpcsResponse {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// How many VPCs match, over all pages.
    #[serde(rename = "TotalCount", default, deserialize_with = "de::number")]
    pub total_count: u64,
    /// This page's number.
    #[serde(rename = "PageNumber", default, deserialize_with = "de::number")]
    pub page_number: u32,
    /// The page size.
    #[serde(rename = "PageSize", default, deserialize_with = "de::number")]
    pub page_size: u32,
    /// The VPCs on this page.
    #[serde(rename = "Vpcs", default, deserialize_with = "wrapped")]
    pub vpcs: Vec<Vpc>,
}

/// A VPC as DescribeVpcs shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Vpc {
    /// The id.
    #[serde(rename = "VpcId")]
    pub vpc_id: VpcId,
    /// The name.
    #[serde(rename = "VpcName", default, deserialize_with = "de::string")]
    pub vpc_name: String,
    /// The description.
    #[serde(rename = "Description", default, deserialize_with = "de::string")]
    pub description: String,
    /// The primary IPv4 block.
    #[serde(rename = "CidrBlock")]
    pub cidr_block: Ipv4Net,
    /// Secondary IPv4 blocks.
    #[serde(rename = "SecondaryCidrBlocks", default, deserialize_with = "wrapped")]
    pub secondary_cidr_blocks: Vec<Ipv4Net>,
    /// The IPv6 block, when IPv6 is enabled.
    #[serde(rename = "Ipv6CidrBlock", default, deserialize_with = "de::string")]
    pub ipv6_cidr_block: String,
    /// `Pending` or `Available`.
    #[serde(rename = "Status")]
    pub status: ResourceStatus,
    /// The region.
    #[serde(rename = "RegionId", default, deserialize_with = "de::string")]
    pub region_id: String,
    /// When it was created (ISO 8601, as the API sends it).
    #[serde(rename = "CreationTime", default, deserialize_with = "de::string")]
    pub creation_time: String,
    /// Whether this is the region's default VPC.
    #[serde(rename = "IsDefault", default, deserialize_with = "de::boolean")]
    pub is_default: bool,
    /// Whether IPv6 is enabled.
    #[serde(rename = "EnabledIpv6", default, deserialize_with = "de::boolean")]
    pub enabled_ipv6: bool,
    /// Its router.
    #[serde(rename = "VRouterId", default, deserialize_with = "opt_parsed")]
    pub vrouter_id: Option<VRouterId>,
    /// Its VSwitches.
    #[serde(rename = "VSwitchIds", default, deserialize_with = "wrapped")]
    pub vswitch_ids: Vec<VSwitchId>,
    /// Its route tables.
    #[serde(rename = "RouterTableIds", default, deserialize_with = "wrapped")]
    pub route_table_ids: Vec<RouteTableId>,
    /// Its NAT gateways.
    #[serde(rename = "NatGatewayIds", default, deserialize_with = "wrapped")]
    pub nat_gateway_ids: Vec<String>,
    /// Its resource group.
    #[serde(rename = "ResourceGroupId", default, deserialize_with = "de::string")]
    pub resource_group_id: String,
    /// Its tags.
    #[serde(rename = "Tags", default, deserialize_with = "wrapped")]
    pub tags: Vec<Tag>,
}

/// A DeleteVpc request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DeleteVpc {
    client: VpcClient,
    vpc_id: String,
    force: Option<bool>,
    client_token: Option<String>,
}

impl DeleteVpc {
    /// `ForceDelete`: also delete what the VPC still holds (route entries, IPv4 gateway...).
    pub fn force(mut self, force: bool) -> Self {
        self.force = Some(force);
        self
    }

    /// `ClientToken` (see [`CreateVpc::client_token`]).
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// The request as it will be sent; checks every field first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let vpc_id = VpcId::new(self.vpc_id.as_str())?;
        let req = RpcRequest::idempotent_write(Product::Vpc, "DeleteVpc")
            .param("VpcId", vpc_id)
            .opt_param("ForceDelete", self.force);
        Ok(with_client_token(req, self.client_token.as_deref())?)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<DeleteVpcResponse, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }
}

/// What DeleteVpc answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeleteVpcResponse {
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
            .vpcs()
            .create()
            .cidr_block("10.0.0.0/8")
            .name("prod")
            .enable_ipv6(true)
            .tag(Tag::new("team", "net"))
            .client_token("tok-1")
            .to_request()
            .unwrap();
        assert_eq!(req.action(), "CreateVpc");
        assert_eq!(req.idempotency(), &ack_net_core::Idempotency::ClientToken(Some("tok-1".into())));
        assert_eq!(
            params(&req),
            p(&[
                ("CidrBlock", "10.0.0.0/8"),
                ("VpcName", "prod"),
                ("EnableIpv6", "true"),
                ("Tag.1.Key", "team"),
                ("Tag.1.Value", "net"),
            ])
        );
    }

    #[test]
    fn create_rejects_bad_input() {
        let c = client();
        for bad in ["10.0.0.1/8", "10.0.0.0", "10.0.0.0/29", "10.0.0.0/7", "100.64.0.0/16", "nope"] {
            let e = c.vpcs().create().cidr_block(bad).to_request().unwrap_err();
            assert!(matches!(e, Error::Cidr(_)), "{bad}: {e}");
            assert!(e.is_invalid_input(), "{bad}");
        }
        assert!(c.vpcs().create().name("http://x").to_request().is_err());
        assert!(c.vpcs().create().name("x".repeat(129)).to_request().is_err());
        assert!(c.vpcs().create().client_token("").to_request().is_err());
        assert!(c.vpcs().create().tag(Tag::new("acs:x", "y")).to_request().is_err());
        // No CidrBlock: the cloud's default.
        assert!(c.vpcs().create().to_request().unwrap().get_params().get("CidrBlock").is_none());
    }

    #[test]
    fn describe_and_delete_params() {
        let c = client();
        let req = c.vpcs().describe().vpc_id("vpc-1").page_number(2).page_size(50).to_request().unwrap();
        assert_eq!(params(&req), p(&[("VpcId", "vpc-1"), ("PageNumber", "2"), ("PageSize", "50")]));
        assert!(c.vpcs().describe().vpc_id("vsw-1").to_request().unwrap_err().is_invalid_input());
        assert!(c.vpcs().describe().page_size(51).to_request().is_err());
        assert!(c.vpcs().describe().page_number(0).to_request().is_err());
        let req = c.vpcs().delete("vpc-1").force(true).to_request().unwrap();
        assert_eq!(params(&req), p(&[("VpcId", "vpc-1"), ("ForceDelete", "true")]));
        assert!(matches!(req.idempotency(), ack_net_core::Idempotency::ClientToken(None)));
        assert!(c.vpcs().delete("vtb-1").to_request().is_err());
    }

    #[test]
    fn decodes_the_documented_shapes() {
        let body = r#"{"RequestId":"r","TotalCount":"2","PageNumber":1,"PageSize":10,"Vpcs":{"Vpc":[
            {"VpcId":"vpc-a","VpcName":"a","CidrBlock":"10.0.0.0/8","Status":"Available","RegionId":"cn-hangzhou",
             "IsDefault":false,"VRouterId":"vrt-a","VSwitchIds":{"VSwitchId":["vsw-1","vsw-2"]},
             "RouterTableIds":{"RouterTableIds":["vtb-a"]},"SecondaryCidrBlocks":{"SecondaryCidrBlock":[]},
             "Tags":{"Tag":[{"Key":"team","Value":"net"}]},"NatGatewayIds":{}},
            {"VpcId":"vpc-b","CidrBlock":"192.168.0.0/16","Status":"Pending","VRouterId":""}]}}"#;
        let r: DescribeVpcsResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.total_count, 2);
        assert_eq!(r.vpcs.len(), 2);
        let a = &r.vpcs[0];
        assert_eq!(a.vswitch_ids.len(), 2);
        assert_eq!(a.route_table_ids[0].as_str(), "vtb-a");
        assert_eq!(a.tags, vec![Tag::new("team", "net")]);
        assert_eq!(r.vpcs[1].status, ResourceStatus::Pending);
        assert_eq!(r.vpcs[1].vrouter_id, None);
        let empty: DescribeVpcsResponse =
            serde_json::from_str(r#"{"RequestId":"r","TotalCount":0,"Vpcs":{}}"#).unwrap();
        assert!(empty.vpcs.is_empty());
        let created: CreateVpcResponse =
            serde_json::from_str(r#"{"RequestId":"r","VpcId":"vpc-a","VRouterId":"vrt-a","RouteTableId":"vtb-a"}"#)
                .unwrap();
        assert_eq!(created.route_table_id.unwrap().as_str(), "vtb-a");
        assert!(serde_json::from_str::<CreateVpcResponse>(r#"{"VpcId":"vsw-a"}"#).is_err());
    }
}
