//! The cloud operations the pool needs, as a small async trait ([`PoolCloud`]), and its
//! implementation over the typed ECS and VPC APIs ([`EcsPoolCloud`]). Put your own cache, a
//! second account or a fake behind the trait.

use ack_net_core::ErrorInfo;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ack_net_core::RpcClient;
use ack_net_vpc::{VSwitchCapacity, VSwitchSource, VpcClient};
use async_trait::async_trait;
use futures_util::TryStreamExt;
use ipnet::{Ipv4Net, Ipv6Net};

use crate::{
    EcsClient, EniId, EniStatus, EniType, Error, InstanceId, InstanceTypeId, InstanceTypeLimits, Mac, NetworkInterface,
    Removed, SecurityGroupId, Tag, VSwitchId, WaitPolicy, ZoneId,
};

/// An ENI as the pool sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EniInfo {
    /// The id.
    pub id: EniId,
    /// Its status.
    pub status: EniStatus,
    /// Primary, Secondary...
    pub eni_type: EniType,
    /// The instance it is attached to.
    pub instance_id: Option<InstanceId>,
    /// Its device index there.
    pub device_index: Option<u32>,
    /// The MAC address.
    pub mac: Mac,
    /// Its VSwitch.
    pub vswitch_id: VSwitchId,
    /// Its zone, when known.
    pub zone_id: Option<ZoneId>,
    /// The primary IPv4 address.
    pub primary_ip: Ipv4Addr,
    /// Secondary IPv4 addresses.
    pub secondary_ips: Vec<Ipv4Addr>,
    /// IPv6 addresses.
    pub ipv6: Vec<Ipv6Addr>,
    /// Tags.
    pub tags: Vec<Tag>,
}

impl EniInfo {
    /// An ENI with no secondary address, IPv6 or tag, `Available` and `Secondary`.
    pub fn new(id: EniId, mac: Mac, vswitch_id: VSwitchId, primary_ip: Ipv4Addr) -> Self {
        Self {
            id,
            status: EniStatus::Available,
            eni_type: EniType::Secondary,
            instance_id: None,
            device_index: None,
            mac,
            vswitch_id,
            zone_id: None,
            primary_ip,
            secondary_ips: Vec::new(),
            ipv6: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }

    /// Whether it is `InUse` on `instance`.
    pub fn is_in_use_on(&self, instance: &InstanceId) -> bool {
        self.status == EniStatus::InUse && self.instance_id.as_ref() == Some(instance)
    }
}

impl From<NetworkInterface> for EniInfo {
    fn from(n: NetworkInterface) -> Self {
        Self {
            id: n.id,
            status: n.status,
            eni_type: n.eni_type,
            instance_id: n.instance_id,
            device_index: n.device_index,
            mac: n.mac,
            vswitch_id: n.vswitch_id,
            zone_id: n.zone_id,
            primary_ip: n.primary_ip,
            secondary_ips: n.secondary_ips,
            ipv6: n.ipv6,
            tags: n.tags,
        }
    }
}

/// A VSwitch as the pool and [`PodNetwork`](crate::pod_network::PodNetwork) need it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VSwitchInfo {
    /// The id.
    pub vswitch_id: VSwitchId,
    /// Its zone.
    pub zone_id: ZoneId,
    /// Its IPv4 block.
    pub cidr: Ipv4Net,
    /// Its IPv6 block, when IPv6 is enabled.
    pub ipv6_cidr: Option<Ipv6Net>,
}

impl VSwitchInfo {
    /// A VSwitch without IPv6.
    pub fn new(vswitch_id: VSwitchId, zone_id: ZoneId, cidr: Ipv4Net) -> Self {
        Self { vswitch_id, zone_id, cidr, ipv6_cidr: None }
    }

    /// With an IPv6 block.
    pub fn with_ipv6(mut self, cidr: Ipv6Net) -> Self {
        self.ipv6_cidr = Some(cidr);
        self
    }
}

/// What to create: CreateNetworkInterface's parameters as the pool uses them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateEniSpec {
    /// The VSwitch.
    pub vswitch_id: VSwitchId,
    /// Security groups.
    pub security_groups: Vec<SecurityGroupId>,
    /// Secondary IPv4 addresses to create the ENI with (at most 10).
    pub secondary_ipv4: u32,
    /// IPv6 addresses to create the ENI with (at most 10).
    pub ipv6: u32,
    /// Tags: the pool's owner tags and the intent tag.
    pub tags: Vec<Tag>,
    /// The ClientToken (also the intent tag's value).
    pub client_token: String,
}

