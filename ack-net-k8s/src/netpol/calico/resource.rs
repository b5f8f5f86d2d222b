//! Calico's `projectcalico.org/v3` NetworkPolicy, GlobalNetworkPolicy and Tier, read from YAML
//! or JSON and validated into the form the engine evaluates.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Map, Value};

use super::selector::CalicoSelector;
use crate::netpol::Error;

/// The API group and version of Calico's resources.
pub const API_VERSION: &str = "projectcalico.org/v3";

/// The tier a policy without `spec.tier` belongs to (and the tier of Kubernetes
/// NetworkPolicies).
pub const DEFAULT_TIER: &str = "default";

/// The order Calico gives the `default` tier when no Tier resource sets one.
pub const DEFAULT_TIER_ORDER: f64 = 1_000_000.0;

/// The order at which Calico evaluates Kubernetes NetworkPolicies inside the `default` tier.
pub const KUBERNETES_POLICY_ORDER: f64 = 1000.0;

/// How unknown fields are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parsing {
    /// An unknown field is an error naming it (what `calicoctl` does).
    #[default]
    Strict,
    /// Unknown fields are ignored (what the API server's non-strict decoding does).
    Lenient,
}

/// What a rule does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Allow the traffic; evaluation stops.
    Allow,
    /// Deny the traffic; evaluation stops.
    Deny,
    /// Skip the rest of this tier; evaluation goes on with the next tier's policies (or the
    /// profile, after the last tier).
    Pass,
    /// Log the packet (to the kernel log) and go on with the next rule.
    Log,
}

impl Action {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Allow" => Action::Allow,
            "Deny" => Action::Deny,
            "Pass" => Action::Pass,
            "Log" => Action::Log,
            _ => return None,
        })
    }
}

/// One validated Calico resource.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CalicoResource {
    /// A namespaced `NetworkPolicy`.
    NetworkPolicy(CalicoPolicy),
    /// A cluster-wide `GlobalNetworkPolicy`.
    GlobalNetworkPolicy(CalicoPolicy),
    /// A `Tier`: an ordered group of policies.
    Tier(CalicoTier),
}

/// A validated Calico NetworkPolicy or GlobalNetworkPolicy.
#[derive(Debug, Clone, PartialEq)]
pub struct CalicoPolicy {
    pub(crate) object: String,
    pub(crate) name: String,
    /// `None` for a GlobalNetworkPolicy.
    pub(crate) namespace: Option<String>,
    pub(crate) tier: String,
    pub(crate) order: Option<f64>,
    pub(crate) selector: CalicoSelector,
    /// GlobalNetworkPolicy only: the namespaces whose endpoints it applies to.
    pub(crate) namespace_selector: Option<CalicoSelector>,
    pub(crate) service_account_selector: Option<CalicoSelector>,
    /// `None` when the (defaulted) `types` do not contain Ingress.
    pub(crate) ingress: Option<Vec<CalicoRule>>,
    /// `None` when the (defaulted) `types` do not contain Egress.
    pub(crate) egress: Option<Vec<CalicoRule>>,
}

impl CalicoPolicy {
    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `metadata.namespace`; `None` for a GlobalNetworkPolicy.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// `spec.tier` (`default` when unset).
    pub fn tier(&self) -> &str {
        &self.tier
    }

    /// `spec.order`; `None` sorts after every ordered policy.
    pub fn order(&self) -> Option<f64> {
        self.order
    }

    /// The object as error messages and verdicts name it (`NetworkPolicy shop/deny-db`).
    pub fn object(&self) -> &str {
        &self.object
    }
}

impl CalicoPolicy {
    /// The rules for `direction`, if the policy's types include it.
    pub(crate) fn rules(&self, direction: crate::netpol::Direction) -> Option<&[CalicoRule]> {
        match direction {
            crate::netpol::Direction::Ingress => self.ingress.as_deref(),
            crate::netpol::Direction::Egress => self.egress.as_deref(),
        }
    }
}

