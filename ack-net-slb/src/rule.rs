//! Layer-7 forwarding rules of HTTP and HTTPS listeners: CreateRules, DescribeRules, SetRule,
//! DeleteRules.

use ack_net_core::ErrorInfo;
use ack_net_core::{Product, RpcRequest};
use serde::{Deserialize, Serialize};

use crate::common::{check_port, opt_parsed, opt_string, validate_text, wrapped};
use crate::types::{ListenerProtocol, Scheduler};
use crate::{Error, LoadBalancerId, RuleId, SlbClient, VServerGroupId};

/// The most rules one CreateRules or DeleteRules call carries; longer lists are split.
pub const MAX_RULES_PER_CALL: usize = 10;

/// A forwarding rule to create: requests whose host matches `domain` and whose path starts
/// with `url` go to `vserver_group_id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuleSpec {
    /// `RuleName`, unique per listener (1-80 characters).
    pub name: String,
    /// `Domain`.
    pub domain: Option<String>,
    /// `Url`, starting with `/`.
    pub url: Option<String>,
    /// `VServerGroupId`.
    pub vserver_group_id: VServerGroupId,
    /// `Scheduler` for this rule's traffic; `None` follows the listener.
    pub scheduler: Option<Scheduler>,
}

impl RuleSpec {
    /// A rule sending `domain` + `url` to a group.
    pub fn new(
        name: impl Into<String>,
        domain: Option<&str>,
        url: Option<&str>,
        vserver_group_id: VServerGroupId,
    ) -> Self {
        Self {
            name: name.into(),
            domain: domain.map(str::to_owned),
            url: url.map(str::to_owned),
            vserver_group_id,
            scheduler: None,
        }
    }

    fn validate(&self) -> Result<(), Error> {
        if self.name.is_empty() {
            return Err(Error::invalid_input("RuleName", "must not be empty"));
        }
        validate_text("RuleName", &self.name, 80)?;
        if self.domain.is_none() && self.url.is_none() {
            return Err(Error::invalid_input("RuleList", format!("rule {:?} needs a Domain or a Url", self.name)));
        }
        if let Some(d) = &self.domain {
            validate_text("Domain", d, 80)?;
        }
        if let Some(u) = &self.url {
            if !u.starts_with('/') || u.chars().count() > 80 {
                return Err(Error::invalid_input("Url", format!("{u:?} must start with / (at most 80 characters)")));
            }
        }
        if let Some(s) = &self.scheduler {
            if !matches!(s, Scheduler::Wrr | Scheduler::Wlc | Scheduler::Rr) {
                return Err(Error::invalid_input("Scheduler", format!("{s} is not wrr, wlc or rr")));
            }
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct WireRuleOut<'a> {
    #[serde(rename = "RuleName")]
    name: &'a str,
    #[serde(rename = "Domain", skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
    #[serde(rename = "Url", skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(rename = "VServerGroupId")]
    vserver_group_id: &'a str,
    #[serde(rename = "Scheduler", skip_serializing_if = "Option::is_none")]
    scheduler: Option<&'a str>,
}

/// A forwarding rule as the cloud has it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Rule {
    /// `RuleId`.
    #[serde(rename = "RuleId")]
    pub rule_id: RuleId,
    /// `RuleName`.
    #[serde(rename = "RuleName", default, deserialize_with = "ack_net_core::de::string")]
    pub name: String,
    /// `Domain`.
    #[serde(rename = "Domain", default, deserialize_with = "opt_string")]
    pub domain: Option<String>,
    /// `Url`.
    #[serde(rename = "Url", default, deserialize_with = "opt_string")]
    pub url: Option<String>,
    /// `VServerGroupId`.
    #[serde(rename = "VServerGroupId", default, deserialize_with = "opt_parsed")]
    pub vserver_group_id: Option<VServerGroupId>,
    /// `Scheduler`.
    #[serde(rename = "Scheduler", default, deserialize_with = "opt_parsed")]
    pub scheduler: Option<Scheduler>,
}

#[derive(Deserialize)]
struct CreatedRule {
    #[serde(rename = "RuleId")]
    rule_id: RuleId,
    #[serde(rename = "RuleName", default, deserialize_with = "ack_net_core::de::string")]
    name: String,
}

#[derive(Deserialize)]
#[serde(bound = "T: serde::de::DeserializeOwned")]
struct RulesAnswer<T> {
    #[serde(rename = "Rules", default = "Vec::new", deserialize_with = "wrapped")]
    rules: Vec<T>,
}

/// Rule operations; from [`SlbClient::rules`].
#[derive(Clone, Debug)]
pub struct Rules {
    client: SlbClient,
}

fn listener_params(
    r: RpcRequest,
    lb: &LoadBalancerId,
    port: u16,
    protocol: &ListenerProtocol,
) -> Result<RpcRequest, Error> {
    check_port("ListenerPort", port)?;
    if !matches!(protocol, ListenerProtocol::Http | ListenerProtocol::Https) {
        return Err(Error::invalid_input("ListenerProtocol", "forwarding rules belong to HTTP and HTTPS listeners"));
    }
    Ok(r.param("LoadBalancerId", lb).param("ListenerPort", port).param("ListenerProtocol", protocol))
}

impl Rules {
    pub(crate) fn new(client: SlbClient) -> Self {
        Self { client }
    }