/// The cloud operations an [`IpPool`](crate::pool::IpPool) makes. Every method is one API
/// call, except the waiters and [`PoolCloud::detach_and_delete`].
#[async_trait]
pub trait PoolCloud: Send + Sync {
    /// The ENI and address quotas of an instance type.
    async fn instance_limits(&self, instance_type: &InstanceTypeId) -> Result<InstanceTypeLimits, Error>;
    /// A VSwitch's zone and blocks.
    async fn vswitch(&self, id: &VSwitchId) -> Result<VSwitchInfo, Error>;
    /// Every ENI attached to (or attaching to, or detaching from) the instance.
    async fn instance_enis(&self, instance: &InstanceId) -> Result<Vec<EniInfo>, Error>;
    /// Every ENI carrying all these tags, wherever it is.
    async fn tagged_enis(&self, tags: &[Tag]) -> Result<Vec<EniInfo>, Error>;
    /// One ENI (DescribeNetworkInterfaceAttribute); `None` when it does not exist.
    async fn eni(&self, id: &EniId) -> Result<Option<EniInfo>, Error>;
    /// CreateNetworkInterface.
    async fn create_eni(&self, spec: &CreateEniSpec) -> Result<EniInfo, Error>;
    /// AttachNetworkInterface (asynchronous).
    async fn attach_eni(&self, eni: &EniId, instance: &InstanceId) -> Result<(), Error>;
    /// Waits until the ENI is `InUse` on the instance.
    async fn wait_in_use(&self, eni: &EniId, instance: &InstanceId, policy: &WaitPolicy) -> Result<EniInfo, Error>;
    /// DeleteNetworkInterface of an `Available` ENI; one that is gone counts as deleted.
    async fn delete_eni(&self, eni: &EniId) -> Result<Removed, Error>;
    /// Detaches (if attached), waits until `Available`, deletes; idempotent.
    async fn detach_and_delete(&self, eni: &EniId, policy: &WaitPolicy) -> Result<Removed, Error>;
    /// AssignPrivateIpAddresses of `count` (1-10) addresses.
    async fn assign_ipv4(&self, eni: &EniId, count: u32, client_token: &str) -> Result<Vec<Ipv4Addr>, Error>;
    /// AssignIpv6Addresses of `count` (1-10) addresses.
    async fn assign_ipv6(&self, eni: &EniId, count: u32, client_token: &str) -> Result<Vec<Ipv6Addr>, Error>;
    /// UnassignPrivateIpAddresses; addresses already gone count as removed.
    async fn unassign_ipv4(&self, eni: &EniId, ips: &[Ipv4Addr]) -> Result<Removed, Error>;
    /// UnassignIpv6Addresses; addresses already gone count as removed.
    async fn unassign_ipv6(&self, eni: &EniId, ips: &[Ipv6Addr]) -> Result<Removed, Error>;
}

/// [`PoolCloud`] and [`VSwitchSource`] over the typed ECS ([`EcsClient`]) and VPC
/// ([`VpcClient`]) APIs, sharing one [`RpcClient`] (its retries, rate limits and observers).
#[derive(Clone, Debug)]
pub struct EcsPoolCloud {
    ecs: EcsClient,
    vpc: VpcClient,
}

impl EcsPoolCloud {
    /// Both APIs over `rpc`.
    pub fn new(rpc: RpcClient) -> Self {
        Self { ecs: EcsClient::new(rpc.clone()), vpc: VpcClient::new(rpc) }
    }

    /// From existing clients (e.g. to share the ECS client's instance-type cache).
    pub fn from_clients(ecs: EcsClient, vpc: VpcClient) -> Self {
        Self { ecs, vpc }
    }

    /// As the two trait objects an [`IpPool`](crate::pool::IpPool) takes.
    pub fn into_arcs(self) -> (Arc<dyn PoolCloud>, Arc<dyn VSwitchSource>) {
        let a = Arc::new(self);
        (a.clone(), a)
    }
}

#[async_trait]
impl VSwitchSource for EcsPoolCloud {
    async fn describe_capacity(&self, vswitches: &[VSwitchId]) -> Result<Vec<VSwitchCapacity>, ack_net_vpc::Error> {
        self.vpc.describe_capacity(vswitches).await
    }
}

fn vpc_err(e: ack_net_vpc::Error) -> Error {
    match e {
        ack_net_vpc::Error::Api(e) => Error::Api(e),
        other => Error::invalid_input("VSwitch", other.to_string()),
    }
}

