//! TagResources, UntagResources, ListTagResources for VPCs and VSwitches.

use serde_json::{json, Value};

use super::{vpc_not_found, vswitch_not_found};
use crate::error::{HandlerResult, MockError};
use crate::handler::{page_by_token, Req};
use crate::state::State;

/// At most this many tags per resource.
pub const MAX_TAGS: usize = 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vpc,
    VSwitch,
}

impl Kind {
    fn parse(s: &str) -> Result<Self, MockError> {
        match s.to_ascii_uppercase().as_str() {
            "VPC" => Ok(Kind::Vpc),
            "VSWITCH" => Ok(Kind::VSwitch),
            _ => Err(MockError::bad_request(
                "InvalidResourceType.NotSupported",
                format!("Specified ResourceType \"{s}\" is not supported."),
            )),
        }
    }

    fn wire(self) -> &'static str {
        match self {
            Kind::Vpc => "VPC",
            Kind::VSwitch => "VSWITCH",
        }
    }
}

fn tags_of<'a>(state: &'a mut State, kind: Kind, id: &str) -> Result<&'a mut Vec<(String, String)>, MockError> {
    match kind {
        Kind::Vpc => state.vpc.vpcs.get_mut(id).map(|v| &mut v.tags).ok_or_else(|| vpc_not_found(id)),
        Kind::VSwitch => state.vpc.vswitches.get_mut(id).map(|v| &mut v.tags).ok_or_else(|| vswitch_not_found(id)),
    }
}

fn check_key(k: &str) -> Result<(), MockError> {
    let lower = k.to_ascii_lowercase();
    if k.chars().count() > 128 || lower.starts_with("aliyun") || lower.starts_with("acs:") || lower.starts_with("http")
    {
        return Err(MockError::bad_request("IllegalParam.TagKey", format!("The param of TagKey \"{k}\" is illegal.")));
    }
    Ok(())
}

pub(super) fn tag(state: &mut State, req: &Req) -> HandlerResult {
    req.str("RegionId")?;
    let kind = Kind::parse(req.str("ResourceType")?)?;
    let ids = req.list("ResourceId")?;
    if ids.is_empty() {
        return Err(MockError::missing("ResourceId"));
    }
    let tags = req.tags("Tag", "Key", "Value")?;
    if tags.is_empty() {
        return Err(MockError::missing("Tag"));
    }
    for (k, _) in &tags {
        check_key(k)?;
    }
    // Check everything first so a failure changes nothing.
    for id in &ids {
        let have = tags_of(state, kind, id)?;
        let new_keys = tags.iter().filter(|(k, _)| !have.iter().any(|(hk, _)| hk == k)).count();
        if have.len() + new_keys > MAX_TAGS {
            return Err(MockError::bad_request(
                "QuotaExceeded.TagNum",
                format!("Resource \"{id}\" would have more than {MAX_TAGS} tags."),
            ));
        }
    }
    for id in &ids {
        let have = tags_of(state, kind, id)?;
        for (k, v) in &tags {
            match have.iter_mut().find(|(hk, _)| hk == k) {
                Some(slot) => slot.1 = v.clone(),
                None => have.push((k.clone(), v.clone())),
            }
        }
    }
    Ok(json!({}))
}

pub(super) fn untag(state: &mut State, req: &Req) -> HandlerResult {
    req.str("RegionId")?;
    let kind = Kind::parse(req.str("ResourceType")?)?;
    let ids = req.list("ResourceId")?;
    if ids.is_empty() {
        return Err(MockError::missing("ResourceId"));
    }
    let keys = req.list("TagKey")?;
    let all = req.opt_bool("All")?.unwrap_or(false);
    if keys.is_empty() && !all {
        return Err(MockError::missing("TagKey"));
    }
    for id in &ids {
        tags_of(state, kind, id)?;
    }
    for id in &ids {
        let have = tags_of(state, kind, id)?;
        if keys.is_empty() {
            have.clear();
        } else {
            have.retain(|(k, _)| !keys.contains(k));
        }
    }
    Ok(json!({}))
}

pub(super) fn list(state: &mut State, req: &Req) -> HandlerResult {
    let region = req.str("RegionId")?.to_owned();
    let kind = Kind::parse(req.str("ResourceType")?)?;
    let ids = req.list("ResourceId")?;
    let want = req.tags("Tag", "Key", "Value")?;
    if ids.is_empty() && want.is_empty() {
        return Err(MockError::missing("ResourceId"));
    }
    let resources: Vec<(String, Vec<(String, String)>)> = match kind {
        Kind::Vpc => state
            .vpc
            .vpc_order
            .iter()
            .filter_map(|id| state.vpc.vpcs.get(id))
            .filter(|v| v.region_id == region)
            .map(|v| (v.id.clone(), v.tags.clone()))
            .collect(),
        Kind::VSwitch => state
            .vpc
            .vswitch_order
            .iter()
            .filter_map(|id| state.vpc.vswitches.get(id))
            .filter(|v| v.region_id == region)
            .map(|v| (v.info.id.clone(), v.tags.clone()))
            .collect(),
    };
    let mut rows: Vec<Value> = Vec::new();
    for (id, tags) in resources {
        if !ids.is_empty() && !ids.contains(&id) {
            continue;
        }
        if !super::tags_match(&tags, &want) {
            continue;
        }
        for (k, v) in tags {
            rows.push(json!({ "ResourceId": id, "ResourceType": kind.wire(), "TagKey": k, "TagValue": v }));
        }
    }
    let (page, next) = page_by_token(req, &rows, "MaxResults", 50, 1, 50, "InvalidNextToken")?;
    Ok(json!({ "NextToken": next, "TagResources": { "TagResource": page } }))
}
