//! Layer-7 forwarding rules of HTTP and HTTPS listeners, with the API's checks (names, URLs
//! and domains of the allowed characters and lengths, a Domain+Url pair and a name unique per
//! listener, at most [`MAX_RULES_PER_CALL`] per call and [`SlbState::rule_quota`](super::SlbState::rule_quota) per
//! listener), and the matching the product documents ([`SlbState::route`](super::SlbState::route)).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::listener::find;
use super::{port_param, protocol_param, Rule, MAX_RULES_PER_CALL};
use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;

pub(super) const ACTIONS: &[&str] =
    &["CreateRules", "DescribeRules", "DescribeRuleAttribute", "SetRule", "DeleteRules"];

/// Per-rule settings a rule may carry besides its match and group.
const RULE_ATTRS: &[&str] = &[
    "Scheduler",
    "StickySession",
    "StickySessionType",
    "CookieTimeout",
    "Cookie",
    "HealthCheck",
    "HealthCheckDomain",
    "HealthCheckURI",
    "HealthCheckConnectPort",
    "HealthyThreshold",
    "UnhealthyThreshold",
    "HealthCheckTimeout",
    "HealthCheckInterval",
    "HealthCheckHttpCode",
    "ListenerSync",
];

pub(super) fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    Some(match req.action.as_str() {
        "CreateRules" => create(state, req),
        "DescribeRules" => describe(state, req),
        "DescribeRuleAttribute" => describe_one(state, req),
        "SetRule" => set(state, req),
        "DeleteRules" => delete(state, req),
        _ => return None,
    })
}

/// `InvalidRuleId.NotFound`.
fn rule_not_found(id: &str) -> MockError {
    MockError::not_found("InvalidRuleId.NotFound", format!("The specified RuleId does not exist: {id}."))
}

/// The rules of one listener, in creation order.
pub(crate) fn rules_of<'a>(state: &'a State, lb_id: &str, port: u16, protocol: &str) -> Vec<&'a Rule> {
    let mut v: Vec<&Rule> =
        state.slb.rules.values().filter(|r| r.lb_id == lb_id && r.port == port && r.protocol == protocol).collect();
    v.sort_by_key(|r| r.seq);
    v
}

fn value_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The optional settings of a rule from a JSON object or the request's parameters.
fn settings(get: impl Fn(&str) -> Option<String>) -> Result<BTreeMap<String, Value>, MockError> {
    let mut out = BTreeMap::new();
    for name in RULE_ATTRS {
        if let Some(v) = get(name) {
            let v = match *name {
                "CookieTimeout"
                | "HealthCheckConnectPort"
                | "HealthyThreshold"
                | "UnhealthyThreshold"
                | "HealthCheckTimeout"
                | "HealthCheckInterval" => {
                    json!(v
                        .parse::<i64>()
                        .map_err(|_| MockError::invalid_param(name, format!("{v:?} is not an integer")))?)
                }
                "Scheduler" if !["wrr", "wlc", "rr"].contains(&v.as_str()) => {
                    return Err(MockError::invalid_param(name, format!("{v:?} must be wrr, wlc or rr")))
                }
                "StickySession" | "HealthCheck" | "ListenerSync" if v != "on" && v != "off" => {
                    return Err(MockError::invalid_param(name, format!("{v:?} must be on or off")))
                }
                _ => json!(v),
            };
            out.insert((*name).to_owned(), v);
        }
    }
    Ok(out)
}

/// `RuleName`: 1-40 letters, digits, `-`, `/`, `.` or `_`.
fn check_rule_name(name: &str) -> Result<(), MockError> {
    let ok = (1..=40).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-/._".contains(c));
    if ok {
        Ok(())
    } else {
        Err(MockError::invalid_param("RuleName", format!("{name:?} must be 1-40 letters, digits, -, /, . or _")))
    }
}

