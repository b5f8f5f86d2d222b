//! ENIs: create, attach and detach (asynchronous, settled lazily from the request's clock),
//! delete, describe.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{json, Value};
use tokio::time::Instant;

use super::{eni_in, region, sg, timestamp, types};
use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;
use crate::vpc::pool::TakeError;
use crate::vpc::VSwitch;

/// How many secondary IPv4 (and IPv6) addresses an ENI may hold while it is not attached.
pub(crate) const UNATTACHED_IP_LIMIT: usize = 10;

/// ENI status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EniStatus {
    /// Not attached.
    Available,
    /// Being attached.
    Attaching,
    /// Attached.
    InUse,
    /// Being detached.
    Detaching,
}

impl EniStatus {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EniStatus::Available => "Available",
            EniStatus::Attaching => "Attaching",
            EniStatus::InUse => "InUse",
            EniStatus::Detaching => "Detaching",
        }
    }
}

/// ENI type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EniType {
    /// An instance's own ENI, created with it.
    Primary,
    /// An ENI created by CreateNetworkInterface.
    Secondary,
}

impl EniType {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EniType::Primary => "Primary",
            EniType::Secondary => "Secondary",
        }
    }
}

/// An attach or detach in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    /// `true` for an attach, `false` for a detach.
    pub attach: bool,
    /// When the ENI settles.
    pub settles_at: Instant,
}

/// An elastic network interface.
#[derive(Clone, Debug)]
pub struct Eni {
    /// `eni-...`
    pub id: String,
    pub(crate) seq: u64,
    /// Region.
    pub region_id: String,
    /// Zone (the VSwitch's).
    pub zone_id: String,
    /// VPC.
    pub vpc_id: String,
    /// VSwitch.
    pub vswitch_id: String,
    /// `NetworkInterfaceName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// Primary or Secondary.
    pub eni_type: EniType,
    /// `00:16:3e:..`
    pub mac: String,
    /// The primary private IPv4 address.
    pub primary_ip: Ipv4Addr,
    /// Secondary private IPv4 addresses, in assignment order.
    pub secondary_ips: Vec<Ipv4Addr>,
    /// IPv6 addresses, in assignment order.
    pub ipv6: Vec<Ipv6Addr>,
    /// Security groups.
    pub security_group_ids: Vec<String>,
    /// Tags, in order, keys unique.
    pub tags: Vec<(String, String)>,
    /// Status (as of the last settle).
    pub status: EniStatus,
    /// The instance it is attached to (also while attaching and detaching).
    pub instance_id: Option<String>,
    /// Its device index on the instance.
    pub device_index: Option<u32>,
    pub(crate) pending: Option<Pending>,
    /// Creation time.
    pub creation_time: String,
}

impl Eni {
    /// Finishes an attach or detach whose time has come.
    pub(crate) fn settle(&mut self, now: Instant) {
        let Some(p) = self.pending else { return };
        if now < p.settles_at {
            return;
        }
        self.pending = None;
        if p.attach {
            self.status = EniStatus::InUse;
        } else {
            self.status = EniStatus::Available;
            self.instance_id = None;
            self.device_index = None;
        }
    }

    /// The ENI as it looks at `now` (settling a due transition without changing `self`).
    pub(crate) fn view(&self, now: Instant) -> Eni {
        let mut e = self.clone();
        e.settle(now);
        e
    }

    pub(crate) fn private_ip_sets(&self) -> Vec<Value> {
        std::iter::once(json!({"PrivateIpAddress": self.primary_ip.to_string(), "Primary": true}))
            .chain(self.secondary_ips.iter().map(|ip| json!({"PrivateIpAddress": ip.to_string(), "Primary": false})))
            .collect()
    }

    pub(crate) fn ipv6_sets(&self) -> Vec<Value> {
        self.ipv6.iter().map(|ip| json!({"Ipv6Address": ip.to_string()})).collect()
    }

