//! Route tables: DescribeRouteTableList, and the entry of the route-entry calls.

use ack_net_core::de;
use serde::{Deserialize, Serialize};

use crate::common::{check_tags, opt_parsed, wire_enum, wrapped, Tag};
use crate::route_entry::{CreateRouteEntry, DeleteRouteEntry, DescribeRouteEntryList, Destination, RouteEntry};
use crate::wait::{wait_until, Look, WaitPolicy};
use crate::{Error, RouteEntryId, RouteTableId, RouterId, VSwitchId, VpcClient, VpcId};

/// The largest page DescribeRouteTableList returns.
pub const MAX_PAGE_SIZE: u32 = 50;

wire_enum!(
    /// The kind of a route table.
    RouteTableType {
        /// The VPC's system route table, created with it.
        System = "System",
        /// A custom route table.
        Custom = "Custom",
    }
);

/// Route tables and their entries; from [`VpcClient::route_tables`].
#[derive(Clone, Debug)]
pub struct RouteTables {
    client: VpcClient,
}

impl RouteTables {
    pub(crate) fn new(client: VpcClient) -> Self {
        Self { client }
    }

    /// DescribeRouteTableList: one page with [`DescribeRouteTableList::send`], every table with
    /// [`DescribeRouteTableList::into_stream`].
    pub fn describe(&self) -> DescribeRouteTableList {
        DescribeRouteTableList::new(self.client.rpc())
    }

    /// DescribeRouteEntryList of `route_table_id`.
    pub fn describe_entries(&self, route_table_id: &RouteTableId) -> DescribeRouteEntryList {
        DescribeRouteEntryList::new(self.client.rpc(), route_table_id.clone())
    }

    /// CreateRouteEntry: a route to `destination_cidr_block` in `route_table_id`; set its next
    /// hop with [`CreateRouteEntry::next_hop`].
    pub fn create_entry(
        &self,
        route_table_id: &RouteTableId,
        destination_cidr_block: impl std::fmt::Display,
    ) -> CreateRouteEntry {
        CreateRouteEntry::new(self.client.rpc(), route_table_id.clone(), Destination::new(destination_cidr_block))
    }

    /// DeleteRouteEntry of `route_table_id`: name the entry with
    /// [`DeleteRouteEntry::route_entry_id`] or with [`DeleteRouteEntry::destination_cidr_block`]
    /// (and [`DeleteRouteEntry::next_hop_id`]).
    pub fn delete_entry(&self, route_table_id: &RouteTableId) -> DeleteRouteEntry {
        DeleteRouteEntry::new(self.client.rpc(), route_table_id.clone())
    }

    /// Polls DescribeRouteEntryList until the entry is `Available`, and returns it.
    /// Throttling, 5xx and "not found" only mean "look again"; [`Error::WaitTimeout`] when
    /// `policy`'s timeout passes first.
    pub async fn wait_until_entry_available(
        &self,
        route_table_id: &RouteTableId,
        route_entry_id: &RouteEntryId,
        policy: &WaitPolicy,
    ) -> Result<RouteEntry, Error> {
        wait_until(policy, "route entry", route_entry_id.as_str(), "Available", || async {
            let page = self.describe_entries(route_table_id).route_entry_id(route_entry_id).send().await?;
            Ok(match page.route_entries.into_iter().find(|e| e.route_entry_id.as_ref() == Some(route_entry_id)) {
                Some(e) if e.status == crate::RouteEntryStatus::Available => Look::Ready(e),
                Some(e) => Look::NotYet(e.status.to_string()),
                None => Look::NotYet("not found".to_owned()),
            })
        })
        .await
    }
}

ack_net_core::operation! {
    /// A DescribeRouteTableList request.
    pub struct DescribeRouteTableList: crate::VPC, "DescribeRouteTableList", read
        -> DescribeRouteTableListResponse, Error;
    required {}
    optional {
        /// Only tables of this VPC.
        vpc_id: Option<VpcId> = "VpcId" => into(VpcId);
        /// Only this table.
        route_table_id: Option<RouteTableId> = "RouteTableId" => into(RouteTableId);
        /// `RouterId`: see [`DescribeRouteTableList::router_id`].
        router_id: Option<RouterId> = "RouterId" => by_hand(RouterId);
        /// `RouterType`: set with the router.
        router_type: Option<&'static str> = "RouterType" => by_hand(&'static str);
        /// Only tables of this name.
        route_table_name: Option<String> = "RouteTableName" => into(String);
        /// Only system or only custom tables.
        route_table_type: Option<RouteTableType> = "RouteTableType" => set(RouteTableType);
        /// Only tables of this resource group.
        resource_group_id: Option<String> = "ResourceGroupId" => into(String);
        /// Only tables with these tags.
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
    }
    check: |op: &Self| check_tags(&op.tags);
    pages: numbered(MAX_PAGE_SIZE), route_tables: RouteTable, total_count;
}