/// `Url`: 1-80 letters, digits, `-`, `/`, `.`, `%`, `?`, `#` or `&`, starting with `/`.
fn check_url(url: &str) -> Result<(), MockError> {
    let ok = url.starts_with('/')
        && url.chars().count() <= 80
        && url.chars().all(|c| c.is_ascii_alphanumeric() || "-/.%?#&".contains(c));
    if ok {
        Ok(())
    } else {
        Err(MockError::invalid_param(
            "Url",
            format!("{url:?} must start with / and be at most 80 letters, digits, -, /, ., %, ?, # or &"),
        ))
    }
}

/// `Domain`: an exact name (labels of letters, digits and `-`, joined by `.`) or a wildcard
/// `*.` before one; at most 80 characters.
pub(super) fn check_domain(param: &str, domain: &str) -> Result<(), MockError> {
    let name = domain.strip_prefix("*.").unwrap_or(domain);
    let ok = domain.len() <= 80
        && !name.is_empty()
        && name.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if ok {
        Ok(())
    } else {
        Err(MockError::invalid_param(param, format!("{domain:?} is not a domain name or a *. wildcard of one")))
    }
}

fn check_group(state: &State, lb_id: &str, id: &str) -> Result<(), MockError> {
    if state.slb.groups.get(id).is_some_and(|g| g.lb_id == lb_id) {
        Ok(())
    } else {
        Err(super::vgroup_not_found(id))
    }
}

fn create(state: &mut State, req: &Req) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?.to_owned();
    let port = port_param(req, "ListenerPort")?;
    let protocol = protocol_param(req, "ListenerProtocol")?;
    let lb = state.slb.lb(req, &lb_id)?;
    let listener = &lb.listeners[find(lb, port, protocol.as_deref())?];
    if listener.protocol != "http" && listener.protocol != "https" {
        return Err(MockError::bad_request(
            "OperationUnsupported.ListenerProtocol",
            "Forwarding rules need an HTTP or HTTPS listener.",
        ));
    }
    let protocol = listener.protocol.clone();
    let list: Value = req.json("RuleList")?;
    let Value::Array(items) = list else {
        return Err(MockError::invalid_param("RuleList", "must be a JSON array"));
    };
    if items.is_empty() || items.len() > MAX_RULES_PER_CALL {
        return Err(MockError::invalid_param("RuleList", format!("must hold 1 to {MAX_RULES_PER_CALL} rules")));
    }
    let existing = rules_of(state, &lb_id, port, &protocol);
    let mut names: BTreeSet<String> = existing.iter().map(|r| r.name.clone()).collect();
    let mut matches: BTreeSet<(String, String)> = existing.iter().map(|r| (r.domain.clone(), r.url.clone())).collect();
    let mut new = Vec::new();
    for item in items {
        let Value::Object(obj) = item else {
            return Err(MockError::invalid_param("RuleList", "every rule must be a JSON object"));
        };
        let get = |k: &str| obj.get(k).and_then(value_str);
        let name =
            get("RuleName").ok_or_else(|| MockError::invalid_param("RuleList", "every rule needs a RuleName"))?;
        let domain = get("Domain").unwrap_or_default();
        let url = get("Url").unwrap_or_default();
        if domain.is_empty() && url.is_empty() {
            return Err(MockError::invalid_param("RuleList", format!("rule {name:?} needs a Domain or a Url")));
        }
        check_rule_name(&name)?;
        if !url.is_empty() {
            check_url(&url)?;
        }
        if !domain.is_empty() {
            check_domain("Domain", &domain)?;
        }
        let group = get("VServerGroupId")
            .ok_or_else(|| MockError::invalid_param("RuleList", format!("rule {name:?} needs a VServerGroupId")))?;
        check_group(state, &lb_id, &group)?;
        if !names.insert(name.clone()) {
            return Err(MockError::bad_request("RuleNameExist", format!("A rule named {name:?} already exists.")));
        }
        if !matches.insert((domain.clone(), url.clone())) {
            return Err(MockError::bad_request("DomainExist", "A rule with this domain and URL already exists."));
        }
        let attrs = settings(|k| get(k))?;
        new.push((name, domain, url, group, attrs));
    }
    let quota = state.slb.rule_quota;
    if existing.len() + new.len() > quota {
        return Err(MockError::forbidden(
            "QuotaExceeded.RulesPerListener",
            format!("A listener can have at most {quota} forwarding rules ({} exist).", existing.len()),
        ));
    }
    if req.opt_bool("DryRun")?.unwrap_or(false) {
        return Err(MockError::bad_request(
            "DryRunOperation",
            "Request validation has been passed with DryRun flag set.",
        ));
    }
    let mut out = Vec::new();
    for (name, domain, url, vserver_group_id, attrs) in new {
        let id = state.ids.id("rule-");
        let seq = state.slb.next_seq();
        out.push(json!({"RuleId": id, "RuleName": name}));
        let rule = Rule {
            seq,
            id: id.clone(),
            lb_id: lb_id.clone(),
            port,
            protocol: protocol.clone(),
            name,
            domain,
            url,
            vserver_group_id,
            attrs,
        };
        state.slb.rules.insert(id, rule);
    }
    Ok(json!({ "Rules": { "Rule": out } }))
}

