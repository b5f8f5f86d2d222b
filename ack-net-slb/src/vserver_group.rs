//! VServer groups: create (empty or with backends), describe, add, remove, set and replace
//! backends in batches, delete.

use ack_net_core::Removed;
use ack_net_core::{Product, RpcRequest};
use serde::Deserialize;

use crate::backend::{encode_backend_servers, Backend, WireBackend};
use crate::common::{add_tags, deleted, opt_string, validate_text, wire_tags, wrapped};
use crate::types::ListenerProtocol;
use crate::{Error, LoadBalancerId, RuleId, SlbClient, Tag, VServerGroupId};

/// Message fragments with which the API says a VServer group does not exist.
const GROUP_GONE: &[&str] = &["VServerGroupId does not exist"];

/// A VServer group with its backends (DescribeVServerGroupAttribute).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct VServerGroup {
    /// `VServerGroupId`.
    #[serde(rename = "VServerGroupId")]
    pub vserver_group_id: VServerGroupId,
    /// `VServerGroupName`.
    #[serde(rename = "VServerGroupName", default, deserialize_with = "ack_net_core::de::string")]
    pub name: String,
    /// `LoadBalancerId`.
    #[serde(rename = "LoadBalancerId")]
    pub load_balancer_id: LoadBalancerId,
    /// `BackendServers`.
    #[serde(rename = "BackendServers", default, deserialize_with = "backends")]
    pub backends: Vec<Backend>,
    /// `Tags`.
    #[serde(rename = "Tags", default, deserialize_with = "wire_tags")]
    pub tags: Vec<Tag>,
    /// `CreateTime`.
    #[serde(rename = "CreateTime", default, deserialize_with = "opt_string")]
    pub create_time: Option<String>,
}

/// A VServer group as DescribeVServerGroups lists it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct VServerGroupSummary {
    /// `VServerGroupId`.
    #[serde(rename = "VServerGroupId")]
    pub vserver_group_id: VServerGroupId,
    /// `VServerGroupName`.
    #[serde(rename = "VServerGroupName", default, deserialize_with = "ack_net_core::de::string")]
    pub name: String,
    /// `ServerCount`.
    #[serde(rename = "ServerCount", default, deserialize_with = "ack_net_core::de::opt_number")]
    pub server_count: Option<u32>,
    /// `Tags`.
    #[serde(rename = "Tags", default, deserialize_with = "wire_tags")]
    pub tags: Vec<Tag>,
    /// The listeners and rules that use the group (with `include_listener` /
    /// `include_rule`).
    #[serde(rename = "AssociatedObjects", default)]
    pub associated: AssociatedObjects,
}

/// What uses a group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AssociatedObjects {
    /// `Listeners`.
    #[serde(rename = "Listeners", default, deserialize_with = "wrapped")]
    pub listeners: Vec<AssociatedListener>,
    /// `Rules`.
    #[serde(rename = "Rules", default, deserialize_with = "wrapped")]
    pub rules: Vec<AssociatedRule>,
}

/// A listener that uses a group.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AssociatedListener {
    /// `Port`.
    #[serde(rename = "Port", deserialize_with = "ack_net_core::de::number")]
    pub port: u16,
    /// `Protocol`.
    #[serde(rename = "Protocol")]
    pub protocol: ListenerProtocol,
}

/// A forwarding rule that uses a group.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AssociatedRule {
    /// `RuleId`.
    #[serde(rename = "RuleId")]
    pub rule_id: RuleId,
    /// `RuleName`.
    #[serde(rename = "RuleName", default, deserialize_with = "ack_net_core::de::string")]
    pub name: String,
    /// `Domain`.
    #[serde(rename = "Domain", default, deserialize_with = "opt_string")]
    pub domain: Option<String>,
    /// `Url`.
    #[serde(rename = "Url", default, deserialize_with = "opt_string")]
    pub url: Option<String>,
}

pub(crate) fn backends<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Backend>, D::Error> {
    Ok(wrapped::<D, WireBackend>(d)?.into_iter().map(WireBackend::into_backend).collect())
}

#[derive(Deserialize)]
struct BackendsAnswer {
    #[serde(rename = "BackendServers", default, deserialize_with = "backends")]
    backends: Vec<Backend>,
}

#[derive(Deserialize)]
struct CreateAnswer {
    #[serde(rename = "VServerGroupId")]
    vserver_group_id: VServerGroupId,
    #[serde(rename = "BackendServers", default, deserialize_with = "backends")]
    backends: Vec<Backend>,
}

/// What [`CreateVServerGroup`] made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedVServerGroup {
    /// The new group.
    pub vserver_group_id: VServerGroupId,
    /// Its backends, as the last call answered.
    pub backends: Vec<Backend>,
}

