//! VServer groups and their backends; master/slave server groups.

use serde_json::{json, Value};

use super::backend::{self, Use};
use super::listener_attrs::text;
use super::{group_in_use, merge_tags, now_time, tags_json, Backend, MasterSlaveGroup, VServerGroup};
use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;

pub(super) const ACTIONS: &[&str] = &[
    "CreateVServerGroup",
    "DescribeVServerGroups",
    "DescribeVServerGroupAttribute",
    "AddVServerGroupBackendServers",
    "RemoveVServerGroupBackendServers",
    "SetVServerGroupAttribute",
    "ModifyVServerGroupBackendServers",
    "DeleteVServerGroup",
    "CreateMasterSlaveServerGroup",
    "DescribeMasterSlaveServerGroups",
    "DescribeMasterSlaveServerGroupAttribute",
    "DeleteMasterSlaveServerGroup",
];

pub(super) fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    Some(match req.action.as_str() {
        "CreateVServerGroup" => create(state, req),
        "DescribeVServerGroups" => describe(state, req),
        "DescribeVServerGroupAttribute" => attribute(state, req),
        "AddVServerGroupBackendServers" => add(state, req),
        "RemoveVServerGroupBackendServers" => remove(state, req),
        "SetVServerGroupAttribute" => set(state, req),
        "ModifyVServerGroupBackendServers" => modify(state, req),
        "DeleteVServerGroup" => delete(state, req),
        "CreateMasterSlaveServerGroup" => ms_create(state, req),
        "DescribeMasterSlaveServerGroups" => ms_describe(state, req),
        "DescribeMasterSlaveServerGroupAttribute" => ms_attribute(state, req),
        "DeleteMasterSlaveServerGroup" => ms_delete(state, req),
        _ => return None,
    })
}

fn group_name(req: &Req, param: &str) -> Result<String, MockError> {
    let name = req.opt_str(param).unwrap_or_default().to_owned();
    if name.chars().count() > 128 {
        return Err(MockError::invalid_param(param, "must be at most 128 characters"));
    }
    Ok(name)
}

fn backends_json(backends: &[Backend], with_ip: bool) -> Value {
    json!({ "BackendServer": backends.iter().map(|b| backend::to_json(b, with_ip)).collect::<Vec<_>>() })
}

fn quota_exceeded(quota: usize) -> MockError {
    MockError::bad_request(
        "InstanceBackendServerNumberOverLimit",
        format!("The number of backend servers in the VServer group would exceed the quota of {quota}."),
    )
}

/// Adds `new` to `have`: a backend already present is refused, the quota is checked.
fn add_to(have: &mut Vec<Backend>, new: Vec<Backend>, quota: usize) -> Result<(), MockError> {
    for b in &new {
        if have.iter().any(|h| h.key() == b.key()) {
            return Err(MockError::bad_request(
                "InvalidBackendServers.ServerIpConflict",
                format!("The backend server {} port {} is already in the VServer group.", b.server_id, b.port),
            ));
        }
    }
    if have.len() + new.len() > quota {
        return Err(quota_exceeded(quota));
    }
    have.extend(new);
    Ok(())
}

fn create(state: &mut State, req: &Req) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?.to_owned();
    let name = group_name(req, "VServerGroupName")?;
    let lb = state.slb.lb(req, &lb_id)?;
    let backends = backend::parse(state, req, "BackendServers", lb, Use::Add, false)?;
    let mut tags = Vec::new();
    merge_tags(&mut tags, req.tags("Tag", "Key", "Value")?)?;
    let mut have = Vec::new();
    add_to(&mut have, backends, state.slb.backend_quota)?;
    let id = state.ids.id("rsp-");
    let seq = state.slb.next_seq();
    let out = json!({ "VServerGroupId": id, "BackendServers": backends_json(&have, false) });
    let group = VServerGroup { seq, id: id.clone(), lb_id, name, create_time: now_time().0, backends: have, tags };
    state.slb.groups.insert(id, group);
    Ok(out)
}