fn describe(state: &mut State, req: &Req) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?;
    let port = port_param(req, "ListenerPort")?;
    let protocol = protocol_param(req, "ListenerProtocol")?;
    let lb = state.slb.lb(req, lb_id)?;
    let listener = &lb.listeners[find(lb, port, protocol.as_deref())?];
    let items: Vec<Value> = rules_of(state, lb_id, port, &listener.protocol).into_iter().map(rule_json).collect();
    Ok(json!({ "Rules": { "Rule": items } }))
}

/// A rule as DescribeRules lists it.
fn rule_json(r: &Rule) -> Value {
    let mut m: Map<String, Value> = r.attrs.clone().into_iter().collect();
    m.insert("RuleId".into(), json!(r.id));
    m.insert("RuleName".into(), json!(r.name));
    m.insert("Domain".into(), json!(r.domain));
    m.insert("Url".into(), json!(r.url));
    m.insert("VServerGroupId".into(), json!(r.vserver_group_id));
    m.entry("ListenerSync").or_insert(json!("on"));
    Value::Object(m)
}

/// A rule the request may see (its load balancer is in the request's region).
fn visible_rule<'a>(state: &'a State, req: &Req, id: &str) -> Result<&'a Rule, MockError> {
    state
        .slb
        .rules
        .get(id)
        .filter(|r| state.slb.lbs.get(&r.lb_id).is_some_and(|lb| super::region_matches(req, &lb.region)))
        .ok_or_else(|| rule_not_found(id))
}

fn describe_one(state: &mut State, req: &Req) -> HandlerResult {
    let rule = visible_rule(state, req, req.str("RuleId")?)?;
    let mut v = rule_json(rule);
    if let Value::Object(m) = &mut v {
        m.insert("LoadBalancerId".into(), json!(rule.lb_id));
        m.insert("ListenerPort".into(), json!(rule.port.to_string()));
    }
    Ok(v)
}

fn set(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("RuleId")?.to_owned();
    let rule = visible_rule(state, req, &id)?;
    let lb_id = rule.lb_id.clone();
    if let Some(g) = req.opt_str("VServerGroupId") {
        check_group(state, &lb_id, g)?;
    }
    let name = req.opt_str("RuleName").map(str::to_owned);
    if let Some(n) = &name {
        check_rule_name(n)?;
        let (port, protocol) = (rule.port, rule.protocol.clone());
        if rules_of(state, &lb_id, port, &protocol).iter().any(|r| r.id != id && r.name == *n) {
            return Err(MockError::bad_request("RuleNameExist", format!("A rule named {n:?} already exists.")));
        }
    }
    let changes = settings(|k| req.opt_str(k).map(str::to_owned))?;
    if req.opt_bool("DryRun")?.unwrap_or(false) {
        return Err(MockError::bad_request(
            "DryRunOperation",
            "Request validation has been passed with DryRun flag set.",
        ));
    }
    let rule = state.slb.rules.get_mut(&id).ok_or_else(|| rule_not_found(&id))?;
    if let Some(g) = req.opt_str("VServerGroupId") {
        rule.vserver_group_id = g.to_owned();
    }
    if let Some(n) = name {
        rule.name = n;
    }
    rule.attrs.extend(changes);
    Ok(json!({}))
}

