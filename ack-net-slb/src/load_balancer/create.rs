//! CreateLoadBalancer.

use std::net::IpAddr;

use ack_net_core::input::validate_opt_text;
use ack_net_core::ZoneId;
use serde::Deserialize;

use super::{check_modification_protection, check_spec};
use crate::common::{check_range, on_off, opt_parsed, validate_tags};
use crate::types::{
    AddressIpVersion, AddressType, InstanceChargeType, InstanceSpec, InternetChargeType, ModificationProtectionStatus,
    NetworkType,
};
use crate::{Error, LoadBalancerId, Tag, VSwitchId, VpcId};

ack_net_core::operation! {
    /// A CreateLoadBalancer request.
    ///
    /// ```no_run
    /// # async fn demo(slb: ack_net_slb::SlbClient, vsw: ack_net_slb::VSwitchId) -> Result<(), ack_net_slb::Error> {
    /// use ack_net_slb::{AddressType, InstanceSpec, Tag, WaitPolicy};
    /// let created = slb
    ///     .load_balancers()
    ///     .create()
    ///     .address_type(AddressType::Intranet)
    ///     .vswitch_id(vsw)
    ///     .spec(InstanceSpec::S1Small)
    ///     .name("svc-web")
    ///     .delete_protection(true)
    ///     .tag(Tag::new("kubernetes.do.not.delete", "svc-web"))
    ///     .client_token("cluster-1/default/web")
    ///     .send()
    ///     .await?;
    /// slb.load_balancers().wait_until_active(&created.load_balancer_id, &WaitPolicy::default()).await?;
    /// # Ok(()) }
    /// ```
    pub struct CreateLoadBalancer: crate::SLB, "CreateLoadBalancer", idempotent_write
        -> CreateLoadBalancerResponse, Error;
    required {}
    optional {
        /// `AddressType` (the cloud's default is `internet`).
        address_type: Option<AddressType> = "AddressType" => set(AddressType);
        /// `AddressIPVersion`.
        address_ip_version: Option<AddressIpVersion> = "AddressIPVersion" => set(AddressIpVersion);
        /// `VpcId` (intranet; must be the VSwitch's VPC).
        vpc_id: Option<VpcId> = "VpcId" => set(VpcId);
        /// `VSwitchId`: required for an intranet load balancer, whose VIP it provides.
        vswitch_id: Option<VSwitchId> = "VSwitchId" => set(VSwitchId);
        /// `Address`: a fixed VIP in the VSwitch (intranet only).
        address: Option<IpAddr> = "Address" => set(IpAddr);
        /// `InstanceChargeType`: follows from [`spec`](Self::spec) or [`pay_by_clcu`](Self::pay_by_clcu).
        charge_type: Option<InstanceChargeType> = "InstanceChargeType" => by_hand(InstanceChargeType);
        /// `LoadBalancerSpec` with `InstanceChargeType=PayBySpec`.
        spec: Option<InstanceSpec> = "LoadBalancerSpec" => by_hand(InstanceSpec);
        /// `LoadBalancerName` (at most 80 characters).
        name: Option<String> = "LoadBalancerName" => into(String);
        /// `InternetChargeType`.
        internet_charge_type: Option<InternetChargeType> = "InternetChargeType" => set(InternetChargeType);
        /// `Bandwidth` in Mbit/s, 1-5120 (pay-by-bandwidth internet instances).
        bandwidth: Option<u32> = "Bandwidth" => set(u32);
        /// `MasterZoneId` (in the client's region).
        master_zone_id: Option<ZoneId> = "MasterZoneId" => set(ZoneId);
        /// `SlaveZoneId` (in the client's region, not the master zone).
        slave_zone_id: Option<ZoneId> = "SlaveZoneId" => set(ZoneId);
        /// `DeleteProtection`.
        delete_protection: Option<&'static str> = "DeleteProtection" => by_hand(bool);
        /// `ModificationProtectionStatus`.
        modification_status: Option<ModificationProtectionStatus> = "ModificationProtectionStatus"
            => by_hand(ModificationProtectionStatus);
        /// `ModificationProtectionReason`.
        modification_reason: Option<String> = "ModificationProtectionReason" => by_hand(String);
        /// `ResourceGroupId`.
        resource_group_id: Option<String> = "ResourceGroupId" => into(String);
        /// Tags for the new load balancer.
        tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
    }
    local {
        /// Whether [`pay_by_clcu`](Self::pay_by_clcu) was asked for.
        pay_by_clcu: bool;
    }
    check: Self::check_input;
}

