//! Layer-7 forwarding rules of HTTP and HTTPS listeners: CreateRules, DescribeRules,
//! DescribeRuleAttribute, SetRule, DeleteRules.
//!
//! A rule sends the requests whose host matches its `Domain` and whose path starts with its
//! `Url` to a VServer group. The checks here are the API's: `RuleName` 1-40 letters, digits,
//! `-/._`; `Url` 1-80 letters, digits, `-/.%?#&`, starting with `/`; `Domain` an exact name or
//! a `*.` wildcard; at least one of the two; at most [`MAX_RULES_PER_CALL`] rules per call.

use ack_net_core::operation::{Ack, Json};
use ack_net_core::{de, wire_enum, ErrorInfo, Removed};
use serde::{Deserialize, Serialize};

use crate::common::{check_port, check_range, opt_parsed, opt_string, wrapped};
use crate::types::{ListenerProtocol, Scheduler};
use crate::{Error, LoadBalancerId, RuleId, SlbClient, VServerGroupId};

/// The most rules one CreateRules or DeleteRules call carries.
pub const MAX_RULES_PER_CALL: usize = 10;

wire_enum! {
    ignore_case, exhaustive;
    /// An `on`/`off` switch of a rule's settings.
    OnOff {
        /// `on`.
        On = "on",
        /// `off`.
        Off = "off",
    }
}

/// Checks a `RuleName`: 1-40 letters, digits, `-`, `/`, `.` or `_`.
///
/// ```
/// assert!(ack_net_slb::check_rule_name("default/web-80").is_ok());
/// assert!(ack_net_slb::check_rule_name("two words").is_err());
/// ```
pub fn check_rule_name(name: &str) -> Result<(), Error> {
    let ok = (1..=40).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-/._".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input("RuleName", format!("{name:?} must be 1-40 letters, digits, -, /, . or _")))
    }
}

/// Checks a rule's `Url`: 1-80 letters, digits, `-`, `/`, `.`, `%`, `?`, `#` or `&`,
/// starting with `/`.
///
/// ```
/// assert!(ack_net_slb::check_rule_url("/api/v1").is_ok());
/// assert!(ack_net_slb::check_rule_url("api").is_err());
/// assert!(ack_net_slb::check_rule_url("/a b").is_err());
/// ```
pub fn check_rule_url(url: &str) -> Result<(), Error> {
    let ok = url.starts_with('/')
        && url.chars().count() <= 80
        && url.chars().all(|c| c.is_ascii_alphanumeric() || "-/.%?#&".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "Url",
            format!("{url:?} must start with / and be at most 80 letters, digits, -, /, ., %, ?, # or &"),
        ))
    }
}

/// Checks a rule's or a domain extension's `Domain`: an exact name (labels of letters,
/// digits and `-`, joined by `.`) or a `*.` wildcard before one; at most 80 characters.
///
/// ```
/// assert!(ack_net_slb::check_rule_domain("www.example.com").is_ok());
/// assert!(ack_net_slb::check_rule_domain("*.example.com").is_ok());
/// assert!(ack_net_slb::check_rule_domain("www.*.com").is_err());
/// assert!(ack_net_slb::check_rule_domain("under_score.com").is_err());
/// ```
pub fn check_rule_domain(domain: &str) -> Result<(), Error> {
    let name = domain.strip_prefix("*.").unwrap_or(domain);
    let ok = domain.len() <= 80
        && !name.is_empty()
        && name.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input("Domain", format!("{domain:?} is not a domain name or a *. wildcard of one")))
    }
}

/// A rule's scheduler is `wrr`, `wlc` or `rr`.
fn check_scheduler(s: &Scheduler) -> Result<(), Error> {
    if matches!(s, Scheduler::Wrr | Scheduler::Wlc | Scheduler::Rr) {
        Ok(())
    } else {
        Err(Error::invalid_input("Scheduler", format!("{s} is not wrr, wlc or rr")))
    }
}