    /// The ENI as DescribeNetworkInterfaces answers it, at `now`.
    pub fn to_json(&self, now: Instant) -> Value {
        let e = self.view(now);
        let mut v = json!({
            "NetworkInterfaceId": e.id,
            "NetworkInterfaceName": e.name,
            "Description": e.description,
            "Status": e.status.as_str(),
            "Type": e.eni_type.as_str(),
            "VpcId": e.vpc_id,
            "VSwitchId": e.vswitch_id,
            "ZoneId": e.zone_id,
            "MacAddress": e.mac,
            "PrivateIpAddress": e.primary_ip.to_string(),
            "PrivateIpSets": {"PrivateIpSet": e.private_ip_sets()},
            "Ipv6Sets": {"Ipv6Set": e.ipv6_sets()},
            "Ipv4PrefixSets": {},
            "Ipv6PrefixSets": {},
            "SecurityGroupIds": {"SecurityGroupId": e.security_group_ids},
            "Tags": {"Tag": e.tags.iter().map(|(k, v)| json!({"TagKey": k, "TagValue": v})).collect::<Vec<_>>()},
            "InstanceId": e.instance_id.clone().unwrap_or_default(),
            "CreationTime": e.creation_time,
            "ResourceGroupId": "",
            "ServiceManaged": false,
            "SourceDestCheck": false,
            "DeleteOnRelease": e.eni_type == EniType::Primary,
            "NetworkInterfaceTrafficMode": "Standard",
            "AssociatedPublicIp": {},
        });
        if let (Some(instance), Some(index)) = (&e.instance_id, e.device_index) {
            v["Attachment"] = json!({
                "InstanceId": instance,
                "DeviceIndex": index,
                "NetworkCardIndex": 0,
                "TrunkNetworkInterfaceId": "",
            });
        }
        v
    }

    pub(crate) fn has_tag(&self, key: &str, value: &str) -> bool {
        self.tags.iter().any(|(k, v)| k == key && (value.is_empty() || v == value))
    }
}

/// The VSwitch `id` if it exists in `region`, or `InvalidVSwitchId.NotFound`.
pub(crate) fn vswitch_in_region(state: &State, region: &str, id: &str) -> Result<VSwitch, MockError> {
    state
        .vpc
        .vswitch_entry(id)
        .filter(|v| v.region_id == region)
        .map(|v| v.info.clone())
        .ok_or_else(|| crate::vpc::vswitch_not_found(id))
}

/// Parses a list of IPv4 addresses, refusing malformed and repeated ones.
pub(crate) fn parse_ipv4s(req: &Req, prefix: &str) -> Result<Vec<Ipv4Addr>, MockError> {
    let mut out: Vec<Ipv4Addr> = Vec::new();
    for s in req.list(prefix)? {
        let ip: Ipv4Addr =
            s.trim().parse().map_err(|_| MockError::invalid_param(&format!("{prefix}.N"), format!("{s:?}")))?;
        if out.contains(&ip) {
            return Err(MockError::forbidden("InvalidIp.IpRepeated", format!("The IP address {ip} is repeated.")));
        }
        out.push(ip);
    }
    Ok(out)
}

/// Parses a list of IPv6 addresses, refusing malformed and repeated ones.
pub(crate) fn parse_ipv6s(req: &Req, prefix: &str) -> Result<Vec<Ipv6Addr>, MockError> {
    let mut out: Vec<Ipv6Addr> = Vec::new();
    for s in req.list(prefix)? {
        let ip: Ipv6Addr = s
            .trim()
            .parse()
            .map_err(|_| MockError::forbidden("InvalidIp.Address", format!("The IPv6 address {s:?} is not valid.")))?;
        if out.contains(&ip) {
            return Err(MockError::forbidden("InvalidIp.IpRepeated", format!("The IP address {ip} is repeated.")));
        }
        out.push(ip);
    }
    Ok(out)
}

/// Takes `requested` or the lowest free IPv4 address of the VSwitch.
pub(crate) fn take_ipv4(state: &mut State, vsw: &VSwitch, requested: Option<Ipv4Addr>) -> Result<Ipv4Addr, MockError> {
    state.vpc.allocate_ipv4(&vsw.id, requested)
}

