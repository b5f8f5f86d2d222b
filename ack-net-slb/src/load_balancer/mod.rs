//! Load balancers: CreateLoadBalancer, DescribeLoadBalancers, DescribeLoadBalancerAttribute,
//! DeleteLoadBalancer, the Set/Modify calls, and waiting until one is active.

mod create;
mod describe;

pub use create::{CreateLoadBalancer, CreateLoadBalancerResponse};
pub use describe::{DescribeLoadBalancers, LoadBalancerPage};

use ack_net_core::Removed;
use std::net::IpAddr;

use ack_net_core::input::validate_opt_text;
use ack_net_core::operation::Ack;
use ack_net_core::ZoneId;
use serde::Deserialize;

use crate::common::{check_range, on_off, on_off_bool, opt_parsed, opt_string, validate_text, wire_tags, wrapped};
use crate::types::{
    AddressIpVersion, AddressType, InstanceChargeType, InstanceSpec, InternetChargeType, ListenerProtocol,
    LoadBalancerStatus, ModificationProtectionStatus, NetworkType,
};
use crate::wait::{wait_until, Look};
use crate::{Error, LoadBalancerId, SlbClient, Tag, VSwitchId, VpcId, WaitPolicy};

/// The largest page DescribeLoadBalancers returns.
pub const MAX_LOAD_BALANCERS_PAGE: u32 = 100;

/// Message fragments with which the API says a load balancer does not exist.
const LB_GONE: &[&str] = &["LoadBalancerId does not exist"];

/// A load balancer, as DescribeLoadBalancers and DescribeLoadBalancerAttribute answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct LoadBalancer {
    /// `LoadBalancerId`.
    #[serde(rename = "LoadBalancerId")]
    pub load_balancer_id: LoadBalancerId,
    /// `LoadBalancerName`.
    #[serde(rename = "LoadBalancerName", default, deserialize_with = "ack_net_core::de::string")]
    pub name: String,
    /// `LoadBalancerStatus`.
    #[serde(rename = "LoadBalancerStatus")]
    pub status: LoadBalancerStatus,
    /// `Address`: the VIP (a VSwitch address for intranet, a public one for internet).
    #[serde(rename = "Address")]
    pub address: IpAddr,
    /// `AddressType`.
    #[serde(rename = "AddressType")]
    pub address_type: AddressType,
    /// `AddressIPVersion`.
    #[serde(rename = "AddressIPVersion", default, deserialize_with = "opt_parsed")]
    pub address_ip_version: Option<AddressIpVersion>,
    /// `NetworkType`.
    #[serde(rename = "NetworkType", default, deserialize_with = "opt_parsed")]
    pub network_type: Option<NetworkType>,
    /// `VpcId` (intranet load balancers).
    #[serde(rename = "VpcId", default, deserialize_with = "opt_parsed")]
    pub vpc_id: Option<VpcId>,
    /// `VSwitchId` (intranet load balancers).
    #[serde(rename = "VSwitchId", default, deserialize_with = "opt_parsed")]
    pub vswitch_id: Option<VSwitchId>,
    /// `LoadBalancerSpec`; `None` for pay-by-CLCU and shared instances.
    #[serde(rename = "LoadBalancerSpec", default, deserialize_with = "opt_parsed")]
    pub spec: Option<InstanceSpec>,
    /// `InstanceChargeType`.
    #[serde(rename = "InstanceChargeType", default, deserialize_with = "opt_parsed")]
    pub instance_charge_type: Option<InstanceChargeType>,
    /// `InternetChargeType`.
    #[serde(rename = "InternetChargeType", default, deserialize_with = "opt_parsed")]
    pub internet_charge_type: Option<InternetChargeType>,
    /// `Bandwidth` in Mbit/s (pay-by-bandwidth internet instances).
    #[serde(rename = "Bandwidth", default, deserialize_with = "ack_net_core::de::opt_number")]
    pub bandwidth: Option<u32>,
    /// `MasterZoneId`.
    #[serde(rename = "MasterZoneId", default, deserialize_with = "opt_parsed")]
    pub master_zone_id: Option<ZoneId>,
    /// `SlaveZoneId`.
    #[serde(rename = "SlaveZoneId", default, deserialize_with = "opt_parsed")]
    pub slave_zone_id: Option<ZoneId>,
    /// `DeleteProtection`.
    #[serde(rename = "DeleteProtection", default, deserialize_with = "on_off_bool")]
    pub delete_protection: bool,
    /// `ModificationProtectionStatus`.
    #[serde(rename = "ModificationProtectionStatus", default, deserialize_with = "opt_parsed")]
    pub modification_protection_status: Option<ModificationProtectionStatus>,
    /// `ModificationProtectionReason`.
    #[serde(rename = "ModificationProtectionReason", default, deserialize_with = "opt_string")]
    pub modification_protection_reason: Option<String>,
    /// `ResourceGroupId`.
    #[serde(rename = "ResourceGroupId", default, deserialize_with = "opt_string")]
    pub resource_group_id: Option<String>,
    /// `CreateTime`.
    #[serde(rename = "CreateTime", default, deserialize_with = "opt_string")]
    pub create_time: Option<String>,
    /// `Tags`.
    #[serde(rename = "Tags", default, deserialize_with = "wire_tags")]
    pub tags: Vec<Tag>,
    /// The listeners (`ListenerPortsAndProtocol`): filled by [`LoadBalancers::get`] only.
    #[serde(rename = "ListenerPortsAndProtocol", default, deserialize_with = "wrapped")]
    pub listeners: Vec<ListenerPortAndProtocol>,
}