/// A validated Calico Tier.
#[derive(Debug, Clone, PartialEq)]
pub struct CalicoTier {
    pub(crate) name: String,
    pub(crate) order: Option<f64>,
    /// `spec.defaultAction` is `Pass` (the default is `Deny`).
    pub(crate) default_pass: bool,
}

impl CalicoTier {
    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `spec.order`; `None` sorts after every ordered tier.
    pub fn order(&self) -> Option<f64> {
        self.order
    }

    /// What happens to traffic that reaches the end of the tier after some policy of the tier
    /// applied to the endpoint: [`Action::Deny`] (the default) or [`Action::Pass`].
    pub fn default_action(&self) -> Action {
        if self.default_pass {
            Action::Pass
        } else {
            Action::Deny
        }
    }
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CalicoRule {
    pub action: Action,
    pub protocol: Option<u8>,
    pub not_protocol: Option<u8>,
    pub icmp: Option<IcmpMatch>,
    pub not_icmp: Option<IcmpMatch>,
    pub ip_version: Option<u8>,
    pub source: EntityRule,
    pub destination: EntityRule,
}

/// `icmp`/`notICMP`: a type and optionally a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IcmpMatch {
    pub kind: u8,
    pub code: Option<u8>,
}

/// A rule's `source` or `destination`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct EntityRule {
    pub nets: Vec<IpNet>,
    pub not_nets: Vec<IpNet>,
    pub selector: Option<CalicoSelector>,
    pub not_selector: Option<CalicoSelector>,
    pub namespace_selector: Option<CalicoSelector>,
    pub ports: Vec<CalicoPort>,
    pub not_ports: Vec<CalicoPort>,
    /// `serviceAccounts.names` (`None`: not set).
    pub service_account_names: Option<Vec<String>>,
    /// `serviceAccounts.selector`.
    pub service_account_selector: Option<CalicoSelector>,
}

/// One `ports`/`notPorts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CalicoPort {
    /// A port or an inclusive `first:last` range.
    Range(u16, u16),
    /// A named port, resolved against the endpoint's container ports.
    Named(String),
}

/// IANA protocol numbers of the names Calico accepts.
pub(crate) mod proto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ICMPV6: u8 = 58;
    pub const SCTP: u8 = 132;
    pub const UDPLITE: u8 = 136;
}