    /// CreateRules, [`MAX_RULES_PER_CALL`] rules per call; returns the new rules' ids and
    /// names in order.
    pub async fn create(
        &self,
        load_balancer_id: &LoadBalancerId,
        port: u16,
        protocol: ListenerProtocol,
        rules: &[RuleSpec],
    ) -> Result<Vec<(RuleId, String)>, Error> {
        let requests = create_requests(load_balancer_id, port, &protocol, rules)?;
        let mut out = Vec::with_capacity(rules.len());
        for req in requests {
            let a: RulesAnswer<CreatedRule> = self.client.call(req).await?;
            out.extend(a.rules.into_iter().map(|r| (r.rule_id, r.name)));
        }
        Ok(out)
    }

    /// DescribeRules: the rules of one listener.
    pub async fn describe(
        &self,
        load_balancer_id: &LoadBalancerId,
        port: u16,
        protocol: ListenerProtocol,
    ) -> Result<Vec<Rule>, Error> {
        let req = listener_params(RpcRequest::read(Product::Slb, "DescribeRules"), load_balancer_id, port, &protocol)?;
        let a: RulesAnswer<Rule> = self.client.call(req).await?;
        Ok(a.rules)
    }

    /// SetRule: another name, group or scheduler for a rule.
    pub fn set(&self, rule_id: &RuleId) -> SetRule {
        SetRule {
            client: self.client.clone(),
            rule_id: rule_id.clone(),
            name: None,
            vserver_group_id: None,
            scheduler: None,
        }
    }

