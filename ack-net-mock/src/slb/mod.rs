//! SLB 2014-05-15: load balancers, listeners, VServer and master/slave groups, rules,
//! certificates, tags, health status.
//!
//! CONTRACT used by the server part (do not change the signatures): `SlbState::dump`.
//!
//! Behaviour worth knowing when writing tests against it:
//! - A new load balancer is `inactive` for [`SlbState::set_delays`]'s activation delay (zero by
//!   default, so it is `active` at once), then `active`. A new listener is `stopped`;
//!   `StartLoadBalancerListener` makes it `starting` for the start delay (zero by default),
//!   then `running`.
//! - A VServer group holds at most [`SlbState::backend_quota`] backends
//!   ([`DEFAULT_BACKEND_QUOTA`] unless raised with [`SlbState::set_backend_quota`]);
//!   Add/Remove/Set/Modify take at most [`MAX_BACKENDS_PER_CALL`] backends per call.
//! - `DescribeHealthStatus` is deterministic: a backend is `normal` when its listener runs with
//!   health checks on, `unavailable` otherwise, and `abnormal` when a test marked it so with
//!   [`SlbState::set_backend_abnormal`].
//! - Layer 7: a listener holds at most [`SlbState::rule_quota`] forwarding rules
//!   ([`DEFAULT_RULE_QUOTA`]) and an HTTPS listener [`SlbState::domain_extension_quota`]
//!   domain extensions ([`DEFAULT_DOMAIN_EXTENSION_QUOTA`]); certificates must be real PEM
//!   with a matching key (use [`sample_certificate`] in tests); [`SlbState::route`] says
//!   which group a request for a host and path reaches.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;

mod backend;
mod certs;
mod domain_ext;
mod group;
mod health;
mod lb_describe;
mod listener;
mod listener_attrs;
mod load_balancer;
mod pem;
mod routing;
mod rules;
mod samples;
mod tags;

pub use routing::Routed;
pub use samples::{renewed_sample_certificate, sample_certificate, SampleCertificate, SAMPLES};

/// The API version of SLB.
pub const VERSION: &str = "2014-05-15";
/// The most backends one Add/Remove/Set/Modify call may carry (the API reference's limit).
pub const MAX_BACKENDS_PER_CALL: usize = 20;
/// How many backends a VServer group holds by default (the cloud's default quota).
pub const DEFAULT_BACKEND_QUOTA: usize = 200;
/// The most forwarding rules one `CreateRules` call may carry.
pub const MAX_RULES_PER_CALL: usize = 10;
/// How many forwarding rules a layer-7 listener holds by default (the published quota).
pub const DEFAULT_RULE_QUOTA: usize = 40;
/// How many domain extensions an HTTPS listener holds by default (the published quota).
pub const DEFAULT_DOMAIN_EXTENSION_QUOTA: usize = 3;
/// The most tags a load balancer may carry.
pub const MAX_TAGS_PER_RESOURCE: usize = 20;

/// A backend server of a VServer or master/slave group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Backend {
    pub server_id: String,
    pub port: u16,
    pub weight: u8,
    /// `ecs`, `eni` or `eci`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The address, for `eni` and `eci` backends (and optionally `ecs`).
    pub server_ip: String,
    pub description: String,
    /// `Master` or `Slave`, for master/slave groups only.
    pub server_type: String,
}

impl Backend {
    /// What identifies a backend within a group: an ENI has many addresses, so for `eni`
    /// and `eci` the address is part of it.
    pub fn key(&self) -> (String, String, u16) {
        let ip = if self.kind == "ecs" { String::new() } else { self.server_ip.clone() };
        (self.server_id.clone(), ip, self.port)
    }
}

/// A listener, its attributes kept by their response names.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Listener {
    pub port: u16,
    /// `tcp`, `udp`, `http` or `https`.
    pub protocol: String,
    /// `running`, `stopped` or `starting`.
    pub status: String,
    #[serde(skip)]
    pub running_at: Option<Instant>,
    pub attrs: BTreeMap<String, Value>,
    pub tags: Vec<(String, String)>,
}

