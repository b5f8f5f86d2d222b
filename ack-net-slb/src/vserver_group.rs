//! VServer groups: create (empty or with backends), describe, add, remove, set and replace
//! backends in batches, delete.

use ack_net_core::operation::{self, Ack};
use ack_net_core::Removed;
use ack_net_core::RpcRequest;
use serde::Deserialize;

use crate::backend::{Backend, BackendServers, WireBackend};
use crate::common::{opt_string, validate_tags, validate_text, wire_tags, wrapped};
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

/// What the backend calls answer: the group's backends.
#[derive(Deserialize)]
pub(crate) struct BackendsAnswer {
    #[serde(rename = "BackendServers", default, deserialize_with = "backends")]
    backends: Vec<Backend>,
}

/// What [`CreateVServerGroup`] made.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CreatedVServerGroup {
    /// The new group.
    #[serde(rename = "VServerGroupId")]
    pub vserver_group_id: VServerGroupId,
    /// Its backends, as the last call answered.
    #[serde(rename = "BackendServers", default, deserialize_with = "backends")]
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
        let mut op = CreateVServerGroup::new(self.client.rpc(), load_balancer_id.clone(), name.into());
        op.batch_size = self.client.batch_size();
        op
    }

    /// DescribeVServerGroups: the groups of a load balancer.
    pub fn describe(&self, load_balancer_id: &LoadBalancerId) -> DescribeVServerGroups {
        DescribeVServerGroups::new(self.client.rpc(), load_balancer_id.clone())
    }

    /// DescribeVServerGroupAttribute: one group with its backends.
    pub async fn get(&self, id: &VServerGroupId) -> Result<VServerGroup, Error> {
        DescribeVServerGroupAttribute::new(self.client.rpc(), id.clone()).send().await
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
        SetVServerGroupName::new(self.client.rpc(), id.clone(), name.to_owned()).send().await
    }

    /// DeleteVServerGroup: [`Removed::Now`] when this call deleted it, [`Removed::Already`]
    /// when it was already gone. Refused (`RspoolVipExist`) while a listener or rule uses it.
    pub async fn delete(&self, id: &VServerGroupId) -> Result<Removed, Error> {
        DeleteVServerGroup::new(self.client.rpc(), id.clone()).send().await
    }
}

ack_net_core::operation! {
    /// A DescribeVServerGroupAttribute request (see [`VServerGroups::get`]).
    pub(crate) struct DescribeVServerGroupAttribute: crate::SLB, "DescribeVServerGroupAttribute", read
        -> VServerGroup, Error;
    required {
        vserver_group_id: VServerGroupId = "VServerGroupId";
    }
    optional {}
}

ack_net_core::operation! {
    /// A SetVServerGroupAttribute request that renames a group (see [`VServerGroups::set_name`]).
    pub(crate) struct SetVServerGroupName: crate::SLB, "SetVServerGroupAttribute", write
        -> () as Ack => |_| (), Error;
    required {
        vserver_group_id: VServerGroupId = "VServerGroupId";
        name: String = "VServerGroupName";
    }
    optional {}
    check: |op: &Self| validate_text("VServerGroupName", &op.name, 128);
}

ack_net_core::operation! {
    /// A DeleteVServerGroup request (see [`VServerGroups::delete`]).
    pub(crate) struct DeleteVServerGroup: crate::SLB, "DeleteVServerGroup", write -> Ack, Error;
    required {
        vserver_group_id: VServerGroupId = "VServerGroupId";
    }
    optional {}
    gone: |e: &Error| e.is_gone(GROUP_GONE);
}

ack_net_core::operation! {
    /// A CreateVServerGroup request.
    ///
    /// ```no_run
    /// # async fn demo(slb: ack_net_slb::SlbClient, lb: ack_net_slb::LoadBalancerId) -> Result<(), ack_net_slb::Error> {
    /// use ack_net_slb::Backend;
    /// let pods: Vec<Backend> = (1..=45u8)
    ///     .map(|i| Backend::eni(&"eni-bp1abc".parse().unwrap(), format!("10.0.1.{i}").parse().unwrap(), 8080))
    ///     .collect();
    /// // One CreateVServerGroup with 20 backends, then two AddVServerGroupBackendServers.
    /// let group = slb.vserver_groups().create(&lb, "web-8080").backends(pods).send().await?;
    /// println!("{} holds {}", group.vserver_group_id, group.backends.len());
    /// # Ok(()) }
    /// ```
    pub struct CreateVServerGroup: crate::SLB, "CreateVServerGroup", write -> CreatedVServerGroup, Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        name: String = "VServerGroupName";
    }
    optional {
        /// The backends of the create call itself (the client's batch size).
        first: BackendServers = "BackendServers" => by_hand(Backend);
        /// Tags for the new group.
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
    }
    local {
        /// The backends that later AddVServerGroupBackendServers calls add.
        later: Vec<Backend>;
        /// How many backends one call carries.
        batch_size: usize;
    }
    check: Self::check_input;
    send: by_hand;
}

impl CreateVServerGroup {
    /// The backends to start with.
    pub fn backends(mut self, mut backends: Vec<Backend>) -> Self {
        self.later = backends.split_off(backends.len().min(self.batch_size.max(1)));
        self.first = BackendServers(backends);
        self
    }

    /// Checks the name, the tags and every backend, also those of later batches.
    fn check_input(&self) -> Result<(), Error> {
        validate_text("VServerGroupName", &self.name, 128)?;
        for b in self.first.0.iter().chain(&self.later) {
            b.validate()?;
        }
        Ok(validate_tags(&self.tags)?)
    }

