//! VSwitches: CreateVSwitch, DescribeVSwitches, DescribeVSwitchAttributes, DeleteVSwitch, and
//! waiting for one to be available.

use ack_net_core::de;
use ack_net_core::operation::Ack;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::cidr::{parse_cidr, validate_vswitch_prefix};
use crate::common::{check_name_and_description, check_tags, opt_parsed, wrapped, ResourceStatus, Tag};
use crate::route_table::RouteTableType;
use crate::wait::{wait_until, Look, WaitPolicy};
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
    pub fn create(&self, vpc_id: &VpcId, zone_id: &ZoneId, cidr_block: impl std::fmt::Display) -> CreateVSwitch {
        CreateVSwitch::new(self.client.rpc(), vpc_id.clone(), zone_id.clone(), cidr_block.to_string())
    }

    /// DescribeVSwitches: one page with [`DescribeVSwitches::send`], every VSwitch with
    /// [`DescribeVSwitches::into_stream`].
    pub fn describe(&self) -> DescribeVSwitches {
        DescribeVSwitches::new(self.client.rpc())
    }

    /// DescribeVSwitchAttributes: one VSwitch, with its free address count. An unknown id is
    /// an error of class `NotFound` (`InvalidVSwitchId.NotFound`).
    pub async fn get(&self, vswitch_id: &VSwitchId) -> Result<VSwitch, Error> {
        let r = DescribeVSwitchAttributes::new(self.client.rpc(), vswitch_id.clone()).send().await?;
        Ok(r.vswitch)
    }

    /// DeleteVSwitch. The VSwitch must hold no ENIs or other resources.
    pub fn delete(&self, vswitch_id: &VSwitchId) -> DeleteVSwitch {
        DeleteVSwitch::new(self.client.rpc(), vswitch_id.clone())
    }

    /// ModifyVSwitchAttribute: the VSwitch's name and description.
    pub fn modify(&self, vswitch_id: &VSwitchId) -> ModifyVSwitchAttribute {
        ModifyVSwitchAttribute::new(self.client.rpc(), vswitch_id.clone())
    }

    /// Polls DescribeVSwitchAttributes until the VSwitch is `Available`, and returns it.
    /// Throttling, 5xx and "not found" only mean "look again"; [`Error::WaitTimeout`] when
    /// `policy`'s timeout passes first.
    pub async fn wait_until_available(&self, vswitch_id: &VSwitchId, policy: &WaitPolicy) -> Result<VSwitch, Error> {
        wait_until(policy, "VSwitch", vswitch_id.as_str(), "Available", || async {
            let v = self.get(vswitch_id).await?;
            Ok(if v.status == ResourceStatus::Available { Look::Ready(v) } else { Look::NotYet(v.status.to_string()) })
        })
        .await
    }
}

ack_net_core::operation! {
    /// A DescribeVSwitchAttributes request (see [`VSwitches::get`]).
    pub(crate) struct DescribeVSwitchAttributes: crate::VPC, "DescribeVSwitchAttributes", read
        -> DescribeVSwitchAttributesResponse, Error;
    required {
        vswitch_id: VSwitchId = "VSwitchId";
    }
    optional {}
}

ack_net_core::operation! {
    /// A CreateVSwitch request.
    ///
    /// ```no_run
    /// # async fn demo(client: ack_net_vpc::VpcClient, vpc_id: ack_net_vpc::VpcId) -> Result<(), ack_net_vpc::Error> {
    /// use ack_net_vpc::WaitPolicy;
    /// let vsw = client
    ///     .vswitches()
    ///     .create(&vpc_id, &"cn-hangzhou-h".parse()?, "10.0.0.0/20")
    ///     .name("pods-h")
    ///     .send_and_wait(&WaitPolicy::default())
    ///     .await?;
    /// println!("{} has {} free addresses", vsw.vswitch_id, vsw.available_ip_address_count);
    /// # Ok(()) }
    /// ```
    pub struct CreateVSwitch: crate::VPC, "CreateVSwitch", idempotent_write -> CreateVSwitchResponse, Error;
    required {
        vpc_id: VpcId = "VpcId";
        zone_id: ZoneId = "ZoneId";
        cidr_block: String = "CidrBlock";
    }
    optional {
        /// `VSwitchName` (at most 128 characters).
        name: Option<String> = "VSwitchName" => into(String);
        /// `Description` (at most 256 characters).
        description: Option<String> = "Description" => into(String);
        /// `Ipv6CidrBlock`: which /64 of the VPC's IPv6 block (0-255) the VSwitch gets.
        ipv6_cidr_block: Option<u8> = "Ipv6CidrBlock" => set(u8);
        /// Tags for the new VSwitch.
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
    }
    check: Self::check_input;
}

impl CreateVSwitch {
    /// Checks that the zone is in the client's region and that the block is canonical and
    /// /16 to /29. (Whether the block lies inside the VPC and is free only the cloud knows
    /// for sure; plan it with [`crate::cidr`].)
    fn check_input(&self) -> Result<(), Error> {
        let region = self.rpc.region();
        if &self.zone_id.region() != region {
            return Err(Error::ZoneNotInRegion { zone: self.zone_id.to_string(), region: region.to_string() });
        }
        let cidr = parse_cidr(&self.cidr_block)?;
        validate_vswitch_prefix(cidr.prefix_len())?;
        check_name_and_description("VSwitchName", &self.name, &self.description)?;
        check_tags(&self.tags)
    }