/// VServer group operations; from [`SlbClient::vserver_groups`].
#[derive(Clone, Debug)]
pub struct VServerGroups {
    client: SlbClient,
}

impl VServerGroups {
    pub(crate) fn new(client: SlbClient) -> Self {
        Self { client }
    }

    /// CreateVServerGroup on a load balancer. Backends beyond the client's batch size are
    /// added by AddVServerGroupBackendServers calls after the create.
    pub fn create(&self, load_balancer_id: &LoadBalancerId, name: impl Into<String>) -> CreateVServerGroup {
        CreateVServerGroup {
            client: self.client.clone(),
            load_balancer_id: load_balancer_id.clone(),
            name: name.into(),
            backends: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// DescribeVServerGroups: the groups of a load balancer.
    pub fn describe(&self, load_balancer_id: &LoadBalancerId) -> DescribeVServerGroups {
        DescribeVServerGroups {
            client: self.client.clone(),
            load_balancer_id: load_balancer_id.clone(),
            include_listener: false,
            include_rule: false,
        }
    }

    /// DescribeVServerGroupAttribute: one group with its backends.
    pub async fn get(&self, id: &VServerGroupId) -> Result<VServerGroup, Error> {
        self.client
            .call(RpcRequest::read(Product::Slb, "DescribeVServerGroupAttribute").param("VServerGroupId", id))
            .await
    }

    /// AddVServerGroupBackendServers, in batches.
    pub fn add_backends(&self, id: &VServerGroupId, backends: Vec<Backend>) -> BackendBatches {
        BackendBatches::new(&self.client, id, BatchKind::Add(backends))
    }

    /// RemoveVServerGroupBackendServers, in batches.
    pub fn remove_backends(&self, id: &VServerGroupId, backends: Vec<Backend>) -> BackendBatches {
        BackendBatches::new(&self.client, id, BatchKind::Remove(backends))
    }

    /// SetVServerGroupAttribute with `BackendServers`, in batches: new weights and
    /// descriptions for backends already in the group.
    pub fn set_backends(&self, id: &VServerGroupId, backends: Vec<Backend>) -> BackendBatches {
        BackendBatches::new(&self.client, id, BatchKind::Set(backends))
    }

    /// ModifyVServerGroupBackendServers, in batches: replaces `old` backends with `new` ones.
    /// When the lists differ in length, the extra old ones are removed and the extra new
    /// ones added by Remove/Add calls.
    pub fn replace_backends(&self, id: &VServerGroupId, old: Vec<Backend>, new: Vec<Backend>) -> BackendBatches {
        BackendBatches::new(&self.client, id, BatchKind::Replace(old, new))
    }

    /// SetVServerGroupAttribute with `VServerGroupName`.
    pub async fn set_name(&self, id: &VServerGroupId, name: &str) -> Result<(), Error> {
        validate_text("VServerGroupName", name, 128)?;
        let req = RpcRequest::write(Product::Slb, "SetVServerGroupAttribute")
            .param("VServerGroupId", id)
            .param("VServerGroupName", name);
        self.client.call_unit(req).await
    }

    /// DeleteVServerGroup: [`Removed::Now`] when this call deleted it, [`Removed::Already`]
    /// when it was already gone. Refused (`RspoolVipExist`) while a listener or rule uses it.
    pub async fn delete(&self, id: &VServerGroupId) -> Result<Removed, Error> {
        let req = RpcRequest::write(Product::Slb, "DeleteVServerGroup").param("VServerGroupId", id);
        deleted(self.client.call_unit(req).await, GROUP_GONE)
    }
}

/// A CreateVServerGroup request.
///
/// ```no_run
/// # async fn demo(slb: ack_net_slb::SlbClient, lb: ack_net_slb::LoadBalancerId) -> Result<(), ack_net_slb::Error> {
/// use ack_net_slb::Backend;
/// let pods: Vec<Backend> = (1..=45u8)
///     .map(|i| Backend::eni("eni-bp1abc", format!("10.0.1.{i}").parse().unwrap(), 8080))
///     .collect();
/// // One CreateVServerGroup with 20 backends, then two AddVServerGroupBackendServers.
/// let group = slb.vserver_groups().create(&lb, "web-8080").backends(pods).send().await?;
/// println!("{} holds {}", group.vserver_group_id, group.backends.len());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct CreateVServerGroup {
    client: SlbClient,
    load_balancer_id: LoadBalancerId,
    name: String,
    backends: Vec<Backend>,
    tags: Vec<Tag>,
}

impl CreateVServerGroup {
    /// The backends to start with.
    pub fn backends(mut self, backends: Vec<Backend>) -> Self {
        self.backends = backends;
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// The CreateVServerGroup request (with the first batch of backends); checks every
    /// backend first, also those of later batches.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        validate_text("VServerGroupName", &self.name, 128)?;
        for b in &self.backends {
            b.validate()?;
        }
        let first = &self.backends[..self.backends.len().min(self.client.batch_size())];
        let req = RpcRequest::write(Product::Slb, "CreateVServerGroup")
            .param("LoadBalancerId", &self.load_balancer_id)
            .param("VServerGroupName", &self.name);
        let req = if first.is_empty() { req } else { req.param("BackendServers", encode_backend_servers(first)?) };
        add_tags(req, &self.tags)
    }

