//! Security groups and their rules: create, describe, delete, authorize and revoke (ingress
//! and egress, `Permissions.N.*` and the legacy flat parameters).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{json, Value};

use super::{region, timestamp, EcsState};
use crate::error::{HandlerResult, MockError};
use crate::handler::{page_by_number, page_by_token, Req};
use crate::state::State;

/// The most rules a group holds.
const MAX_RULES: usize = 200;
/// The most security groups an ENI belongs to.
const MAX_GROUPS_PER_ENI: usize = 5;

/// Rule direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    /// Inbound.
    Ingress,
    /// Outbound.
    Egress,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// A security group rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `sgr-...`
    pub id: String,
    /// Ingress or egress.
    pub direction: Direction,
    /// `TCP`, `UDP`, `ICMP`, `ICMPV6`, `GRE` or `ALL`.
    pub ip_protocol: String,
    /// `80/80`, `1/65535`, `-1/-1`.
    pub port_range: String,
    /// IPv4 source (ingress).
    pub source_cidr_ip: String,
    /// IPv6 source (ingress).
    pub ipv6_source_cidr_ip: String,
    /// Source group (ingress).
    pub source_group_id: String,
    /// IPv4 destination (egress).
    pub dest_cidr_ip: String,
    /// IPv6 destination (egress).
    pub ipv6_dest_cidr_ip: String,
    /// Destination group (egress).
    pub dest_group_id: String,
    /// `Accept` or `Drop`.
    pub policy: String,
    /// 1 (highest) to 100.
    pub priority: u32,
    /// `intranet`.
    pub nic_type: String,
    /// Free text (not part of the rule's identity).
    pub description: String,
    /// Creation time.
    pub create_time: String,
}

impl Rule {
    /// Whether two rules are the same rule (everything but id, description and time).
    fn same(&self, o: &Rule) -> bool {
        self.direction == o.direction
            && self.ip_protocol == o.ip_protocol
            && self.port_range == o.port_range
            && self.source_cidr_ip == o.source_cidr_ip
            && self.ipv6_source_cidr_ip == o.ipv6_source_cidr_ip
            && self.source_group_id == o.source_group_id
            && self.dest_cidr_ip == o.dest_cidr_ip
            && self.ipv6_dest_cidr_ip == o.ipv6_dest_cidr_ip
            && self.dest_group_id == o.dest_group_id
            && self.policy == o.policy
            && self.priority == o.priority
            && self.nic_type == o.nic_type
    }

    /// The rule as `Permissions.Permission[]` answers it.
    pub fn to_json(&self) -> Value {
        json!({
            "SecurityGroupRuleId": self.id,
            "Direction": self.direction.as_str(),
            "IpProtocol": self.ip_protocol,
            "PortRange": self.port_range,
            "SourcePortRange": "",
            "SourceCidrIp": self.source_cidr_ip,
            "Ipv6SourceCidrIp": self.ipv6_source_cidr_ip,
            "SourceGroupId": self.source_group_id,
            "SourceGroupName": "",
            "SourceGroupOwnerAccount": "",
            "SourcePrefixListId": "",
            "DestCidrIp": self.dest_cidr_ip,
            "Ipv6DestCidrIp": self.ipv6_dest_cidr_ip,
            "DestGroupId": self.dest_group_id,
            "DestGroupName": "",
            "DestGroupOwnerAccount": "",
            "DestPrefixListId": "",
            "Policy": self.policy,
            "Priority": self.priority.to_string(),
            "NicType": self.nic_type,
            "Description": self.description,
            "CreateTime": self.create_time,
        })
    }
}

/// A security group.
#[derive(Clone, Debug)]
pub struct SecurityGroup {
    /// `sg-...`
    pub id: String,
    pub(crate) seq: u64,
    /// Region.
    pub region_id: String,
    /// VPC.
    pub vpc_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// `normal` or `enterprise`.
    pub sg_type: String,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// Rules, in creation order.
    pub rules: Vec<Rule>,
    /// Creation time.
    pub creation_time: String,
}

impl SecurityGroup {
    /// The group as DescribeSecurityGroups answers it.
    pub(crate) fn to_json(&self, ecs: &EcsState) -> Value {
        let enis = ecs.enis.values().filter(|e| e.security_group_ids.contains(&self.id)).count();
        json!({
            "SecurityGroupId": self.id,
            "SecurityGroupName": self.name,
            "Description": self.description,
            "VpcId": self.vpc_id,
            "SecurityGroupType": self.sg_type,
            "CreationTime": self.creation_time,
            "ResourceGroupId": "",
            "ServiceManaged": false,
            "EcsCount": enis,
            "AvailableInstanceAmount": 2000usize.saturating_sub(enis),
            "RuleCount": self.rules.len(),
            "GroupToGroupRuleCount": self.rules.iter().filter(|r| !r.source_group_id.is_empty() || !r.dest_group_id.is_empty()).count(),
            "Tags": {"Tag": self.tags.iter().map(|(k, v)| json!({"TagKey": k, "TagValue": v})).collect::<Vec<_>>()},
        })
    }
}