/// A load balancer.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LoadBalancer {
    pub seq: u64,
    pub id: String,
    pub region: String,
    pub name: String,
    pub address: String,
    pub address_type: String,
    pub address_ip_version: String,
    pub network_type: String,
    pub vpc_id: String,
    pub vswitch_id: String,
    pub spec: String,
    pub instance_charge_type: String,
    pub internet_charge_type: String,
    pub bandwidth: i64,
    pub master_zone: String,
    pub slave_zone: String,
    pub delete_protection: bool,
    pub modification_protection_status: String,
    pub modification_protection_reason: String,
    pub resource_group_id: String,
    pub status: String,
    #[serde(skip)]
    pub active_at: Option<Instant>,
    pub create_time: String,
    pub create_timestamp: i64,
    pub tags: Vec<(String, String)>,
    /// Sorted by (port, protocol).
    pub listeners: Vec<Listener>,
}

impl LoadBalancer {
    /// Whether the instance may take `eni` and `eci` backends (only performance-guaranteed
    /// and pay-by-CLCU instances can).
    pub fn is_high_performance(&self) -> bool {
        !self.spec.is_empty() || self.instance_charge_type == "PayByCLCU"
    }
}

/// A VServer group.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct VServerGroup {
    pub seq: u64,
    pub id: String,
    pub lb_id: String,
    pub name: String,
    pub create_time: String,
    pub backends: Vec<Backend>,
    pub tags: Vec<(String, String)>,
}

/// A master/slave server group.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct MasterSlaveGroup {
    pub seq: u64,
    pub id: String,
    pub lb_id: String,
    pub name: String,
    pub create_time: String,
    pub backends: Vec<Backend>,
    pub tags: Vec<(String, String)>,
}

/// A layer-7 forwarding rule.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Rule {
    pub seq: u64,
    pub id: String,
    pub lb_id: String,
    pub port: u16,
    pub protocol: String,
    pub name: String,
    pub domain: String,
    pub url: String,
    pub vserver_group_id: String,
    /// Optional per-rule settings (`Scheduler`, `StickySession`, `HealthCheck`...), by name.
    pub attrs: BTreeMap<String, Value>,
}

/// An uploaded server certificate.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Certificate {
    pub seq: u64,
    pub id: String,
    pub region: String,
    pub name: String,
    /// What the certificate says about itself.
    #[serde(flatten)]
    pub info: pem::CertInfo,
    pub create_time: String,
    pub create_timestamp: i64,
    pub ali_cloud_certificate_id: String,
    pub ali_cloud_certificate_name: String,
}

/// An uploaded CA certificate (for listeners that verify client certificates).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CaCertificate {
    pub seq: u64,
    pub id: String,
    pub region: String,
    pub name: String,
    #[serde(flatten)]
    pub info: pem::CertInfo,
    pub create_time: String,
    pub create_timestamp: i64,
}

/// A domain extension: another certificate on an HTTPS listener, for one domain.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct DomainExtension {
    pub seq: u64,
    pub id: String,
    pub lb_id: String,
    pub port: u16,
    pub domain: String,
    pub cert_id: String,
}

/// The SLB product's state.
#[derive(Debug)]
pub struct SlbState {
    seq: u64,
    lbs: BTreeMap<String, LoadBalancer>,
    groups: BTreeMap<String, VServerGroup>,
    ms_groups: BTreeMap<String, MasterSlaveGroup>,
    rules: BTreeMap<String, Rule>,
    certs: BTreeMap<String, Certificate>,
    ca_certs: BTreeMap<String, CaCertificate>,
    domain_exts: BTreeMap<String, DomainExtension>,
    rule_quota: usize,
    domain_extension_quota: usize,
    /// ClientToken -> (action, parameters without the token, the first answer).
    tokens: HashMap<String, (String, BTreeMap<String, String>, Value)>,
    /// Server ids or addresses a test marked unhealthy.
    abnormal: BTreeSet<String>,
    backend_quota: usize,
    activation_delay: Duration,
    start_delay: Duration,
    /// Public addresses handed out so far (they come from a deterministic pool).
    public_ips: u32,
}

