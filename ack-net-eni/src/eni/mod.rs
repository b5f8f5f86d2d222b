//! ENIs (elastic network interfaces): the typed [`NetworkInterface`], requests for every ENI
//! call, waiters, and the crash-safe compound operations
//! [`NetworkInterfaces::create_and_attach`] and [`NetworkInterfaces::detach_and_delete`].

use std::net::{Ipv4Addr, Ipv6Addr};

use ack_net_core::de;
use serde::Deserialize;

use crate::common::{opt_parsed, wire_enum, wire_tags, wrapped};
use crate::{EcsClient, EniId, Error, InstanceId, Mac, SecurityGroupId, Tag, VSwitchId, VpcId, ZoneId};

mod addresses;
mod compound;
mod create;
mod describe;
mod lifecycle;

pub use addresses::{
    AssignIpv6Addresses, AssignPrivateIpAddresses, AssignedIpv6Addresses, AssignedPrivateIpAddresses,
    UnassignIpv6Addresses, UnassignPrivateIpAddresses,
};
pub use compound::{DetachAndDelete, INTENT_TAG_KEY};
pub use create::CreateNetworkInterface;
pub use describe::{DescribeNetworkInterfaces, NetworkInterfacePage, MAX_RESULTS, MIN_RESULTS};
pub use lifecycle::{AttachNetworkInterface, DeleteNetworkInterface, DetachNetworkInterface};

wire_enum!(
    /// The status of an ENI.
    EniStatus {
        /// Not attached: can be attached or deleted.
        Available = "Available",
        /// Being attached (AttachNetworkInterface is asynchronous).
        Attaching = "Attaching",
        /// Attached to an instance.
        InUse = "InUse",
        /// Being detached.
        Detaching = "Detaching",
        /// Being deleted.
        Deleting = "Deleting",
    }
);

wire_enum!(
    /// The type of an ENI.
    EniType {
        /// An instance's own ENI, created and released with it.
        Primary = "Primary",
        /// An ENI created on its own, attachable to an instance.
        Secondary = "Secondary",
        /// A trunk ENI (trunking mode), carrying member ENIs.
        Trunk = "Trunk",
        /// A member ENI of a trunk ENI.
        Member = "Member",
    }
);

/// An ENI as one typed value: what DescribeNetworkInterfaces, DescribeNetworkInterfaceAttribute
/// and CreateNetworkInterface answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "WireEni")]
#[non_exhaustive]
pub struct NetworkInterface {
    /// The id.
    pub id: EniId,
    /// `NetworkInterfaceName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// Available, Attaching, InUse, Detaching, Deleting (or a status this crate does not know).
    pub status: EniStatus,
    /// Primary, Secondary, Trunk, Member.
    pub eni_type: EniType,
    /// The instance it is attached to (also while attaching or detaching).
    pub instance_id: Option<InstanceId>,
    /// Its device index on that instance (0 is the primary ENI).
    pub device_index: Option<u32>,
    /// The MAC address.
    pub mac: Mac,
    /// The VPC.
    pub vpc_id: Option<VpcId>,
    /// The VSwitch its addresses come from.
    pub vswitch_id: VSwitchId,
    /// The zone.
    pub zone_id: Option<ZoneId>,
    /// The primary private IPv4 address.
    pub primary_ip: Ipv4Addr,
    /// Secondary private IPv4 addresses (the pods' addresses in multi-IP mode).
    pub secondary_ips: Vec<Ipv4Addr>,
    /// IPv6 addresses.
    pub ipv6: Vec<Ipv6Addr>,
    /// Security groups.
    pub security_group_ids: Vec<SecurityGroupId>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// `CreationTime` as the API formats it (empty when not given).
    pub creation_time: String,
}

impl NetworkInterface {
    /// The value of tag `key`, if the ENI has it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }

    /// Whether the ENI is attached (InUse) to `instance`.
    pub fn is_in_use_on(&self, instance: &InstanceId) -> bool {
        self.status == EniStatus::InUse && self.instance_id.as_ref() == Some(instance)
    }