fn group_not_found(id: &str) -> MockError {
    MockError::not_found(
        "InvalidSecurityGroupId.NotFound",
        format!("The specified security group {id:?} does not exist."),
    )
}

/// Checks that every group exists in `region` and belongs to `vpc_id` (at most 5 groups).
pub(crate) fn check_groups(state: &State, region: &str, vpc_id: &str, groups: &[String]) -> Result<(), MockError> {
    if groups.len() > MAX_GROUPS_PER_ENI {
        return Err(MockError::invalid_param(
            "SecurityGroupIds.N",
            format!("at most {MAX_GROUPS_PER_ENI} security groups"),
        ));
    }
    for g in groups {
        let sg = state.ecs.groups.get(g).filter(|s| s.region_id == region).ok_or_else(|| group_not_found(g))?;
        if sg.vpc_id != vpc_id {
            return Err(MockError::forbidden(
                "InvalidOperation.VpcMismatch",
                format!("The security group {g:?} is not in VPC {vpc_id:?}."),
            ));
        }
    }
    Ok(())
}

/// CreateSecurityGroup.
pub(crate) fn create(state: &mut State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let vpc_id = req.str("VpcId")?.to_owned();
    if state.vpc.vpcs.get(&vpc_id).is_none_or(|v| v.region_id != region) {
        return Err(crate::vpc::vpc_not_found(&vpc_id));
    }
    let name = req.opt_str("SecurityGroupName").unwrap_or_default().to_owned();
    if !name.is_empty() && (name.chars().count() < 2 || name.chars().count() > 128 || name.starts_with("http")) {
        return Err(MockError::bad_request(
            "InvalidSecurityGroupName.Malformed",
            "The name is 2-128 characters and does not start with http.",
        ));
    }
    let description = req.opt_str("Description").unwrap_or_default().to_owned();
    if description.chars().count() > 256 {
        return Err(MockError::bad_request(
            "InvalidDescription.Malformed",
            "The description is at most 256 characters.",
        ));
    }
    let sg_type = req.opt_str("SecurityGroupType").unwrap_or("normal").to_owned();
    if sg_type != "normal" && sg_type != "enterprise" {
        return Err(MockError::invalid_param("SecurityGroupType", "normal or enterprise"));
    }
    let tags = req.tags("Tag", "Key", "Value")?;
    let id = state.ids.id("sg-");
    let seq = state.ecs.next_seq();
    state.ecs.groups.insert(
        id.clone(),
        SecurityGroup {
            id: id.clone(),
            seq,
            region_id: region,
            vpc_id,
            name,
            description,
            sg_type,
            tags,
            rules: Vec::new(),
            creation_time: timestamp(),
        },
    );
    Ok(json!({ "SecurityGroupId": id }))
}

/// DeleteSecurityGroup: refused while an ENI or instance uses the group or another group's
/// rule refers to it.
pub(crate) fn delete(state: &mut State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let id = req.str("SecurityGroupId")?;
    if state.ecs.groups.get(id).is_none_or(|g| g.region_id != region) {
        return Err(group_not_found(id));
    }
    if state.ecs.enis.values().any(|e| e.security_group_ids.iter().any(|g| g == id)) {
        return Err(MockError::forbidden(
            "DependencyViolation",
            "There is still instance(s) in the specified security group.",
        ));
    }
    let referenced = state
        .ecs
        .groups
        .values()
        .filter(|g| g.id != id)
        .any(|g| g.rules.iter().any(|r| r.source_group_id == id || r.dest_group_id == id));
    if referenced {
        return Err(MockError::forbidden(
            "DependencyViolation",
            "The security group is referenced by another group's rule.",
        ));
    }
    state.ecs.groups.remove(id);
    Ok(json!({}))
}