#[async_trait]
impl PoolCloud for EcsPoolCloud {
    async fn instance_limits(&self, instance_type: &InstanceTypeId) -> Result<InstanceTypeLimits, Error> {
        self.ecs.instance_types().limits(instance_type).await
    }

    async fn vswitch(&self, id: &VSwitchId) -> Result<VSwitchInfo, Error> {
        let v = self.vpc.vswitches().get(id).await.map_err(vpc_err)?;
        let ipv6_cidr = match v.ipv6_cidr_block.trim() {
            "" => None,
            s => Some(s.parse::<Ipv6Net>().map_err(|_| {
                Error::invalid_input("Ipv6CidrBlock", format!("VSwitch {id} answered {s:?}, not an IPv6 block"))
            })?),
        };
        Ok(VSwitchInfo { vswitch_id: v.vswitch_id, zone_id: v.zone_id, cidr: v.cidr_block, ipv6_cidr })
    }

    async fn instance_enis(&self, instance: &InstanceId) -> Result<Vec<EniInfo>, Error> {
        let s = self.ecs.network_interfaces().describe().instance_id(instance).into_stream();
        s.map_ok(EniInfo::from).try_collect().await
    }

    async fn tagged_enis(&self, tags: &[Tag]) -> Result<Vec<EniInfo>, Error> {
        let mut req = self.ecs.network_interfaces().describe();
        for t in tags {
            req = req.tag(t.clone());
        }
        let mut out: Vec<EniInfo> = req.into_stream().map_ok(EniInfo::from).try_collect().await?;
        // Filters are the cloud's; check again, as nothing foreign may be touched.
        out.retain(|e| tags.iter().all(|t| e.tag(&t.key) == Some(t.value.as_str())));
        Ok(out)
    }

    async fn eni(&self, id: &EniId) -> Result<Option<EniInfo>, Error> {
        match self.ecs.network_interfaces().get(id).await {
            Ok(e) => Ok(Some(e.into())),
            Err(e) if e.is_code("InvalidEniId.NotFound") => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create_eni(&self, spec: &CreateEniSpec) -> Result<EniInfo, Error> {
        let mut req = self
            .ecs
            .network_interfaces()
            .create(&spec.vswitch_id)
            .security_groups(spec.security_groups.iter().cloned())
            .tags(spec.tags.iter().cloned())
            .client_token(spec.client_token.as_str());
        if spec.secondary_ipv4 > 0 {
            req = req.secondary_ip_count(spec.secondary_ipv4);
        }
        if spec.ipv6 > 0 {
            req = req.ipv6_count(spec.ipv6);
        }
        req.send().await.map(EniInfo::from)
    }

    async fn attach_eni(&self, eni: &EniId, instance: &InstanceId) -> Result<(), Error> {
        self.ecs.network_interfaces().attach(eni, instance).send().await
    }

    async fn wait_in_use(&self, eni: &EniId, instance: &InstanceId, policy: &WaitPolicy) -> Result<EniInfo, Error> {
        self.ecs.network_interfaces().wait_until_in_use(eni, instance, policy).await.map(EniInfo::from)
    }

    async fn delete_eni(&self, eni: &EniId) -> Result<Removed, Error> {
        self.ecs.network_interfaces().delete(eni).send().await
    }

    async fn detach_and_delete(&self, eni: &EniId, policy: &WaitPolicy) -> Result<Removed, Error> {
        self.ecs.network_interfaces().detach_and_delete(eni, policy).await.map(|d| d.deleted)
    }

    async fn assign_ipv4(&self, eni: &EniId, count: u32, client_token: &str) -> Result<Vec<Ipv4Addr>, Error> {
        self.ecs.network_interfaces().assign_private_ips(eni).count(count).client_token(client_token).send().await
    }

    async fn assign_ipv6(&self, eni: &EniId, count: u32, client_token: &str) -> Result<Vec<Ipv6Addr>, Error> {
        self.ecs.network_interfaces().assign_ipv6(eni).count(count).client_token(client_token).send().await
    }

    async fn unassign_ipv4(&self, eni: &EniId, ips: &[Ipv4Addr]) -> Result<Removed, Error> {
        self.ecs.network_interfaces().unassign_private_ips(eni, ips.iter().copied()).send().await
    }

    async fn unassign_ipv6(&self, eni: &EniId, ips: &[Ipv6Addr]) -> Result<Removed, Error> {
        self.ecs.network_interfaces().unassign_ipv6(eni, ips.iter().copied()).send().await
    }
}