impl DescribeRouteTableList {
    /// Only tables of this router (`RouterId`, a VRouter `vrt-...` or a VBR `vbr-...`; its
    /// `RouterType` is sent with it).
    pub fn router_id(mut self, id: impl Into<RouterId>) -> Self {
        let id = id.into();
        self.router_type = Some(id.router_type());
        self.router_id = Some(id);
        self
    }
}

/// One page of DescribeRouteTableList.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DescribeRouteTableListResponse {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// How many tables match, over all pages.
    #[serde(rename = "TotalCount", default, deserialize_with = "de::number")]
    pub total_count: u64,
    /// This page's number.
    #[serde(rename = "PageNumber", default, deserialize_with = "de::number")]
    pub page_number: u32,
    /// The page size.
    #[serde(rename = "PageSize", default, deserialize_with = "de::number")]
    pub page_size: u32,
    /// The tables on this page (`RouterTableList.RouterTableListType[]` on the wire).
    #[serde(rename = "RouterTableList", default, deserialize_with = "wrapped")]
    pub route_tables: Vec<RouteTable>,
}

/// A route table as DescribeRouteTableList shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RouteTable {
    /// The id.
    #[serde(rename = "RouteTableId")]
    pub route_table_id: RouteTableId,
    /// The name.
    #[serde(rename = "RouteTableName", default, deserialize_with = "de::string")]
    pub route_table_name: String,
    /// `System` or `Custom`.
    #[serde(rename = "RouteTableType", default, deserialize_with = "opt_parsed")]
    pub route_table_type: Option<RouteTableType>,
    /// The router it belongs to (`vrt-...` or `vbr-...`).
    #[serde(rename = "RouterId", default, deserialize_with = "de::string")]
    pub router_id: String,
    /// `VRouter` or `VBR`.
    #[serde(rename = "RouterType", default, deserialize_with = "de::string")]
    pub router_type: String,
    /// The VPC it belongs to.
    #[serde(rename = "VpcId", default, deserialize_with = "opt_parsed")]
    pub vpc_id: Option<VpcId>,
    /// The VSwitches associated with it.
    #[serde(rename = "VSwitchIds", default, deserialize_with = "wrapped")]
    pub vswitch_ids: Vec<VSwitchId>,
    /// Its status (`Available`, ...).
    #[serde(rename = "Status", default, deserialize_with = "de::string")]
    pub status: String,
    /// The description.
    #[serde(rename = "Description", default, deserialize_with = "de::string")]
    pub description: String,
    /// When it was created.
    #[serde(rename = "CreationTime", default, deserialize_with = "de::string")]
    pub creation_time: String,
    /// Its resource group.
    #[serde(rename = "ResourceGroupId", default, deserialize_with = "de::string")]
    pub resource_group_id: String,
    /// Its tags.
    #[serde(rename = "Tags", default, deserialize_with = "wrapped")]
    pub tags: Vec<Tag>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, id, params};

    #[test]
    fn describe_params_and_router_kinds() {
        let c = client();
        let req = c
            .route_tables()
            .describe()
            .vpc_id(id::<VpcId>("vpc-1"))
            .route_table_type(RouteTableType::System)
            .router_id(id::<RouterId>("vrt-1"))
            .to_request()
            .unwrap();
        let got: Vec<(String, String)> = params(&req);
        let want: Vec<(String, String)> =
            [("VpcId", "vpc-1"), ("RouterId", "vrt-1"), ("RouterType", "VRouter"), ("RouteTableType", "System")]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
        assert_eq!(got, want);
        assert!("vpc-1".parse::<RouterId>().is_err());
        assert!("vrt-1".parse::<RouteTableId>().is_err());
        assert_eq!(
            c.route_tables()
                .describe()
                .router_id(id::<RouterId>("vbr-9"))
                .to_request()
                .unwrap()
                .get_params()
                .get("RouterType"),
            Some("VBR")
        );
    }

    #[test]
    fn decodes_router_table_list() {
        let body = r#"{"RequestId":"r","TotalCount":1,"PageNumber":1,"PageSize":10,"RouterTableList":{"RouterTableListType":[
            {"RouteTableId":"vtb-1","RouteTableType":"System","RouterId":"vrt-1","RouterType":"VRouter","VpcId":"vpc-1",
             "VSwitchIds":{"VSwitchId":["vsw-1"]},"Status":"Available","Tags":{}}]}}"#;
        let r: DescribeRouteTableListResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.route_tables.len(), 1);
        assert_eq!(r.route_tables[0].route_table_type, Some(RouteTableType::System));
        assert_eq!(r.route_tables[0].vswitch_ids[0].as_str(), "vsw-1");
    }
}