/// DescribeSecurityGroups: PageNumber/PageSize (1-50) or NextToken/MaxResults (10-100).
pub(crate) fn describe(state: &State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let vpc = req.opt_str("VpcId");
    let one = req.opt_str("SecurityGroupId");
    let many: Option<Vec<String>> = match req.opt_str("SecurityGroupIds") {
        None => None,
        Some(_) => Some(req.json("SecurityGroupIds")?),
    };
    let name = req.opt_str("SecurityGroupName");
    let tags = req.tags("Tag", "Key", "Value")?;
    let mut list: Vec<&SecurityGroup> = state
        .ecs
        .groups
        .values()
        .filter(|g| g.region_id == region)
        .filter(|g| vpc.is_none_or(|v| v == g.vpc_id))
        .filter(|g| one.is_none_or(|i| i == g.id))
        .filter(|g| many.as_ref().is_none_or(|m| m.contains(&g.id)))
        .filter(|g| name.is_none_or(|n| n == g.name))
        .filter(|g| tags.iter().all(|(k, v)| g.tags.iter().any(|(x, y)| x == k && (v.is_empty() || y == v))))
        .collect();
    list.sort_by_key(|g| g.seq);
    let total = list.len();
    if req.opt_str("NextToken").is_some() || req.opt_str("MaxResults").is_some() {
        let (page, next) = page_by_token(req, &list, "MaxResults", 10, 10, 100, "InvalidNextToken")?;
        let items: Vec<Value> = page.iter().map(|g| g.to_json(&state.ecs)).collect();
        return Ok(
            json!({"SecurityGroups": {"SecurityGroup": items}, "NextToken": next, "TotalCount": total, "RegionId": region}),
        );
    }
    let (page, mut meta) = page_by_number(req, &list, 10, 50)?;
    meta["SecurityGroups"] = json!({"SecurityGroup": page.iter().map(|g| g.to_json(&state.ecs)).collect::<Vec<_>>()});
    meta["RegionId"] = json!(region);
    Ok(meta)
}

/// DescribeSecurityGroupAttribute: the group and its rules; `Direction` (all, ingress,
/// egress) filters; NextToken/MaxResults (10-1000) pages when given, otherwise all rules.
pub(crate) fn describe_attribute(state: &State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let id = req.str("SecurityGroupId")?;
    let g = state.ecs.groups.get(id).filter(|g| g.region_id == region).ok_or_else(|| group_not_found(id))?;
    let dir = match req.opt_str("Direction").unwrap_or("all") {
        "all" => None,
        "ingress" => Some(Direction::Ingress),
        "egress" => Some(Direction::Egress),
        other => return Err(MockError::invalid_param("Direction", format!("{other:?} is not all, ingress or egress"))),
    };
    let nic = req.opt_str("NicType");
    let rules: Vec<&Rule> = g
        .rules
        .iter()
        .filter(|r| dir.is_none_or(|d| d == r.direction))
        .filter(|r| nic.is_none_or(|n| n == r.nic_type))
        .collect();
    let (page, next) = if req.opt_str("NextToken").is_some() || req.opt_str("MaxResults").is_some() {
        page_by_token(req, &rules, "MaxResults", 10, 10, 1000, "InvalidNextToken")?
    } else {
        (rules, String::new())
    };
    Ok(json!({
        "SecurityGroupId": g.id,
        "SecurityGroupName": g.name,
        "Description": g.description,
        "VpcId": g.vpc_id,
        "RegionId": g.region_id,
        "InnerAccessPolicy": "Accept",
        "Permissions": {"Permission": page.iter().map(|r| r.to_json()).collect::<Vec<_>>()},
        "NextToken": next,
    }))
}

/// The permissions of an authorize or revoke call: `Permissions.N.*`, or the flat legacy
/// parameters when no `Permissions.N` is given.
fn permission_maps(req: &Req) -> Result<Vec<BTreeMap<String, String>>, MockError> {
    let perms = req.objects("Permissions")?;
    if !perms.is_empty() {
        if perms.len() > 100 {
            return Err(MockError::invalid_param("Permissions.N", "at most 100 permissions per call"));
        }
        return Ok(perms);
    }
    const FLAT: &[&str] = &[
        "IpProtocol",
        "PortRange",
        "SourceCidrIp",
        "Ipv6SourceCidrIp",
        "SourceGroupId",
        "DestCidrIp",
        "Ipv6DestCidrIp",
        "DestGroupId",
        "Policy",
        "Priority",
        "NicType",
        "Description",
    ];
    let flat: BTreeMap<String, String> =
        FLAT.iter().filter_map(|k| req.opt_str(k).map(|v| ((*k).to_owned(), v.to_owned()))).collect();
    Ok(if flat.is_empty() { Vec::new() } else { vec![flat] })
}

fn field<'a>(m: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    m.get(k).map(|s| s.trim()).unwrap_or("")
}

