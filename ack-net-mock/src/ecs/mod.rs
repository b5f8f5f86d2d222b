//! ECS 2014-05-26: instance types, instances, ENIs (with asynchronous attach and detach),
//! secondary IPv4 and IPv6 addresses, security groups.
//!
//! CONTRACT used by the server/admin part and SLB (do not change the signatures):
//! `InstanceSeed`, `create_instance`, `EcsState::eni_has_ip`, `EcsState::instance_exists`,
//! `EcsState::set_delays`, `EcsState::dump`.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use crate::error::{HandlerResult, MockError};
use crate::handler::{page_by_number, page_by_token, Req};
use crate::state::State;

mod describe;
mod eni;
mod ips;
mod sg;
pub mod types;

#[cfg(test)]
mod tests;

pub use eni::{Eni, EniStatus, EniType};
pub(crate) use sg::create as create_security_group;
pub use sg::{Direction, Rule, SecurityGroup};

/// The ECS API version.
pub const VERSION: &str = "2014-05-26";

/// An ECS instance to create through the admin API or the preload file.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct InstanceSeed {
    /// Region, e.g. `cn-hangzhou`.
    #[serde(rename = "RegionId")]
    pub region_id: String,
    /// Zone, e.g. `cn-hangzhou-h`.
    #[serde(rename = "ZoneId")]
    pub zone_id: String,
    /// Instance type, e.g. `ecs.g7.large`.
    #[serde(rename = "InstanceType")]
    pub instance_type: String,
    /// VSwitch of the primary ENI.
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: String,
    /// Security groups of the primary ENI.
    #[serde(rename = "SecurityGroupIds", default)]
    pub security_group_ids: Vec<String>,
    /// Optional fixed instance id.
    #[serde(rename = "InstanceId", default)]
    pub instance_id: Option<String>,
}

/// An ECS instance.
#[derive(Clone, Debug)]
pub struct Instance {
    /// `i-...`
    pub id: String,
    /// Region.
    pub region_id: String,
    /// Zone.
    pub zone_id: String,
    /// Instance type.
    pub instance_type: &'static types::InstanceTypeSpec,
    /// VPC.
    pub vpc_id: String,
    /// VSwitch of the primary ENI.
    pub vswitch_id: String,
    /// The primary ENI.
    pub primary_eni: String,
    /// Security groups.
    pub security_group_ids: Vec<String>,
    /// `YYYY-MM-DDThh:mmZ`.
    pub creation_time: String,
    seq: u64,
}

/// The ECS product's state.
#[derive(Debug)]
pub struct EcsState {
    pub(crate) instances: HashMap<String, Instance>,
    pub(crate) enis: HashMap<String, Eni>,
    pub(crate) groups: HashMap<String, SecurityGroup>,
    pub(crate) attach_delay: Duration,
    pub(crate) detach_delay: Duration,
    /// ENIs in Attaching or Detaching: settled lazily by the next request.
    pub(crate) unsettled: usize,
    seq: u64,
}

impl Default for EcsState {
    fn default() -> Self {
        Self {
            instances: HashMap::new(),
            enis: HashMap::new(),
            groups: HashMap::new(),
            attach_delay: Duration::from_millis(100),
            detach_delay: Duration::from_millis(100),
            unsettled: 0,
            seq: 0,
        }
    }
}

impl EcsState {
    /// Whether the instance exists.
    pub fn instance_exists(&self, instance_id: &str) -> bool {
        self.instances.contains_key(instance_id)
    }

    /// Whether `ip` is one of the ENI's addresses (primary, secondary IPv4 or IPv6).
    pub fn eni_has_ip(&self, eni_id: &str, ip: IpAddr) -> bool {
        self.enis.get(eni_id).is_some_and(|e| match ip {
            IpAddr::V4(v4) => e.primary_ip == v4 || e.secondary_ips.contains(&v4),
            IpAddr::V6(v6) => e.ipv6.contains(&v6),
        })
    }

    /// How long AttachNetworkInterface stays `Attaching` and DetachNetworkInterface stays
    /// `Detaching` before the ENI settles.
    pub fn set_delays(&mut self, attach: Duration, detach: Duration) {
        self.attach_delay = attach;
        self.detach_delay = detach;
    }