/// A listener as DescribeLoadBalancerAttribute lists it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ListenerPortAndProtocol {
    /// `ListenerPort`.
    #[serde(rename = "ListenerPort", deserialize_with = "ack_net_core::de::number")]
    pub port: u16,
    /// `ListenerProtocol`.
    #[serde(rename = "ListenerProtocol")]
    pub protocol: ListenerProtocol,
    /// `ForwardPort` when the (HTTP) listener redirects to HTTPS.
    #[serde(rename = "ForwardPort", default, deserialize_with = "ack_net_core::de::opt_number")]
    pub forward_port: Option<u16>,
    /// `Description`.
    #[serde(rename = "Description", default, deserialize_with = "opt_string")]
    pub description: Option<String>,
}

/// Load balancer operations; from [`SlbClient::load_balancers`].
#[derive(Clone, Debug)]
pub struct LoadBalancers {
    client: SlbClient,
}

impl LoadBalancers {
    pub(crate) fn new(client: SlbClient) -> Self {
        Self { client }
    }

    /// CreateLoadBalancer.
    pub fn create(&self) -> CreateLoadBalancer {
        CreateLoadBalancer::new(self.client.rpc())
    }

    /// DescribeLoadBalancers: one page with [`DescribeLoadBalancers::send`], all of them with
    /// [`DescribeLoadBalancers::into_stream`].
    pub fn describe(&self) -> DescribeLoadBalancers {
        DescribeLoadBalancers::new(self.client.rpc())
    }

    /// DescribeLoadBalancerAttribute: the load balancer with its listeners.
    pub async fn get(&self, id: &LoadBalancerId) -> Result<LoadBalancer, Error> {
        DescribeLoadBalancerAttribute::new(self.client.rpc(), id.clone()).send().await
    }

    /// DeleteLoadBalancer (its listeners, groups and rules go with it): [`Removed::Now`] when
    /// this call deleted it, [`Removed::Already`] when it was already gone. Refused while
    /// delete protection is on.
    pub async fn delete(&self, id: &LoadBalancerId) -> Result<Removed, Error> {
        DeleteLoadBalancer::new(self.client.rpc(), id.clone()).send().await
    }

    /// SetLoadBalancerDeleteProtection.
    pub fn set_delete_protection(&self, id: &LoadBalancerId, on: bool) -> SetLoadBalancerDeleteProtection {
        SetLoadBalancerDeleteProtection::new(self.client.rpc(), id.clone(), on_off(on))
    }

    /// SetLoadBalancerModificationProtection (`reason` only with `ConsoleProtection`, at most
    /// 80 characters).
    pub fn set_modification_protection(
        &self,
        id: &LoadBalancerId,
        status: ModificationProtectionStatus,
        reason: Option<&str>,
    ) -> SetLoadBalancerModificationProtection {
        SetLoadBalancerModificationProtection::new(self.client.rpc(), id.clone(), status, reason.map(str::to_owned))
    }

