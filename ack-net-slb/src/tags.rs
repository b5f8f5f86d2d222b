//! Tags of load balancers (`ResourceType=instance`): TagResources, UntagResources,
//! ListTagResources.

use ack_net_core::operation::Ack;
use serde::Deserialize;

use crate::common::{opt_string, validate_tags, wrapped};
use crate::{Error, LoadBalancerId, SlbClient, Tag};

/// The most resources one tag call names.
pub const MAX_TAG_RESOURCES: usize = 20;

/// One tag of one resource, as ListTagResources answers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TagResource {
    /// `ResourceId`.
    #[serde(rename = "ResourceId")]
    pub resource_id: LoadBalancerId,
    /// `TagKey`.
    #[serde(rename = "TagKey", default, deserialize_with = "ack_net_core::de::string")]
    pub key: String,
    /// `TagValue`.
    #[serde(rename = "TagValue", default, deserialize_with = "ack_net_core::de::string")]
    pub value: String,
}

/// Tag operations; from [`SlbClient::tags`].
#[derive(Clone, Debug)]
pub struct Tags {
    client: SlbClient,
}

/// `ResourceType` of a load balancer.
const INSTANCE: &str = "instance";

/// 1 to 20 load balancers.
fn check_resources(ids: &[LoadBalancerId]) -> Result<(), Error> {
    if ids.is_empty() || ids.len() > MAX_TAG_RESOURCES {
        return Err(Error::invalid_input("ResourceId", format!("1-{MAX_TAG_RESOURCES} load balancers")));
    }
    Ok(())
}

impl Tags {
    pub(crate) fn new(client: SlbClient) -> Self {
        Self { client }
    }

    /// TagResources: adds (or overwrites) tags on load balancers.
    pub fn tag(&self, ids: &[LoadBalancerId], tags: &[Tag]) -> TagResources {
        TagResources::new(self.client.rpc(), INSTANCE, ids.to_vec(), tags.to_vec())
    }

    /// UntagResources: removes these tag keys from load balancers.
    pub fn untag(&self, ids: &[LoadBalancerId], keys: &[&str]) -> UntagResources {
        let keys = keys.iter().map(|k| (*k).to_owned()).collect();
        UntagResources::new(self.client.rpc(), INSTANCE, ids.to_vec(), keys, None)
    }

    /// UntagResources with `All=true`: removes every tag from load balancers.
    pub fn untag_all(&self, ids: &[LoadBalancerId]) -> UntagResources {
        UntagResources::new(self.client.rpc(), INSTANCE, ids.to_vec(), Vec::new(), Some(true))
    }

    /// ListTagResources: the tags of some load balancers, or the load balancers carrying
    /// some tags.
    pub fn list(&self) -> ListTagResources {
        ListTagResources::new(self.client.rpc(), INSTANCE)
    }
}

ack_net_core::operation! {
    /// A TagResources request; checks 1-20 load balancers and 1-20 valid tags.
    pub struct TagResources: crate::SLB, "TagResources", write -> () as Ack => |_| (), Error;
    required {
        resource_type: &'static str = "ResourceType";
        ids: Vec<LoadBalancerId> = "ResourceId";
        tags: Vec<Tag> = "Tag";
    }
    optional {}
    check: |op: &Self| {
        if op.tags.is_empty() {
            return Err(Error::invalid_input("Tag", "no tags"));
        }
        check_resources(&op.ids)?;
        Ok(validate_tags(&op.tags)?)
    };
}

ack_net_core::operation! {
    /// An UntagResources request: some keys, or all of them; checks 1-20 load balancers and
    /// 1-20 keys.
    pub struct UntagResources: crate::SLB, "UntagResources", write -> () as Ack => |_| (), Error;
    required {
        resource_type: &'static str = "ResourceType";
        ids: Vec<LoadBalancerId> = "ResourceId";
        keys: Vec<String> = "TagKey";
        all: Option<bool> = "All";
    }
    optional {}
    check: |op: &Self| {
        check_resources(&op.ids)?;
        if op.all.is_none() && (op.keys.is_empty() || op.keys.len() > MAX_TAG_RESOURCES) {
            return Err(Error::invalid_input("TagKey", format!("1-{MAX_TAG_RESOURCES} keys")));
        }
        Ok(())
    };
}

ack_net_core::operation! {
    /// A ListTagResources request (NextToken paging); give load balancers, tags or both.
    pub struct ListTagResources: crate::SLB, "ListTagResources", read -> TagResourcePage, Error;
    required {
        resource_type: &'static str = "ResourceType";
    }
    optional {
        /// Only these load balancers (up to 20).
        ids: Vec<LoadBalancerId> = "ResourceId" => extend(LoadBalancerId), push resource_id;
        /// Only load balancers carrying these tags.
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
    }
    check: |op: &Self| {
        if op.ids.is_empty() && op.tags.is_empty() {
            return Err(Error::invalid_input("ResourceId", "give load balancers, tags or both"));
        }
        if op.ids.len() > MAX_TAG_RESOURCES {
            return Err(Error::invalid_input("ResourceId", format!("at most {MAX_TAG_RESOURCES}")));
        }
        Ok(validate_tags(&op.tags)?)
    };
    pages: token, tag_resources: TagResource, next_token;
}

/// One page of ListTagResources.
#[derive(Clone, Debug, Deserialize)]
pub struct TagResourcePage {
    /// The (resource, tag) pairs.
    #[serde(rename = "TagResources", default, deserialize_with = "wrapped")]
    pub tag_resources: Vec<TagResource>,
    /// The token of the next page; `None` at the end.
    #[serde(rename = "NextToken", default, deserialize_with = "opt_string")]
    pub next_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};

    #[test]
    fn requests() {
        let ids: Vec<LoadBalancerId> = vec!["lb-a1".parse().unwrap(), "lb-b2".parse().unwrap()];
        let p = params(&client().tags().tag(&ids, &[Tag::new("k", "v")]).to_request().unwrap());
        assert_eq!(p["ResourceType"], "instance");
        assert_eq!(p["ResourceId.2"], "lb-b2");
        assert_eq!(p["Tag.1.Key"], "k");
        assert!(client().tags().tag(&ids, &[]).to_request().is_err());
        assert!(client().tags().tag(&[], &[Tag::new("k", "v")]).to_request().is_err());
        let p = params(&client().tags().untag(&ids, &["k"]).to_request().unwrap());
        assert_eq!(p["TagKey.1"], "k");
        assert_eq!(params(&client().tags().untag_all(&ids).to_request().unwrap())["All"], "true");
        assert!(client().tags().list().to_request().is_err());
    }
}