fn check_v4(value: &str, code: &str) -> Result<(), MockError> {
    if value.is_empty() || value.parse::<ipnet::Ipv4Net>().is_ok() || value.parse::<Ipv4Addr>().is_ok() {
        Ok(())
    } else {
        Err(MockError::bad_request(code, format!("{value:?} is not an IPv4 address or CIDR block.")))
    }
}

fn check_v6(value: &str, code: &str) -> Result<(), MockError> {
    if value.is_empty() || value.parse::<ipnet::Ipv6Net>().is_ok() || value.parse::<Ipv6Addr>().is_ok() {
        Ok(())
    } else {
        Err(MockError::bad_request(code, format!("{value:?} is not an IPv6 address or CIDR block.")))
    }
}

/// Parses and checks one permission as ECS does.
fn parse_rule(
    state: &State,
    group: &SecurityGroup,
    m: &BTreeMap<String, String>,
    dir: Direction,
) -> Result<Rule, MockError> {
    let proto = field(m, "IpProtocol").to_ascii_uppercase();
    if proto.is_empty() {
        return Err(MockError::missing("IpProtocol"));
    }
    let port_range = field(m, "PortRange").to_owned();
    match proto.as_str() {
        "TCP" | "UDP" => {
            let ok = port_range.split_once('/').is_some_and(|(a, b)| match (a.parse::<u32>(), b.parse::<u32>()) {
                (Ok(a), Ok(b)) => (1..=65535).contains(&a) && (1..=65535).contains(&b) && a <= b,
                _ => false,
            });
            if !ok {
                return Err(MockError::bad_request(
                    "InvalidPortRange.Malformed",
                    format!("The specified parameter PortRange {port_range:?} is not valid for {proto}."),
                ));
            }
        }
        "ICMP" | "ICMPV6" | "GRE" | "ALL" => {
            if port_range != "-1/-1" {
                return Err(MockError::bad_request(
                    "InvalidPortRange.Malformed",
                    format!("The PortRange of {proto} must be -1/-1, not {port_range:?}."),
                ));
            }
        }
        _ => {
            return Err(MockError::bad_request(
                "InvalidIpProtocol.ValueNotSupported",
                "The parameter IpProtocol must be specified with case insensitive TCP, UDP, ICMP, ICMPv6, GRE or All.",
            ))
        }
    }
    let policy = match field(m, "Policy").to_ascii_lowercase().as_str() {
        "" | "accept" => "Accept",
        "drop" => "Drop",
        _ => {
            return Err(MockError::bad_request(
                "InvalidPolicy.Malformed",
                "The specified parameter Policy is not valid.",
            ))
        }
    };
    let priority = match field(m, "Priority") {
        "" => 1,
        p => match p.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => n as u32,
            Ok(_) => return Err(MockError::bad_request("InvalidPriority.ValueNotSupported", "Priority is 1-100.")),
            Err(_) => {
                return Err(MockError::bad_request(
                    "InvalidPriority.Malformed",
                    "The specified parameter Priority is not valid.",
                ))
            }
        },
    };
    let nic_type = match field(m, "NicType") {
        "" | "intranet" => "intranet",
        _ => {
            return Err(MockError::bad_request(
                "InvalidNicType.ValueNotSupported",
                "A VPC security group takes NicType intranet.",
            ))
        }
    };
    let description = field(m, "Description").to_owned();
    if description.chars().count() > 512 || description.starts_with("http://") || description.starts_with("https://") {
        return Err(MockError::bad_request(
            "InvalidSecurityGroupDiscription.Malformed",
            "The specified security group rule description is not valid.",
        ));
    }
    let (src4, src6, src_g) = (field(m, "SourceCidrIp"), field(m, "Ipv6SourceCidrIp"), field(m, "SourceGroupId"));
    let (dst4, dst6, dst_g) = (field(m, "DestCidrIp"), field(m, "Ipv6DestCidrIp"), field(m, "DestGroupId"));
    check_v4(src4, "InvalidSourceCidrIp.Malformed")?;
    check_v4(dst4, "InvalidDestCidrIp.Malformed")?;
    check_v6(src6, "InvalidParam.Ipv6SourceCidrIp")?;
    check_v6(dst6, "InvalidParam.Ipv6DestCidrIp")?;
    let (peer4, peer6, peer_g, what) = match dir {
        Direction::Ingress => (src4, src6, src_g, "Source"),
        Direction::Egress => (dst4, dst6, dst_g, "Dest"),
    };
    if peer4.is_empty() && peer6.is_empty() && peer_g.is_empty() {
        return Err(MockError::missing(&format!("{what}CidrIp")));
    }
    if !peer4.is_empty() && !peer6.is_empty() {
        return Err(MockError::bad_request(
            format!("InvalidParam.{}Ip", what),
            format!("{what}CidrIp and Ipv6{what}CidrIp cannot be set at the same time."),
        ));
    }
    if !peer_g.is_empty() {
        let peer = state.ecs.groups.get(peer_g).filter(|g| g.region_id == group.region_id).ok_or_else(|| {
            MockError::not_found(
                format!("Invalid{what}GroupId.NotFound"),
                format!("The group {peer_g:?} does not exist."),
            )
        })?;
        if peer.vpc_id != group.vpc_id {
            return Err(MockError::bad_request(
                format!("Invalid{what}GroupId.Mismatch"),
                "The security groups are not in the same VPC.",
            ));
        }
    }
    let ingress = dir == Direction::Ingress;
    let pick = |v: &str, keep: bool| if keep { v.to_owned() } else { String::new() };
    Ok(Rule {
        id: String::new(),
        direction: dir,
        ip_protocol: proto,
        port_range,
        source_cidr_ip: pick(src4, ingress),
        ipv6_source_cidr_ip: pick(src6, ingress),
        source_group_id: pick(src_g, ingress),
        dest_cidr_ip: pick(dst4, !ingress),
        ipv6_dest_cidr_ip: pick(dst6, !ingress),
        dest_group_id: pick(dst_g, !ingress),
        policy: policy.to_owned(),
        priority,
        nic_type: nic_type.to_owned(),
        description,
        create_time: String::new(),
    })
}