impl Default for SlbState {
    fn default() -> Self {
        Self {
            seq: 0,
            lbs: BTreeMap::new(),
            groups: BTreeMap::new(),
            ms_groups: BTreeMap::new(),
            rules: BTreeMap::new(),
            certs: BTreeMap::new(),
            ca_certs: BTreeMap::new(),
            domain_exts: BTreeMap::new(),
            rule_quota: DEFAULT_RULE_QUOTA,
            domain_extension_quota: DEFAULT_DOMAIN_EXTENSION_QUOTA,
            tokens: HashMap::new(),
            abnormal: BTreeSet::new(),
            backend_quota: DEFAULT_BACKEND_QUOTA,
            activation_delay: Duration::ZERO,
            start_delay: Duration::ZERO,
            public_ips: 0,
        }
    }
}

impl SlbState {
    /// The state as JSON, for the state dump.
    pub fn dump(&self) -> serde_json::Value {
        json!({
            "LoadBalancers": self.lbs_in_order().iter().map(|lb| serde_json::to_value(lb).unwrap_or(Value::Null)).collect::<Vec<_>>(),
            "VServerGroups": self.groups.values().collect::<Vec<_>>(),
            "MasterSlaveServerGroups": self.ms_groups.values().collect::<Vec<_>>(),
            "Rules": self.rules.values().collect::<Vec<_>>(),
            "ServerCertificates": self.certs.values().collect::<Vec<_>>(),
            "CACertificates": self.ca_certs.values().collect::<Vec<_>>(),
            "DomainExtensions": self.domain_exts.values().collect::<Vec<_>>(),
            "BackendQuota": self.backend_quota,
            "AbnormalBackends": self.abnormal,
        })
    }

    /// How long a new load balancer stays `inactive` and a started listener stays
    /// `starting` (both zero by default).
    pub fn set_delays(&mut self, activation: Duration, listener_start: Duration) {
        self.activation_delay = activation;
        self.start_delay = listener_start;
    }

    /// How many backends one VServer group may hold.
    pub fn backend_quota(&self) -> usize {
        self.backend_quota
    }

    /// Raises or lowers the per-group backend quota (as a quota increase on the real cloud
    /// would). Groups already over it keep their backends.
    pub fn set_backend_quota(&mut self, quota: usize) {
        self.backend_quota = quota;
    }

    /// How many forwarding rules one layer-7 listener may hold.
    pub fn rule_quota(&self) -> usize {
        self.rule_quota
    }

    /// Raises or lowers the per-listener rule quota (as a support ticket raises the real
    /// one). Listeners already over it keep their rules.
    pub fn set_rule_quota(&mut self, quota: usize) {
        self.rule_quota = quota;
    }

    /// How many domain extensions one HTTPS listener may hold.
    pub fn domain_extension_quota(&self) -> usize {
        self.domain_extension_quota
    }

    /// Raises or lowers the per-listener domain extension quota.
    pub fn set_domain_extension_quota(&mut self, quota: usize) {
        self.domain_extension_quota = quota;
    }

    /// Marks a backend (by server id, or by address for `eni` backends) as failing its
    /// health checks, or clears the mark.
    pub fn set_backend_abnormal(&mut self, server_id_or_ip: &str, abnormal: bool) {
        if abnormal {
            self.abnormal.insert(server_id_or_ip.to_owned());
        } else {
            self.abnormal.remove(server_id_or_ip);
        }
    }

    /// How many load balancers exist.
    pub fn load_balancer_count(&self) -> usize {
        self.lbs.len()
    }