/// The listeners (port, protocol) and rules that use VServer group `id`.
fn users(state: &State, lb_id: &str, id: &str) -> (Vec<Value>, Vec<Value>) {
    let listeners = state
        .slb
        .lbs
        .get(lb_id)
        .map(|lb| {
            lb.listeners
                .iter()
                .filter(|l| text(&l.attrs, "VServerGroupId") == id)
                .map(|l| json!({"Port": l.port, "Protocol": l.protocol}))
                .collect()
        })
        .unwrap_or_default();
    let rules = state
        .slb
        .rules
        .values()
        .filter(|r| r.vserver_group_id == id)
        .map(|r| json!({"RuleId": r.id, "RuleName": r.name, "Domain": r.domain, "Url": r.url}))
        .collect();
    (listeners, rules)
}

fn describe(state: &mut State, req: &Req) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?;
    state.slb.lb(req, lb_id)?;
    let include_listener = req.opt_bool("IncludeListener")?.unwrap_or(false);
    let include_rule = req.opt_bool("IncludeRule")?.unwrap_or(false);
    let name = req.opt_str("Description");
    let want_tags = req.tags("Tag", "Key", "Value")?;
    let mut groups: Vec<&VServerGroup> = state
        .slb
        .groups
        .values()
        .filter(|g| g.lb_id == lb_id)
        .filter(|g| name.is_none_or(|n| g.name == n))
        .filter(|g| want_tags.iter().all(|t| g.tags.contains(t)))
        .collect();
    groups.sort_by_key(|g| g.seq);
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            let mut v = json!({
                "VServerGroupId": g.id,
                "VServerGroupName": g.name,
                "ServerCount": g.backends.len(),
                "CreateTime": g.create_time,
                "Tags": tags_json(&g.tags),
            });
            if include_listener || include_rule {
                let (listeners, rules) = users(state, lb_id, &g.id);
                let mut assoc = json!({});
                if include_listener {
                    assoc["Listeners"] = json!({ "Listener": listeners });
                }
                if include_rule {
                    assoc["Rules"] = json!({ "Rule": rules });
                }
                v["AssociatedObjects"] = assoc;
            }
            v
        })
        .collect();
    Ok(json!({ "VServerGroups": { "VServerGroup": items } }))
}

fn attribute(state: &mut State, req: &Req) -> HandlerResult {
    let g = state.slb.group(req, req.str("VServerGroupId")?)?;
    Ok(json!({
        "VServerGroupId": g.id,
        "VServerGroupName": g.name,
        "LoadBalancerId": g.lb_id,
        "CreateTime": g.create_time,
        "BackendServers": backends_json(&g.backends, true),
        "Tags": tags_json(&g.tags),
    }))
}

/// The group and its load balancer, for the backend calls.
fn group_and_parse(state: &State, req: &Req, param: &str, usage: Use) -> Result<(String, Vec<Backend>), MockError> {
    let g = state.slb.group(req, req.str("VServerGroupId")?)?;
    let lb = state.slb.lbs.get(&g.lb_id).ok_or_else(|| super::lb_not_found(&g.lb_id))?;
    let backends = backend::parse(state, req, param, lb, usage, true)?;
    Ok((g.id.clone(), backends))
}

fn answer(state: &State, id: &str, with_name: bool) -> HandlerResult {
    let g = state.slb.groups.get(id).ok_or_else(|| super::vgroup_not_found(id))?;
    let mut v = json!({ "VServerGroupId": g.id, "BackendServers": backends_json(&g.backends, false) });
    if with_name {
        v["VServerGroupName"] = json!(g.name);
    }
    Ok(v)
}

fn add(state: &mut State, req: &Req) -> HandlerResult {
    let (id, new) = group_and_parse(state, req, "BackendServers", Use::Add)?;
    let quota = state.slb.backend_quota;
    let g = state.slb.groups.get_mut(&id).ok_or_else(|| super::vgroup_not_found(&id))?;
    add_to(&mut g.backends, new, quota)?;
    answer(state, &id, false)
}

/// Removes backends; one that is not in the group is ignored, so a retried removal succeeds.
fn remove(state: &mut State, req: &Req) -> HandlerResult {
    let (id, gone) = group_and_parse(state, req, "BackendServers", Use::Remove)?;
    let g = state.slb.groups.get_mut(&id).ok_or_else(|| super::vgroup_not_found(&id))?;
    g.backends.retain(|b| !gone.iter().any(|x| x.key() == b.key()));
    answer(state, &id, false)
}