/// What CreateLoadBalancer answers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CreateLoadBalancerResponse {
    /// `LoadBalancerId`.
    #[serde(rename = "LoadBalancerId")]
    pub load_balancer_id: LoadBalancerId,
    /// `Address`.
    #[serde(rename = "Address")]
    pub address: IpAddr,
    /// `LoadBalancerName`.
    #[serde(rename = "LoadBalancerName", default, deserialize_with = "ack_net_core::de::string")]
    pub name: String,
    /// `NetworkType`.
    #[serde(rename = "NetworkType", default, deserialize_with = "opt_parsed")]
    pub network_type: Option<NetworkType>,
    /// `VpcId`.
    #[serde(rename = "VpcId", default, deserialize_with = "opt_parsed")]
    pub vpc_id: Option<VpcId>,
    /// `VSwitchId`.
    #[serde(rename = "VSwitchId", default, deserialize_with = "opt_parsed")]
    pub vswitch_id: Option<VSwitchId>,
}

impl CreateLoadBalancer {
    /// `LoadBalancerSpec` with `InstanceChargeType=PayBySpec`.
    pub fn spec(mut self, spec: InstanceSpec) -> Self {
        self.spec = Some(spec);
        if !self.pay_by_clcu {
            self.charge_type = Some(InstanceChargeType::PayBySpec);
        }
        self
    }

    /// `InstanceChargeType=PayByCLCU`: billed by capacity units, no spec.
    pub fn pay_by_clcu(mut self) -> Self {
        self.pay_by_clcu = true;
        self.charge_type = Some(InstanceChargeType::PayByClcu);
        self
    }

    /// `DeleteProtection`.
    pub fn delete_protection(mut self, on: bool) -> Self {
        self.delete_protection = Some(on_off(on));
        self
    }

    /// `ModificationProtectionStatus` and `ModificationProtectionReason`.
    pub fn modification_protection(mut self, status: ModificationProtectionStatus, reason: Option<String>) -> Self {
        self.modification_status = Some(status);
        self.modification_reason = reason;
        self
    }

    /// Checks every field: an intranet load balancer has a VSwitch and only it has a VPC,
    /// VSwitch or address; a known spec, not with CLCU billing; name, bandwidth, zones (in the
    /// client's region, two different ones), modification protection, tags.
    fn check_input(&self) -> Result<(), Error> {
        let intranet = self.address_type == Some(AddressType::Intranet);
        if let Some(t) = &self.address_type {
            if !t.is_known() {
                return Err(Error::invalid_input("AddressType", format!("{t} is not internet or intranet")));
            }
        }
        if intranet && self.vswitch_id.is_none() {
            return Err(Error::invalid_input("VSwitchId", "an intranet load balancer needs a VSwitch"));
        }
        if !intranet && (self.vswitch_id.is_some() || self.vpc_id.is_some() || self.address.is_some()) {
            return Err(Error::invalid_input(
                "AddressType",
                "VpcId, VSwitchId and Address are for intranet load balancers",
            ));
        }
        if let Some(spec) = &self.spec {
            if self.pay_by_clcu {
                return Err(Error::invalid_input("LoadBalancerSpec", "a pay-by-CLCU load balancer has no spec"));
            }
            check_spec(spec)?;
        }
        validate_opt_text("LoadBalancerName", &self.name, 80)?;
        if let Some(b) = self.bandwidth {
            check_range("Bandwidth", i64::from(b), 1, 5120)?;
        }
        let region = self.rpc.region();
        for (what, zone) in [("MasterZoneId", &self.master_zone_id), ("SlaveZoneId", &self.slave_zone_id)] {
            if let Some(z) = zone {
                if z.region() != *region {
                    return Err(Error::invalid_input(what, format!("{z} is not in the client's region {region}")));
                }
            }
        }
        if self.master_zone_id.is_some() && self.master_zone_id == self.slave_zone_id {
            return Err(Error::invalid_input("SlaveZoneId", "must differ from MasterZoneId"));
        }
        if let Some(status) = &self.modification_status {
            check_modification_protection(status, &self.modification_reason)?;
        }
        Ok(validate_tags(&self.tags)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};

    #[test]
    fn create_checks_input() {
        let lbs = client().load_balancers();
        assert!(lbs.create().address_type(AddressType::Intranet).to_request().is_err(), "intranet needs a VSwitch");
        let vsw: VSwitchId = "vsw-bp1a".parse().unwrap();
        assert!(lbs.create().vswitch_id(vsw.clone()).to_request().is_err(), "VSwitch only for intranet");
        assert!(lbs.create().spec(InstanceSpec::S1Small).pay_by_clcu().to_request().is_err());
        assert!(lbs.create().bandwidth(0).to_request().is_err());
        assert!(lbs.create().name("x".repeat(81)).to_request().is_err());
        assert!(lbs.create().master_zone_id("cn-beijing-a".parse().unwrap()).to_request().is_err());
        let z: ZoneId = "cn-hangzhou-h".parse().unwrap();
        assert!(lbs.create().master_zone_id(z.clone()).slave_zone_id(z).to_request().is_err());
        assert!(lbs.create().client_token("").to_request().is_err());
        let p = params(&lbs.create().pay_by_clcu().to_request().unwrap());
        assert_eq!(p.get("InstanceChargeType").map(String::as_str), Some("PayByCLCU"));
        assert!(!p.contains_key("LoadBalancerSpec"));
    }
}