    /// The backends of a VServer group as `(server id, address, port, weight)`, if it exists.
    pub fn vserver_group_backends(&self, id: &str) -> Option<Vec<(String, String, u16, u8)>> {
        self.groups
            .get(id)
            .map(|g| g.backends.iter().map(|b| (b.server_id.clone(), b.server_ip.clone(), b.port, b.weight)).collect())
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Every load balancer.
    pub(crate) fn load_balancers(&self) -> impl Iterator<Item = &LoadBalancer> {
        self.lbs.values()
    }

    /// The TCP listeners of `lb` running at `now`, each with the backends of its VServer
    /// group and whether each may take new connections by its health (not when a test
    /// marked it abnormal while the listener checks health). For the fabric's data plane.
    pub(crate) fn tcp_listeners<'a>(
        &'a self,
        lb: &'a LoadBalancer,
        now: Instant,
    ) -> Vec<(u16, Vec<(&'a Backend, bool)>)> {
        let running = |l: &Listener| l.status == "running" || l.running_at.is_some_and(|t| t <= now);
        lb.listeners
            .iter()
            .filter(|l| l.protocol == "tcp" && running(l))
            .map(|l| {
                let checks = listener_attrs::text(&l.attrs, "HealthCheck") == "on";
                let group = self.groups.get(&listener_attrs::text(&l.attrs, "VServerGroupId"));
                let backends = group.map(|g| g.backends.as_slice()).unwrap_or_default();
                let healthy = |b: &Backend| {
                    !checks || !(self.abnormal.contains(&b.server_id) || self.abnormal.contains(&b.server_ip))
                };
                (l.port, backends.iter().map(|b| (b, healthy(b))).collect())
            })
            .collect()
    }

    pub(crate) fn lbs_in_order(&self) -> Vec<&LoadBalancer> {
        let mut v: Vec<&LoadBalancer> = self.lbs.values().collect();
        v.sort_by_key(|lb| lb.seq);
        v
    }

    /// Moves time-driven statuses forward.
    fn settle(&mut self, now: Instant) {
        for lb in self.lbs.values_mut() {
            if lb.active_at.is_some_and(|t| t <= now) {
                lb.active_at = None;
                lb.status = "active".into();
            }
            for l in &mut lb.listeners {
                if l.running_at.is_some_and(|t| t <= now) {
                    l.running_at = None;
                    l.status = "running".into();
                }
            }
        }
    }

    /// The load balancer `id` in the request's region.
    pub(crate) fn lb(&self, req: &Req, id: &str) -> Result<&LoadBalancer, MockError> {
        match self.lbs.get(id) {
            Some(lb) if region_matches(req, &lb.region) => Ok(lb),
            _ => Err(lb_not_found(id)),
        }
    }

    pub(crate) fn lb_mut(&mut self, req: &Req, id: &str) -> Result<&mut LoadBalancer, MockError> {
        match self.lbs.get_mut(id) {
            Some(lb) if region_matches(req, &lb.region) => Ok(lb),
            _ => Err(lb_not_found(id)),
        }
    }

    /// The VServer group `id` in the request's region.
    pub(crate) fn group(&self, req: &Req, id: &str) -> Result<&VServerGroup, MockError> {
        match self.groups.get(id) {
            Some(g) if self.lbs.get(&g.lb_id).is_some_and(|lb| region_matches(req, &lb.region)) => Ok(g),
            _ => Err(vgroup_not_found(id)),
        }
    }

    /// The master/slave group `id` in the request's region.
    pub(crate) fn ms_group(&self, req: &Req, id: &str) -> Result<&MasterSlaveGroup, MockError> {
        match self.ms_groups.get(id) {
            Some(g) if self.lbs.get(&g.lb_id).is_some_and(|lb| region_matches(req, &lb.region)) => Ok(g),
            _ => Err(ms_group_not_found(id)),
        }
    }

    /// Replays the first answer of a `ClientToken`, or refuses a reuse with other
    /// parameters. `None` when the token is new (or absent).
    fn replay(&self, req: &Req) -> Option<HandlerResult> {
        let token = req.opt_str("ClientToken")?;
        let (action, params, answer) = self.tokens.get(token)?;
        if *action == req.action && *params == params_without_token(req) {
            Some(Ok(answer.clone()))
        } else {
            Some(Err(MockError::bad_request(
                "IdempotentParameterMismatch",
                "The request uses the same client token as a previous, but non-identical request.",
            )))
        }
    }

    fn remember(&mut self, req: &Req, answer: &Value) {
        if let Some(token) = req.opt_str("ClientToken") {
            self.tokens.insert(token.to_owned(), (req.action.clone(), params_without_token(req), answer.clone()));
        }
    }
}

fn params_without_token(req: &Req) -> BTreeMap<String, String> {
    req.params.iter().filter(|(k, _)| k.as_str() != "ClientToken").map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Whether a resource of `region` is visible to the request (a request without `RegionId`
/// sees every region).
pub(crate) fn region_matches(req: &Req, region: &str) -> bool {
    req.opt_str("RegionId").is_none_or(|r| r == region)
}

/// `InvalidLoadBalancerId.NotFound`.
pub(crate) fn lb_not_found(id: &str) -> MockError {
    MockError::not_found(
        "InvalidLoadBalancerId.NotFound",
        format!("The specified LoadBalancerId does not exist: {id}."),
    )
}

/// The answer to a listener that does not exist.
pub(crate) fn listener_not_found() -> MockError {
    MockError::not_found("ListenerNotFound", "The specified resource does not exist.")
}

/// The answer to a VServer group that does not exist (the API says `InvalidParameter`).
pub(crate) fn vgroup_not_found(id: &str) -> MockError {
    MockError::bad_request("InvalidParameter", format!("The specified VServerGroupId does not exist: {id}."))
}

/// The answer to a master/slave group that does not exist.
pub(crate) fn ms_group_not_found(id: &str) -> MockError {
    MockError::bad_request("InvalidParameter", format!("The specified MasterSlaveGroupId does not exist: {id}."))
}

/// `RspoolVipExist`: a group still used by a listener or rule.
pub(crate) fn group_in_use() -> MockError {
    MockError::bad_request("RspoolVipExist", "There are vips associating with this vServer group.")
}

/// The time in the API's `CreateTime` format and as milliseconds.
pub(crate) fn now_time() -> (String, i64) {
    let now = chrono::Utc::now();
    (now.format("%Y-%m-%dT%H:%MZ").to_string(), now.timestamp_millis())
}

/// Tags in the SLB response shape `{"Tag":[{"TagKey","TagValue"}]}`.
pub(crate) fn tags_json(tags: &[(String, String)]) -> Value {
    json!({ "Tag": tags.iter().map(|(k, v)| json!({"TagKey": k, "TagValue": v})).collect::<Vec<_>>() })
}

/// Reads `Tag.N.Key` / `Tag.N.Value`, checks the count and merges into `into` (a key given
/// again replaces its value).
pub(crate) fn merge_tags(into: &mut Vec<(String, String)>, new: Vec<(String, String)>) -> Result<(), MockError> {
    for (k, v) in new {
        if k.len() > 128 || k.starts_with("aliyun") || k.starts_with("acs:") {
            return Err(MockError::invalid_param("Tag.N.Key", format!("{k:?} is not an allowed tag key")));
        }
        match into.iter_mut().find(|(ek, _)| *ek == k) {
            Some(slot) => slot.1 = v,
            None => into.push((k, v)),
        }
    }
    if into.len() > MAX_TAGS_PER_RESOURCE {
        return Err(MockError::bad_request(
            "QuotaExceeded.TagNum",
            format!("A resource can have at most {MAX_TAGS_PER_RESOURCE} tags."),
        ));
    }
    Ok(())
}

/// An `on`/`off` parameter.
pub(crate) fn on_off(req: &Req, name: &str) -> Result<Option<bool>, MockError> {
    match req.opt_str(name) {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("on") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("off") => Ok(Some(false)),
        Some(v) => Err(MockError::invalid_param(name, format!("{v:?} must be on or off"))),
    }
}

/// A listener port, 1-65535.
pub(crate) fn port_param(req: &Req, name: &str) -> Result<u16, MockError> {
    let p: i64 = req.parse(name)?;
    u16::try_from(p)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| MockError::invalid_param(name, "must be between 1 and 65535"))
}

/// A protocol name normalized to lower case.
pub(crate) fn protocol_param(req: &Req, name: &str) -> Result<Option<String>, MockError> {
    match req.opt_str(name) {
        None => Ok(None),
        Some(p) => {
            let p = p.to_ascii_lowercase();
            if ["tcp", "udp", "http", "https"].contains(&p.as_str()) {
                Ok(Some(p))
            } else {
                Err(MockError::invalid_param(name, format!("{p:?} must be tcp, udp, http or https")))
            }
        }
    }
}

/// Handles an SLB action; `None` when the action is not an SLB action the mock knows.
pub fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    if !req.version.is_empty() && req.version != VERSION {
        return None;
    }
    let action = req.action.as_str();
    let known = [
        load_balancer::ACTIONS,
        listener::ACTIONS,
        group::ACTIONS,
        rules::ACTIONS,
        certs::ACTIONS,
        domain_ext::ACTIONS,
        health::ACTIONS,
        tags::ACTIONS,
    ]
    .iter()
    .any(|actions| actions.contains(&action));
    if !known {
        return None;
    }
    state.slb.settle(req.now);
    if let Some(replayed) = state.slb.replay(req) {
        return Some(replayed);
    }
    let result = load_balancer::handle(state, req)
        .or_else(|| listener::handle(state, req))
        .or_else(|| group::handle(state, req))
        .or_else(|| rules::handle(state, req))
        .or_else(|| certs::handle(state, req))
        .or_else(|| domain_ext::handle(state, req))
        .or_else(|| health::handle(state, req))
        .or_else(|| tags::handle(state, req))?;
    if let Ok(answer) = &result {
        state.slb.remember(req, answer);
    }
    Some(result)
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers for the SLB unit tests.
    use super::*;

    /// Runs one action against the state at the given time.
    pub fn call_at(state: &mut State, now: Instant, action: &str, params: &[(&str, &str)]) -> HandlerResult {
        let mut req = Req::new(action, VERSION, params);
        req.now = now;
        handle(state, &req).unwrap_or_else(|| panic!("{action} is not handled"))
    }

    /// Runs one action now.
    pub fn call(state: &mut State, action: &str, params: &[(&str, &str)]) -> HandlerResult {
        call_at(state, Instant::now(), action, params)
    }

    /// Runs one action that must succeed.
    pub fn ok(state: &mut State, action: &str, params: &[(&str, &str)]) -> Value {
        call(state, action, params).unwrap_or_else(|e| panic!("{action}: {e}"))
    }

    /// Runs one action that must fail, returning its code.
    pub fn err(state: &mut State, action: &str, params: &[(&str, &str)]) -> String {
        match call(state, action, params) {
            Ok(v) => panic!("{action} unexpectedly succeeded: {v}"),
            Err(e) => e.code,
        }
    }

    /// An internet load balancer with a spec; returns its id.
    pub fn internet_lb(state: &mut State) -> String {
        let v = ok(
            state,
            "CreateLoadBalancer",
            &[("RegionId", "cn-hangzhou"), ("AddressType", "internet"), ("LoadBalancerSpec", "slb.s2.small")],
        );
        v["LoadBalancerId"].as_str().expect("id").to_owned()
    }

    /// A VServer group on `lb` with the given backends JSON; returns its id.
    pub fn group(state: &mut State, lb: &str, backends: Option<&str>) -> String {
        let mut p = vec![("RegionId", "cn-hangzhou"), ("LoadBalancerId", lb), ("VServerGroupName", "g")];
        if let Some(b) = backends {
            p.push(("BackendServers", b));
        }
        let v = ok(state, "CreateVServerGroup", &p);
        v["VServerGroupId"].as_str().expect("id").to_owned()
    }

    /// A VPC with a VSwitch `10.1.0.0/16` in cn-hangzhou-h; returns the VSwitch id.
    pub fn vswitch(state: &mut State) -> String {
        let vpc = crate::vpc::handle(
            state,
            &Req::new("CreateVpc", "2016-04-28", &[("RegionId", "cn-hangzhou"), ("CidrBlock", "10.0.0.0/8")]),
        )
        .expect("CreateVpc is handled")
        .expect("CreateVpc");
        let vpc_id = vpc["VpcId"].as_str().expect("VpcId").to_owned();
        let vsw = crate::vpc::handle(
            state,
            &Req::new(
                "CreateVSwitch",
                "2016-04-28",
                &[
                    ("RegionId", "cn-hangzhou"),
                    ("VpcId", &vpc_id),
                    ("ZoneId", "cn-hangzhou-h"),
                    ("CidrBlock", "10.1.0.0/16"),
                ],
            ),
        )
        .expect("CreateVSwitch is handled")
        .expect("CreateVSwitch");
        vsw["VSwitchId"].as_str().expect("VSwitchId").to_owned()
    }

    /// An ECS instance on `vswitch` (through the ECS part of the mock): its id, its primary
    /// ENI and that ENI's address.
    pub fn instance(state: &mut State, vswitch: &str) -> (String, String, String) {
        let seed = crate::ecs::InstanceSeed {
            region_id: "cn-hangzhou".into(),
            zone_id: "cn-hangzhou-h".into(),
            instance_type: "ecs.g7.large".into(),
            vswitch_id: vswitch.to_owned(),
            security_group_ids: vec![],
            instance_id: None,
        };
        let v = crate::ecs::create_instance(state, seed).expect("create_instance");
        let s = |k: &str| v[k].as_str().expect(k).to_owned();
        (s("InstanceId"), s("NetworkInterfaceId"), s("PrivateIpAddress"))
    }
}