    /// SetLoadBalancerName (at most 80 characters).
    pub fn set_name(&self, id: &LoadBalancerId, name: &str) -> SetLoadBalancerName {
        SetLoadBalancerName::new(self.client.rpc(), id.clone(), name.to_owned())
    }

    /// SetLoadBalancerStatus: `active` or `inactive`.
    pub fn set_status(&self, id: &LoadBalancerId, status: LoadBalancerStatus) -> SetLoadBalancerStatus {
        SetLoadBalancerStatus::new(self.client.rpc(), id.clone(), status)
    }

    /// ModifyLoadBalancerInternetSpec: the charge type and bandwidth of an internet instance.
    pub fn modify_internet_spec(
        &self,
        id: &LoadBalancerId,
        charge_type: Option<InternetChargeType>,
        bandwidth: Option<u32>,
    ) -> ModifyLoadBalancerInternetSpec {
        ModifyLoadBalancerInternetSpec::new(self.client.rpc(), id.clone(), charge_type, bandwidth)
    }

    /// ModifyLoadBalancerInstanceSpec: another spec for a pay-by-spec instance.
    pub fn modify_instance_spec(&self, id: &LoadBalancerId, spec: InstanceSpec) -> ModifyLoadBalancerInstanceSpec {
        ModifyLoadBalancerInstanceSpec::new(self.client.rpc(), id.clone(), spec)
    }

    /// Polls DescribeLoadBalancerAttribute until the load balancer is `active`, and returns
    /// it. [`Error::WaitTimeout`] when the policy's timeout passes first.
    pub async fn wait_until_active(&self, id: &LoadBalancerId, policy: &WaitPolicy) -> Result<LoadBalancer, Error> {
        wait_until(policy, "load balancer", id.as_str(), "active", || async {
            let lb = self.get(id).await?;
            Ok(if lb.status == LoadBalancerStatus::Active {
                Look::Ready(lb)
            } else {
                Look::NotYet(lb.status.to_string())
            })
        })
        .await
    }
}

ack_net_core::operation! {
    /// A DescribeLoadBalancerAttribute request (see [`LoadBalancers::get`]).
    pub(crate) struct DescribeLoadBalancerAttribute: crate::SLB, "DescribeLoadBalancerAttribute", read
        -> LoadBalancer, Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
    }
    optional {}
}

ack_net_core::operation! {
    /// A DeleteLoadBalancer request (see [`LoadBalancers::delete`]).
    pub(crate) struct DeleteLoadBalancer: crate::SLB, "DeleteLoadBalancer", write -> Ack, Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
    }
    optional {}
    gone: |e: &Error| e.is_gone(LB_GONE);
}

ack_net_core::operation! {
    /// A SetLoadBalancerDeleteProtection request.
    pub struct SetLoadBalancerDeleteProtection: crate::SLB, "SetLoadBalancerDeleteProtection", write
        -> () as Ack => |_| (), Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        delete_protection: &'static str = "DeleteProtection";
    }
    optional {}
}

ack_net_core::operation! {
    /// A SetLoadBalancerModificationProtection request; checks the status is known and the
    /// reason at most 80 characters.
    pub struct SetLoadBalancerModificationProtection: crate::SLB, "SetLoadBalancerModificationProtection", write
        -> () as Ack => |_| (), Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        status: ModificationProtectionStatus = "ModificationProtectionStatus";
        reason: Option<String> = "ModificationProtectionReason";
    }
    optional {}
    check: |op: &Self| check_modification_protection(&op.status, &op.reason);
}

/// A known status, and a reason of at most 80 characters.
pub(crate) fn check_modification_protection(
    status: &ModificationProtectionStatus,
    reason: &Option<String>,
) -> Result<(), Error> {
    if !status.is_known() {
        return Err(Error::invalid_input("ModificationProtectionStatus", format!("{status} is not known")));
    }
    Ok(validate_opt_text("ModificationProtectionReason", reason, 80)?)
}

ack_net_core::operation! {
    /// A SetLoadBalancerName request; checks the name (at most 80 characters).
    pub struct SetLoadBalancerName: crate::SLB, "SetLoadBalancerName", write -> () as Ack => |_| (), Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        name: String = "LoadBalancerName";
    }
    optional {}
    check: |op: &Self| validate_text("LoadBalancerName", &op.name, 80);
}