/// A forwarding rule to create (one item of CreateRules' `RuleList`): requests whose host
/// matches `domain` and whose path starts with `url` go to `vserver_group_id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuleSpec {
    /// `RuleName`, unique per listener.
    #[serde(rename = "RuleName")]
    pub name: String,
    /// `Domain`.
    #[serde(rename = "Domain", default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// `Url`, starting with `/`.
    #[serde(rename = "Url", default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `VServerGroupId`.
    #[serde(rename = "VServerGroupId")]
    pub vserver_group_id: VServerGroupId,
    /// `Scheduler` for this rule's traffic; `None` follows the listener.
    #[serde(rename = "Scheduler", default, skip_serializing_if = "Option::is_none")]
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

    /// Checks the rule as the API would, before any call.
    pub fn validate(&self) -> Result<(), Error> {
        check_rule_name(&self.name)?;
        if self.domain.is_none() && self.url.is_none() {
            return Err(Error::invalid_input("RuleList", format!("rule {:?} needs a Domain or a Url", self.name)));
        }
        if let Some(d) = &self.domain {
            check_rule_domain(d)?;
        }
        if let Some(u) = &self.url {
            check_rule_url(u)?;
        }
        self.scheduler.as_ref().map_or(Ok(()), check_scheduler)
    }
}

/// The settings a rule may override (health checks, session persistence, scheduler);
/// with `ListenerSync` on (the default) it follows its listener's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct RuleSettings {
    /// `ListenerSync`: whether the rule follows its listener's settings.
    #[serde(rename = "ListenerSync", default, deserialize_with = "opt_parsed")]
    pub listener_sync: Option<OnOff>,
    /// `Scheduler`.
    #[serde(rename = "Scheduler", default, deserialize_with = "opt_parsed")]
    pub scheduler: Option<Scheduler>,
    /// `StickySession`.
    #[serde(rename = "StickySession", default, deserialize_with = "opt_parsed")]
    pub sticky_session: Option<OnOff>,
    /// `StickySessionType` (`insert` or `server`).
    #[serde(rename = "StickySessionType", default, deserialize_with = "opt_string")]
    pub sticky_session_type: Option<String>,
    /// `Cookie`.
    #[serde(rename = "Cookie", default, deserialize_with = "opt_string")]
    pub cookie: Option<String>,
    /// `CookieTimeout` in seconds.
    #[serde(rename = "CookieTimeout", default, deserialize_with = "de::opt_number")]
    pub cookie_timeout: Option<u32>,
    /// `HealthCheck`.
    #[serde(rename = "HealthCheck", default, deserialize_with = "opt_parsed")]
    pub health_check: Option<OnOff>,
    /// `HealthCheckDomain`.
    #[serde(rename = "HealthCheckDomain", default, deserialize_with = "opt_string")]
    pub health_check_domain: Option<String>,
    /// `HealthCheckURI`.
    #[serde(rename = "HealthCheckURI", default, deserialize_with = "opt_string")]
    pub health_check_uri: Option<String>,
    /// `HealthCheckConnectPort`.
    #[serde(rename = "HealthCheckConnectPort", default, deserialize_with = "de::opt_number")]
    pub health_check_connect_port: Option<u16>,
    /// `HealthyThreshold`.
    #[serde(rename = "HealthyThreshold", default, deserialize_with = "de::opt_number")]
    pub healthy_threshold: Option<u32>,
    /// `UnhealthyThreshold`.
    #[serde(rename = "UnhealthyThreshold", default, deserialize_with = "de::opt_number")]
    pub unhealthy_threshold: Option<u32>,
    /// `HealthCheckTimeout` in seconds.
    #[serde(rename = "HealthCheckTimeout", default, deserialize_with = "de::opt_number")]
    pub health_check_timeout: Option<u32>,
    /// `HealthCheckInterval` in seconds.
    #[serde(rename = "HealthCheckInterval", default, deserialize_with = "de::opt_number")]
    pub health_check_interval: Option<u32>,
    /// `HealthCheckHttpCode` (`http_2xx,http_3xx`...).
    #[serde(rename = "HealthCheckHttpCode", default, deserialize_with = "opt_string")]
    pub health_check_http_code: Option<String>,
}