impl CalicoResource {
    /// Reads every resource of a YAML stream (documents separated by `---`; a `List` kind's
    /// `items` count one by one), as `calicoctl apply -f` accepts it.
    ///
    /// ```
    /// use ack_net_k8s::netpol::calico::{CalicoResource, Parsing};
    ///
    /// let yaml = r#"
    /// apiVersion: projectcalico.org/v3
    /// kind: NetworkPolicy
    /// metadata: {name: db-from-web, namespace: shop}
    /// spec:
    ///   order: 100
    ///   selector: app == 'db'
    ///   ingress:
    ///   - action: Allow
    ///     protocol: TCP
    ///     source: {selector: app == 'web'}
    ///     destination: {ports: [5432]}
    ///   - action: Deny
    /// "#;
    /// let resources = CalicoResource::from_yaml(yaml, Parsing::Strict).unwrap();
    /// assert_eq!(resources.len(), 1);
    ///
    /// let err = CalicoResource::from_yaml(&yaml.replace("order:", "ordr:"), Parsing::Strict).unwrap_err();
    /// assert!(err.to_string().contains("spec.ordr"), "{err}");
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::CalicoDocument`] for YAML that does not parse or a document without a known
    /// `kind`; the errors of [`from_value`](Self::from_value) for invalid resources.
    pub fn from_yaml(text: &str, parsing: Parsing) -> Result<Vec<CalicoResource>, Error> {
        use serde::Deserialize;
        let mut out = Vec::new();
        for (i, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
            let value =
                Value::deserialize(doc).map_err(|e| Error::CalicoDocument { document: i, reason: e.to_string() })?;
            if value.is_null() {
                continue;
            }
            read_document(value, i, parsing, &mut out)?;
        }
        Ok(out)
    }

    /// Reads one JSON document (a resource, or a `List` of them).
    ///
    /// # Errors
    ///
    /// As [`from_yaml`](Self::from_yaml).
    pub fn from_json(text: &str, parsing: Parsing) -> Result<Vec<CalicoResource>, Error> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::CalicoDocument { document: 0, reason: e.to_string() })?;
        let mut out = Vec::new();
        read_document(value, 0, parsing, &mut out)?;
        Ok(out)
    }

    /// Validates one resource given as a JSON value (e.g. a kube-rs `DynamicObject`'s data).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCalico`] naming the object and field for a missing, unknown (with
    /// [`Parsing::Strict`]) or invalid field; [`Error::InvalidCalicoSelector`] for a selector
    /// that does not parse; [`Error::UnsupportedCalico`] for a field whose meaning the engine
    /// cannot enforce exactly (it is refused, never approximated).
    pub fn from_value(value: Value, parsing: Parsing) -> Result<CalicoResource, Error> {
        let mut top = Obj::new(value, String::from("<document>"), String::new(), parsing)?;
        let kind = top.req_str("kind")?;
        let api_version = top.req_str("apiVersion")?;
        let mut meta = top.req_obj("metadata")?;
        let name = meta.req_str("name")?;
        let namespace = meta.opt_str("namespace")?;
        meta.ignore_rest();
        let object = match &namespace {
            Some(ns) if kind == "NetworkPolicy" => format!("{kind} {ns}/{name}"),
            _ => format!("{kind} {name}"),
        };
        top.object = object.clone();
        if api_version != API_VERSION {
            return Err(top.invalid("apiVersion", format!("{api_version:?} is not {API_VERSION:?}")));
        }
        let spec = top.opt_obj("spec")?;
        top.ignore_known(&["status"]);
        top.finish()?;
        let spec = spec.unwrap_or_else(|| Obj::empty(object.clone(), "spec".into(), parsing));
        match kind.as_str() {
            "NetworkPolicy" => {
                let namespace = namespace.ok_or_else(|| Error::InvalidCalico {
                    object: object.clone(),
                    field: "metadata.namespace".into(),
                    reason: "a NetworkPolicy is namespaced".into(),
                })?;
                Ok(CalicoResource::NetworkPolicy(parse_policy(spec, name, Some(namespace))?))
            }
            "GlobalNetworkPolicy" => Ok(CalicoResource::GlobalNetworkPolicy(parse_policy(spec, name, None)?)),
            "Tier" => Ok(CalicoResource::Tier(parse_tier(spec, name)?)),
            other => Err(Error::InvalidCalico {
                object,
                field: "kind".into(),
                reason: format!("{other:?} is not NetworkPolicy, GlobalNetworkPolicy or Tier"),
            }),
        }
    }
}

fn read_document(value: Value, document: usize, parsing: Parsing, out: &mut Vec<CalicoResource>) -> Result<(), Error> {
    let is_list = value.get("kind").and_then(Value::as_str).is_some_and(|k| k == "List" || k.ends_with("List"));
    if is_list {
        let items = value
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| Error::CalicoDocument { document, reason: "a List needs `items`".into() })?;
        for item in items {
            out.push(CalicoResource::from_value(item, parsing)?);
        }
    } else if value.get("kind").is_none() {
        return Err(Error::CalicoDocument { document, reason: "missing `kind`".into() });
    } else {
        out.push(CalicoResource::from_value(value, parsing)?);
    }
    Ok(())
}

fn parse_tier(mut spec: Obj, name: String) -> Result<CalicoTier, Error> {
    let order = spec.opt_f64("order")?;
    let default_pass = match spec.opt_str("defaultAction")?.as_deref() {
        None | Some("Deny") => false,
        Some("Pass") => true,
        Some(other) => return Err(spec.invalid("defaultAction", format!("{other:?} is not Deny or Pass"))),
    };
    spec.finish()?;
    Ok(CalicoTier { name, order, default_pass })
}