fn parse_all(state: &State, req: &Req, dir: Direction) -> Result<(String, Vec<Rule>), MockError> {
    let region = region(state, req)?;
    let id = req.str("SecurityGroupId")?;
    let group = state.ecs.groups.get(id).filter(|g| g.region_id == region).ok_or_else(|| group_not_found(id))?;
    let maps = permission_maps(req)?;
    let mut rules = Vec::with_capacity(maps.len());
    for m in &maps {
        rules.push(parse_rule(state, group, m, dir)?);
    }
    Ok((id.to_owned(), rules))
}

/// AuthorizeSecurityGroup(Egress): adds the rules a group does not hold yet; a rule it
/// already holds is left as it is (the call still succeeds).
pub(crate) fn authorize(state: &mut State, req: &Req, dir: Direction) -> HandlerResult {
    let (id, rules) = parse_all(state, req, dir)?;
    if rules.is_empty() {
        return Err(MockError::missing("Permissions"));
    }
    let existing = state.ecs.groups.get(&id).map_or(0, |g| g.rules.len());
    let new: Vec<Rule> = {
        let g = state.ecs.groups.get(&id).ok_or_else(|| group_not_found(&id))?;
        let mut new: Vec<Rule> = Vec::new();
        for r in rules {
            if !g.rules.iter().any(|x| x.same(&r)) && !new.iter().any(|x| x.same(&r)) {
                new.push(r);
            }
        }
        new
    };
    if existing + new.len() > MAX_RULES {
        return Err(MockError::forbidden(
            "AuthorizationLimitExceed",
            format!("A security group holds at most {MAX_RULES} rules."),
        ));
    }
    let mut with_ids = Vec::with_capacity(new.len());
    for mut r in new {
        r.id = state.ids.id("sgr-");
        r.create_time = timestamp();
        with_ids.push(r);
    }
    let g = state.ecs.groups.get_mut(&id).ok_or_else(|| group_not_found(&id))?;
    g.rules.extend(with_ids);
    Ok(json!({}))
}

/// RevokeSecurityGroup(Egress): removes the matching rules (description ignored) and the
/// rules named by `SecurityGroupRuleId.N`; a rule that does not exist is no error.
pub(crate) fn revoke(state: &mut State, req: &Req, dir: Direction) -> HandlerResult {
    let rule_ids = req.list("SecurityGroupRuleId")?;
    let (id, rules) = if rule_ids.is_empty() {
        parse_all(state, req, dir)?
    } else {
        let region = region(state, req)?;
        let id = req.str("SecurityGroupId")?;
        if state.ecs.groups.get(id).is_none_or(|g| g.region_id != region) {
            return Err(group_not_found(id));
        }
        (id.to_owned(), Vec::new())
    };
    if rules.is_empty() && rule_ids.is_empty() {
        return Err(MockError::missing("Permissions"));
    }
    let g = state.ecs.groups.get_mut(&id).ok_or_else(|| group_not_found(&id))?;
    g.rules.retain(|x| !(rules.iter().any(|r| r.same(x)) || (x.direction == dir && rule_ids.contains(&x.id))));
    Ok(json!({}))
}