    /// The state as JSON, for the state dump.
    pub fn dump(&self) -> serde_json::Value {
        let now = Instant::now();
        let mut instances: Vec<&Instance> = self.instances.values().collect();
        instances.sort_by_key(|i| i.seq);
        let mut enis: Vec<&Eni> = self.enis.values().collect();
        enis.sort_by_key(|e| e.seq);
        let mut groups: Vec<&SecurityGroup> = self.groups.values().collect();
        groups.sort_by_key(|g| g.seq);
        json!({
            "Instances": instances.iter().map(|i| self.instance_json(i)).collect::<Vec<_>>(),
            "NetworkInterfaces": enis.iter().map(|e| e.to_json(now)).collect::<Vec<_>>(),
            "SecurityGroups": groups.iter().map(|g| {
                let mut v = g.to_json(self);
                v["Permissions"] = Value::Array(g.rules.iter().map(Rule::to_json).collect());
                v
            }).collect::<Vec<_>>(),
            "AttachDelayMs": self.attach_delay.as_millis() as u64,
            "DetachDelayMs": self.detach_delay.as_millis() as u64,
        })
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Finishes every attach and detach whose delay has passed by `now`.
    fn settle(&mut self, now: Instant) {
        if self.unsettled == 0 {
            return;
        }
        let mut still = 0;
        for eni in self.enis.values_mut() {
            eni.settle(now);
            if eni.pending.is_some() {
                still += 1;
            }
        }
        self.unsettled = still;
    }

    /// How many ENIs are on the instance (attaching, in use or detaching).
    fn enis_on(&self, instance_id: &str) -> usize {
        self.enis.values().filter(|e| e.instance_id.as_deref() == Some(instance_id)).count()
    }

    fn instance_json(&self, i: &Instance) -> Value {
        let mut enis: Vec<&Eni> =
            self.enis.values().filter(|e| e.instance_id.as_deref() == Some(i.id.as_str())).collect();
        enis.sort_by_key(|e| e.device_index.unwrap_or(u32::MAX));
        let primary_ip = self.enis.get(&i.primary_eni).map(|e| e.primary_ip.to_string()).unwrap_or_default();
        json!({
            "InstanceId": i.id,
            "InstanceName": i.id,
            "HostName": i.id,
            "RegionId": i.region_id,
            "ZoneId": i.zone_id,
            "InstanceType": i.instance_type.id,
            "InstanceTypeFamily": i.instance_type.family,
            "Cpu": i.instance_type.cpu,
            "Memory": (i.instance_type.memory_gib * 1024.0) as u64,
            "Status": "Running",
            "InstanceNetworkType": "vpc",
            "CreationTime": i.creation_time,
            "VpcAttributes": {
                "VpcId": i.vpc_id,
                "VSwitchId": i.vswitch_id,
                "PrivateIpAddress": {"IpAddress": [primary_ip]},
                "NatIpAddress": "",
            },
            "SecurityGroupIds": {"SecurityGroupId": i.security_group_ids},
            "NetworkInterfaces": {"NetworkInterface": enis.iter().map(|e| json!({
                "NetworkInterfaceId": e.id,
                "Type": e.eni_type.as_str(),
                "MacAddress": e.mac,
                "PrimaryIpAddress": e.primary_ip.to_string(),
                "PrivateIpSets": {"PrivateIpSet": e.private_ip_sets()},
                "Ipv6Sets": {"Ipv6Set": e.ipv6_sets()},
            })).collect::<Vec<_>>()},
            "Tags": {"Tag": []},
        })
    }
}

/// The current time as the API formats creation times (`2024-05-01T10:00:00Z`).
pub(crate) fn timestamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A region the catalog knows, or `InvalidRegionId.NotFound`.
pub(crate) fn region(state: &State, req: &Req) -> Result<String, MockError> {
    let region = req.str("RegionId")?;
    if !state.catalog.has_region(region) {
        return Err(MockError::not_found("InvalidRegionId.NotFound", format!("The region {region:?} does not exist.")));
    }
    Ok(region.to_owned())
}

/// Creates an instance with its primary ENI; answers `{"InstanceId","NetworkInterfaceId",...}`.
pub fn create_instance(state: &mut State, seed: InstanceSeed) -> HandlerResult {
    if !state.catalog.has_zone(&seed.region_id, &seed.zone_id) {
        return Err(MockError::not_found(
            "InvalidZoneId.NotFound",
            format!("The zone {:?} does not exist in region {:?}.", seed.zone_id, seed.region_id),
        ));
    }
    let Some(itype) = types::find(&seed.instance_type) else {
        return Err(MockError::invalid_param(
            "InstanceType",
            format!("{:?} is not a known instance type", seed.instance_type),
        ));
    };
    let vsw = eni::vswitch_in_region(state, &seed.region_id, &seed.vswitch_id)?;
    if vsw.zone_id != seed.zone_id {
        return Err(MockError::forbidden(
            "InvalidVSwitchId.MismatchZone",
            format!("The VSwitch {:?} is not in zone {:?}.", seed.vswitch_id, seed.zone_id),
        ));
    }
    sg::check_groups(state, &seed.region_id, &vsw.vpc_id, &seed.security_group_ids)?;
    let instance_id = match seed.instance_id {
        Some(id) if state.ecs.instances.contains_key(&id) || state.ecs.enis.contains_key(&id) => {
            return Err(MockError::bad_request(
                "InvalidInstanceId.Duplicate",
                format!("The instance {id:?} already exists."),
            ));
        }
        Some(id) if !id.starts_with("i-") || id.len() < 4 => {
            return Err(MockError::invalid_param("InstanceId", "an instance id starts with i-"));
        }
        Some(id) => id,
        None => state.ids.id("i-"),
    };
    let primary_ip = state.vpc.allocate_ipv4(&vsw.id, None)?;
    let eni_id = state.ids.id("eni-");
    let mac = state.ids.mac();
    let seq = state.ecs.next_seq();
    let eni = Eni {
        id: eni_id.clone(),
        seq,
        region_id: seed.region_id.clone(),
        zone_id: seed.zone_id.clone(),
        vpc_id: vsw.vpc_id.clone(),
        vswitch_id: vsw.id.clone(),
        name: String::new(),
        description: String::new(),
        eni_type: EniType::Primary,
        mac: mac.clone(),
        primary_ip,
        secondary_ips: Vec::new(),
        ipv6: Vec::new(),
        security_group_ids: seed.security_group_ids.clone(),
        tags: Vec::new(),
        status: EniStatus::InUse,
        instance_id: Some(instance_id.clone()),
        device_index: Some(0),
        pending: None,
        creation_time: timestamp(),
    };
    state.ecs.enis.insert(eni_id.clone(), eni);
    let seq = state.ecs.next_seq();
    state.ecs.instances.insert(
        instance_id.clone(),
        Instance {
            id: instance_id.clone(),
            region_id: seed.region_id,
            zone_id: seed.zone_id,
            instance_type: itype,
            vpc_id: vsw.vpc_id,
            vswitch_id: vsw.id,
            primary_eni: eni_id.clone(),
            security_group_ids: seed.security_group_ids,
            creation_time: timestamp(),
            seq,
        },
    );
    Ok(json!({
        "InstanceId": instance_id,
        "NetworkInterfaceId": eni_id,
        "PrivateIpAddress": primary_ip.to_string(),
        "MacAddress": mac,
    }))
}

/// Handles an ECS action; `None` when the action is not an ECS action the mock knows.
pub fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    if req.version != VERSION {
        return None;
    }
    state.ecs.settle(req.now);
    Some(match req.action.as_str() {
        "DescribeInstanceTypes" => types::describe_instance_types(req),
        "DescribeInstances" => describe_instances(state, req),
        "CreateNetworkInterface" => eni::create(state, req),
        "AttachNetworkInterface" => eni::attach(state, req),
        "DetachNetworkInterface" => eni::detach(state, req),
        "DeleteNetworkInterface" => eni::delete(state, req),
        "DescribeNetworkInterfaces" => describe::describe(state, req),
        "DescribeNetworkInterfaceAttribute" => describe::describe_attribute(state, req),
        "ModifyNetworkInterfaceAttribute" => describe::modify_attribute(state, req),
        "AssignPrivateIpAddresses" => ips::assign_ipv4(state, req),
        "UnassignPrivateIpAddresses" => ips::unassign_ipv4(state, req),
        "AssignIpv6Addresses" => ips::assign_ipv6(state, req),
        "UnassignIpv6Addresses" => ips::unassign_ipv6(state, req),
        "CreateSecurityGroup" => sg::create(state, req),
        "DeleteSecurityGroup" => sg::delete(state, req),
        "DescribeSecurityGroups" => sg::describe(state, req),
        "DescribeSecurityGroupAttribute" => sg::describe_attribute(state, req),
        "AuthorizeSecurityGroup" => sg::authorize(state, req, sg::Direction::Ingress),
        "AuthorizeSecurityGroupEgress" => sg::authorize(state, req, sg::Direction::Egress),
        "RevokeSecurityGroup" => sg::revoke(state, req, sg::Direction::Ingress),
        "RevokeSecurityGroupEgress" => sg::revoke(state, req, sg::Direction::Egress),
        _ => return None,
    })
}