/// A forwarding rule as the cloud has it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Rule {
    /// `RuleId`.
    #[serde(rename = "RuleId")]
    pub rule_id: RuleId,
    /// `RuleName`.
    #[serde(rename = "RuleName", default, deserialize_with = "de::string")]
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
    /// The settings it overrides.
    #[serde(flatten)]
    pub settings: RuleSettings,
}

/// What DescribeRuleAttribute answers: the rule and where it is.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct RuleAttribute {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// `LoadBalancerId`.
    #[serde(rename = "LoadBalancerId", default, deserialize_with = "opt_parsed")]
    pub load_balancer_id: Option<LoadBalancerId>,
    /// `ListenerPort`.
    #[serde(rename = "ListenerPort", default, deserialize_with = "de::opt_number")]
    pub listener_port: Option<u16>,
    /// The rule.
    #[serde(flatten)]
    pub rule: Rule,
}

/// A rule CreateRules made.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct CreatedRule {
    /// `RuleId`.
    #[serde(rename = "RuleId")]
    pub rule_id: RuleId,
    /// `RuleName`.
    #[serde(rename = "RuleName", default, deserialize_with = "de::string")]
    pub name: String,
}

/// What CreateRules ([`CreatedRule`]s) and DescribeRules ([`Rule`]s) answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(bound = "T: serde::de::DeserializeOwned")]
#[non_exhaustive]
pub struct RulesResponse<T> {
    /// The rules.
    #[serde(rename = "Rules", default = "Vec::new", deserialize_with = "wrapped")]
    pub rules: Vec<T>,
}

/// Rule operations; from [`SlbClient::rules`].
#[derive(Clone, Debug)]
pub struct Rules {
    client: SlbClient,
}

impl Rules {
    pub(crate) fn new(client: SlbClient) -> Self {
        Self { client }
    }

    /// CreateRules: 1 to [`MAX_RULES_PER_CALL`] rules on the listener `port`/`protocol`
    /// (HTTP or HTTPS); add them with [`CreateRules::rule`]. For longer lists see
    /// [`create_all`](Self::create_all).
    pub fn create(&self, load_balancer_id: &LoadBalancerId, port: u16, protocol: ListenerProtocol) -> CreateRules {
        CreateRules::new(self.client.rpc(), load_balancer_id.clone(), port, protocol, Json(Vec::new()))
    }

    /// CreateRules for any number of rules, [`MAX_RULES_PER_CALL`] per call; every rule is
    /// checked before the first call. Returns the new rules in order. If a call fails, the
    /// rules of the calls before it exist.
    pub async fn create_all(
        &self,
        load_balancer_id: &LoadBalancerId,
        port: u16,
        protocol: ListenerProtocol,
        rules: &[RuleSpec],
    ) -> Result<Vec<CreatedRule>, Error> {
        if rules.is_empty() {
            return Err(Error::invalid_input("RuleList", "no rules"));
        }
        let calls: Vec<CreateRules> = rules
            .chunks(MAX_RULES_PER_CALL)
            .map(|chunk| self.create(load_balancer_id, port, protocol.clone()).rules(chunk.iter().cloned()))
            .collect();
        for call in &calls {
            call.to_request()?;
        }
        let mut out = Vec::with_capacity(rules.len());
        for call in calls {
            out.extend(call.send().await?);
        }
        Ok(out)
    }

    /// DescribeRules: the rules of one listener.
    pub fn describe(&self, load_balancer_id: &LoadBalancerId, port: u16, protocol: ListenerProtocol) -> DescribeRules {
        DescribeRules::new(self.client.rpc(), load_balancer_id.clone(), port, protocol)
    }

