//! DescribeLoadBalancers, paged and as a `Stream`.

use serde::Deserialize;

use super::{LoadBalancer, MAX_LOAD_BALANCERS_PAGE};
use crate::common::{wrapped, Commas, JsonTags};
use crate::types::{AddressType, LoadBalancerStatus};
use crate::{Error, LoadBalancerId, Tag, VSwitchId, VpcId};

ack_net_core::operation! {
    /// A DescribeLoadBalancers request: one page with `send`, every match with `into_stream`.
    pub struct DescribeLoadBalancers: crate::SLB, "DescribeLoadBalancers", read -> LoadBalancerPage, Error;
    required {}
    optional {
        /// Only these load balancers (at most 10 in all; sent comma-separated).
        ids: Commas<LoadBalancerId> = "LoadBalancerId" => by_hand(LoadBalancerId);
        /// Only load balancers with this name.
        name: Option<String> = "LoadBalancerName" => into(String);
        /// Only load balancers in this VPC.
        vpc_id: Option<VpcId> = "VpcId" => set(VpcId);
        /// Only load balancers in this VSwitch.
        vswitch_id: Option<VSwitchId> = "VSwitchId" => set(VSwitchId);
        /// Only load balancers of this address type.
        address_type: Option<AddressType> = "AddressType" => set(AddressType);
        /// Only load balancers in this status.
        status: Option<LoadBalancerStatus> = "LoadBalancerStatus" => set(LoadBalancerStatus);
        /// Only load balancers carrying these tags (sent as the JSON `Tags` parameter).
        tags: JsonTags = "Tags" => by_hand(Tag);
    }
    check: |op: &Self| {
        if op.ids.0.len() > 10 {
            return Err(Error::invalid_input("LoadBalancerId", "at most 10 ids"));
        }
        if op.tags.0.len() > 10 {
            return Err(Error::invalid_input("Tags", "at most 10 tags"));
        }
        Ok(())
    };
    pages: numbered(MAX_LOAD_BALANCERS_PAGE), load_balancers: LoadBalancer, total_count;
}

impl DescribeLoadBalancers {
    /// Only this load balancer (at most 10 in all).
    pub fn id(mut self, id: &LoadBalancerId) -> Self {
        self.ids.0.push(id.clone());
        self
    }

    /// Only load balancers carrying this tag (all given tags must match; sent as the JSON
    /// `Tags` parameter).
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.0.push(tag);
        self
    }
}

/// One page of load balancers.
#[derive(Clone, Debug, Deserialize)]
pub struct LoadBalancerPage {
    /// The load balancers.
    #[serde(rename = "LoadBalancers", default, deserialize_with = "wrapped")]
    pub load_balancers: Vec<LoadBalancer>,
    /// `TotalCount`.
    #[serde(rename = "TotalCount", default, deserialize_with = "ack_net_core::de::opt_number")]
    pub total_count: Option<u64>,
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
