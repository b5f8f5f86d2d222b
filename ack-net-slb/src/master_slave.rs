//! Master/slave server groups: CreateMasterSlaveServerGroup, DescribeMasterSlaveServerGroups,
//! DescribeMasterSlaveServerGroupAttribute, DeleteMasterSlaveServerGroup.

use ack_net_core::operation::Ack;
use ack_net_core::Removed;
use serde::Deserialize;

use crate::backend::{MasterSlaveBackend, MasterSlaveBackendServers, WireBackend};
use crate::common::{opt_string, validate_tags, validate_text, wire_tags, wrapped};
use crate::types::ServerType;
use crate::vserver_group::AssociatedObjects;
use crate::{Error, LoadBalancerId, MasterSlaveServerGroupId, SlbClient, Tag};

/// Message fragments with which the API says a master/slave group does not exist.
const GROUP_GONE: &[&str] = &["MasterSlaveGroupId does not exist", "MasterSlaveServerGroupId does not exist"];

fn ms_backends<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<MasterSlaveBackend>, D::Error> {
    Ok(wrapped::<D, WireBackend>(d)?.into_iter().map(WireBackend::into_master_slave).collect())
}

/// A master/slave group with its backends.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct MasterSlaveGroup {
    /// `MasterSlaveServerGroupId`.
    #[serde(rename = "MasterSlaveServerGroupId")]
    pub id: MasterSlaveServerGroupId,
    /// `MasterSlaveServerGroupName`.
    #[serde(rename = "MasterSlaveServerGroupName", default, deserialize_with = "ack_net_core::de::string")]
    pub name: String,
    /// `LoadBalancerId` (DescribeMasterSlaveServerGroupAttribute only).
    #[serde(rename = "LoadBalancerId", default, deserialize_with = "crate::common::opt_parsed")]
    pub load_balancer_id: Option<LoadBalancerId>,
    /// `MasterSlaveBackendServers` (DescribeMasterSlaveServerGroupAttribute only).
    #[serde(rename = "MasterSlaveBackendServers", default, deserialize_with = "ms_backends")]
    pub backends: Vec<MasterSlaveBackend>,
    /// `Tags`.
    #[serde(rename = "Tags", default, deserialize_with = "wire_tags")]
    pub tags: Vec<Tag>,
    /// `CreateTime`.
    #[serde(rename = "CreateTime", default, deserialize_with = "opt_string")]
    pub create_time: Option<String>,
    /// The listeners that use it (DescribeMasterSlaveServerGroups with `include_listener`).
    #[serde(rename = "AssociatedObjects", default)]
    pub associated: AssociatedObjects,
}

/// What CreateMasterSlaveServerGroup answers.
#[derive(Clone, Debug, Deserialize)]
pub struct CreatedMasterSlaveGroup {
    /// The new group.
    #[serde(rename = "MasterSlaveServerGroupId")]
    pub id: MasterSlaveServerGroupId,
}

/// What DescribeMasterSlaveServerGroups answers.
#[derive(Clone, Debug, Deserialize)]
pub struct MasterSlaveGroupList {
    /// The groups.
    #[serde(rename = "MasterSlaveServerGroups", default, deserialize_with = "wrapped")]
    pub groups: Vec<MasterSlaveGroup>,
}

/// Master/slave group operations; from [`SlbClient::master_slave_groups`].
#[derive(Clone, Debug)]
pub struct MasterSlaveGroups {
    client: SlbClient,
}

impl MasterSlaveGroups {
    pub(crate) fn new(client: SlbClient) -> Self {
        Self { client }
    }

    /// CreateMasterSlaveServerGroup: one `Master` backend and at most one `Slave`.
    pub fn create(
        &self,
        load_balancer_id: &LoadBalancerId,
        name: impl Into<String>,
        backends: Vec<MasterSlaveBackend>,
    ) -> CreateMasterSlaveGroup {
        let backends = MasterSlaveBackendServers(backends);
        CreateMasterSlaveGroup::new(self.client.rpc(), load_balancer_id.clone(), name.into(), backends)
    }

    /// DescribeMasterSlaveServerGroups: the groups of a load balancer (without backends).
    pub async fn describe(
        &self,
        load_balancer_id: &LoadBalancerId,
        include_listener: bool,
    ) -> Result<Vec<MasterSlaveGroup>, Error> {
        let include = include_listener.then_some(true);
        DescribeMasterSlaveServerGroups::new(self.client.rpc(), load_balancer_id.clone(), include).send().await
    }