    /// Sends the create, then the remaining batches.
    pub async fn send(self) -> Result<CreatedVServerGroup, Error> {
        let req = self.to_request()?;
        let created: CreateAnswer = self.client.call(req).await?;
        let size = self.client.batch_size();
        let mut backends = created.backends;
        if self.backends.len() > size {
            let rest = self.backends[size..].to_vec();
            let batches = BackendBatches::new(&self.client, &created.vserver_group_id, BatchKind::Add(rest));
            backends = batches.send().await?;
        }
        Ok(CreatedVServerGroup { vserver_group_id: created.vserver_group_id, backends })
    }
}

/// A DescribeVServerGroups request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DescribeVServerGroups {
    client: SlbClient,
    load_balancer_id: LoadBalancerId,
    include_listener: bool,
    include_rule: bool,
}

#[derive(Deserialize)]
struct DescribeAnswer {
    #[serde(rename = "VServerGroups", default, deserialize_with = "wrapped")]
    groups: Vec<VServerGroupSummary>,
}

impl DescribeVServerGroups {
    /// `IncludeListener`: also list the listeners that use each group.
    pub fn include_listener(mut self, on: bool) -> Self {
        self.include_listener = on;
        self
    }

    /// `IncludeRule`: also list the rules that use each group.
    pub fn include_rule(mut self, on: bool) -> Self {
        self.include_rule = on;
        self
    }

    /// The request as it will be sent.
    pub fn to_request(&self) -> RpcRequest {
        RpcRequest::read(Product::Slb, "DescribeVServerGroups")
            .param("LoadBalancerId", &self.load_balancer_id)
            .opt_param("IncludeListener", self.include_listener.then_some(true))
            .opt_param("IncludeRule", self.include_rule.then_some(true))
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Vec<VServerGroupSummary>, Error> {
        let a: DescribeAnswer = self.client.call(self.to_request()).await?;
        Ok(a.groups)
    }
}

#[derive(Clone, Debug)]
enum BatchKind {
    Add(Vec<Backend>),
    Remove(Vec<Backend>),
    Set(Vec<Backend>),
    Replace(Vec<Backend>, Vec<Backend>),
}

/// A backend operation split into calls of at most the client's batch size.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct BackendBatches {
    client: SlbClient,
    group: VServerGroupId,
    kind: BatchKind,
}

impl BackendBatches {
    fn new(client: &SlbClient, group: &VServerGroupId, kind: BatchKind) -> Self {
        Self { client: client.clone(), group: group.clone(), kind }
    }

