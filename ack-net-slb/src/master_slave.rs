//! Master/slave server groups: CreateMasterSlaveServerGroup, DescribeMasterSlaveServerGroups,
//! DescribeMasterSlaveServerGroupAttribute, DeleteMasterSlaveServerGroup.

use ack_net_core::Removed;
use ack_net_core::{Product, RpcRequest};
use serde::Deserialize;

use crate::backend::{encode_master_slave_backend_servers, MasterSlaveBackend, WireBackend};
use crate::common::{add_tags, deleted, opt_string, validate_text, wire_tags, wrapped};
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

#[derive(Deserialize)]
struct CreateAnswer {
    #[serde(rename = "MasterSlaveServerGroupId")]
    id: MasterSlaveServerGroupId,
}

#[derive(Deserialize)]
struct DescribeAnswer {
    #[serde(rename = "MasterSlaveServerGroups", default, deserialize_with = "wrapped")]
    groups: Vec<MasterSlaveGroup>,
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
        CreateMasterSlaveGroup {
            client: self.client.clone(),
            load_balancer_id: load_balancer_id.clone(),
            name: name.into(),
            backends,
            tags: Vec::new(),
        }
    }

    /// DescribeMasterSlaveServerGroups: the groups of a load balancer (without backends).
    pub async fn describe(
        &self,
        load_balancer_id: &LoadBalancerId,
        include_listener: bool,
    ) -> Result<Vec<MasterSlaveGroup>, Error> {
        let req = RpcRequest::read(Product::Slb, "DescribeMasterSlaveServerGroups")
            .param("LoadBalancerId", load_balancer_id)
            .opt_param("IncludeListener", include_listener.then_some(true));
        let a: DescribeAnswer = self.client.call(req).await?;
        Ok(a.groups)
    }

    /// DescribeMasterSlaveServerGroupAttribute: one group with its backends.
    pub async fn get(&self, id: &MasterSlaveServerGroupId) -> Result<MasterSlaveGroup, Error> {
        let req = RpcRequest::read(Product::Slb, "DescribeMasterSlaveServerGroupAttribute")
            .param("MasterSlaveServerGroupId", id);
        self.client.call(req).await
    }

    /// DeleteMasterSlaveServerGroup: [`Removed::Now`] when this call deleted it, [`Removed::Already`] when it was
    /// already gone.
    pub async fn delete(&self, id: &MasterSlaveServerGroupId) -> Result<Removed, Error> {
        let req = RpcRequest::write(Product::Slb, "DeleteMasterSlaveServerGroup").param("MasterSlaveServerGroupId", id);
        deleted(self.client.call_unit(req).await, GROUP_GONE)
    }
}

/// A CreateMasterSlaveServerGroup request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct CreateMasterSlaveGroup {
    client: SlbClient,
    load_balancer_id: LoadBalancerId,
    name: String,
    backends: Vec<MasterSlaveBackend>,
    tags: Vec<Tag>,
}

impl CreateMasterSlaveGroup {
    /// Adds a tag.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// The request as it will be sent; checks the backends first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        validate_text("MasterSlaveServerGroupName", &self.name, 128)?;
        let masters = self.backends.iter().filter(|b| b.server_type == ServerType::Master).count();
        let slaves = self.backends.iter().filter(|b| b.server_type == ServerType::Slave).count();
        if masters != 1 || slaves > 1 || masters + slaves != self.backends.len() {
            return Err(Error::invalid_input(
                "MasterSlaveBackendServers",
                "one Master backend and at most one Slave backend",
            ));
        }
        let req = RpcRequest::write(Product::Slb, "CreateMasterSlaveServerGroup")
            .param("LoadBalancerId", &self.load_balancer_id)
            .param("MasterSlaveServerGroupName", &self.name)
            .param("MasterSlaveBackendServers", encode_master_slave_backend_servers(&self.backends)?);
        add_tags(req, &self.tags)
    }

    /// Sends the request; returns the new group's id.
    pub async fn send(self) -> Result<MasterSlaveServerGroupId, Error> {
        let a: CreateAnswer = self.client.call(self.to_request()?).await?;
        Ok(a.id)
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
        let m = MasterSlaveBackend { backend: Backend::ecs("i-a", 80), server_type: ServerType::Master };
        let s = MasterSlaveBackend { backend: Backend::ecs("i-b", 80), server_type: ServerType::Slave };
        let groups = client().master_slave_groups();
        assert!(groups.create(&lb, "ms", vec![m.clone(), s.clone()]).to_request().is_ok());
        assert!(groups.create(&lb, "ms", vec![s.clone()]).to_request().is_err());
        assert!(groups.create(&lb, "ms", vec![m.clone(), m.clone()]).to_request().is_err());
        assert!(groups.create(&lb, "ms", vec![m, s.clone(), s]).to_request().is_err());
    }
}