/// Takes `requested` or a free IPv6 address of the VSwitch (which must have IPv6).
pub(crate) fn take_ipv6(state: &mut State, vsw: &VSwitch, requested: Option<Ipv6Addr>) -> Result<Ipv6Addr, MockError> {
    if vsw.ipv6_cidr.is_none() {
        return Err(ipv6_not_on(&vsw.id));
    }
    let Some(ip) = requested else {
        return state.vpc.allocate_ipv6(&vsw.id);
    };
    let pool =
        state.vpc.vswitches.get_mut(&vsw.id).and_then(|v| v.pool6.as_mut()).ok_or_else(|| ipv6_not_on(&vsw.id))?;
    pool.take(Some(ip)).map_err(|e| match e {
        TakeError::Full => {
            MockError::forbidden("InvalidVSwitchId.IpNotEnough", "The VSwitch has no free IPv6 address.")
        }
        TakeError::Taken => {
            MockError::forbidden("InvalidIp.IpAssigned", format!("The IP address {ip} is already assigned."))
        }
        TakeError::Outside | TakeError::Reserved => MockError::forbidden(
            "InvalidIp.Address",
            format!("The IPv6 address {ip} is not usable in VSwitch {}.", vsw.id),
        ),
    })
}

pub(crate) fn ipv6_not_on(vsw: &str) -> MockError {
    MockError::forbidden("InvalidVSwitch.Ipv6NotTurnOn", format!("The VSwitch {vsw:?} does not have IPv6 enabled."))
}

/// Addresses taken during one request, returned if the request fails halfway.
#[derive(Default)]
pub(crate) struct Taken {
    pub v4: Vec<Ipv4Addr>,
    pub v6: Vec<Ipv6Addr>,
}

impl Taken {
    pub(crate) fn rollback(self, state: &mut State, vsw: &str) {
        for ip in self.v4 {
            state.vpc.release_ipv4(vsw, ip);
        }
        for ip in self.v6 {
            state.vpc.release_ipv6(vsw, ip);
        }
    }
}

