//! Route tables: DescribeRouteTableList, and the entry of the route-entry calls.

use ack_net_core::de;
use ack_net_core::listing::numbered_stream;
use ack_net_core::{Product, RpcRequest};
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::common::{add_tags, opt_parsed, validate_page, validate_tags, wire_enum, wrapped, Tag};
use crate::route_entry::{CreateRouteEntry, DeleteRouteEntry, DescribeRouteEntryList, RouteEntry};
use crate::wait::{wait_for, Look, WaitPolicy};
use crate::{Error, RouteEntryId, RouteTableId, VSwitchId, VpcClient, VpcId};

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
        DescribeRouteTableList {
            client: self.client.clone(),
            vpc_id: None,
            route_table_id: None,
            route_table_name: None,
            route_table_type: None,
            router_id: None,
            resource_group_id: None,
            tags: Vec::new(),
            page_number: None,
            page_size: None,
        }
    }

    /// DescribeRouteEntryList of `route_table_id`.
    pub fn describe_entries(&self, route_table_id: impl AsRef<str>) -> DescribeRouteEntryList {
        DescribeRouteEntryList::new(self.client.clone(), route_table_id.as_ref())
    }

    /// CreateRouteEntry: a route to `destination_cidr_block` in `route_table_id`; set its next
    /// hop with [`CreateRouteEntry::next_hop`].
    pub fn create_entry(
        &self,
        route_table_id: impl AsRef<str>,
        destination_cidr_block: impl std::fmt::Display,
    ) -> CreateRouteEntry {
        CreateRouteEntry::new(self.client.clone(), route_table_id.as_ref(), destination_cidr_block.to_string())
    }

    /// DeleteRouteEntry of `route_table_id`: name the entry with
    /// [`DeleteRouteEntry::route_entry_id`] or with [`DeleteRouteEntry::destination_cidr_block`]
    /// (and [`DeleteRouteEntry::next_hop_id`]).
    pub fn delete_entry(&self, route_table_id: impl AsRef<str>) -> DeleteRouteEntry {
        DeleteRouteEntry::new(self.client.clone(), route_table_id.as_ref())
    }

    /// Polls DescribeRouteEntryList until the entry is `Available`, and returns it.
    /// Throttling, 5xx and "not found" only mean "look again"; [`Error::WaitTimeout`] when
    /// `policy`'s timeout passes first.
    pub async fn wait_until_entry_available(
        &self,
        route_table_id: impl AsRef<str>,
        route_entry_id: impl AsRef<str>,
        policy: &WaitPolicy,
    ) -> Result<RouteEntry, Error> {
        let table = RouteTableId::new(route_table_id.as_ref())?;
        let entry = RouteEntryId::new(route_entry_id.as_ref())?;
        wait_for(policy, "route entry", entry.as_str(), || async {
            let page = self.describe_entries(&table).route_entry_id(&entry).send().await?;
            Ok(match page.route_entries.into_iter().find(|e| e.route_entry_id.as_ref() == Some(&entry)) {
                Some(e) if e.status == crate::RouteEntryStatus::Available => Look::Ready(e),
                Some(e) => Look::NotYet(e.status.to_string()),
                None => Look::NotYet("not found".to_owned()),
            })
        })
        .await
    }
}

/// A DescribeRouteTableList request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DescribeRouteTableList {
    client: VpcClient,
    vpc_id: Option<String>,
    route_table_id: Option<String>,
    route_table_name: Option<String>,
    route_table_type: Option<RouteTableType>,
    router_id: Option<String>,
    resource_group_id: Option<String>,
    tags: Vec<Tag>,
    page_number: Option<u32>,
    page_size: Option<u32>,
}