fn set(state: &mut State, req: &Req) -> HandlerResult {
    let id = state.slb.group(req, req.str("VServerGroupId")?)?.id.clone();
    let name = req.opt_str("VServerGroupName").map(|_| group_name(req, "VServerGroupName")).transpose()?;
    let changes = if req.opt_str("BackendServers").is_some() {
        group_and_parse(state, req, "BackendServers", Use::Set)?.1
    } else {
        Vec::new()
    };
    let g = state.slb.groups.get_mut(&id).ok_or_else(|| super::vgroup_not_found(&id))?;
    for c in &changes {
        if !g.backends.iter().any(|b| b.key() == c.key()) {
            return Err(MockError::bad_request(
                "InvalidParameter",
                format!("The backend server {} port {} is not in the VServer group.", c.server_id, c.port),
            ));
        }
    }
    for c in changes {
        if let Some(b) = g.backends.iter_mut().find(|b| b.key() == c.key()) {
            if c.weight != u8::MAX {
                b.weight = c.weight;
            }
            if !c.description.is_empty() {
                b.description = c.description;
            }
        }
    }
    if let Some(n) = name {
        g.name = n;
    }
    answer(state, &id, true)
}

fn modify(state: &mut State, req: &Req) -> HandlerResult {
    let (id, old) = group_and_parse(state, req, "OldBackendServers", Use::Remove)?;
    let (_, new) = group_and_parse(state, req, "NewBackendServers", Use::Add)?;
    let quota = state.slb.backend_quota;
    let g = state.slb.groups.get_mut(&id).ok_or_else(|| super::vgroup_not_found(&id))?;
    for o in &old {
        if !g.backends.iter().any(|b| b.key() == o.key()) {
            return Err(MockError::bad_request(
                "InvalidParameter",
                format!("The backend server {} port {} is not in the VServer group.", o.server_id, o.port),
            ));
        }
    }
    let mut next: Vec<Backend> =
        g.backends.iter().filter(|b| !old.iter().any(|o| o.key() == b.key())).cloned().collect();
    add_to(&mut next, new, quota)?;
    g.backends = next;
    answer(state, &id, false)
}

fn delete(state: &mut State, req: &Req) -> HandlerResult {
    let g = state.slb.group(req, req.str("VServerGroupId")?)?;
    let (id, lb_id) = (g.id.clone(), g.lb_id.clone());
    let (listeners, rules) = users(state, &lb_id, &id);
    if !listeners.is_empty() || !rules.is_empty() {
        return Err(group_in_use());
    }
    state.slb.groups.remove(&id);
    Ok(json!({}))
}

fn ms_create(state: &mut State, req: &Req) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?.to_owned();
    let name = group_name(req, "MasterSlaveServerGroupName")?;
    let lb = state.slb.lb(req, &lb_id)?;
    let backends = backend::parse(state, req, "MasterSlaveBackendServers", lb, Use::MasterSlave, true)?;
    let masters = backends.iter().filter(|b| b.server_type == "Master").count();
    if backends.len() > 2 || masters != 1 {
        return Err(MockError::invalid_param(
            "MasterSlaveBackendServers",
            "a master/slave group holds one Master and at most one Slave",
        ));
    }
    let mut tags = Vec::new();
    merge_tags(&mut tags, req.tags("Tag", "Key", "Value")?)?;
    let id = state.ids.id("rsp-");
    let seq = state.slb.next_seq();
    let out = json!({
        "MasterSlaveServerGroupId": id,
        "MasterSlaveBackendServers": { "MasterSlaveBackendServer": backends.iter().map(|b| backend::to_json(b, false)).collect::<Vec<_>>() },
    });
    let g = MasterSlaveGroup { seq, id: id.clone(), lb_id, name, create_time: now_time().0, backends, tags };
    state.slb.ms_groups.insert(id, g);
    Ok(out)
}

