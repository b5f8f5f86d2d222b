//! VPCs: CreateVpc, DescribeVpcs, ModifyVpcAttribute, DeleteVpc, and waiting for one to be
//! available.

use ack_net_core::de;
use ack_net_core::operation::Ack;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::cidr::{parse_cidr, validate_vpc_cidr};
use crate::common::{check_name_and_description, check_tags, opt_parsed, wrapped, ResourceStatus, Tag};
use crate::wait::{wait_until, Look, WaitPolicy};
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
        CreateVpc::new(self.client.rpc())
    }

    /// DescribeVpcs: one page with [`DescribeVpcs::send`], every VPC with
    /// [`DescribeVpcs::into_stream`].
    pub fn describe(&self) -> DescribeVpcs {
        DescribeVpcs::new(self.client.rpc())
    }

    /// ModifyVpcAttribute: the VPC's name and description.
    pub fn modify(&self, vpc_id: &VpcId) -> ModifyVpcAttribute {
        ModifyVpcAttribute::new(self.client.rpc(), vpc_id.clone())
    }

    /// DeleteVpc. The VPC must have no VSwitches left (unless [`DeleteVpc::force`]).
    pub fn delete(&self, vpc_id: &VpcId) -> DeleteVpc {
        DeleteVpc::new(self.client.rpc(), vpc_id.clone())
    }

    /// DescribeVpcs filtered by `vpc_id`: the VPC. One the API does not list is an error of
    /// class `NotFound` (`InvalidVpcId.NotFound`), as with every `get` of the family.
    pub async fn get(&self, vpc_id: &VpcId) -> Result<Vpc, Error> {
        let page = self.describe().vpc_id(vpc_id).send().await?;
        page.vpcs.into_iter().next().ok_or_else(|| {
            let message = format!("the VPC {vpc_id} is not listed");
            ack_net_core::Error::not_found("DescribeVpcs", "InvalidVpcId.NotFound", message, page.request_id).into()
        })
    }

    /// Polls DescribeVpcs until the VPC is `Available`, and returns it. Throttling, 5xx and
    /// "not found" (a new VPC may not be listed at once) only mean "look again";
    /// [`Error::WaitTimeout`] when `policy`'s timeout passes first.
    pub async fn wait_until_available(&self, vpc_id: &VpcId, policy: &WaitPolicy) -> Result<Vpc, Error> {
        wait_until(policy, "VPC", vpc_id.as_str(), "Available", || async {
            let v = self.get(vpc_id).await?;
            Ok(if v.status == ResourceStatus::Available { Look::Ready(v) } else { Look::NotYet(v.status.to_string()) })
        })
        .await
    }
}

ack_net_core::operation! {
    /// A ModifyVpcAttribute request.
    ///
    /// ```no_run
    /// # async fn demo(client: ack_net_vpc::VpcClient, vpc_id: ack_net_vpc::VpcId) -> Result<(), ack_net_vpc::Error> {
    /// client.vpcs().modify(&vpc_id).name("prod").description("the production cluster's VPC").send().await?;
    /// # Ok(()) }
    /// ```
    pub struct ModifyVpcAttribute: crate::VPC, "ModifyVpcAttribute", write -> Ack, Error;
    required {
        vpc_id: VpcId = "VpcId";
    }
    optional {
        /// The new `VpcName` (at most 128 characters).
        name: Option<String> = "VpcName" => into(String);
        /// The new `Description` (at most 256 characters).
        description: Option<String> = "Description" => into(String);
    }
    check: |op: &Self| check_name_and_description("VpcName", &op.name, &op.description);
}

ack_net_core::operation! {
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
    pub struct CreateVpc: crate::VPC, "CreateVpc", idempotent_write -> CreateVpcResponse, Error;
    required {}
    optional {
        /// `CidrBlock`: the VPC's IPv4 block (`10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`
        /// or a subset, /8 to /28). The cloud picks one when left out.
        cidr_block: Option<String> = "CidrBlock" => into(String);
        /// `VpcName` (at most 128 characters).
        name: Option<String> = "VpcName" => into(String);
        /// `Description` (at most 256 characters).
        description: Option<String> = "Description" => into(String);
        /// `EnableIpv6`: also give the VPC an IPv6 block.
        enable_ipv6: Option<bool> = "EnableIpv6" => set(bool);
        /// `ResourceGroupId`.
        resource_group_id: Option<String> = "ResourceGroupId" => into(String);
        /// Tags for the new VPC.
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
    }
    check: Self::check_input;
}

impl CreateVpc {
    fn check_input(&self) -> Result<(), Error> {
        if let Some(c) = &self.cidr_block {
            validate_vpc_cidr(parse_cidr(c)?)?;
        }
        check_name_and_description("VpcName", &self.name, &self.description)?;
        check_tags(&self.tags)
    }

    /// Creates the VPC and waits until it is `Available` (see [`Vpcs::wait_until_available`]).
    /// A convenience for scripts and quickstarts.
    pub async fn send_and_wait(self, policy: &WaitPolicy) -> Result<Vpc, Error> {
        let client = VpcClient::new(self.rpc.clone());
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

ack_net_core::operation! {
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
    pub struct DescribeVpcs: crate::VPC, "DescribeVpcs", read -> DescribeVpcsResponse, Error;
    required {}
    optional {
        /// Only this VPC.
        vpc_id: Option<VpcId> = "VpcId" => into(VpcId);
        /// Only VPCs of this name.
        name: Option<String> = "VpcName" => into(String);
        /// Only the default VPC (`true`) or only the others (`false`).
        is_default: Option<bool> = "IsDefault" => set(bool);
        /// Only VPCs of this resource group.
        resource_group_id: Option<String> = "ResourceGroupId" => into(String);
        /// Only VPCs with these tags (all given tags must match).
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
    }
    check: |op: &Self| check_tags(&op.tags);
    pages: numbered(MAX_PAGE_SIZE), vpcs: Vpc, total_count;
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

ack_net_core::operation! {
    /// A DeleteVpc request.
    pub struct DeleteVpc: crate::VPC, "DeleteVpc", idempotent_write -> DeleteVpcResponse, Error;
    required {
        vpc_id: VpcId = "VpcId";
    }
    optional {
        /// `ForceDelete`: also delete what the VPC still holds (route entries, IPv4 gateway...).
        force: Option<bool> = "ForceDelete" => set(bool);
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
    use crate::client::test_support::{client, id, params};
    use ack_net_core::ErrorInfo;

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
        let req = c.vpcs().describe().vpc_id(id::<VpcId>("vpc-1")).page_number(2).page_size(50).to_request().unwrap();
        assert_eq!(params(&req), p(&[("VpcId", "vpc-1"), ("PageNumber", "2"), ("PageSize", "50")]));
        assert!(Error::from("vsw-1".parse::<VpcId>().unwrap_err()).is_invalid_input(), "ids are checked when made");
        assert!(c.vpcs().describe().page_size(51).to_request().is_err());
        assert!(c.vpcs().describe().page_number(0).to_request().is_err());
        let req = c.vpcs().delete(&id("vpc-1")).force(true).to_request().unwrap();
        assert_eq!(params(&req), p(&[("VpcId", "vpc-1"), ("ForceDelete", "true")]));
        assert!(matches!(req.idempotency(), ack_net_core::Idempotency::ClientToken(None)));
        assert!("vtb-1".parse::<VpcId>().is_err());
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