impl DescribeRouteTableList {
    /// Only tables of this VPC.
    pub fn vpc_id(mut self, id: impl AsRef<str>) -> Self {
        self.vpc_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only this table.
    pub fn route_table_id(mut self, id: impl AsRef<str>) -> Self {
        self.route_table_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only tables of this name.
    pub fn route_table_name(mut self, name: impl Into<String>) -> Self {
        self.route_table_name = Some(name.into());
        self
    }

    /// Only system or only custom tables.
    pub fn route_table_type(mut self, t: RouteTableType) -> Self {
        self.route_table_type = Some(t);
        self
    }

    /// Only tables of this router (`RouterId`, a VRouter `vrt-...` or a VBR `vbr-...`).
    pub fn router_id(mut self, id: impl AsRef<str>) -> Self {
        self.router_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only tables of this resource group.
    pub fn resource_group_id(mut self, id: impl Into<String>) -> Self {
        self.resource_group_id = Some(id.into());
        self
    }

    /// Only tables with this tag.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// The page to fetch with [`DescribeRouteTableList::send`] (from 1).
    pub fn page_number(mut self, n: u32) -> Self {
        self.page_number = Some(n);
        self
    }

    /// The page size (1-50). [`DescribeRouteTableList::into_stream`] uses 50 unless set.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// The request as it will be sent; checks every field first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let mut req = RpcRequest::read(Product::Vpc, "DescribeRouteTableList");
        if let Some(id) = &self.vpc_id {
            req = req.param("VpcId", VpcId::new(id.as_str())?);
        }
        if let Some(id) = &self.route_table_id {
            req = req.param("RouteTableId", RouteTableId::new(id.as_str())?);
        }
        if let Some(id) = &self.router_id {
            let (kind, ok) = match id.split_once('-') {
                Some(("vrt", rest)) => ("VRouter", !rest.is_empty()),
                Some(("vbr", rest)) => ("VBR", !rest.is_empty()),
                _ => ("", false),
            };
            if !ok || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(Error::invalid_input("RouterId", format!("{id:?} is not a vrt-... or vbr-... id")));
            }
            req = req.param("RouterId", id).param("RouterType", kind);
        }
        validate_tags(&self.tags)?;
        validate_page(self.page_number, self.page_size, MAX_PAGE_SIZE)?;
        req = req
            .opt_param("RouteTableName", self.route_table_name.as_deref())
            .opt_param("RouteTableType", self.route_table_type.as_ref())
            .opt_param("ResourceGroupId", self.resource_group_id.as_deref())
            .opt_param("PageNumber", self.page_number)
            .opt_param("PageSize", self.page_size);
        Ok(add_tags(req, &self.tags))
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<DescribeRouteTableListResponse, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }

    /// Every matching route table, over all pages. Invalid input is the stream's only item.
    pub fn into_stream(mut self) -> BoxStream<'static, Result<RouteTable, Error>> {
        let size = self.page_size.unwrap_or(MAX_PAGE_SIZE);
        self.page_size = Some(size);
        self.page_number = None;
        let request = self.to_request();
        numbered_stream(self.client.rpc().clone(), request, size, |r: DescribeRouteTableListResponse| {
            (r.route_tables, r.total_count)
        })
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
    use crate::client::test_support::{client, params};

    #[test]
    fn describe_params_and_router_kinds() {
        let c = client();
        let req = c
            .route_tables()
            .describe()
            .vpc_id("vpc-1")
            .route_table_type(RouteTableType::System)
            .router_id("vrt-1")
            .to_request()
            .unwrap();
        let got: Vec<(String, String)> = params(&req);
        let want: Vec<(String, String)> =
            [("VpcId", "vpc-1"), ("RouterId", "vrt-1"), ("RouterType", "VRouter"), ("RouteTableType", "System")]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
        assert_eq!(got, want);
        assert!(c.route_tables().describe().router_id("vpc-1").to_request().is_err());
        assert!(c.route_tables().describe().route_table_id("vrt-1").to_request().is_err());
        assert_eq!(
            c.route_tables().describe().router_id("vbr-9").to_request().unwrap().get_params().get("RouterType"),
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