/// DescribeInstances: `InstanceIds` (a JSON array), `VpcId`, `VSwitchId`, `ZoneId`,
/// `InstanceType`; PageNumber/PageSize (1-100) or NextToken/MaxResults (1-100).
fn describe_instances(state: &State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let ids: Option<Vec<String>> = match req.opt_str("InstanceIds") {
        None => None,
        Some(_) => Some(req.json("InstanceIds")?),
    };
    if ids.as_ref().is_some_and(|ids| ids.len() > 100) {
        return Err(MockError::invalid_param("InstanceIds", "at most 100 instance ids"));
    }
    let vpc = req.opt_str("VpcId");
    let vsw = req.opt_str("VSwitchId");
    let zone = req.opt_str("ZoneId");
    let itype = req.opt_str("InstanceType");
    let mut list: Vec<&Instance> = state
        .ecs
        .instances
        .values()
        .filter(|i| i.region_id == region)
        .filter(|i| ids.as_ref().is_none_or(|ids| ids.contains(&i.id)))
        .filter(|i| vpc.is_none_or(|v| v == i.vpc_id))
        .filter(|i| vsw.is_none_or(|v| v == i.vswitch_id))
        .filter(|i| zone.is_none_or(|z| z == i.zone_id))
        .filter(|i| itype.is_none_or(|t| t == i.instance_type.id))
        .collect();
    list.sort_by_key(|i| i.seq);
    let total = list.len();
    if req.opt_str("NextToken").is_some() || req.opt_str("MaxResults").is_some() {
        let (page, next) = page_by_token(req, &list, "MaxResults", 10, 1, 100, "InvalidNextToken")?;
        let items: Vec<Value> = page.iter().map(|i| state.ecs.instance_json(i)).collect();
        return Ok(json!({"Instances": {"Instance": items}, "NextToken": next, "TotalCount": total}));
    }
    let (page, mut meta) = page_by_number(req, &list, 10, 100)?;
    meta["Instances"] = json!({"Instance": page.iter().map(|i| state.ecs.instance_json(i)).collect::<Vec<_>>()});
    Ok(meta)
}

/// Helper for handlers: the ENI `id` in `region`, or `InvalidEniId.NotFound`.
pub(crate) fn eni_in<'a>(state: &'a State, region: &str, id: &str) -> Result<&'a Eni, MockError> {
    state.ecs.enis.get(id).filter(|e| e.region_id == region).ok_or_else(|| eni_not_found(id))
}

pub(crate) fn eni_not_found(id: &str) -> MockError {
    MockError::not_found("InvalidEniId.NotFound", format!("The specified NetworkInterfaceId {id:?} does not exist."))
}

/// Sorted map of ENIs by creation order (for listings).
pub(crate) fn enis_in_order(state: &State) -> BTreeMap<u64, &Eni> {
    state.ecs.enis.values().map(|e| (e.seq, e)).collect()
}