/// CreateNetworkInterface.
pub(crate) fn create(state: &mut State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let vsw = vswitch_in_region(state, &region, req.str("VSwitchId")?)?;
    let mut groups = req.list("SecurityGroupIds")?;
    if let Some(g) = req.opt_str("SecurityGroupId") {
        if !groups.iter().any(|x| x == g) {
            groups.insert(0, g.to_owned());
        }
    }
    if groups.is_empty() {
        return Err(MockError::missing("SecurityGroupId"));
    }
    sg::check_groups(state, &region, &vsw.vpc_id, &groups)?;
    let primary: Option<Ipv4Addr> = req.opt("PrimaryIpAddress")?;
    let wanted_v4 = parse_ipv4s(req, "PrivateIpAddress")?;
    let count_v4: Option<usize> = req.opt("SecondaryPrivateIpAddressCount")?;
    if !wanted_v4.is_empty() && count_v4.is_some() {
        return Err(MockError::invalid_param(
            "SecondaryPrivateIpAddressCount",
            "cannot be given together with PrivateIpAddress.N",
        ));
    }
    if primary.is_some_and(|p| wanted_v4.contains(&p)) {
        return Err(MockError::forbidden(
            "InvalidIp.IpRepeated",
            "The primary address is repeated as a secondary one.",
        ));
    }
    let n_v4 = count_v4.unwrap_or(wanted_v4.len());
    if n_v4 > UNATTACHED_IP_LIMIT {
        return Err(MockError::forbidden(
            "InvalidOperation.Ipv4CountExceeded",
            format!("An ENI that is not attached holds at most {UNATTACHED_IP_LIMIT} secondary private IP addresses."),
        ));
    }
    let wanted_v6 = parse_ipv6s(req, "Ipv6Address")?;
    let count_v6: Option<usize> = req.opt("Ipv6AddressCount")?;
    if !wanted_v6.is_empty() && count_v6.is_some() {
        return Err(MockError::invalid_param("Ipv6AddressCount", "cannot be given together with Ipv6Address.N"));
    }
    let n_v6 = count_v6.unwrap_or(wanted_v6.len());
    if n_v6 > 0 && vsw.ipv6_cidr.is_none() {
        return Err(ipv6_not_on(&vsw.id));
    }
    if n_v6 > UNATTACHED_IP_LIMIT {
        return Err(MockError::forbidden(
            "InvalidOperation.Ipv6CountExceeded",
            format!("An ENI that is not attached holds at most {UNATTACHED_IP_LIMIT} IPv6 addresses."),
        ));
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    for (k, v) in req.tags("Tag", "Key", "Value")? {
        tags.retain(|(x, _)| *x != k);
        tags.push((k, v));
    }
    if tags.len() > 20 {
        return Err(MockError::invalid_param("Tag.N", "at most 20 tags"));
    }
    let name = req.opt_str("NetworkInterfaceName").unwrap_or_default().to_owned();
    let description = req.opt_str("Description").unwrap_or_default().to_owned();

    let mut taken = Taken::default();
    let result = (|| -> Result<(Ipv4Addr, Vec<Ipv4Addr>, Vec<Ipv6Addr>), MockError> {
        let p = take_ipv4(state, &vsw, primary)?;
        taken.v4.push(p);
        let mut secondary = Vec::with_capacity(n_v4);
        for i in 0..n_v4 {
            let ip = take_ipv4(state, &vsw, wanted_v4.get(i).copied())?;
            taken.v4.push(ip);
            secondary.push(ip);
        }
        let mut v6 = Vec::with_capacity(n_v6);
        for i in 0..n_v6 {
            let ip = take_ipv6(state, &vsw, wanted_v6.get(i).copied())?;
            taken.v6.push(ip);
            v6.push(ip);
        }
        Ok((p, secondary, v6))
    })();
    let (primary_ip, secondary_ips, ipv6) = match result {
        Ok(x) => x,
        Err(e) => {
            taken.rollback(state, &vsw.id);
            return Err(e);
        }
    };
    let id = state.ids.id("eni-");
    let mac = state.ids.mac();
    let seq = state.ecs.next_seq();
    let eni = Eni {
        id: id.clone(),
        seq,
        region_id: region,
        zone_id: vsw.zone_id.clone(),
        vpc_id: vsw.vpc_id.clone(),
        vswitch_id: vsw.id.clone(),
        name,
        description,
        eni_type: EniType::Secondary,
        mac,
        primary_ip,
        secondary_ips,
        ipv6,
        security_group_ids: groups,
        tags,
        status: EniStatus::Available,
        instance_id: None,
        device_index: None,
        pending: None,
        creation_time: timestamp(),
    };
    let v = eni.to_json(req.now);
    state.ecs.enis.insert(id, eni);
    Ok(v)
}

fn invalid_state(id: &str, status: EniStatus, what: &str) -> MockError {
    MockError::forbidden("InvalidOperation.InvalidEniState", format!("The ENI {id:?} is {}; {what}.", status.as_str()))
}

/// AttachNetworkInterface: Attaching now, InUse after the attach delay.
pub(crate) fn attach(state: &mut State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let eni_id = req.str("NetworkInterfaceId")?;
    let instance_id = req.str("InstanceId")?;
    let eni = eni_in(state, &region, eni_id)?;
    let instance = state.ecs.instances.get(instance_id).filter(|i| i.region_id == region).ok_or_else(|| {
        MockError::not_found("InvalidEcsId.NotFound", format!("The specified instance {instance_id:?} does not exist."))
    })?;
    if eni.eni_type == EniType::Primary {
        return Err(MockError::forbidden("InvalidOperation.InvalidEniType", "A primary ENI cannot be attached."));
    }
    if eni.status != EniStatus::Available {
        return Err(invalid_state(eni_id, eni.status, "only an Available ENI can be attached"));
    }
    if eni.zone_id != instance.zone_id {
        return Err(MockError::forbidden(
            "InvalidOperation.AvailabilityZoneMismatch",
            format!("The ENI is in zone {:?} and the instance in zone {:?}.", eni.zone_id, instance.zone_id),
        ));
    }
    if eni.vpc_id != instance.vpc_id {
        return Err(MockError::forbidden(
            "InvalidOperation.VpcMismatch",
            "The ENI and the instance are in different VPCs.",
        ));
    }
    let itype: &types::InstanceTypeSpec = instance.instance_type;
    if state.ecs.enis_on(instance_id) >= itype.eni_quantity as usize {
        return Err(MockError::forbidden(
            "EniPerInstanceLimitExceeded",
            format!("The instance type {} holds at most {} ENIs.", itype.id, itype.eni_quantity),
        ));
    }
    if eni.secondary_ips.len() + 1 > itype.ipv4_per_eni as usize {
        return Err(MockError::forbidden(
            "InvalidOperation.Ipv4CountExceeded",
            format!("The instance type {} allows {} IPv4 addresses per ENI.", itype.id, itype.ipv4_per_eni),
        ));
    }
    if !eni.ipv6.is_empty() && itype.ipv6_per_eni == 0 {
        return Err(MockError::forbidden(
            "InvalidOperation.Ipv6NotSupport",
            format!("{} does not support IPv6.", itype.id),
        ));
    }
    if eni.ipv6.len() > itype.ipv6_per_eni as usize {
        return Err(MockError::forbidden(
            "InvalidOperation.Ipv6CountExceeded",
            format!("The instance type {} allows {} IPv6 addresses per ENI.", itype.id, itype.ipv6_per_eni),
        ));
    }
    let used: Vec<u32> = state
        .ecs
        .enis
        .values()
        .filter(|e| e.instance_id.as_deref() == Some(instance_id))
        .filter_map(|e| e.device_index)
        .collect();
    let index = (0..).find(|i| !used.contains(i)).unwrap_or(0);
    let delay = state.ecs.attach_delay;
    let instance_id = instance_id.to_owned();
    let eni = state.ecs.enis.get_mut(eni_id).ok_or_else(|| super::eni_not_found(eni_id))?;
    eni.instance_id = Some(instance_id);
    eni.device_index = Some(index);
    eni.status = EniStatus::Attaching;
    eni.pending = Some(Pending { attach: true, settles_at: req.now + delay });
    eni.settle(req.now);
    if eni.pending.is_some() {
        state.ecs.unsettled += 1;
    }
    Ok(json!({}))
}

/// DetachNetworkInterface: Detaching now, Available after the detach delay.
pub(crate) fn detach(state: &mut State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let eni_id = req.str("NetworkInterfaceId")?;
    let instance_id = req.str("InstanceId")?;
    let eni = eni_in(state, &region, eni_id)?;
    if state.ecs.instances.get(instance_id).is_none_or(|i| i.region_id != region) {
        return Err(MockError::not_found(
            "InvalidEcsId.NotFound",
            format!("The specified instance {instance_id:?} does not exist."),
        ));
    }
    if eni.eni_type == EniType::Primary {
        return Err(MockError::bad_request(
            "InvalidOperation.DetachPrimaryEniNotAllowed",
            "Detaching primary ENI from ECS instance is not allowed.",
        ));
    }
    if eni.status != EniStatus::InUse {
        return Err(invalid_state(eni_id, eni.status, "only an InUse ENI can be detached"));
    }
    if eni.instance_id.as_deref() != Some(instance_id) {
        return Err(invalid_state(eni_id, eni.status, &format!("it is not attached to {instance_id:?}")));
    }
    let delay = state.ecs.detach_delay;
    let eni = state.ecs.enis.get_mut(eni_id).ok_or_else(|| super::eni_not_found(eni_id))?;
    eni.status = EniStatus::Detaching;
    eni.pending = Some(Pending { attach: false, settles_at: req.now + delay });
    eni.settle(req.now);
    if eni.pending.is_some() {
        state.ecs.unsettled += 1;
    }
    Ok(json!({}))
}

/// DeleteNetworkInterface: only an Available secondary ENI; its addresses go back to the
/// VSwitch.
pub(crate) fn delete(state: &mut State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let eni_id = req.str("NetworkInterfaceId")?;
    let eni = eni_in(state, &region, eni_id)?;
    if eni.eni_type == EniType::Primary {
        return Err(MockError::forbidden("InvalidOperation.InvalidEniType", "A primary ENI cannot be deleted."));
    }
    if eni.status != EniStatus::Available {
        return Err(invalid_state(eni_id, eni.status, "only an Available ENI can be deleted"));
    }
    let Some(eni) = state.ecs.enis.remove(eni_id) else { return Err(super::eni_not_found(eni_id)) };
    state.vpc.release_ipv4(&eni.vswitch_id, eni.primary_ip);
    for ip in eni.secondary_ips {
        state.vpc.release_ipv4(&eni.vswitch_id, ip);
    }
    for ip in eni.ipv6 {
        state.vpc.release_ipv6(&eni.vswitch_id, ip);
    }
    Ok(json!({}))
}