fn parse_policy(mut spec: Obj, name: String, namespace: Option<String>) -> Result<CalicoPolicy, Error> {
    let global = namespace.is_none();
    let tier = spec.opt_str("tier")?.unwrap_or_else(|| DEFAULT_TIER.to_owned());
    if tier != DEFAULT_TIER && !name.starts_with(&format!("{tier}.")) {
        return Err(spec.invalid("tier", format!("a policy in tier {tier:?} must be named \"{tier}.<name>\"")));
    }
    let order = spec.opt_f64("order")?;
    let selector = spec.opt_selector("selector")?.unwrap_or_else(CalicoSelector::all);
    let namespace_selector = if global { spec.opt_selector("namespaceSelector")? } else { None };
    let service_account_selector = spec.opt_selector("serviceAccountSelector")?;
    for flag in ["doNotTrack", "preDNAT", "applyOnForward"] {
        if spec.opt_bool(flag)? == Some(true) {
            return Err(spec.unsupported(flag, "host-endpoint policies are not enforced on pod interfaces"));
        }
    }
    spec.ignore_known(&["performanceHints"]);
    let types = spec.opt_list("types")?;
    let ingress = spec.opt_list("ingress")?;
    let egress = spec.opt_list("egress")?;
    let object = spec.object.clone();
    let parse_rules = |list: Option<Vec<Obj>>| -> Result<Vec<CalicoRule>, Error> {
        list.into_iter().flatten().map(parse_rule).collect()
    };
    let ingress = parse_rules(ingress)?;
    let egress = parse_rules(egress)?;
    // Defaults as Calico documents them: Ingress unless there are only egress rules.
    let (has_ingress, has_egress) = match types {
        None => (!ingress.is_empty() || egress.is_empty(), !egress.is_empty()),
        Some(list) if list.is_empty() => (!ingress.is_empty() || egress.is_empty(), !egress.is_empty()),
        Some(list) => {
            let (mut i, mut e) = (false, false);
            for t in list {
                match t.as_str()?.as_str() {
                    "Ingress" => i = true,
                    "Egress" => e = true,
                    other => return Err(t.invalid_here(format!("{other:?} is not Ingress or Egress"))),
                }
            }
            (i, e)
        }
    };
    for (present, rules, kind) in [(has_ingress, &ingress, "ingress"), (has_egress, &egress, "egress")] {
        if !present && !rules.is_empty() {
            return Err(Error::InvalidCalico {
                object: object.clone(),
                field: format!("spec.{kind}"),
                reason: format!(
                    "{kind} rules need {:?} in spec.types",
                    if kind == "ingress" { "Ingress" } else { "Egress" }
                ),
            });
        }
    }
    spec.finish()?;
    Ok(CalicoPolicy {
        object,
        name,
        namespace,
        tier,
        order,
        selector,
        namespace_selector,
        service_account_selector,
        ingress: has_ingress.then_some(ingress),
        egress: has_egress.then_some(egress),
    })
}

