//! TagResources, UntagResources and ListTagResources for load balancers
//! (`ResourceType=instance`).

use serde_json::{json, Value};

use super::{merge_tags, region_matches};
use crate::error::{HandlerResult, MockError};
use crate::handler::{page_by_token, Req};
use crate::state::State;

pub(super) const ACTIONS: &[&str] = &["TagResources", "UntagResources", "ListTagResources"];

/// The most resources one tag call may name.
const MAX_RESOURCES_PER_CALL: usize = 20;

pub(super) fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    Some(match req.action.as_str() {
        "TagResources" => tag(state, req),
        "UntagResources" => untag(state, req),
        "ListTagResources" => list(state, req),
        _ => return None,
    })
}

fn resource_type(req: &Req) -> Result<(), MockError> {
    match req.str("ResourceType")? {
        "instance" => Ok(()),
        other => Err(MockError::invalid_param("ResourceType", format!("{other:?} is not supported; use instance"))),
    }
}

/// The named load balancers, all of which must exist in the region.
fn resources(state: &State, req: &Req, required: bool) -> Result<Vec<String>, MockError> {
    let ids = req.list("ResourceId")?;
    if ids.is_empty() && required {
        return Err(MockError::missing("ResourceId.N"));
    }
    if ids.len() > MAX_RESOURCES_PER_CALL {
        return Err(MockError::invalid_param("ResourceId.N", format!("at most {MAX_RESOURCES_PER_CALL} resources")));
    }
    for id in &ids {
        state.slb.lb(req, id)?;
    }
    Ok(ids)
}

fn tag(state: &mut State, req: &Req) -> HandlerResult {
    resource_type(req)?;
    let ids = resources(state, req, true)?;
    let tags = req.tags("Tag", "Key", "Value")?;
    if tags.is_empty() {
        return Err(MockError::missing("Tag.N.Key"));
    }
    // Check every resource first, so that a failure changes nothing.
    let mut updated = Vec::new();
    for id in &ids {
        let mut t = state.slb.lb(req, id)?.tags.clone();
        merge_tags(&mut t, tags.clone())?;
        updated.push((id.clone(), t));
    }
    for (id, t) in updated {
        state.slb.lb_mut(req, &id)?.tags = t;
    }
    Ok(json!({}))
}

fn untag(state: &mut State, req: &Req) -> HandlerResult {
    resource_type(req)?;
    let ids = resources(state, req, true)?;
    let keys = req.list("TagKey")?;
    let all = req.opt_bool("All")?.unwrap_or(false);
    if keys.is_empty() && !all {
        return Err(MockError::missing("TagKey.N"));
    }
    for id in ids {
        let lb = state.slb.lb_mut(req, &id)?;
        if all {
            lb.tags.clear();
        } else {
            lb.tags.retain(|(k, _)| !keys.contains(k));
        }
    }
    Ok(json!({}))
}

fn list(state: &mut State, req: &Req) -> HandlerResult {
    resource_type(req)?;
    let ids = resources(state, req, false)?;
    let want = req.tags("Tag", "Key", "Value")?;
    if ids.is_empty() && want.is_empty() {
        return Err(MockError::missing("ResourceId.N"));
    }
    let mut rows: Vec<Value> = Vec::new();
    for lb in state.slb.lbs_in_order() {
        if !region_matches(req, &lb.region) || (!ids.is_empty() && !ids.contains(&lb.id)) {
            continue;
        }
        if !want.iter().all(|(k, v)| lb.tags.iter().any(|(tk, tv)| tk == k && (v.is_empty() || tv == v))) {
            continue;
        }
        for (k, v) in &lb.tags {
            rows.push(json!({"ResourceId": lb.id, "ResourceType": "instance", "TagKey": k, "TagValue": v}));
        }
    }
    let (page, next) = page_by_token(req, &rows, "MaxResults", 50, 1, 50, "InvalidParameter.NextToken")?;
    Ok(json!({ "TagResources": { "TagResource": page }, "NextToken": next }))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::state::State;

    #[test]
    fn tag_untag_list() {
        let mut s = State::new(1);
        let a = internet_lb(&mut s);
        let b = internet_lb(&mut s);
        ok(
            &mut s,
            "TagResources",
            &[
                ("ResourceType", "instance"),
                ("ResourceId.1", &a),
                ("ResourceId.2", &b),
                ("Tag.1.Key", "cluster"),
                ("Tag.1.Value", "c1"),
                ("Tag.2.Key", "svc"),
                ("Tag.2.Value", "web"),
            ],
        );
        let v = ok(&mut s, "ListTagResources", &[("ResourceType", "instance"), ("ResourceId.1", &a)]);
        assert_eq!(v["TagResources"]["TagResource"].as_array().unwrap().len(), 2);
        let v = ok(
            &mut s,
            "ListTagResources",
            &[("ResourceType", "instance"), ("Tag.1.Key", "cluster"), ("Tag.1.Value", "c1")],
        );
        assert_eq!(v["TagResources"]["TagResource"].as_array().unwrap().len(), 4);
        ok(&mut s, "UntagResources", &[("ResourceType", "instance"), ("ResourceId.1", &a), ("TagKey.1", "svc")]);
        let v = ok(&mut s, "DescribeLoadBalancerAttribute", &[("LoadBalancerId", &a)]);
        assert_eq!(v["Tags"]["Tag"].as_array().unwrap().len(), 1);
        ok(&mut s, "UntagResources", &[("ResourceType", "instance"), ("ResourceId.1", &b), ("All", "true")]);
        let v = ok(&mut s, "ListTagResources", &[("ResourceType", "instance"), ("ResourceId.1", &b)]);
        assert!(v["TagResources"]["TagResource"].as_array().unwrap().is_empty());
        assert_eq!(
            err(
                &mut s,
                "TagResources",
                &[("ResourceType", "instance"), ("ResourceId.1", "lb-nope"), ("Tag.1.Key", "k")]
            ),
            "InvalidLoadBalancerId.NotFound"
        );
        assert_eq!(
            err(&mut s, "TagResources", &[("ResourceType", "eip"), ("ResourceId.1", &a), ("Tag.1.Key", "k")]),
            "InvalidParameter"
        );
        let many: Vec<(String, String)> = (0..21).map(|i| (format!("Tag.{}.Key", i + 1), format!("k{i}"))).collect();
        let mut p: Vec<(&str, &str)> = vec![("ResourceType", "instance"), ("ResourceId.1", &a)];
        p.extend(many.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(err(&mut s, "TagResources", &p), "QuotaExceeded.TagNum");
    }
}