    /// DescribeMasterSlaveServerGroupAttribute: one group with its backends.
    pub async fn get(&self, id: &MasterSlaveServerGroupId) -> Result<MasterSlaveGroup, Error> {
        DescribeMasterSlaveServerGroupAttribute::new(self.client.rpc(), id.clone()).send().await
    }

    /// DeleteMasterSlaveServerGroup: [`Removed::Now`] when this call deleted it, [`Removed::Already`] when it was
    /// already gone.
    pub async fn delete(&self, id: &MasterSlaveServerGroupId) -> Result<Removed, Error> {
        DeleteMasterSlaveServerGroup::new(self.client.rpc(), id.clone()).send().await
    }
}

ack_net_core::operation! {
    /// A DescribeMasterSlaveServerGroups request (see [`MasterSlaveGroups::describe`]).
    pub(crate) struct DescribeMasterSlaveServerGroups: crate::SLB, "DescribeMasterSlaveServerGroups", read
        -> Vec<MasterSlaveGroup> as MasterSlaveGroupList => |l: MasterSlaveGroupList| l.groups, Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        include_listener: Option<bool> = "IncludeListener";
    }
    optional {}
}

ack_net_core::operation! {
    /// A DescribeMasterSlaveServerGroupAttribute request (see [`MasterSlaveGroups::get`]).
    pub(crate) struct DescribeMasterSlaveServerGroupAttribute: crate::SLB,
        "DescribeMasterSlaveServerGroupAttribute", read -> MasterSlaveGroup, Error;
    required {
        id: MasterSlaveServerGroupId = "MasterSlaveServerGroupId";
    }
    optional {}
}

ack_net_core::operation! {
    /// A DeleteMasterSlaveServerGroup request (see [`MasterSlaveGroups::delete`]).
    pub(crate) struct DeleteMasterSlaveServerGroup: crate::SLB, "DeleteMasterSlaveServerGroup", write -> Ack, Error;
    required {
        id: MasterSlaveServerGroupId = "MasterSlaveServerGroupId";
    }
    optional {}
    gone: |e: &Error| e.is_gone(GROUP_GONE);
}

ack_net_core::operation! {
    /// A CreateMasterSlaveServerGroup request; answers the new group's id. Checked first: the
    /// name, one `Master` backend and at most one `Slave`, every backend, the tags.
    pub struct CreateMasterSlaveGroup: crate::SLB, "CreateMasterSlaveServerGroup", write
        -> MasterSlaveServerGroupId as CreatedMasterSlaveGroup => |c: CreatedMasterSlaveGroup| c.id, Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        name: String = "MasterSlaveServerGroupName";
        backends: MasterSlaveBackendServers = "MasterSlaveBackendServers";
    }
    optional {
        /// Tags for the new group.
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
    }
    check: Self::check_input;
}

impl CreateMasterSlaveGroup {
    fn check_input(&self) -> Result<(), Error> {
        validate_text("MasterSlaveServerGroupName", &self.name, 128)?;
        let backends = &self.backends.0;
        let masters = backends.iter().filter(|b| b.server_type == ServerType::Master).count();
        let slaves = backends.iter().filter(|b| b.server_type == ServerType::Slave).count();
        if masters != 1 || slaves > 1 || masters + slaves != backends.len() {
            return Err(Error::invalid_input(
                "MasterSlaveBackendServers",
                "one Master backend and at most one Slave backend",
            ));
        }
        for b in backends {
            b.backend.validate()?;
        }
        Ok(validate_tags(&self.tags)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::client;
    use crate::Backend;

    #[test]
    fn needs_one_master() {
        let lb: LoadBalancerId = "lb-a1".parse().unwrap();
        let m =
            MasterSlaveBackend { backend: Backend::ecs(&"i-a".parse().unwrap(), 80), server_type: ServerType::Master };
        let s =
            MasterSlaveBackend { backend: Backend::ecs(&"i-b".parse().unwrap(), 80), server_type: ServerType::Slave };
        let groups = client().master_slave_groups();
        assert!(groups.create(&lb, "ms", vec![m.clone(), s.clone()]).to_request().is_ok());
        assert!(groups.create(&lb, "ms", vec![s.clone()]).to_request().is_err());
        assert!(groups.create(&lb, "ms", vec![m.clone(), m.clone()]).to_request().is_err());
        assert!(groups.create(&lb, "ms", vec![m, s.clone(), s]).to_request().is_err());
    }
}