fn parse_rule(mut rule: Obj) -> Result<CalicoRule, Error> {
    let action_text = rule.req_str("action")?;
    let action = Action::parse(&action_text)
        .ok_or_else(|| rule.invalid("action", format!("{action_text:?} is not Allow, Deny, Pass or Log")))?;
    let protocol = rule.opt_protocol("protocol")?;
    let not_protocol = rule.opt_protocol("notProtocol")?;
    let icmp = rule.opt_icmp("icmp")?;
    let not_icmp = rule.opt_icmp("notICMP")?;
    let ip_version = match rule.opt_u64("ipVersion")? {
        None => None,
        Some(v @ (4 | 6)) => Some(v as u8),
        Some(v) => return Err(rule.invalid("ipVersion", format!("{v} is not 4 or 6"))),
    };
    if rule.has("http") {
        return Err(rule.unsupported("http", "HTTP match criteria need an application-layer proxy"));
    }
    rule.ignore_known(&["metadata"]);
    let source = rule.opt_obj("source")?.map(parse_entity).transpose()?.unwrap_or_default();
    let destination = rule.opt_obj("destination")?.map(parse_entity).transpose()?.unwrap_or_default();
    let field = |name: &str| format!("{}.{name}", rule.path);
    let invalid = |field: String, reason: &str| Error::InvalidCalico {
        object: rule.object.clone(),
        field,
        reason: reason.to_owned(),
    };
    let has_ports = |e: &EntityRule| !e.ports.is_empty() || !e.not_ports.is_empty();
    let ported = matches!(protocol, Some(proto::TCP | proto::UDP | proto::SCTP | proto::UDPLITE));
    if (has_ports(&source) || has_ports(&destination)) && !ported {
        return Err(invalid(field("protocol"), "ports need protocol TCP, UDP, SCTP or UDPLite"));
    }
    if (icmp.is_some() || not_icmp.is_some()) && !matches!(protocol, Some(proto::ICMP | proto::ICMPV6)) {
        return Err(invalid(field("protocol"), "icmp and notICMP need protocol ICMP or ICMPv6"));
    }
    if let Some(v) = ip_version {
        for (side, e) in [("source", &source), ("destination", &destination)] {
            let version_of = |n: &IpNet| if n.addr().is_ipv4() { 4 } else { 6 };
            if e.nets.iter().chain(&e.not_nets).any(|n| version_of(n) != v) {
                return Err(invalid(field(side), "nets must have the rule's ipVersion"));
            }
        }
    }
    rule.finish()?;
    Ok(CalicoRule { action, protocol, not_protocol, icmp, not_icmp, ip_version, source, destination })
}

fn parse_entity(mut e: Obj) -> Result<EntityRule, Error> {
    if e.has("services") {
        return Err(e.unsupported("services", "service match criteria are not enforced"));
    }
    let nets = e.opt_nets("nets")?;
    let not_nets = e.opt_nets("notNets")?;
    let selector = e.opt_selector("selector")?;
    let not_selector = e.opt_selector("notSelector")?;
    let namespace_selector = e.opt_selector("namespaceSelector")?;
    let ports = e.opt_ports("ports")?;
    let not_ports = e.opt_ports("notPorts")?;
    let (mut service_account_names, mut service_account_selector) = (None, None);
    if let Some(mut sa) = e.opt_obj("serviceAccounts")? {
        service_account_names = sa.opt_list("names")?.map(|l| l.iter().map(Obj::as_str).collect()).transpose()?;
        service_account_selector = sa.opt_selector("selector")?;
        sa.finish()?;
    }
    e.finish()?;
    Ok(EntityRule {
        nets,
        not_nets,
        selector,
        not_selector,
        namespace_selector,
        ports,
        not_ports,
        service_account_names,
        service_account_selector,
    })
}

/// A JSON value being read: its object and path for error messages, and (for a map) the keys
/// not read yet, so that [`finish`](Obj::finish) can refuse unknown fields.
struct Obj {
    value: Value,
    object: String,
    path: String,
    parsing: Parsing,
}

impl Obj {
    fn new(value: Value, object: String, path: String, parsing: Parsing) -> Result<Self, Error> {
        let this = Obj { value, object, path, parsing };
        if !this.value.is_object() {
            return Err(this.invalid_here("must be an object"));
        }
        Ok(this)
    }