    /// Sends the create, then the remaining batches.
    pub async fn send(self) -> Result<CreatedVServerGroup, Error> {
        let mut created = operation::send(&self).await?;
        if !self.later.is_empty() {
            let client = SlbClient::new(self.rpc.clone()).with_batch_size(self.batch_size);
            let batches = BackendBatches::new(&client, &created.vserver_group_id, BatchKind::Add(self.later));
            created.backends = batches.send().await?;
        }
        Ok(created)
    }
}

ack_net_core::operation! {
    /// A DescribeVServerGroups request.
    pub struct DescribeVServerGroups: crate::SLB, "DescribeVServerGroups", read
        -> Vec<VServerGroupSummary> as VServerGroupList => |l: VServerGroupList| l.groups, Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
    }
    optional {
        /// `IncludeListener`: also list the listeners that use each group.
        include_listener: Option<bool> = "IncludeListener" => by_hand(bool);
        /// `IncludeRule`: also list the rules that use each group.
        include_rule: Option<bool> = "IncludeRule" => by_hand(bool);
    }
}

impl DescribeVServerGroups {
    /// `IncludeListener`: also list the listeners that use each group.
    pub fn include_listener(mut self, on: bool) -> Self {
        self.include_listener = on.then_some(true);
        self
    }

    /// `IncludeRule`: also list the rules that use each group.
    pub fn include_rule(mut self, on: bool) -> Self {
        self.include_rule = on.then_some(true);
        self
    }
}

/// What DescribeVServerGroups answers.
#[derive(Clone, Debug, Deserialize)]
pub struct VServerGroupList {
    /// The groups.
    #[serde(rename = "VServerGroups", default, deserialize_with = "wrapped")]
    pub groups: Vec<VServerGroupSummary>,
}

#[derive(Clone, Debug)]
enum BatchKind {
    Add(Vec<Backend>),
    Remove(Vec<Backend>),
    Set(Vec<Backend>),
    Replace(Vec<Backend>, Vec<Backend>),
}

ack_net_core::operation! {
    /// One call of a backend batch: Add/RemoveVServerGroupBackendServers,
    /// SetVServerGroupAttribute or ModifyVServerGroupBackendServers, as `call` says.
    pub(crate) struct BackendCall: crate::SLB, "AddVServerGroupBackendServers", write -> BackendsAnswer, Error;
    required {
        vserver_group_id: VServerGroupId = "VServerGroupId";
        backends: BackendServers = "BackendServers";
        old_backends: BackendServers = "OldBackendServers";
        new_backends: BackendServers = "NewBackendServers";
    }
    optional {}
    local {
        /// The action.
        call: &'static str;
    }
    check: |op: &Self| {
        for b in op.backends.0.iter().chain(&op.old_backends.0).chain(&op.new_backends.0) {
            b.validate()?;
        }
        Ok::<(), Error>(())
    };
    action: |op: &Self| op.call;
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

    /// The calls, in order.
    fn calls(&self) -> Vec<BackendCall> {
        let size = self.client.batch_size();
        let call = |action: &'static str, backends: &[Backend], old: &[Backend], new: &[Backend]| {
            let b = |l: &[Backend]| BackendServers(l.to_vec());
            let mut op = BackendCall::new(self.client.rpc(), self.group.clone(), b(backends), b(old), b(new));
            op.call = action;
            op
        };
        let each = |action: &'static str, backends: &[Backend]| -> Vec<BackendCall> {
            backends.chunks(size).map(|c| call(action, c, &[], &[])).collect()
        };
        match &self.kind {
            BatchKind::Add(b) => each("AddVServerGroupBackendServers", b),
            BatchKind::Remove(b) => each("RemoveVServerGroupBackendServers", b),
            BatchKind::Set(b) => each("SetVServerGroupAttribute", b),
            BatchKind::Replace(old, new) => {
                let (olds, news): (Vec<&[Backend]>, Vec<&[Backend]>) =
                    (old.chunks(size).collect(), new.chunks(size).collect());
                let n = olds.len().min(news.len());
                let mut out: Vec<BackendCall> = olds
                    .iter()
                    .zip(&news)
                    .map(|(o, nw)| call("ModifyVServerGroupBackendServers", &[], o, nw))
                    .collect();
                for c in &olds[n..] {
                    out.push(call("RemoveVServerGroupBackendServers", c, &[], &[]));
                }
                for c in &news[n..] {
                    out.push(call("AddVServerGroupBackendServers", c, &[], &[]));
                }
                out
            }
        }
    }

    /// The calls, in order; checks every backend first. No backends, no calls.
    pub fn to_requests(&self) -> Result<Vec<RpcRequest>, Error> {
        self.calls().iter().map(BackendCall::to_request).collect()
    }

    /// Sends the calls one after the other and returns the group's backends as the last
    /// call answered (Remove answers carry no `ServerIp`). A failure after some calls is
    /// [`Error::Batch`], which says how many were applied.
    pub async fn send(self) -> Result<Vec<Backend>, Error> {
        self.to_requests()?;
        let calls = self.calls();
        let total = calls.len();
        let mut backends = Vec::new();
        for (i, call) in calls.into_iter().enumerate() {
            let action = call.call;
            match call.send().await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};

    fn pods(n: usize, port: u16) -> Vec<Backend> {
        (0..n)
            .map(|i| {
                Backend::eni(
                    &"eni-bp1a".parse().unwrap(),
                    format!("10.0.{}.{}", i / 250, i % 250 + 1).parse().unwrap(),
                    port,
                )
            })
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
        let a: VServerGroupList = serde_json::from_str(json).unwrap();
        assert_eq!(a.groups[0].server_count, Some(2));
        assert_eq!(a.groups[0].associated.listeners[0].port, 80);
    }
}