    /// Creates the VSwitch and waits until it is `Available` (see
    /// [`VSwitches::wait_until_available`]). A convenience for scripts and quickstarts.
    pub async fn send_and_wait(self, policy: &WaitPolicy) -> Result<VSwitch, Error> {
        let client = VpcClient::new(self.rpc.clone());
        let created = self.send().await?;
        client.vswitches().wait_until_available(&created.vswitch_id, policy).await
    }
}

ack_net_core::operation! {
    /// A ModifyVSwitchAttribute request.
    pub struct ModifyVSwitchAttribute: crate::VPC, "ModifyVSwitchAttribute", write -> Ack, Error;
    required {
        vswitch_id: VSwitchId = "VSwitchId";
    }
    optional {
        /// The new `VSwitchName` (at most 128 characters).
        name: Option<String> = "VSwitchName" => into(String);
        /// The new `Description` (at most 256 characters).
        description: Option<String> = "Description" => into(String);
    }
    check: |op: &Self| check_name_and_description("VSwitchName", &op.name, &op.description);
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

ack_net_core::operation! {
    /// A DescribeVSwitches request.
    ///
    /// ```no_run
    /// # async fn demo(client: ack_net_vpc::VpcClient) -> Result<(), ack_net_vpc::Error> {
    /// use futures_util::TryStreamExt;
    /// let zone: ack_net_vpc::ZoneId = "cn-hangzhou-h".parse()?;
    /// let in_zone: Vec<_> = client.vswitches().describe().zone_id(zone).into_stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub struct DescribeVSwitches: crate::VPC, "DescribeVSwitches", read -> DescribeVSwitchesResponse, Error;
    required {}
    optional {
        /// Only VSwitches of this VPC.
        vpc_id: Option<VpcId> = "VpcId" => into(VpcId);
        /// Only VSwitches in this zone.
        zone_id: Option<ZoneId> = "ZoneId" => into(ZoneId);
        /// Only this VSwitch.
        vswitch_id: Option<VSwitchId> = "VSwitchId" => into(VSwitchId);
        /// Only VSwitches associated with this route table.
        route_table_id: Option<RouteTableId> = "RouteTableId" => into(RouteTableId);
        /// Only VSwitches of this name.
        name: Option<String> = "VSwitchName" => into(String);
        /// Only default VSwitches (`true`) or only the others.
        is_default: Option<bool> = "IsDefault" => set(bool);
        /// Only VSwitches of this resource group.
        resource_group_id: Option<String> = "ResourceGroupId" => into(String);
        /// Only VSwitches with these tags (all given tags must match).
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
    }
    check: |op: &Self| check_tags(&op.tags);
    pages: numbered(MAX_PAGE_SIZE), vswitches: VSwitch, total_count;
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

ack_net_core::operation! {
    /// A DeleteVSwitch request. DeleteVSwitch takes no `ClientToken`: the client retries it
    /// only when it surely was not processed.
    pub struct DeleteVSwitch: crate::VPC, "DeleteVSwitch", write -> DeleteVSwitchResponse, Error;
    required {
        vswitch_id: VSwitchId = "VSwitchId";
    }
    optional {}
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
    use crate::client::test_support::{client, id, params};
    use ack_net_core::ErrorInfo;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn create_params() {
        let req = client()
            .vswitches()
            .create(&id("vpc-1"), &id("cn-hangzhou-h"), "10.0.0.0/20")
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
        // Ids and zones are checked when made.
        assert!(Error::from("vsw-1".parse::<VpcId>().unwrap_err()).is_invalid_input());
        assert!(Error::from("hangzhou".parse::<ZoneId>().unwrap_err()).is_invalid_input());
        let e = vs.create(&id("vpc-1"), &id("cn-beijing-a"), "10.0.0.0/20").to_request().unwrap_err();
        assert!(matches!(e, Error::ZoneNotInRegion { .. }), "{e}");
        for bad in ["10.0.0.0/15", "10.0.0.0/30", "10.0.0.1/24", "10.0.0.0"] {
            let e = vs.create(&id("vpc-1"), &id("cn-hangzhou-h"), bad).to_request().unwrap_err();
            assert!(matches!(e, Error::Cidr(_)), "{bad}: {e}");
        }
    }

    #[test]
    fn describe_and_delete_params() {
        let c = client();
        let req = c
            .vswitches()
            .describe()
            .vpc_id(id::<VpcId>("vpc-1"))
            .zone_id(id::<ZoneId>("cn-hangzhou-h"))
            .page_size(20)
            .to_request()
            .unwrap();
        assert_eq!(params(&req), p(&[("VpcId", "vpc-1"), ("ZoneId", "cn-hangzhou-h"), ("PageSize", "20")]));
        assert!("vpc-1".parse::<VSwitchId>().is_err());
        assert!("vrt-1".parse::<RouteTableId>().is_err());
        let req = c.vswitches().delete(&id("vsw-1")).to_request().unwrap();
        assert_eq!(req.idempotency(), &ack_net_core::Idempotency::Unsafe);
        assert!("vpc-1".parse::<VSwitchId>().is_err());
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