ack_net_core::operation! {
    /// A SetLoadBalancerStatus request; only `active` and `inactive` can be set.
    pub struct SetLoadBalancerStatus: crate::SLB, "SetLoadBalancerStatus", write -> () as Ack => |_| (), Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        status: LoadBalancerStatus = "LoadBalancerStatus";
    }
    optional {}
    check: |op: &Self| match &op.status {
        LoadBalancerStatus::Active | LoadBalancerStatus::Inactive => Ok(()),
        other => Err(Error::invalid_input(
            "LoadBalancerStatus",
            format!("{other} cannot be set; use active or inactive"),
        )),
    };
}

ack_net_core::operation! {
    /// A ModifyLoadBalancerInternetSpec request; checks that something changes and the
    /// bandwidth (1-5120 Mbit/s).
    pub struct ModifyLoadBalancerInternetSpec: crate::SLB, "ModifyLoadBalancerInternetSpec", write
        -> () as Ack => |_| (), Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        charge_type: Option<InternetChargeType> = "InternetChargeType";
        bandwidth: Option<u32> = "Bandwidth";
    }
    optional {}
    check: |op: &Self| {
        if op.charge_type.is_none() && op.bandwidth.is_none() {
            return Err(Error::invalid_input("ModifyLoadBalancerInternetSpec", "nothing to change"));
        }
        match op.bandwidth {
            Some(b) => check_range("Bandwidth", i64::from(b), 1, 5120),
            None => Ok(()),
        }
    };
}

ack_net_core::operation! {
    /// A ModifyLoadBalancerInstanceSpec request; checks the spec is a known one.
    pub struct ModifyLoadBalancerInstanceSpec: crate::SLB, "ModifyLoadBalancerInstanceSpec", write
        -> () as Ack => |_| (), Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        spec: InstanceSpec = "LoadBalancerSpec";
    }
    optional {}
    check: |op: &Self| check_spec(&op.spec);
}

/// A spec this crate knows.
pub(crate) fn check_spec(spec: &InstanceSpec) -> Result<(), Error> {
    if spec.is_known() {
        Ok(())
    } else {
        Err(Error::invalid_input("LoadBalancerSpec", format!("{spec} is not a known spec")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};

    #[test]
    fn simple_calls_check_input() {
        let lbs = client().load_balancers();
        let id: LoadBalancerId = "lb-a1".parse().unwrap();
        assert!(lbs.set_name(&id, &"n".repeat(81)).to_request().is_err());
        assert!(lbs.set_status(&id, LoadBalancerStatus::Locked).to_request().is_err());
        assert!(lbs.modify_internet_spec(&id, None, None).to_request().is_err());
        assert!(lbs.modify_instance_spec(&id, InstanceSpec::Unknown("big".into())).to_request().is_err());
        let p = params(&lbs.set_delete_protection(&id, true).to_request().unwrap());
        assert_eq!(p.get("DeleteProtection").map(String::as_str), Some("on"));
    }

    #[test]
    fn decodes_the_documented_shape() {
        let json = r#"{"LoadBalancerId":"lb-a1","LoadBalancerName":"x","LoadBalancerStatus":"active",
            "Address":"10.0.0.5","AddressType":"intranet","AddressIPVersion":"ipv4","NetworkType":"vpc",
            "VpcId":"vpc-a","VSwitchId":"vsw-a","LoadBalancerSpec":"slb.s1.small","Bandwidth":5120,
            "MasterZoneId":"cn-hangzhou-h","SlaveZoneId":"","DeleteProtection":"on",
            "Tags":{"Tag":[{"TagKey":"k","TagValue":"v"}]},
            "ListenerPortsAndProtocol":{"ListenerPortAndProtocol":[{"ListenerPort":80,"ListenerProtocol":"tcp"}]}}"#;
        let lb: LoadBalancer = serde_json::from_str(json).unwrap();
        assert!(lb.delete_protection);
        assert_eq!(lb.spec, Some(InstanceSpec::S1Small));
        assert_eq!(lb.slave_zone_id, None);
        assert_eq!(lb.listeners[0].protocol, ListenerProtocol::Tcp);
        assert_eq!(lb.tags, vec![Tag::new("k", "v")]);
    }
}