    fn empty(object: String, path: String, parsing: Parsing) -> Self {
        Obj { value: Value::Object(Map::new()), object, path, parsing }
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn invalid(&self, key: &str, reason: impl Into<String>) -> Error {
        Error::InvalidCalico { object: self.object.clone(), field: self.child_path(key), reason: reason.into() }
    }

    fn invalid_here(&self, reason: impl Into<String>) -> Error {
        Error::InvalidCalico { object: self.object.clone(), field: self.path.clone(), reason: reason.into() }
    }

    fn unsupported(&self, key: &str, reason: &str) -> Error {
        Error::UnsupportedCalico { object: self.object.clone(), field: self.child_path(key), reason: reason.to_owned() }
    }

    fn map(&mut self) -> &mut Map<String, Value> {
        match &mut self.value {
            Value::Object(m) => m,
            _ => unreachable!("Obj::new only wraps objects"),
        }
    }

    fn has(&self, key: &str) -> bool {
        self.value.get(key).is_some_and(|v| !v.is_null())
    }

    /// Removes and returns a present, non-null field.
    fn take(&mut self, key: &str) -> Option<Value> {
        self.map().remove(key).filter(|v| !v.is_null())
    }

    fn child(&self, key: &str, value: Value) -> Obj {
        Obj { value, object: self.object.clone(), path: self.child_path(key), parsing: self.parsing }
    }

    fn as_str(&self) -> Result<String, Error> {
        self.value.as_str().map(str::to_owned).ok_or_else(|| self.invalid_here("must be a string"))
    }

    fn opt_str(&mut self, key: &str) -> Result<Option<String>, Error> {
        self.take(key).map(|v| self.child(key, v).as_str()).transpose()
    }

    fn req_str(&mut self, key: &str) -> Result<String, Error> {
        self.opt_str(key)?.ok_or_else(|| self.invalid(key, "is required"))
    }

    fn opt_bool(&mut self, key: &str) -> Result<Option<bool>, Error> {
        self.take(key).map(|v| v.as_bool().ok_or_else(|| self.invalid(key, "must be true or false"))).transpose()
    }

    fn opt_f64(&mut self, key: &str) -> Result<Option<f64>, Error> {
        self.take(key)
            .map(|v| v.as_f64().filter(|f| f.is_finite()).ok_or_else(|| self.invalid(key, "must be a number")))
            .transpose()
    }

    fn opt_u64(&mut self, key: &str) -> Result<Option<u64>, Error> {
        self.take(key).map(|v| v.as_u64().ok_or_else(|| self.invalid(key, "must be a whole number"))).transpose()
    }

    fn opt_obj(&mut self, key: &str) -> Result<Option<Obj>, Error> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => {
                let parsing = self.parsing;
                Obj::new(v, self.object.clone(), self.child_path(key), parsing).map(Some)
            }
        }
    }

    fn req_obj(&mut self, key: &str) -> Result<Obj, Error> {
        self.opt_obj(key)?.ok_or_else(|| self.invalid(key, "is required"))
    }

    fn opt_list(&mut self, key: &str) -> Result<Option<Vec<Obj>>, Error> {
        let Some(v) = self.take(key) else { return Ok(None) };
        let Value::Array(items) = v else { return Err(self.invalid(key, "must be a list")) };
        let base = self.child_path(key);
        Ok(Some(
            items
                .into_iter()
                .enumerate()
                .map(|(i, value)| Obj {
                    value,
                    object: self.object.clone(),
                    path: format!("{base}[{i}]"),
                    parsing: self.parsing,
                })
                .collect(),
        ))
    }

    fn opt_selector(&mut self, key: &str) -> Result<Option<CalicoSelector>, Error> {
        let Some(text) = self.opt_str(key)? else { return Ok(None) };
        // Calico treats an empty selector as one that is not set.
        if text.trim().is_empty() {
            return Ok(None);
        }
        CalicoSelector::parse(&text).map(Some).map_err(|e| Error::InvalidCalicoSelector {
            object: self.object.clone(),
            field: self.child_path(key),
            selector: text,
            offset: e.offset,
            reason: e.reason,
        })
    }

    fn opt_protocol(&mut self, key: &str) -> Result<Option<u8>, Error> {
        let Some(v) = self.take(key) else { return Ok(None) };
        let number = match &v {
            Value::String(s) => match s.as_str() {
                "TCP" => Some(proto::TCP),
                "UDP" => Some(proto::UDP),
                "ICMP" => Some(proto::ICMP),
                "ICMPv6" => Some(proto::ICMPV6),
                "SCTP" => Some(proto::SCTP),
                "UDPLite" => Some(proto::UDPLITE),
                other => other.parse::<u8>().ok().filter(|&n| n > 0),
            },
            Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()).filter(|&n| n > 0),
            _ => None,
        };
        number
            .map(Some)
            .ok_or_else(|| self.invalid(key, format!("{v} is not TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255")))
    }

    fn opt_icmp(&mut self, key: &str) -> Result<Option<IcmpMatch>, Error> {
        let Some(mut o) = self.opt_obj(key)? else { return Ok(None) };
        let kind = o.opt_u64("type")?;
        let code = o.opt_u64("code")?;
        o.finish()?;
        let kind = match kind {
            Some(k) if k <= 254 => k as u8,
            Some(k) => return Err(o.invalid("type", format!("{k} is not 0-254"))),
            None if code.is_some() => return Err(o.invalid("code", "needs a type")),
            None => return Err(o.invalid("type", "is required")),
        };
        let code = match code {
            Some(c) => Some(u8::try_from(c).map_err(|_| o.invalid("code", format!("{c} is not 0-255")))?),
            None => None,
        };
        Ok(Some(IcmpMatch { kind, code }))
    }

    fn opt_nets(&mut self, key: &str) -> Result<Vec<IpNet>, Error> {
        let Some(list) = self.opt_list(key)? else { return Ok(Vec::new()) };
        list.iter()
            .map(|o| {
                let text = o.as_str()?;
                // Calico accepts a bare address as a /32 or /128.
                text.parse::<IpNet>()
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map(|n| n.trunc())
                    .map_err(|_| o.invalid_here(format!("{text:?} is not a CIDR")))
            })
            .collect()
    }

    fn opt_ports(&mut self, key: &str) -> Result<Vec<CalicoPort>, Error> {
        let Some(list) = self.opt_list(key)? else { return Ok(Vec::new()) };
        list.iter().map(Obj::port).collect()
    }

    fn port(&self) -> Result<CalicoPort, Error> {
        let number = |n: u64| u16::try_from(n).ok().filter(|&p| p != 0);
        let bad = |what: &str| self.invalid_here(format!("{what} is not a port (1-65535), a range or a port name"));
        match &self.value {
            Value::Number(n) => {
                n.as_u64().and_then(number).map(|p| CalicoPort::Range(p, p)).ok_or_else(|| bad(&n.to_string()))
            }
            Value::String(s) => {
                if let Some((a, b)) = s.split_once(':') {
                    let (a, b) = (a.parse().ok().and_then(number), b.parse().ok().and_then(number));
                    match (a, b) {
                        (Some(a), Some(b)) if a <= b => Ok(CalicoPort::Range(a, b)),
                        _ => Err(bad(s)),
                    }
                } else if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
                    s.parse().ok().and_then(number).map(|p| CalicoPort::Range(p, p)).ok_or_else(|| bad(s))
                } else if !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    Ok(CalicoPort::Named(s.clone()))
                } else {
                    Err(bad(s))
                }
            }
            other => Err(bad(&other.to_string())),
        }
    }

    /// Marks fields as read whose content the engine does not need.
    fn ignore_known(&mut self, keys: &[&str]) {
        for key in keys {
            self.map().remove(*key);
        }
    }

    /// Marks every remaining field as read (metadata: labels, annotations, ...).
    fn ignore_rest(&mut self) {
        self.map().clear();
    }

    /// Fails on the first field not read, with [`Parsing::Strict`].
    fn finish(&mut self) -> Result<(), Error> {
        let parsing = self.parsing;
        if let Some(key) = self.map().keys().next().cloned() {
            if parsing == Parsing::Strict {
                return Err(self.invalid(&key, "unknown field"));
            }
        }
        Ok(())
    }
}