fn ms_listeners(state: &State, lb_id: &str, id: &str) -> Vec<Value> {
    state
        .slb
        .lbs
        .get(lb_id)
        .map(|lb| {
            lb.listeners
                .iter()
                .filter(|l| text(&l.attrs, "MasterSlaveServerGroupId") == id)
                .map(|l| json!({"Port": l.port, "Protocol": l.protocol}))
                .collect()
        })
        .unwrap_or_default()
}

fn ms_describe(state: &mut State, req: &Req) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?;
    state.slb.lb(req, lb_id)?;
    let include_listener = req.opt_bool("IncludeListener")?.unwrap_or(false);
    let mut groups: Vec<&MasterSlaveGroup> = state.slb.ms_groups.values().filter(|g| g.lb_id == lb_id).collect();
    groups.sort_by_key(|g| g.seq);
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            let mut v = json!({
                "MasterSlaveServerGroupId": g.id,
                "MasterSlaveServerGroupName": g.name,
                "CreateTime": g.create_time,
                "Tags": tags_json(&g.tags),
            });
            if include_listener {
                v["AssociatedObjects"] = json!({ "Listeners": { "Listener": ms_listeners(state, lb_id, &g.id) } });
            }
            v
        })
        .collect();
    Ok(json!({ "MasterSlaveServerGroups": { "MasterSlaveServerGroup": items } }))
}

fn ms_attribute(state: &mut State, req: &Req) -> HandlerResult {
    let g = state.slb.ms_group(req, req.str("MasterSlaveServerGroupId")?)?;
    Ok(json!({
        "MasterSlaveServerGroupId": g.id,
        "MasterSlaveServerGroupName": g.name,
        "LoadBalancerId": g.lb_id,
        "CreateTime": g.create_time,
        "MasterSlaveBackendServers": { "MasterSlaveBackendServer": g.backends.iter().map(|b| backend::to_json(b, true)).collect::<Vec<_>>() },
        "Tags": tags_json(&g.tags),
    }))
}

