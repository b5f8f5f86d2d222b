//! CreateLoadBalancer.

use std::net::IpAddr;

use ack_net_core::{Product, RpcRequest, ZoneId};
use serde::Deserialize;

use crate::common::{add_tags, check_range, on_off, opt_parsed, validate_tags, validate_text, with_client_token};
use crate::types::{
    AddressIpVersion, AddressType, InstanceChargeType, InstanceSpec, InternetChargeType, ModificationProtectionStatus,
    NetworkType,
};
use crate::{Error, LoadBalancerId, SlbClient, Tag, VSwitchId, VpcId};

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
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct CreateLoadBalancer {
    client: SlbClient,
    address_type: Option<AddressType>,
    address_ip_version: Option<AddressIpVersion>,
    vpc_id: Option<VpcId>,
    vswitch_id: Option<VSwitchId>,
    address: Option<IpAddr>,
    spec: Option<InstanceSpec>,
    pay_by_clcu: bool,
    name: Option<String>,
    internet_charge_type: Option<InternetChargeType>,
    bandwidth: Option<u32>,
    master_zone_id: Option<ZoneId>,
    slave_zone_id: Option<ZoneId>,
    delete_protection: Option<bool>,
    modification_protection: Option<(ModificationProtectionStatus, Option<String>)>,
    resource_group_id: Option<String>,
    tags: Vec<Tag>,
    client_token: Option<String>,
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
    pub(super) fn new(client: SlbClient) -> Self {
        CreateLoadBalancer {
            client,
            address_type: None,
            address_ip_version: None,
            vpc_id: None,
            vswitch_id: None,
            address: None,
            spec: None,
            pay_by_clcu: false,
            name: None,
            internet_charge_type: None,
            bandwidth: None,
            master_zone_id: None,
            slave_zone_id: None,
            delete_protection: None,
            modification_protection: None,
            resource_group_id: None,
            tags: Vec::new(),
            client_token: None,
        }
    }

    /// `AddressType` (the cloud's default is `internet`).
    pub fn address_type(mut self, t: AddressType) -> Self {
        self.address_type = Some(t);
        self
    }

    /// `AddressIPVersion`.
    pub fn address_ip_version(mut self, v: AddressIpVersion) -> Self {
        self.address_ip_version = Some(v);
        self
    }

    /// `VpcId` (intranet; must be the VSwitch's VPC).
    pub fn vpc_id(mut self, id: VpcId) -> Self {
        self.vpc_id = Some(id);
        self
    }

    /// `VSwitchId`: required for an intranet load balancer, whose VIP it provides.
    pub fn vswitch_id(mut self, id: VSwitchId) -> Self {
        self.vswitch_id = Some(id);
        self
    }

    /// `Address`: a fixed VIP in the VSwitch (intranet only).
    pub fn address(mut self, ip: IpAddr) -> Self {
        self.address = Some(ip);
        self
    }

    /// `LoadBalancerSpec` with `InstanceChargeType=PayBySpec`.
    pub fn spec(mut self, spec: InstanceSpec) -> Self {
        self.spec = Some(spec);
        self
    }

    /// `InstanceChargeType=PayByCLCU`: billed by capacity units, no spec.
    pub fn pay_by_clcu(mut self) -> Self {
        self.pay_by_clcu = true;
        self
    }

    /// `LoadBalancerName` (at most 80 characters).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `InternetChargeType`.
    pub fn internet_charge_type(mut self, t: InternetChargeType) -> Self {
        self.internet_charge_type = Some(t);
        self
    }

    /// `Bandwidth` in Mbit/s, 1-5120 (pay-by-bandwidth internet instances).
    pub fn bandwidth(mut self, mbps: u32) -> Self {
        self.bandwidth = Some(mbps);
        self
    }

    /// `MasterZoneId` (in the client's region).
    pub fn master_zone_id(mut self, zone: ZoneId) -> Self {
        self.master_zone_id = Some(zone);
        self
    }

    /// `SlaveZoneId` (in the client's region, not the master zone).
    pub fn slave_zone_id(mut self, zone: ZoneId) -> Self {
        self.slave_zone_id = Some(zone);
        self
    }

    /// `DeleteProtection`.
    pub fn delete_protection(mut self, on: bool) -> Self {
        self.delete_protection = Some(on);
        self
    }

    /// `ModificationProtectionStatus` and `ModificationProtectionReason`.
    pub fn modification_protection(mut self, status: ModificationProtectionStatus, reason: Option<String>) -> Self {
        self.modification_protection = Some((status, reason));
        self
    }

    /// `ResourceGroupId`.
    pub fn resource_group_id(mut self, id: impl Into<String>) -> Self {
        self.resource_group_id = Some(id.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// Adds tags.
    pub fn tags(mut self, tags: impl IntoIterator<Item = Tag>) -> Self {
        self.tags.extend(tags);
        self
    }

    /// `ClientToken`: the same token and parameters create the load balancer only once.
    /// Derive it from your intent to be idempotent across restarts; one is generated per
    /// call otherwise (and reused by the client's retries).
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// The request as it will be sent; checks every field first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
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
            if !spec.is_known() {
                return Err(Error::invalid_input("LoadBalancerSpec", format!("{spec} is not a known spec")));
            }
        }
        if let Some(n) = &self.name {
            validate_text("LoadBalancerName", n, 80)?;
        }
        if let Some(b) = self.bandwidth {
            check_range("Bandwidth", i64::from(b), 1, 5120)?;
        }
        let region = self.client.rpc().region();
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
        if let Some((status, reason)) = &self.modification_protection {
            if let Some(r) = reason {
                validate_text("ModificationProtectionReason", r, 80)?;
            }
            if !status.is_known() {
                return Err(Error::invalid_input("ModificationProtectionStatus", format!("{status} is not known")));
            }
        }
        validate_tags(&self.tags)?;
        let charge = if self.pay_by_clcu {
            Some(InstanceChargeType::PayByClcu)
        } else {
            self.spec.as_ref().map(|_| InstanceChargeType::PayBySpec)
        };
        let req = RpcRequest::idempotent_write(Product::Slb, "CreateLoadBalancer")
            .opt_param("AddressType", self.address_type.as_ref())
            .opt_param("AddressIPVersion", self.address_ip_version.as_ref())
            .opt_param("VpcId", self.vpc_id.as_ref())
            .opt_param("VSwitchId", self.vswitch_id.as_ref())
            .opt_param("Address", self.address)
            .opt_param("InstanceChargeType", charge.as_ref())
            .opt_param("LoadBalancerSpec", self.spec.as_ref())
            .opt_param("LoadBalancerName", self.name.as_deref())
            .opt_param("InternetChargeType", self.internet_charge_type.as_ref())
            .opt_param("Bandwidth", self.bandwidth)
            .opt_param("MasterZoneId", self.master_zone_id.as_ref())
            .opt_param("SlaveZoneId", self.slave_zone_id.as_ref())
            .opt_param("DeleteProtection", self.delete_protection.map(on_off))
            .opt_param("ModificationProtectionStatus", self.modification_protection.as_ref().map(|(s, _)| s))
            .opt_param(
                "ModificationProtectionReason",
                self.modification_protection.as_ref().and_then(|(_, r)| r.as_deref()),
            )
            .opt_param("ResourceGroupId", self.resource_group_id.as_deref());
        let req = add_tags(req, &self.tags)?;
        Ok(with_client_token(req, self.client_token.as_deref())?)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<CreateLoadBalancerResponse, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
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
