//! Tags of load balancers (`ResourceType=instance`): TagResources, UntagResources,
//! ListTagResources.

use ack_net_core::paginate::{next_token_stream, TokenPage};
use ack_net_core::{Product, RpcRequest};
use futures_util::stream::{BoxStream, StreamExt};
use serde::Deserialize;

use crate::common::{add_tags, opt_string, wrapped, Call};
use crate::listener::into_core;
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

fn resources(req: RpcRequest, ids: &[LoadBalancerId]) -> Result<RpcRequest, Error> {
    if ids.is_empty() || ids.len() > MAX_TAG_RESOURCES {
        return Err(Error::invalid_input("ResourceId", format!("1-{MAX_TAG_RESOURCES} load balancers")));
    }
    Ok(req.param("ResourceType", "instance").list_param("ResourceId", ids))
}

impl Tags {
    pub(crate) fn new(client: SlbClient) -> Self {
        Self { client }
    }

    /// TagResources: adds (or overwrites) tags on load balancers.
    pub fn tag(&self, ids: &[LoadBalancerId], tags: &[Tag]) -> Call {
        let req = (|| {
            if tags.is_empty() {
                return Err(Error::invalid_input("Tag", "no tags"));
            }
            add_tags(resources(RpcRequest::write(Product::Slb, "TagResources"), ids)?, tags)
        })();
        Call::new(&self.client, req)
    }

    /// UntagResources: removes these tag keys from load balancers.
    pub fn untag(&self, ids: &[LoadBalancerId], keys: &[&str]) -> Call {
        let req = (|| {
            if keys.is_empty() || keys.len() > MAX_TAG_RESOURCES {
                return Err(Error::invalid_input("TagKey", format!("1-{MAX_TAG_RESOURCES} keys")));
            }
            Ok(resources(RpcRequest::write(Product::Slb, "UntagResources"), ids)?.list_param("TagKey", keys))
        })();
        Call::new(&self.client, req)
    }

    /// UntagResources with `All=true`: removes every tag from load balancers.
    pub fn untag_all(&self, ids: &[LoadBalancerId]) -> Call {
        let req = resources(RpcRequest::write(Product::Slb, "UntagResources"), ids).map(|r| r.param("All", true));
        Call::new(&self.client, req)
    }

    /// ListTagResources: the tags of some load balancers, or the load balancers carrying
    /// some tags.
    pub fn list(&self) -> ListTagResources {
        ListTagResources { client: self.client.clone(), ids: Vec::new(), tags: Vec::new(), next_token: None }
    }
}

/// A ListTagResources request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct ListTagResources {
    client: SlbClient,
    ids: Vec<LoadBalancerId>,
    tags: Vec<Tag>,
    next_token: Option<String>,
}

/// One page of ListTagResources.
#[derive(Clone, Debug)]
pub struct TagResourcePage {
    /// The (resource, tag) pairs.
    pub tag_resources: Vec<TagResource>,
    /// The token of the next page; `None` at the end.
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "TagResources", default, deserialize_with = "wrapped")]
    tag_resources: Vec<TagResource>,
    #[serde(rename = "NextToken", default, deserialize_with = "opt_string")]
    next_token: Option<String>,
}

impl ListTagResources {
    /// Only this load balancer (up to 20).
    pub fn resource_id(mut self, id: &LoadBalancerId) -> Self {
        self.ids.push(id.clone());
        self
    }

    /// Only load balancers carrying this tag.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// The request as it will be sent.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        if self.ids.is_empty() && self.tags.is_empty() {
            return Err(Error::invalid_input("ResourceId", "give load balancers, tags or both"));
        }
        if self.ids.len() > MAX_TAG_RESOURCES {
            return Err(Error::invalid_input("ResourceId", format!("at most {MAX_TAG_RESOURCES}")));
        }
        let req = RpcRequest::read(Product::Slb, "ListTagResources")
            .param("ResourceType", "instance")
            .list_param("ResourceId", &self.ids)
            .opt_param("NextToken", self.next_token.as_deref());
        add_tags(req, &self.tags)
    }

    /// Sends the request: one page.
    pub async fn send(self) -> Result<TagResourcePage, Error> {
        let req = self.to_request()?;
        let a: Answer = self.client.call(req).await?;
        Ok(TagResourcePage { tag_resources: a.tag_resources, next_token: a.next_token })
    }

    /// Every (resource, tag) pair on every page.
    pub fn into_stream(self) -> BoxStream<'static, Result<TagResource, Error>> {
        let base = self;
        next_token_stream(move |token: Option<String>| {
            let mut page = base.clone();
            page.next_token = token;
            async move {
                let p = page.send().await.map_err(into_core)?;
                Ok(TokenPage { items: p.tag_resources, next_token: p.next_token })
            }
        })
        .map(|r| r.map_err(Error::Api))
        .boxed()
    }
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