    /// DescribeRuleAttribute: one rule with its settings.
    pub fn get(&self, rule_id: &RuleId) -> DescribeRuleAttribute {
        DescribeRuleAttribute::new(self.client.rpc(), rule_id.clone())
    }

    /// SetRule: another name, group, scheduler or settings for a rule.
    pub fn set(&self, rule_id: &RuleId) -> SetRule {
        SetRule::new(self.client.rpc(), rule_id.clone())
    }

    /// DeleteRules, [`MAX_RULES_PER_CALL`] ids per call. Rules already gone are not an error:
    /// [`Removed::Already`] when none of them was there.
    pub async fn delete(&self, rule_ids: &[RuleId]) -> Result<Removed, Error> {
        let mut removed = Removed::Already;
        for chunk in rule_ids.chunks(MAX_RULES_PER_CALL) {
            match DeleteRules::new(self.client.rpc(), Json(chunk.to_vec())).send().await {
                Ok(()) => removed = Removed::Now,
                // One missing id fails the whole call: delete the others one by one.
                Err(e) if e.is_not_found() && chunk.len() > 1 => {
                    for id in chunk {
                        let one = DeleteRules::new(self.client.rpc(), Json(vec![id.clone()])).send().await;
                        if Removed::from_result(one, Error::is_not_found)? == Removed::Now {
                            removed = Removed::Now;
                        }
                    }
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }
}

/// Rules belong to HTTP and HTTPS listeners.
fn check_listener(port: u16, protocol: &ListenerProtocol) -> Result<(), Error> {
    check_port("ListenerPort", port)?;
    if matches!(protocol, ListenerProtocol::Http | ListenerProtocol::Https) {
        Ok(())
    } else {
        Err(Error::invalid_input("ListenerProtocol", "forwarding rules belong to HTTP and HTTPS listeners"))
    }
}

ack_net_core::operation! {
    /// A CreateRules request.
    ///
    /// ```no_run
    /// # async fn demo(slb: ack_net_slb::SlbClient, lb: ack_net_slb::LoadBalancerId, g: ack_net_slb::VServerGroupId) -> Result<(), ack_net_slb::Error> {
    /// use ack_net_slb::{ListenerProtocol, RuleSpec};
    /// let made = slb
    ///     .rules()
    ///     .create(&lb, 80, ListenerProtocol::Http)
    ///     .rule(RuleSpec::new("api", Some("www.example.com"), Some("/api"), g))
    ///     .send()
    ///     .await?;
    /// println!("{}", made[0].rule_id);
    /// # Ok(()) }
    /// ```
    pub struct CreateRules: crate::SLB, "CreateRules", write
        -> Vec<CreatedRule> as RulesResponse<CreatedRule> => |r: RulesResponse<CreatedRule>| r.rules, Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        listener_port: u16 = "ListenerPort";
        listener_protocol: ListenerProtocol = "ListenerProtocol";
        rule_list: Json<Vec<RuleSpec>> = "RuleList";
    }
    optional {}
    check: Self::check_input;
}

impl CreateRules {
    /// Adds a rule.
    pub fn rule(mut self, rule: RuleSpec) -> Self {
        self.rule_list.0.push(rule);
        self
    }

    /// Adds rules.
    pub fn rules(mut self, rules: impl IntoIterator<Item = RuleSpec>) -> Self {
        self.rule_list.0.extend(rules);
        self
    }

    fn check_input(&self) -> Result<(), Error> {
        check_listener(self.listener_port, &self.listener_protocol)?;
        let n = self.rule_list.0.len();
        if !(1..=MAX_RULES_PER_CALL).contains(&n) {
            return Err(Error::invalid_input(
                "RuleList",
                format!("{n} rules; one call takes 1 to {MAX_RULES_PER_CALL}"),
            ));
        }
        self.rule_list.0.iter().try_for_each(RuleSpec::validate)
    }
}

ack_net_core::operation! {
    /// A DescribeRules request: the rules of one listener.
    pub struct DescribeRules: crate::SLB, "DescribeRules", read
        -> Vec<Rule> as RulesResponse<Rule> => |r: RulesResponse<Rule>| r.rules, Error;
    required {
        load_balancer_id: LoadBalancerId = "LoadBalancerId";
        listener_port: u16 = "ListenerPort";
        listener_protocol: ListenerProtocol = "ListenerProtocol";
    }
    optional {}
    check: |op: &Self| check_listener(op.listener_port, &op.listener_protocol);
}

ack_net_core::operation! {
    /// A DescribeRuleAttribute request.
    pub struct DescribeRuleAttribute: crate::SLB, "DescribeRuleAttribute", read -> RuleAttribute, Error;
    required {
        rule_id: RuleId = "RuleId";
    }
    optional {}
}

ack_net_core::operation! {
    /// A SetRule request: at least one setting.
    ///
    /// ```
    /// # let rpc = ack_net_core::RpcClient::builder().region("cn-hangzhou").credentials(ack_net_core::Credentials::new("id", "secret")).build().unwrap();
    /// use ack_net_slb::{OnOff, SlbClient};
    /// let slb = SlbClient::new(rpc);
    /// let rule = "rule-bp1example".parse().unwrap();
    /// let req = slb.rules().set(&rule).listener_sync(OnOff::Off).health_check(OnOff::On).health_check_uri("/healthz");
    /// assert!(req.to_request().is_ok());
    /// assert!(slb.rules().set(&rule).to_request().is_err(), "nothing to change");
    /// ```
    pub struct SetRule: crate::SLB, "SetRule", write -> () as Ack => |_| (), Error;
    required {
        rule_id: RuleId = "RuleId";
    }
    optional {
        /// `RuleName`.
        name: Option<String> = "RuleName" => into(String);
        /// `VServerGroupId`.
        vserver_group_id: Option<VServerGroupId> = "VServerGroupId" => into(VServerGroupId);
        /// `ListenerSync`: `off` to use this rule's own settings below.
        listener_sync: Option<OnOff> = "ListenerSync" => set(OnOff);
        /// `Scheduler` (`wrr`, `wlc` or `rr`).
        scheduler: Option<Scheduler> = "Scheduler" => set(Scheduler);
        /// `StickySession`.
        sticky_session: Option<OnOff> = "StickySession" => set(OnOff);
        /// `StickySessionType`: `insert` or `server`.
        sticky_session_type: Option<String> = "StickySessionType" => into(String);
        /// `CookieTimeout` (1-86400 seconds), for `insert`.
        cookie_timeout: Option<u32> = "CookieTimeout" => set(u32);
        /// `Cookie` (1-200 characters), for `server`.
        cookie: Option<String> = "Cookie" => into(String);
        /// `HealthCheck`.
        health_check: Option<OnOff> = "HealthCheck" => set(OnOff);
        /// `HealthCheckDomain`.
        health_check_domain: Option<String> = "HealthCheckDomain" => into(String);
        /// `HealthCheckURI` (starting with `/`).
        health_check_uri: Option<String> = "HealthCheckURI" => into(String);
        /// `HealthCheckConnectPort`.
        health_check_connect_port: Option<u16> = "HealthCheckConnectPort" => set(u16);
        /// `HealthyThreshold` (2-10).
        healthy_threshold: Option<u32> = "HealthyThreshold" => set(u32);
        /// `UnhealthyThreshold` (2-10).
        unhealthy_threshold: Option<u32> = "UnhealthyThreshold" => set(u32);
        /// `HealthCheckTimeout` (1-300 seconds).
        health_check_timeout: Option<u32> = "HealthCheckTimeout" => set(u32);
        /// `HealthCheckInterval` (1-50 seconds).
        health_check_interval: Option<u32> = "HealthCheckInterval" => set(u32);
        /// `HealthCheckHttpCode`: `http_2xx`, `http_3xx`, `http_4xx`, `http_5xx`, comma-separated.
        health_check_http_code: Option<String> = "HealthCheckHttpCode" => into(String);
    }
    check: Self::check_input;
}

impl SetRule {
    fn check_input(&self) -> Result<(), Error> {
        let serialized = serde_json::to_value(self).map_err(|e| Error::invalid_input("SetRule", e.to_string()))?;
        let set = serialized.as_object().map_or(0, |m| m.values().filter(|v| !v.is_null()).count());
        // RuleId is always there.
        if set <= 1 {
            return Err(Error::invalid_input("SetRule", "nothing to change"));
        }
        if let Some(n) = &self.name {
            check_rule_name(n)?;
        }
        if let Some(s) = &self.scheduler {
            check_scheduler(s)?;
        }
        if let Some(t) = &self.sticky_session_type {
            if t != "insert" && t != "server" {
                return Err(Error::invalid_input("StickySessionType", format!("{t:?} is not insert or server")));
            }
        }
        if let Some(c) = &self.cookie {
            if !(1..=200).contains(&c.chars().count()) {
                return Err(Error::invalid_input("Cookie", "must be 1-200 characters"));
            }
        }
        if let Some(u) = &self.health_check_uri {
            if !u.starts_with('/') {
                return Err(Error::invalid_input("HealthCheckURI", format!("{u:?} must start with /")));
            }
        }
        if let Some(p) = self.health_check_connect_port {
            check_port("HealthCheckConnectPort", p)?;
        }
        if let Some(codes) = &self.health_check_http_code {
            if codes.split(',').any(|c| !["http_2xx", "http_3xx", "http_4xx", "http_5xx"].contains(&c)) {
                return Err(Error::invalid_input(
                    "HealthCheckHttpCode",
                    format!("{codes:?} is not a list of http_Nxx"),
                ));
            }
        }
        let ranges = [
            ("CookieTimeout", self.cookie_timeout, 1, 86_400),
            ("HealthyThreshold", self.healthy_threshold, 2, 10),
            ("UnhealthyThreshold", self.unhealthy_threshold, 2, 10),
            ("HealthCheckTimeout", self.health_check_timeout, 1, 300),
            ("HealthCheckInterval", self.health_check_interval, 1, 50),
        ];
        for (what, value, min, max) in ranges {
            if let Some(v) = value {
                check_range(what, i64::from(v), min, max)?;
            }
        }
        Ok(())
    }
}

ack_net_core::operation! {
    /// A DeleteRules request (1 to [`MAX_RULES_PER_CALL`] ids). One unknown id fails the
    /// whole call; [`Rules::delete`] handles that.
    pub struct DeleteRules: crate::SLB, "DeleteRules", write -> () as Ack => |_| (), Error;
    required {
        rule_ids: Json<Vec<RuleId>> = "RuleIds";
    }
    optional {}
    check: |op: &Self| {
        let n = op.rule_ids.0.len();
        if (1..=MAX_RULES_PER_CALL).contains(&n) {
            Ok(())
        } else {
            Err(Error::invalid_input("RuleIds", format!("{n} ids; one call takes 1 to {MAX_RULES_PER_CALL}")))
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};

    #[test]
    fn rule_lists_on_the_wire() {
        let slb = client();
        let lb: LoadBalancerId = "lb-a1".parse().unwrap();
        let g: VServerGroupId = "rsp-a1".parse().unwrap();
        let mut web = RuleSpec::new("web", None, Some("/"), g.clone());
        web.scheduler = Some(Scheduler::Wlc);
        let req = slb
            .rules()
            .create(&lb, 80, ListenerProtocol::Http)
            .rule(RuleSpec::new("api", Some("example.com"), Some("/api"), g.clone()))
            .rule(web)
            .to_request()
            .unwrap();
        let p = params(&req);
        assert_eq!(
            p["RuleList"],
            r#"[{"RuleName":"api","Domain":"example.com","Url":"/api","VServerGroupId":"rsp-a1"},{"RuleName":"web","Url":"/","VServerGroupId":"rsp-a1","Scheduler":"wlc"}]"#
        );
        assert_eq!((p["ListenerPort"].as_str(), p["ListenerProtocol"].as_str()), ("80", "http"));
        let eleven = (0..11).map(|i| RuleSpec::new(format!("r{i}"), None, Some("/"), g.clone()));
        assert!(slb.rules().create(&lb, 80, ListenerProtocol::Http).rules(eleven).to_request().is_err());
        assert!(slb.rules().create(&lb, 80, ListenerProtocol::Http).to_request().is_err(), "no rules");
        let one = || RuleSpec::new("a", None, Some("/"), g.clone());
        assert!(slb.rules().create(&lb, 80, ListenerProtocol::Tcp).rule(one()).to_request().is_err());
        for bad in [
            RuleSpec::new("x", None, None, g.clone()),
            RuleSpec::new("x", None, Some("api"), g.clone()),
            RuleSpec::new("x y", None, Some("/"), g.clone()),
            RuleSpec::new("x".repeat(41), None, Some("/"), g.clone()),
            RuleSpec::new("x", Some("*.*.com"), None, g.clone()),
            RuleSpec::new("x", None, Some(&format!("/{}", "a".repeat(80))), g.clone()),
        ] {
            assert!(
                slb.rules().create(&lb, 80, ListenerProtocol::Http).rule(bad.clone()).to_request().is_err(),
                "{bad:?}"
            );
        }
        let d = DeleteRules::new(slb.rpc(), Json(vec!["rule-a".parse().unwrap(), "rule-b".parse().unwrap()]));
        assert_eq!(params(&d.to_request().unwrap())["RuleIds"], r#"["rule-a","rule-b"]"#);
        assert!(DeleteRules::new(slb.rpc(), Json(Vec::new())).to_request().is_err());
    }

    #[test]
    fn set_rule_checks_its_settings() {
        let slb = client();
        let id: RuleId = "rule-a1".parse().unwrap();
        let req = slb.rules().set(&id).scheduler(Scheduler::Rr).healthy_threshold(3).to_request().unwrap();
        let p = params(&req);
        assert_eq!((p["Scheduler"].as_str(), p["HealthyThreshold"].as_str()), ("rr", "3"));
        assert!(!p.contains_key("RuleName"));
        assert!(slb.rules().set(&id).scheduler(Scheduler::Sch).to_request().is_err());
        assert!(slb.rules().set(&id).healthy_threshold(1).to_request().is_err());
        assert!(slb.rules().set(&id).health_check_http_code("http_2xx,http_9xx").to_request().is_err());
        assert!(slb.rules().set(&id).name("bad name").to_request().is_err());
        assert!(slb.rules().set(&id).sticky_session_type("sometimes").to_request().is_err());
    }

    #[test]
    fn rules_decode_with_their_settings() {
        let a: RuleAttribute = serde_json::from_str(
            r#"{"RequestId":"r","LoadBalancerId":"lb-a","ListenerPort":"80","RuleId":"rule-a","RuleName":"api",
                "Domain":"www.example.com","Url":"/api","VServerGroupId":"rsp-a","ListenerSync":"off",
                "HealthCheck":"on","HealthyThreshold":3,"HealthCheckURI":"/healthz","Scheduler":"wrr"}"#,
        )
        .unwrap();
        assert_eq!(a.listener_port, Some(80));
        assert_eq!(a.rule.settings.listener_sync, Some(OnOff::Off));
        assert_eq!(a.rule.settings.healthy_threshold, Some(3));
        assert_eq!(a.rule.settings.scheduler, Some(Scheduler::Wrr));
        assert_eq!(a.rule.url.as_deref(), Some("/api"));
    }
}
