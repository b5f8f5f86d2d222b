//! DescribeLoadBalancers, paged and as a `Stream`.

use ack_net_core::paginate::{page_number_stream, NumberedPage};
use ack_net_core::{Product, RpcRequest};
use futures_util::stream::{BoxStream, StreamExt};
use serde::Deserialize;

use super::{LoadBalancer, MAX_LOAD_BALANCERS_PAGE};
use crate::common::{check_range, wrapped};
use crate::listener::into_core;
use crate::types::{AddressType, LoadBalancerStatus};
use crate::{Error, LoadBalancerId, SlbClient, Tag, VSwitchId, VpcId};

/// A DescribeLoadBalancers request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DescribeLoadBalancers {
    client: SlbClient,
    ids: Vec<LoadBalancerId>,
    name: Option<String>,
    vpc_id: Option<VpcId>,
    vswitch_id: Option<VSwitchId>,
    address_type: Option<AddressType>,
    status: Option<LoadBalancerStatus>,
    tags: Vec<Tag>,
    page_number: Option<u32>,
    page_size: Option<u32>,
}

/// One page of load balancers.
#[derive(Clone, Debug)]
pub struct LoadBalancerPage {
    /// The load balancers.
    pub load_balancers: Vec<LoadBalancer>,
    /// `TotalCount`.
    pub total_count: Option<u64>,
}

#[derive(Deserialize)]
struct DescribeResponse {
    #[serde(rename = "LoadBalancers", default, deserialize_with = "wrapped")]
    load_balancers: Vec<LoadBalancer>,
    #[serde(rename = "TotalCount", default, deserialize_with = "ack_net_core::de::opt_number")]
    total_count: Option<u64>,
}

impl DescribeLoadBalancers {
    pub(super) fn new(client: SlbClient) -> Self {
        DescribeLoadBalancers {
            client,
            ids: Vec::new(),
            name: None,
            vpc_id: None,
            vswitch_id: None,
            address_type: None,
            status: None,
            tags: Vec::new(),
            page_number: None,
            page_size: None,
        }
    }

    /// Only these load balancers (at most 10 in all).
    pub fn id(mut self, id: &LoadBalancerId) -> Self {
        self.ids.push(id.clone());
        self
    }

    /// Only load balancers with this name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Only load balancers in this VPC.
    pub fn vpc_id(mut self, id: VpcId) -> Self {
        self.vpc_id = Some(id);
        self
    }

    /// Only load balancers in this VSwitch.
    pub fn vswitch_id(mut self, id: VSwitchId) -> Self {
        self.vswitch_id = Some(id);
        self
    }

    /// Only load balancers of this address type.
    pub fn address_type(mut self, t: AddressType) -> Self {
        self.address_type = Some(t);
        self
    }

    /// Only load balancers in this status.
    pub fn status(mut self, s: LoadBalancerStatus) -> Self {
        self.status = Some(s);
        self
    }

    /// Only load balancers carrying this tag (all given tags must match; sent as the JSON
    /// `Tags` parameter).
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// `PageNumber`, from 1.
    pub fn page_number(mut self, n: u32) -> Self {
        self.page_number = Some(n);
        self
    }

    /// `PageSize`, 1-100.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// The request as it will be sent.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        if self.ids.len() > 10 {
            return Err(Error::invalid_input("LoadBalancerId", "at most 10 ids"));
        }
        if let Some(n) = self.page_size {
            check_range("PageSize", i64::from(n), 1, i64::from(MAX_LOAD_BALANCERS_PAGE))?;
        }
        if self.page_number == Some(0) {
            return Err(Error::invalid_input("PageNumber", "pages are numbered from 1"));
        }
        if self.tags.len() > 10 {
            return Err(Error::invalid_input("Tags", "at most 10 tags"));
        }
        let tags = if self.tags.is_empty() {
            None
        } else {
            let v: Vec<serde_json::Value> =
                self.tags.iter().map(|t| serde_json::json!({"TagKey": t.key, "TagValue": t.value})).collect();
            Some(serde_json::Value::Array(v).to_string())
        };
        let ids = if self.ids.is_empty() {
            None
        } else {
            Some(self.ids.iter().map(LoadBalancerId::as_str).collect::<Vec<_>>().join(","))
        };
        Ok(RpcRequest::read(Product::Slb, "DescribeLoadBalancers")
            .opt_param("LoadBalancerId", ids)
            .opt_param("LoadBalancerName", self.name.as_deref())
            .opt_param("VpcId", self.vpc_id.as_ref())
            .opt_param("VSwitchId", self.vswitch_id.as_ref())
            .opt_param("AddressType", self.address_type.as_ref())
            .opt_param("LoadBalancerStatus", self.status.as_ref())
            .opt_param("Tags", tags)
            .opt_param("PageNumber", self.page_number)
            .opt_param("PageSize", self.page_size))
    }

    /// Sends the request: one page.
    pub async fn send(self) -> Result<LoadBalancerPage, Error> {
        let req = self.to_request()?;
        let r: DescribeResponse = self.client.call(req).await?;
        Ok(LoadBalancerPage { load_balancers: r.load_balancers, total_count: r.total_count })
    }

    /// Every matching load balancer on every page (the page size is this request's, or 100).
    pub fn into_stream(self) -> BoxStream<'static, Result<LoadBalancer, Error>> {
        let size = self.page_size.unwrap_or(MAX_LOAD_BALANCERS_PAGE);
        let base = self;
        page_number_stream(size, move |number, size| {
            let page = base.clone().page_number(number).page_size(size);
            async move {
                let p = page.send().await.map_err(into_core)?;
                Ok(NumberedPage { items: p.load_balancers, total_count: p.total_count })
            }
        })
        .map(|r| r.map_err(Error::Api))
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use crate::client::test_support::{client, params};
    use crate::Tag;

    #[test]
    fn describe_encodes_tags_as_json() {
        let p = params(
            &client()
                .load_balancers()
                .describe()
                .tag(Tag::new("cluster", "c1"))
                .id(&"lb-a1".parse().unwrap())
                .id(&"lb-b2".parse().unwrap())
                .to_request()
                .unwrap(),
        );
        assert_eq!(p.get("Tags").map(String::as_str), Some(r#"[{"TagKey":"cluster","TagValue":"c1"}]"#));
        assert_eq!(p.get("LoadBalancerId").map(String::as_str), Some("lb-a1,lb-b2"));
        assert!(client().load_balancers().describe().page_size(101).to_request().is_err());
        assert!(client().load_balancers().describe().page_number(0).to_request().is_err());
    }
}