    /// The calls, in order; checks every backend first. No backends, no calls.
    pub fn to_requests(&self) -> Result<Vec<RpcRequest>, Error> {
        let size = self.client.batch_size();
        let one = |action: &'static str, param: &str, chunk: &[Backend]| -> Result<RpcRequest, Error> {
            Ok(RpcRequest::write(Product::Slb, action)
                .param("VServerGroupId", &self.group)
                .param(param, encode_backend_servers(chunk)?))
        };
        let mut out = Vec::new();
        match &self.kind {
            BatchKind::Add(b) => {
                for c in b.chunks(size) {
                    out.push(one("AddVServerGroupBackendServers", "BackendServers", c)?);
                }
            }
            BatchKind::Remove(b) => {
                for c in b.chunks(size) {
                    out.push(one("RemoveVServerGroupBackendServers", "BackendServers", c)?);
                }
            }
            BatchKind::Set(b) => {
                for c in b.chunks(size) {
                    out.push(one("SetVServerGroupAttribute", "BackendServers", c)?);
                }
            }
            BatchKind::Replace(old, new) => {
                let (olds, news): (Vec<&[Backend]>, Vec<&[Backend]>) =
                    (old.chunks(size).collect(), new.chunks(size).collect());
                let pairs = olds.len().min(news.len());
                for (o, n) in olds.iter().zip(&news) {
                    out.push(
                        RpcRequest::write(Product::Slb, "ModifyVServerGroupBackendServers")
                            .param("VServerGroupId", &self.group)
                            .param("OldBackendServers", encode_backend_servers(o)?)
                            .param("NewBackendServers", encode_backend_servers(n)?),
                    );
                }
                for c in &olds[pairs..] {
                    out.push(one("RemoveVServerGroupBackendServers", "BackendServers", c)?);
                }
                for c in &news[pairs..] {
                    out.push(one("AddVServerGroupBackendServers", "BackendServers", c)?);
                }
            }
        }
        Ok(out)
    }

    /// Sends the calls one after the other and returns the group's backends as the last
    /// call answered (Remove answers carry no `ServerIp`). A failure after some calls is
    /// [`Error::Batch`], which says how many were applied.
    pub async fn send(self) -> Result<Vec<Backend>, Error> {
        let requests = self.to_requests()?;
        let total = requests.len();
        let mut backends = Vec::new();
        for (i, req) in requests.into_iter().enumerate() {
            let action = action_name(req.action());
            match self.client.call::<BackendsAnswer>(req).await {
                Ok(a) => backends = a.backends,
                Err(e) if total == 1 => return Err(e),
                Err(e) => {
                    return Err(Error::Batch {
                        action,
                        completed_batches: i,
                        total_batches: total,
                        source: Box::new(e),
                    })
                }
            }
        }
        Ok(backends)
    }
}

fn action_name(action: &str) -> &'static str {
    match action {
        "AddVServerGroupBackendServers" => "AddVServerGroupBackendServers",
        "RemoveVServerGroupBackendServers" => "RemoveVServerGroupBackendServers",
        "SetVServerGroupAttribute" => "SetVServerGroupAttribute",
        _ => "ModifyVServerGroupBackendServers",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};

    fn pods(n: usize, port: u16) -> Vec<Backend> {
        (0..n)
            .map(|i| Backend::eni("eni-bp1a", format!("10.0.{}.{}", i / 250, i % 250 + 1).parse().unwrap(), port))
            .collect()
    }

    #[test]
    fn batches_split_by_the_batch_size() {
        let g: VServerGroupId = "rsp-bp1a".parse().unwrap();
        let groups = client().vserver_groups();
        let reqs = groups.add_backends(&g, pods(45, 80)).to_requests().unwrap();
        assert_eq!(reqs.len(), 3);
        let sizes: Vec<usize> = reqs
            .iter()
            .map(|r| {
                let p = params(r);
                serde_json::from_str::<Vec<serde_json::Value>>(&p["BackendServers"]).unwrap().len()
            })
            .collect();
        assert_eq!(sizes, [20, 20, 5]);
        assert!(groups.add_backends(&g, vec![]).to_requests().unwrap().is_empty());
        let big =
            client().with_batch_size(40).vserver_groups().remove_backends(&g, pods(45, 80)).to_requests().unwrap();
        assert_eq!(big.len(), 2);
        let r = groups.replace_backends(&g, pods(45, 80), pods(10, 81)).to_requests().unwrap();
        let actions: Vec<&str> = r.iter().map(RpcRequest::action).collect();
        assert_eq!(
            actions,
            [
                "ModifyVServerGroupBackendServers",
                "RemoveVServerGroupBackendServers",
                "RemoveVServerGroupBackendServers"
            ]
        );
    }

    #[test]
    fn bad_backends_fail_before_any_call() {
        let g: VServerGroupId = "rsp-bp1a".parse().unwrap();
        let mut b = pods(30, 80);
        b[25].weight = 101;
        let e = client().vserver_groups().add_backends(&g, b.clone()).to_requests().unwrap_err();
        assert!(matches!(e, Error::InvalidWeight { weight: 101, .. }), "{e:?}");
        let lb: LoadBalancerId = "lb-bp1a".parse().unwrap();
        let e = client().vserver_groups().create(&lb, "g").backends(b).to_request().unwrap_err();
        assert!(matches!(e, Error::InvalidWeight { .. }), "a bad backend of a later batch is caught too");
    }

    #[test]
    fn decodes_groups() {
        let json = r#"{"VServerGroups":{"VServerGroup":[{"VServerGroupId":"rsp-a1","VServerGroupName":"g","ServerCount":2,
            "AssociatedObjects":{"Listeners":{"Listener":[{"Port":80,"Protocol":"tcp"}]},"Rules":{"Rule":[]}}}]}}"#;
        let a: DescribeAnswer = serde_json::from_str(json).unwrap();
        assert_eq!(a.groups[0].server_count, Some(2));
        assert_eq!(a.groups[0].associated.listeners[0].port, 80);
    }
}