fn delete(state: &mut State, req: &Req) -> HandlerResult {
    let ids: Vec<String> = req.json("RuleIds")?;
    if ids.is_empty() || ids.len() > MAX_RULES_PER_CALL {
        return Err(MockError::invalid_param("RuleIds", format!("must hold 1 to {MAX_RULES_PER_CALL} rule ids")));
    }
    for id in &ids {
        visible_rule(state, req, id)?;
    }
    for id in ids {
        state.slb.rules.remove(&id);
    }
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::state::State;

    #[test]
    fn rules_lifecycle() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        let g1 = group(&mut s, &lb, None);
        let g2 = group(&mut s, &lb, None);
        ok(
            &mut s,
            "CreateLoadBalancerHTTPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("HealthCheck", "off"), ("VServerGroupId", &g1)],
        );
        let list = format!(
            r#"[{{"RuleName":"api","Domain":"example.com","Url":"/api","VServerGroupId":"{g1}"}},
                {{"RuleName":"web","Domain":"example.com","Url":"/","VServerGroupId":"{g2}","Scheduler":"wlc"}}]"#
        );
        let v = ok(&mut s, "CreateRules", &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("RuleList", &list)]);
        let rules = v["Rules"]["Rule"].as_array().unwrap();
        assert_eq!(rules.len(), 2);
        let id = rules[0]["RuleId"].as_str().unwrap().to_owned();
        assert!(id.starts_with("rule-"));
        assert_eq!(
            err(&mut s, "CreateRules", &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("RuleList", &list)]),
            "RuleNameExist"
        );
        ok(&mut s, "SetRule", &[("RuleId", &id), ("VServerGroupId", &g2), ("RuleName", "api2")]);
        let v = ok(&mut s, "DescribeRules", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]);
        assert_eq!(v["Rules"]["Rule"][0]["RuleName"], "api2");
        assert_eq!(v["Rules"]["Rule"][0]["VServerGroupId"], g2.as_str());
        assert_eq!(v["Rules"]["Rule"][1]["Scheduler"], "wlc");
        let v =
            ok(&mut s, "DescribeLoadBalancerHTTPListenerAttribute", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]);
        assert_eq!(v["Rules"]["Rule"].as_array().unwrap().len(), 2);
        assert_eq!(err(&mut s, "DeleteVServerGroup", &[("VServerGroupId", &g2)]), "RspoolVipExist");
        let ids = format!(r#"["{id}"]"#);
        ok(&mut s, "DeleteRules", &[("RuleIds", &ids)]);
        assert_eq!(err(&mut s, "DeleteRules", &[("RuleIds", &ids)]), "InvalidRuleId.NotFound");
        // Deleting the listener deletes its rules.
        ok(&mut s, "DeleteLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]);
        ok(&mut s, "DeleteVServerGroup", &[("VServerGroupId", &g2)]);
    }

    #[test]
    fn rules_need_a_layer7_listener() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        let g = group(&mut s, &lb, None);
        ok(
            &mut s,
            "CreateLoadBalancerTCPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("Bandwidth", "-1"), ("VServerGroupId", &g)],
        );
        let list = format!(r#"[{{"RuleName":"a","Domain":"x.com","VServerGroupId":"{g}"}}]"#);
        assert_eq!(
            err(&mut s, "CreateRules", &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("RuleList", &list)]),
            "OperationUnsupported.ListenerProtocol"
        );
    }
}