fn ms_delete(state: &mut State, req: &Req) -> HandlerResult {
    let g = state.slb.ms_group(req, req.str("MasterSlaveServerGroupId")?)?;
    let (id, lb_id) = (g.id.clone(), g.lb_id.clone());
    if !ms_listeners(state, &lb_id, &id).is_empty() {
        return Err(group_in_use());
    }
    state.slb.ms_groups.remove(&id);
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::state::State;

    fn eci(n: usize, port: u16) -> String {
        let items: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"ServerId":"eci-{i}","Port":"{port}","Weight":"50","Type":"eci","ServerIp":"10.0.{}.{}"}}"#,
                    i / 200,
                    i % 200 + 1
                )
            })
            .collect();
        format!("[{}]", items.join(","))
    }

    #[test]
    fn group_lifecycle() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        let g = group(&mut s, &lb, Some(&eci(2, 80)));
        assert!(g.starts_with("rsp-"));
        let v = ok(&mut s, "AddVServerGroupBackendServers", &[("VServerGroupId", &g), ("BackendServers", &eci(3, 81))]);
        assert_eq!(v["BackendServers"]["BackendServer"].as_array().unwrap().len(), 5);
        assert_eq!(
            err(&mut s, "AddVServerGroupBackendServers", &[("VServerGroupId", &g), ("BackendServers", &eci(1, 81))]),
            "InvalidBackendServers.ServerIpConflict"
        );
        let v = ok(
            &mut s,
            "SetVServerGroupAttribute",
            &[
                ("VServerGroupId", &g),
                ("VServerGroupName", "renamed"),
                (
                    "BackendServers",
                    r#"[{"ServerId":"eci-0","Port":"80","Weight":"0","Type":"eci","ServerIp":"10.0.0.1"}]"#,
                ),
            ],
        );
        assert_eq!(v["VServerGroupName"], "renamed");
        let v = ok(&mut s, "DescribeVServerGroupAttribute", &[("VServerGroupId", &g)]);
        let backends = v["BackendServers"]["BackendServer"].as_array().unwrap();
        assert_eq!(backends[0]["Weight"], 0);
        assert_eq!(backends[0]["ServerIp"], "10.0.0.1");
        assert_eq!(backends[1]["Weight"], 50);
        let v =
            ok(&mut s, "RemoveVServerGroupBackendServers", &[("VServerGroupId", &g), ("BackendServers", &eci(3, 81))]);
        assert_eq!(v["BackendServers"]["BackendServer"].as_array().unwrap().len(), 2);
        // Removing again is not an error.
        ok(&mut s, "RemoveVServerGroupBackendServers", &[("VServerGroupId", &g), ("BackendServers", &eci(3, 81))]);
        let v = ok(
            &mut s,
            "ModifyVServerGroupBackendServers",
            &[("VServerGroupId", &g), ("OldBackendServers", &eci(1, 80)), ("NewBackendServers", &eci(1, 90))],
        );
        let ports: Vec<u64> = v["BackendServers"]["BackendServer"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["Port"].as_u64().unwrap())
            .collect();
        assert_eq!(ports, vec![80, 90]);
        let v = ok(&mut s, "DescribeVServerGroups", &[("LoadBalancerId", &lb), ("IncludeListener", "true")]);
        assert_eq!(v["VServerGroups"]["VServerGroup"][0]["ServerCount"], 2);
        ok(&mut s, "DeleteVServerGroup", &[("VServerGroupId", &g)]);
        assert_eq!(err(&mut s, "DeleteVServerGroup", &[("VServerGroupId", &g)]), "InvalidParameter");
        assert_eq!(err(&mut s, "DescribeVServerGroupAttribute", &[("VServerGroupId", &g)]), "InvalidParameter");
    }

    #[test]
    fn quota_is_enforced_and_settable() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        let g = group(&mut s, &lb, None);
        s.slb.set_backend_quota(30);
        ok(&mut s, "AddVServerGroupBackendServers", &[("VServerGroupId", &g), ("BackendServers", &eci(20, 80))]);
        assert_eq!(
            err(&mut s, "AddVServerGroupBackendServers", &[("VServerGroupId", &g), ("BackendServers", &eci(20, 81))]),
            "InstanceBackendServerNumberOverLimit"
        );
        s.slb.set_backend_quota(40);
        ok(&mut s, "AddVServerGroupBackendServers", &[("VServerGroupId", &g), ("BackendServers", &eci(20, 81))]);
        assert_eq!(s.slb.vserver_group_backends(&g).unwrap().len(), 40);
    }

    #[test]
    fn master_slave_groups() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        let two = r#"[{"ServerId":"eci-a","Port":"80","Type":"eci","ServerIp":"10.0.0.1","ServerType":"Master"},
                      {"ServerId":"eci-b","Port":"80","Type":"eci","ServerIp":"10.0.0.2","ServerType":"Slave"}]"#;
        let v = ok(
            &mut s,
            "CreateMasterSlaveServerGroup",
            &[("LoadBalancerId", &lb), ("MasterSlaveServerGroupName", "ms"), ("MasterSlaveBackendServers", two)],
        );
        let id = v["MasterSlaveServerGroupId"].as_str().unwrap().to_owned();
        let v = ok(&mut s, "DescribeMasterSlaveServerGroupAttribute", &[("MasterSlaveServerGroupId", &id)]);
        assert_eq!(v["MasterSlaveBackendServers"]["MasterSlaveBackendServer"][1]["ServerType"], "Slave");
        let v = ok(&mut s, "DescribeMasterSlaveServerGroups", &[("LoadBalancerId", &lb)]);
        assert_eq!(v["MasterSlaveServerGroups"]["MasterSlaveServerGroup"][0]["MasterSlaveServerGroupName"], "ms");
        let no_master = r#"[{"ServerId":"eci-a","Port":"80","Type":"eci","ServerIp":"10.0.0.1","ServerType":"Slave"}]"#;
        assert_eq!(
            err(
                &mut s,
                "CreateMasterSlaveServerGroup",
                &[("LoadBalancerId", &lb), ("MasterSlaveBackendServers", no_master)]
            ),
            "InvalidParameter"
        );
        ok(&mut s, "DeleteMasterSlaveServerGroup", &[("MasterSlaveServerGroupId", &id)]);
        assert_eq!(
            err(&mut s, "DeleteMasterSlaveServerGroup", &[("MasterSlaveServerGroupId", &id)]),
            "InvalidParameter"
        );
    }
}