    /// The primary and the secondary IPv4 addresses.
    pub fn ipv4_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        std::iter::once(self.primary_ip).chain(self.secondary_ips.iter().copied())
    }

    /// The status and attachment, as error messages show them (`InUse on i-...`).
    pub(crate) fn describe_state(&self) -> String {
        match &self.instance_id {
            Some(i) => format!("{} on {i}", self.status),
            None => self.status.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct WirePrivateIp {
    #[serde(rename = "PrivateIpAddress", default, deserialize_with = "de::string")]
    address: String,
    #[serde(rename = "Primary", default, deserialize_with = "de::boolean")]
    primary: bool,
}

#[derive(Deserialize)]
struct WireIpv6 {
    #[serde(rename = "Ipv6Address", default, deserialize_with = "de::string")]
    address: String,
}

#[derive(Deserialize, Default)]
struct WireAttachment {
    #[serde(rename = "InstanceId", default, deserialize_with = "opt_parsed")]
    instance_id: Option<InstanceId>,
    #[serde(rename = "DeviceIndex", default, deserialize_with = "de::opt_number")]
    device_index: Option<u32>,
}

#[derive(Deserialize)]
struct WireEni {
    #[serde(rename = "NetworkInterfaceId")]
    id: EniId,
    #[serde(rename = "NetworkInterfaceName", default, deserialize_with = "de::string")]
    name: String,
    #[serde(rename = "Description", default, deserialize_with = "de::string")]
    description: String,
    #[serde(rename = "Status")]
    status: EniStatus,
    #[serde(rename = "Type", default = "secondary")]
    eni_type: EniType,
    #[serde(rename = "InstanceId", default, deserialize_with = "opt_parsed")]
    instance_id: Option<InstanceId>,
    #[serde(rename = "Attachment", default)]
    attachment: Option<WireAttachment>,
    #[serde(rename = "MacAddress")]
    mac: Mac,
    #[serde(rename = "VpcId", default, deserialize_with = "opt_parsed")]
    vpc_id: Option<VpcId>,
    #[serde(rename = "VSwitchId")]
    vswitch_id: VSwitchId,
    #[serde(rename = "ZoneId", default, deserialize_with = "opt_parsed")]
    zone_id: Option<ZoneId>,
    #[serde(rename = "PrivateIpAddress", default, deserialize_with = "de::string")]
    private_ip: String,
    #[serde(rename = "PrivateIpSets", default, deserialize_with = "wrapped")]
    private_ips: Vec<WirePrivateIp>,
    #[serde(rename = "Ipv6Sets", default, deserialize_with = "wrapped")]
    ipv6: Vec<WireIpv6>,
    #[serde(rename = "SecurityGroupIds", default, deserialize_with = "wrapped")]
    security_group_ids: Vec<SecurityGroupId>,
    #[serde(rename = "Tags", default, deserialize_with = "wire_tags")]
    tags: Vec<Tag>,
    #[serde(rename = "CreationTime", default, deserialize_with = "de::string")]
    creation_time: String,
}

fn secondary() -> EniType {
    EniType::Secondary
}

impl TryFrom<WireEni> for NetworkInterface {
    type Error = String;

    fn try_from(w: WireEni) -> Result<Self, String> {
        let parse4 = |s: &str| s.trim().parse::<Ipv4Addr>().map_err(|_| format!("{s:?} is not an IPv4 address"));
        let primary_ip = match w.private_ip.as_str() {
            "" => {
                let p = w.private_ips.iter().find(|p| p.primary).ok_or("the ENI has no primary address")?;
                parse4(&p.address)?
            }
            s => parse4(s)?,
        };
        let mut secondary_ips = Vec::with_capacity(w.private_ips.len());
        for p in &w.private_ips {
            let ip = parse4(&p.address)?;
            if !p.primary && ip != primary_ip {
                secondary_ips.push(ip);
            }
        }
        let ipv6 = w
            .ipv6
            .iter()
            .map(|a| {
                a.address.trim().parse::<Ipv6Addr>().map_err(|_| format!("{:?} is not an IPv6 address", a.address))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let attachment = w.attachment.unwrap_or_default();
        Ok(NetworkInterface {
            id: w.id,
            name: w.name,
            description: w.description,
            status: w.status,
            eni_type: w.eni_type,
            instance_id: w.instance_id.or(attachment.instance_id),
            device_index: attachment.device_index,
            mac: w.mac,
            vpc_id: w.vpc_id,
            vswitch_id: w.vswitch_id,
            zone_id: w.zone_id,
            primary_ip,
            secondary_ips,
            ipv6,
            security_group_ids: w.security_group_ids,
            tags: w.tags,
            creation_time: w.creation_time,
        })
    }
}

/// ENI operations; from [`EcsClient::network_interfaces`].
#[derive(Clone, Debug)]
pub struct NetworkInterfaces {
    client: EcsClient,
}

impl NetworkInterfaces {
    pub(crate) fn new(client: EcsClient) -> Self {
        Self { client }
    }

    /// DescribeNetworkInterfaceAttribute: one ENI. An unknown id is an error of class
    /// `NotFound` (`InvalidEniId.NotFound`).
    pub async fn get(&self, eni_id: &EniId) -> Result<NetworkInterface, Error> {
        DescribeNetworkInterfaceAttribute::new(self.client.rpc(), eni_id.clone()).send().await
    }
}

ack_net_core::operation! {
    /// A DescribeNetworkInterfaceAttribute request (see [`NetworkInterfaces::get`]).
    pub(crate) struct DescribeNetworkInterfaceAttribute: crate::ECS, "DescribeNetworkInterfaceAttribute",
        read -> NetworkInterface, Error;
    required {
        eni_id: EniId = "NetworkInterfaceId";
    }
    optional {}
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESCRIBED: &str = r#"{
        "NetworkInterfaceId": "eni-bp1a", "NetworkInterfaceName": "pods", "Description": "",
        "Status": "InUse", "Type": "Secondary", "InstanceId": "i-bp1x",
        "Attachment": {"InstanceId": "i-bp1x", "DeviceIndex": 2, "NetworkCardIndex": 0},
        "MacAddress": "00:16:3e:12:34:56", "VpcId": "vpc-bp1v", "VSwitchId": "vsw-bp1s",
        "ZoneId": "cn-hangzhou-h", "PrivateIpAddress": "10.0.0.5",
        "PrivateIpSets": {"PrivateIpSet": [
            {"PrivateIpAddress": "10.0.0.5", "Primary": true},
            {"PrivateIpAddress": "10.0.0.6", "Primary": false}]},
        "Ipv6Sets": {"Ipv6Set": [{"Ipv6Address": "2408:4000::5"}]},
        "SecurityGroupIds": {"SecurityGroupId": ["sg-bp1g"]},
        "Tags": {"Tag": [{"TagKey": "owner", "TagValue": "ack-net"}]},
        "CreationTime": "2024-05-01T10:00:00Z"
    }"#;

    #[test]
    fn decodes_a_described_eni() {
        let e: NetworkInterface = serde_json::from_str(DESCRIBED).unwrap();
        assert_eq!(e.status, EniStatus::InUse);
        assert_eq!(e.eni_type, EniType::Secondary);
        assert_eq!(e.instance_id.as_ref().unwrap().as_str(), "i-bp1x");
        assert_eq!(e.device_index, Some(2));
        assert_eq!(e.primary_ip, Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(e.secondary_ips, vec![Ipv4Addr::new(10, 0, 0, 6)]);
        assert_eq!(e.ipv6.len(), 1);
        assert_eq!(e.tag("owner"), Some("ack-net"));
        assert_eq!(e.security_group_ids[0].as_str(), "sg-bp1g");
        assert!(e.is_in_use_on(&InstanceId::new("i-bp1x").unwrap()));
        assert_eq!(e.ipv4_addresses().count(), 2);
    }

    #[test]
    fn tolerates_empty_lists_and_unknown_status() {
        let json = r#"{"NetworkInterfaceId":"eni-1","Status":"Migrating","MacAddress":"00:16:3e:00:00:01",
            "VSwitchId":"vsw-1","PrivateIpAddress":"10.0.0.1","PrivateIpSets":{},"Ipv6Sets":{},"Tags":{},
            "InstanceId":"","Attachment":{}}"#;
        let e: NetworkInterface = serde_json::from_str(json).unwrap();
        assert_eq!(e.status, EniStatus::Unknown("Migrating".into()));
        assert_eq!(e.instance_id, None);
        assert!(e.secondary_ips.is_empty() && e.ipv6.is_empty() && e.tags.is_empty());
        let bad = json.replace("10.0.0.1", "10.0.0.300");
        assert!(serde_json::from_str::<NetworkInterface>(&bad).is_err());
    }
}