    /// DeleteRules, [`MAX_RULES_PER_CALL`] ids per call. Rules already gone are not an error.
    pub async fn delete(&self, rule_ids: &[RuleId]) -> Result<(), Error> {
        for chunk in rule_ids.chunks(MAX_RULES_PER_CALL) {
            match self.client.call_unit(delete_request(chunk)).await {
                Ok(()) => {}
                // One missing id fails the whole call: delete the others one by one.
                Err(e) if e.is_not_found() && chunk.len() > 1 => {
                    for id in chunk {
                        match self.client.call_unit(delete_request(std::slice::from_ref(id))).await {
                            Ok(()) => {}
                            Err(e) if e.is_not_found() => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn delete_request(ids: &[RuleId]) -> RpcRequest {
    let list: Vec<&str> = ids.iter().map(RuleId::as_str).collect();
    RpcRequest::write(Product::Slb, "DeleteRules").param("RuleIds", serde_json::json!(list))
}

fn create_requests(
    lb: &LoadBalancerId,
    port: u16,
    protocol: &ListenerProtocol,
    rules: &[RuleSpec],
) -> Result<Vec<RpcRequest>, Error> {
    if rules.is_empty() {
        return Err(Error::invalid_input("RuleList", "no rules"));
    }
    for r in rules {
        r.validate()?;
    }
    let mut out = Vec::new();
    for chunk in rules.chunks(MAX_RULES_PER_CALL) {
        let list: Vec<WireRuleOut<'_>> = chunk
            .iter()
            .map(|r| WireRuleOut {
                name: &r.name,
                domain: r.domain.as_deref(),
                url: r.url.as_deref(),
                vserver_group_id: r.vserver_group_id.as_str(),
                scheduler: r.scheduler.as_ref().map(Scheduler::as_str),
            })
            .collect();
        let json = serde_json::to_string(&list).map_err(|e| Error::invalid_input("RuleList", e.to_string()))?;
        let req = listener_params(RpcRequest::write(Product::Slb, "CreateRules"), lb, port, protocol)?;
        out.push(req.param("RuleList", json));
    }
    Ok(out)
}

/// A SetRule request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct SetRule {
    client: SlbClient,
    rule_id: RuleId,
    name: Option<String>,
    vserver_group_id: Option<VServerGroupId>,
    scheduler: Option<Scheduler>,
}

impl SetRule {
    /// `RuleName`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `VServerGroupId`.
    pub fn vserver_group_id(mut self, id: VServerGroupId) -> Self {
        self.vserver_group_id = Some(id);
        self
    }

    /// `Scheduler` (`wrr`, `wlc` or `rr`).
    pub fn scheduler(mut self, scheduler: Scheduler) -> Self {
        self.scheduler = Some(scheduler);
        self
    }

    /// The request as it will be sent.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        if self.name.is_none() && self.vserver_group_id.is_none() && self.scheduler.is_none() {
            return Err(Error::invalid_input("SetRule", "nothing to change"));
        }
        if let Some(n) = &self.name {
            validate_text("RuleName", n, 80)?;
        }
        if let Some(s) = &self.scheduler {
            if !matches!(s, Scheduler::Wrr | Scheduler::Wlc | Scheduler::Rr) {
                return Err(Error::invalid_input("Scheduler", format!("{s} is not wrr, wlc or rr")));
            }
        }
        Ok(RpcRequest::write(Product::Slb, "SetRule")
            .param("RuleId", &self.rule_id)
            .opt_param("RuleName", self.name.as_deref())
            .opt_param("VServerGroupId", self.vserver_group_id.as_ref())
            .opt_param("Scheduler", self.scheduler.as_ref()))
    }

    /// Sends the request.
    pub async fn send(self) -> Result<(), Error> {
        let req = self.to_request()?;
        self.client.call_unit(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::params;

    #[test]
    fn rule_lists() {
        let lb: LoadBalancerId = "lb-a1".parse().unwrap();
        let g: VServerGroupId = "rsp-a1".parse().unwrap();
        let rules: Vec<RuleSpec> = (0..12)
            .map(|i| RuleSpec::new(format!("r{i}"), Some("example.com"), Some(&format!("/p{i}")), g.clone()))
            .collect();
        let reqs = create_requests(&lb, 80, &ListenerProtocol::Http, &rules).unwrap();
        assert_eq!(reqs.len(), 2);
        let first: serde_json::Value = serde_json::from_str(&params(&reqs[0])["RuleList"]).unwrap();
        assert_eq!(first.as_array().unwrap().len(), 10);
        assert_eq!(
            first[0],
            serde_json::json!({"RuleName":"r0","Domain":"example.com","Url":"/p0","VServerGroupId":"rsp-a1"})
        );
        assert!(create_requests(&lb, 80, &ListenerProtocol::Tcp, &rules).is_err());
        let bad = RuleSpec::new("x", None, None, g.clone());
        assert!(create_requests(&lb, 80, &ListenerProtocol::Http, &[bad]).is_err());
        let bad = RuleSpec::new("x", None, Some("api"), g);
        assert!(create_requests(&lb, 80, &ListenerProtocol::Http, &[bad]).is_err());
        let d = delete_request(&["rule-a".parse().unwrap(), "rule-b".parse().unwrap()]);
        assert_eq!(params(&d)["RuleIds"], r#"["rule-a","rule-b"]"#);
    }
}
