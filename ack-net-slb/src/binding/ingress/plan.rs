//! The pure plan from what was observed to an [`IngressSpec`], in an order that never drops
//! traffic that is still wanted: certificates are uploaded and groups filled before the
//! listeners, rules and domain extensions that point at them are made or switched; rules
//! are created before unwanted ones go (unless the quota needs room first, which only
//! unwanted rules give); a leaving backend is set to weight 0 and drained before it is
//! removed; groups and certificates nothing points at any more go last.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::error::IngressError;
use super::observe::ObservedIngress;
use super::owner::IngressOwner;
use super::spec::{IngressSpec, ServiceRef, TlsCertificate};
use crate::binding::DrainPolicy;
use crate::{
    Backend, BackendKey, DomainExtensionId, ListenerBackend, ListenerProtocol, ListenerSpec, ListenerStatus,
    ProtocolConfig, RuleId, ServerCertificateId, VServerGroupId, MAX_RULES_PER_CALL,
};

/// The forwarding rules a layer-7 listener holds unless the quota was raised.
pub const DEFAULT_RULE_QUOTA: usize = 40;
/// The domain extensions an HTTPS listener holds unless the quota was raised.
pub const DEFAULT_EXTENSION_QUOTA: usize = 3;

/// Settings of [`plan`](super::plan).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IngressPlanOptions {
    /// Backends per Add/Remove/Set call.
    pub batch_size: usize,
    /// Forwarding rules per listener.
    pub rule_quota: usize,
    /// Domain extensions per HTTPS listener.
    pub extension_quota: usize,
    /// How leaving backends are drained.
    pub drain: DrainPolicy,
}

impl Default for IngressPlanOptions {
    fn default() -> Self {
        Self {
            batch_size: crate::DEFAULT_BATCH_SIZE,
            rule_quota: DEFAULT_RULE_QUOTA,
            extension_quota: DEFAULT_EXTENSION_QUOTA,
            drain: DrainPolicy::default(),
        }
    }
}

impl IngressPlanOptions {
    /// Sets the rule quota (as raised by a support ticket).
    pub fn with_rule_quota(mut self, n: usize) -> Self {
        self.rule_quota = n;
        self
    }

    /// Sets the domain extension quota.
    pub fn with_extension_quota(mut self, n: usize) -> Self {
        self.extension_quota = n;
        self
    }

    /// Sets the drain policy.
    pub fn with_drain(mut self, drain: DrainPolicy) -> Self {
        self.drain = drain;
        self
    }

    /// Sets the backends per call (at least 1).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }
}

/// A VServer group a step works on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum GroupTarget {
    /// One that exists.
    Existing(VServerGroupId),
    /// The one the plan creates for this service port.
    New(ServiceRef),
}

/// A server certificate a step points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum CertificateTarget {
    /// One that exists.
    Existing(ServerCertificateId),
    /// The one the plan uploads with this content hash.
    New(String),
}

/// Why backends are set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Purpose {
    /// New weights.
    Update,
    /// Weight 0 before removal.
    Drain,
}

/// One rule to create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewRule {
    /// `RuleName`.
    pub name: String,
    /// `Domain`.
    pub host: Option<String>,
    /// `Url`.
    pub url: Option<String>,
    /// The group.
    pub group: GroupTarget,
}

/// One step: one API call (a wait makes none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum IngressStep {
    /// `UploadServerCertificate` under the owner's name for its content.
    UploadCertificate {
        /// The name.
        name: String,
        /// The content hash.
        content_hash: String,
        /// The certificate and key.
        certificate: TlsCertificate,
    },
    /// `CreateVServerGroup` with the first batch of backends.
    CreateGroup {
        /// The service port.
        service: ServiceRef,
        /// The name.
        name: String,
        /// The first batch.
        backends: Vec<Backend>,
    },
    /// `AddVServerGroupBackendServers`: one batch.
    AddBackends {
        /// The group.
        group: GroupTarget,
        /// The batch.
        backends: Vec<Backend>,
    },
    /// `SetVServerGroupAttribute` with `BackendServers`: one batch.
    SetBackends {
        /// The group.
        group: VServerGroupId,
        /// The batch with the weights wanted.
        backends: Vec<Backend>,
        /// Why.
        purpose: Purpose,
    },
    /// No call: leaving backends drain.
    WaitDrain {
        /// How long.
        period: Duration,
    },
    /// `RemoveVServerGroupBackendServers`: one batch.
    RemoveBackends {
        /// The group.
        group: VServerGroupId,
        /// The batch.
        backends: Vec<Backend>,
    },
    /// `DeleteLoadBalancerListener` of the binding's listener (before one of another kind
    /// is made on its port, or when it is no longer wanted).
    DeleteListener {
        /// The port.
        port: u16,
        /// The protocol.
        protocol: ListenerProtocol,
    },
    /// `CreateLoadBalancer<P>Listener`.
    CreateListener {
        /// The port.
        port: u16,
        /// `Http` or `Https`.
        protocol: ListenerProtocol,
        /// The listener's own group (none for a redirect).
        group: Option<GroupTarget>,
        /// The HTTPS listener's certificate.
        certificate: Option<CertificateTarget>,
        /// The HTTPS port an HTTP listener redirects to.
        redirect_to: Option<u16>,
    },
    /// `SetLoadBalancer<P>ListenerAttribute`: another group or certificate.
    SetListener {
        /// The port.
        port: u16,
        /// `Http` or `Https`.
        protocol: ListenerProtocol,
        /// The listener's own group.
        group: GroupTarget,
        /// The HTTPS listener's certificate.
        certificate: Option<CertificateTarget>,
    },
    /// `StartLoadBalancerListener`.
    StartListener {
        /// The port.
        port: u16,
        /// The protocol.
        protocol: ListenerProtocol,
    },
    /// `CreateRules`: up to 10.
    CreateRules {
        /// The port.
        port: u16,
        /// The protocol.
        protocol: ListenerProtocol,
        /// The rules.
        rules: Vec<NewRule>,
    },
    /// `SetRule`: another group.
    SetRuleGroup {
        /// The rule.
        rule: RuleId,
        /// Its name.
        name: String,
        /// The group.
        group: GroupTarget,
    },
    /// `DeleteRules`: up to 10.
    DeleteRules {
        /// The rules.
        rules: Vec<RuleId>,
    },
    /// `CreateDomainExtension`.
    CreateExtension {
        /// The HTTPS port.
        port: u16,
        /// The domain.
        domain: String,
        /// Its certificate.
        certificate: CertificateTarget,
    },
    /// `SetDomainExtensionAttribute`: another certificate.
    SetExtension {
        /// The extension.
        id: DomainExtensionId,
        /// Its domain.
        domain: String,
        /// The certificate.
        certificate: CertificateTarget,
    },
    /// `DeleteDomainExtension`.
    DeleteExtension {
        /// The extension.
        id: DomainExtensionId,
        /// Its domain.
        domain: String,
    },
    /// `DeleteVServerGroup`.
    DeleteGroup {
        /// The group.
        group: VServerGroupId,
        /// Its name.
        name: String,
    },
    /// `DeleteServerCertificate`.
    DeleteCertificate {
        /// The certificate.
        id: ServerCertificateId,
        /// Its name.
        name: String,
    },
}

impl IngressStep {
    /// The API action of the step (`WaitDrain` makes none).
    pub fn action(&self) -> &'static str {
        match self {
            IngressStep::UploadCertificate { .. } => "UploadServerCertificate",
            IngressStep::CreateGroup { .. } => "CreateVServerGroup",
            IngressStep::AddBackends { .. } => "AddVServerGroupBackendServers",
            IngressStep::SetBackends { .. } => "SetVServerGroupAttribute",
            IngressStep::WaitDrain { .. } => "WaitDrain",
            IngressStep::RemoveBackends { .. } => "RemoveVServerGroupBackendServers",
            IngressStep::DeleteListener { .. } => "DeleteLoadBalancerListener",
            IngressStep::CreateListener { protocol: ListenerProtocol::Https, .. } => "CreateLoadBalancerHTTPSListener",
            IngressStep::CreateListener { .. } => "CreateLoadBalancerHTTPListener",
            IngressStep::SetListener { protocol: ListenerProtocol::Https, .. } => {
                "SetLoadBalancerHTTPSListenerAttribute"
            }
            IngressStep::SetListener { .. } => "SetLoadBalancerHTTPListenerAttribute",
            IngressStep::StartListener { .. } => "StartLoadBalancerListener",
            IngressStep::CreateRules { .. } => "CreateRules",
            IngressStep::SetRuleGroup { .. } => "SetRule",
            IngressStep::DeleteRules { .. } => "DeleteRules",
            IngressStep::CreateExtension { .. } => "CreateDomainExtension",
            IngressStep::SetExtension { .. } => "SetDomainExtensionAttribute",
            IngressStep::DeleteExtension { .. } => "DeleteDomainExtension",
            IngressStep::DeleteGroup { .. } => "DeleteVServerGroup",
            IngressStep::DeleteCertificate { .. } => "DeleteServerCertificate",
        }
    }
}

/// The ordered steps; empty when the load balancer is as the spec wants.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IngressPlan {
    /// The steps, to run in order.
    pub steps: Vec<IngressStep>,
}

impl IngressPlan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// How many API calls the plan makes (waits aside).
    pub fn calls(&self) -> usize {
        self.steps.iter().filter(|s| !matches!(s, IngressStep::WaitDrain { .. })).count()
    }
}

impl fmt::Display for GroupTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupTarget::Existing(id) => write!(f, "{id}"),
            GroupTarget::New(s) => write!(f, "(new group of {s})"),
        }
    }
}

impl fmt::Display for CertificateTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertificateTarget::Existing(id) => write!(f, "{id}"),
            CertificateTarget::New(h) => write!(f, "(new certificate {h})"),
        }
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("*")
}

impl fmt::Display for IngressStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IngressStep::UploadCertificate { name, certificate, .. } => {
                write!(f, "+ certificate {name} for {}", certificate.hosts.join(", "))
            }
            IngressStep::CreateGroup { service, backends, .. } => {
                write!(f, "+ group for {service} with {} backends", backends.len())
            }
            IngressStep::AddBackends { group, backends } => write!(f, "+ {} backends to {group}", backends.len()),
            IngressStep::SetBackends { group, backends, purpose } => {
                write!(f, "~ {} backends of {group} ({purpose:?})", backends.len())
            }
            IngressStep::WaitDrain { period } => write!(f, "  wait {period:?} for draining backends"),
            IngressStep::RemoveBackends { group, backends } => write!(f, "- {} backends from {group}", backends.len()),
            IngressStep::DeleteListener { port, protocol } => write!(f, "- listener {port}/{protocol}"),
            IngressStep::CreateListener { port, protocol, group, certificate, redirect_to } => {
                write!(f, "+ listener {port}/{protocol}")?;
                if let Some(to) = redirect_to {
                    write!(f, " redirecting to {to}")?;
                }
                if let Some(g) = group {
                    write!(f, " -> {g}")?;
                }
                if let Some(c) = certificate {
                    write!(f, " with {c}")?;
                }
                Ok(())
            }
            IngressStep::SetListener { port, protocol, group, certificate } => {
                write!(f, "~ listener {port}/{protocol} -> {group}")?;
                if let Some(c) = certificate {
                    write!(f, " with {c}")?;
                }
                Ok(())
            }
            IngressStep::StartListener { port, protocol } => write!(f, "> start listener {port}/{protocol}"),
            IngressStep::CreateRules { port, rules, .. } => {
                let list: Vec<String> =
                    rules.iter().map(|r| format!("{}{} -> {}", opt(&r.host), opt(&r.url), r.group)).collect();
                write!(f, "+ rules on {port}: {}", list.join("; "))
            }
            IngressStep::SetRuleGroup { name, group, .. } => write!(f, "~ rule {name} -> {group}"),
            IngressStep::DeleteRules { rules } => write!(f, "- {} rules", rules.len()),
            IngressStep::CreateExtension { port, domain, certificate } => {
                write!(f, "+ domain extension {domain} on {port} with {certificate}")
            }
            IngressStep::SetExtension { domain, certificate, .. } => {
                write!(f, "~ domain extension {domain} with {certificate}")
            }
            IngressStep::DeleteExtension { domain, .. } => write!(f, "- domain extension {domain}"),
            IngressStep::DeleteGroup { name, .. } => write!(f, "- group {name}"),
            IngressStep::DeleteCertificate { name, .. } => write!(f, "- certificate {name}"),
        }
    }
}

impl fmt::Display for IngressPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.steps.is_empty() {
            return writeln!(f, "(no changes)");
        }
        for s in &self.steps {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

/// The service of the group a listener uses when the spec has no default backend: an empty
/// group, so that no route's service gets the requests nothing asked for.
pub(crate) fn no_default_backend() -> ServiceRef {
    ServiceRef::new("", "(no default backend)", "")
}

/// Whether host `host` is served by a certificate for `hosts` (exactly, or by a `*.`
/// wildcard one label deep).
fn covers(hosts: &[String], host: &str) -> bool {
    hosts.iter().any(|h| {
        h.eq_ignore_ascii_case(host)
            || h.strip_prefix("*.")
                .is_some_and(|suffix| host.split_once('.').is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(suffix)))
    })
}

/// What the plan builds as it goes.
struct Builder<'a> {
    spec: &'a IngressSpec,
    observed: &'a ObservedIngress,
    options: &'a IngressPlanOptions,
    owner: &'a IngressOwner,
    steps: Vec<IngressStep>,
    groups: BTreeMap<ServiceRef, GroupTarget>,
    certificates: Vec<CertificateTarget>,
    /// A listener's switch to another group or certificate, by port: it waits until the
    /// listener's new rules exist, so that a request that leaves the default group for a
    /// rule to the same service never passes through the new default group.
    deferred: BTreeMap<u16, IngressStep>,
}

/// The plan from `observed` to `spec`. Conflicts (a route another owner's rule holds, a
/// port another listener holds) and quotas are errors, found before any step.
pub fn plan(
    spec: &IngressSpec,
    observed: &ObservedIngress,
    options: &IngressPlanOptions,
) -> Result<IngressPlan, IngressError> {
    spec.validate()?;
    let mut b = Builder {
        spec,
        observed,
        options,
        owner: &spec.owner,
        steps: Vec::new(),
        groups: BTreeMap::new(),
        certificates: Vec::new(),
        deferred: BTreeMap::new(),
    };
    let listeners = b.wanted_listeners()?;
    b.certificates_first();
    let leaving = b.groups_first();
    b.listeners(&listeners);
    for (port, protocol, serves) in &listeners {
        if *serves {
            b.rules(*port, protocol)?;
        }
        b.switch_listener(*port);
    }
    b.rules_of_unwanted_listeners(&listeners);
    b.extensions(&listeners)?;
    b.drain(leaving);
    b.removals(&listeners);
    Ok(IngressPlan { steps: b.steps })
}

impl Builder<'_> {
    /// The listeners wanted: (port, protocol, whether it serves rules), HTTPS first (an
    /// HTTP redirect needs it). A port held by a listener of someone else is a conflict.
    fn wanted_listeners(&self) -> Result<Vec<(u16, ListenerProtocol, bool)>, IngressError> {
        let mut out = Vec::new();
        if !self.spec.certificates.is_empty() {
            out.push((self.spec.https_port, ListenerProtocol::Https, true));
        }
        out.push((self.spec.http_port, ListenerProtocol::Http, !self.spec.redirect_http));
        for (port, _, _) in &out {
            if let Some(l) = self.observed.listeners.get(port) {
                if !self.owns_listener(&l.spec) {
                    return Err(IngressError::PortConflict { port: *port, protocol: l.spec.listener_protocol() });
                }
            }
        }
        Ok(out)
    }

    fn owns_listener(&self, l: &ListenerSpec) -> bool {
        l.description.as_deref() == Some(self.owner.listener_description().as_str())
    }

    fn certificates_first(&mut self) {
        for c in &self.spec.certificates {
            let hash = c.content_hash();
            let found =
                self.observed.certificates.iter().find(|o| self.owner.owned_certificate_hash(&o.name) == Some(&hash));
            let target = match found {
                Some(o) => CertificateTarget::Existing(o.id.clone()),
                None => {
                    let new = CertificateTarget::New(hash.clone());
                    if !self.certificates.contains(&new) {
                        self.steps.push(IngressStep::UploadCertificate {
                            name: self.owner.certificate_name(&hash),
                            content_hash: hash,
                            certificate: c.clone(),
                        });
                    }
                    new
                }
            };
            self.certificates.push(target);
        }
    }

    /// The services that need a group.
    fn wanted_services(&self) -> BTreeSet<ServiceRef> {
        let mut s: BTreeSet<ServiceRef> = self.spec.services().into_iter().cloned().collect();
        if self.spec.default_backend.is_none() {
            s.insert(no_default_backend());
        }
        s
    }

    /// Creates and fills groups; returns the leaving backends of existing groups.
    fn groups_first(&mut self) -> Vec<(VServerGroupId, Vec<Backend>)> {
        let batch = self.options.batch_size.max(1);
        let mut leaving = Vec::new();
        let empty = Vec::new();
        for service in self.wanted_services() {
            let key = IngressOwner::service_key(&service);
            let wanted = self.spec.backends.get(&service).unwrap_or(&empty);
            let found =
                self.observed.groups.iter().find(|g| self.owner.owned_group_key(&g.name).as_deref() == Some(&key));
            match found {
                None => {
                    let mut chunks = wanted.chunks(batch);
                    let first = chunks.next().map(<[Backend]>::to_vec).unwrap_or_default();
                    self.steps.push(IngressStep::CreateGroup {
                        service: service.clone(),
                        name: self.owner.group_name(&service),
                        backends: first,
                    });
                    for c in chunks {
                        self.steps.push(IngressStep::AddBackends {
                            group: GroupTarget::New(service.clone()),
                            backends: c.to_vec(),
                        });
                    }
                    self.groups.insert(service.clone(), GroupTarget::New(service));
                }
                Some(g) => {
                    let have: BTreeMap<BackendKey, &Backend> = g.backends.iter().map(|b| (b.key(), b)).collect();
                    let want: BTreeMap<BackendKey, &Backend> = wanted.iter().map(|b| (b.key(), b)).collect();
                    let add: Vec<Backend> = wanted.iter().filter(|b| !have.contains_key(&b.key())).cloned().collect();
                    let update: Vec<Backend> = wanted
                        .iter()
                        .filter(|b| have.get(&b.key()).is_some_and(|o| o.weight != b.weight))
                        .cloned()
                        .collect();
                    for c in add.chunks(batch) {
                        self.steps.push(IngressStep::AddBackends {
                            group: GroupTarget::Existing(g.id.clone()),
                            backends: c.to_vec(),
                        });
                    }
                    for c in update.chunks(batch) {
                        self.steps.push(IngressStep::SetBackends {
                            group: g.id.clone(),
                            backends: c.to_vec(),
                            purpose: Purpose::Update,
                        });
                    }
                    let gone: Vec<Backend> =
                        g.backends.iter().filter(|b| !want.contains_key(&b.key())).cloned().collect();
                    if !gone.is_empty() {
                        leaving.push((g.id.clone(), gone));
                    }
                    self.groups.insert(service, GroupTarget::Existing(g.id.clone()));
                }
            }
        }
        leaving
    }

    fn default_group(&self) -> GroupTarget {
        let service = self.spec.default_backend.clone().unwrap_or_else(no_default_backend);
        self.groups[&service].clone()
    }

    fn listener_spec_matches(
        &self,
        observed: &crate::Listener,
        protocol: &ListenerProtocol,
        group: &GroupTarget,
        certificate: Option<&CertificateTarget>,
        redirect_to: Option<u16>,
    ) -> (bool, bool) {
        let spec = &observed.spec;
        let acl_ok = spec.acl == self.spec.acl;
        // A redirecting listener has no group to set again: another ACL makes it again.
        let same_kind = spec.listener_protocol() == *protocol
            && match &spec.protocol {
                ProtocolConfig::Http(h) => h.forward_to_https_port == redirect_to && (acl_ok || redirect_to.is_none()),
                _ => true,
            };
        let group_ok = redirect_to.is_some()
            || matches!((&spec.backend, group), (Some(ListenerBackend::VServerGroup(o)), GroupTarget::Existing(w)) if o == w);
        let cert_ok = match (&spec.protocol, certificate) {
            (ProtocolConfig::Https(h), Some(CertificateTarget::Existing(w))) => {
                h.server_certificate_id.as_ref() == Some(w)
            }
            (ProtocolConfig::Https(_), _) => false,
            _ => true,
        };
        (same_kind, group_ok && cert_ok && acl_ok)
    }

    fn listeners(&mut self, wanted: &[(u16, ListenerProtocol, bool)]) {
        let group = self.default_group();
        for (port, protocol, _) in wanted {
            let certificate = (*protocol == ListenerProtocol::Https).then(|| self.certificates[0].clone());
            let redirect_to =
                (*protocol == ListenerProtocol::Http && self.spec.redirect_http).then_some(self.spec.https_port);
            let observed = self.observed.listeners.get(port);
            let (same_kind, same_settings) = observed.map_or((false, false), |o| {
                self.listener_spec_matches(o, protocol, &group, certificate.as_ref(), redirect_to)
            });
            match observed {
                Some(o) if same_kind => {
                    if !same_settings {
                        self.deferred.insert(
                            *port,
                            IngressStep::SetListener {
                                port: *port,
                                protocol: protocol.clone(),
                                group: group.clone(),
                                certificate: certificate.clone(),
                            },
                        );
                    }
                    if o.status != ListenerStatus::Running && o.status != ListenerStatus::Starting {
                        self.steps.push(IngressStep::StartListener { port: *port, protocol: protocol.clone() });
                    }
                }
                _ => {
                    if let Some(o) = observed {
                        self.steps
                            .push(IngressStep::DeleteListener { port: *port, protocol: o.spec.listener_protocol() });
                    }
                    self.steps.push(IngressStep::CreateListener {
                        port: *port,
                        protocol: protocol.clone(),
                        group: redirect_to.is_none().then(|| group.clone()),
                        certificate,
                        redirect_to,
                    });
                    self.steps.push(IngressStep::StartListener { port: *port, protocol: protocol.clone() });
                }
            }
        }
    }

    /// Whether the plan (re)creates the listener on `port` (its rules are then gone).
    fn recreates(&self, port: u16) -> bool {
        self.steps.iter().any(|s| matches!(s, IngressStep::CreateListener { port: p, .. } if *p == port))
    }

    fn rules(&mut self, port: u16, protocol: &ListenerProtocol) -> Result<(), IngressError> {
        let none = Vec::new();
        let observed = if self.recreates(port) { &none } else { self.observed.rules.get(&port).unwrap_or(&none) };
        let mut ours: BTreeMap<(String, String), &crate::Rule> = BTreeMap::new();
        let mut foreign: BTreeMap<(String, String), &crate::Rule> = BTreeMap::new();
        for r in observed {
            let k = (r.domain.clone().unwrap_or_default().to_ascii_lowercase(), r.url.clone().unwrap_or_default());
            if self.owner.owns_rule(&r.name) {
                ours.insert(k, r);
            } else {
                foreign.insert(k, r);
            }
        }
        let mut create = Vec::new();
        let mut switch = Vec::new();
        let mut keep = BTreeSet::new();
        let mut seen = BTreeSet::new();
        for route in self.spec.sorted_routes() {
            let k = route.matcher();
            if !seen.insert(k.clone()) {
                continue; // the same route from two Ingresses
            }
            if let Some(f) = foreign.get(&k) {
                return Err(IngressError::RouteConflict {
                    host: k.0,
                    url: k.1,
                    first: format!("rule {} ({})", f.rule_id, f.name),
                    second: route.origin.clone(),
                });
            }
            let group = self.groups[&route.service].clone();
            match ours.get(&k) {
                Some(r) => {
                    keep.insert(r.rule_id.clone());
                    let same = matches!(&group, GroupTarget::Existing(g) if r.vserver_group_id.as_ref() == Some(g));
                    if !same {
                        switch.push(IngressStep::SetRuleGroup { rule: r.rule_id.clone(), name: r.name.clone(), group });
                    }
                }
                None => create.push(NewRule {
                    name: self.owner.rule_name(&k.0, &k.1),
                    host: route.host.clone(),
                    url: route.url.clone(),
                    group,
                }),
            }
        }
        let delete: Vec<RuleId> =
            ours.values().filter(|r| !keep.contains(&r.rule_id)).map(|r| r.rule_id.clone()).collect();
        let quota = self.options.rule_quota;
        let (now, after) = (observed.len(), observed.len() + create.len() - delete.len());
        if after > quota {
            return Err(IngressError::Quota { what: "forwarding rules", port, wanted: after, quota });
        }
        let room_first = now + create.len() > quota;
        if room_first {
            self.delete_rules(&delete);
        }
        for c in create.chunks(MAX_RULES_PER_CALL) {
            self.steps.push(IngressStep::CreateRules { port, protocol: protocol.clone(), rules: c.to_vec() });
        }
        // New rules first, then rules and the listener's own group switched, then the old
        // rules removed: a request that keeps its service while it moves between a rule and
        // another (or the default group) finds its way all along.
        self.steps.extend(switch);
        self.switch_listener(port);
        if !room_first {
            self.delete_rules(&delete);
        }
        Ok(())
    }

    fn switch_listener(&mut self, port: u16) {
        if let Some(step) = self.deferred.remove(&port) {
            self.steps.push(step);
        }
    }

    fn delete_rules(&mut self, ids: &[RuleId]) {
        for c in ids.chunks(MAX_RULES_PER_CALL) {
            self.steps.push(IngressStep::DeleteRules { rules: c.to_vec() });
        }
    }

    /// The binding's rules on its listeners that no longer serve rules (an HTTP listener
    /// that now redirects keeps its rules only until it is made again).
    fn rules_of_unwanted_listeners(&mut self, wanted: &[(u16, ListenerProtocol, bool)]) {
        for (port, rules) in &self.observed.rules {
            let serves = wanted.iter().any(|(p, _, serves)| p == port && *serves);
            if serves || self.recreates(*port) {
                continue;
            }
            let ids: Vec<RuleId> =
                rules.iter().filter(|r| self.owner.owns_rule(&r.name)).map(|r| r.rule_id.clone()).collect();
            self.delete_rules(&ids);
        }
    }

    fn extensions(&mut self, wanted: &[(u16, ListenerProtocol, bool)]) -> Result<(), IngressError> {
        let Some((port, ..)) = wanted.iter().find(|(_, p, _)| *p == ListenerProtocol::Https) else {
            return Ok(()); // the listener's removal takes its extensions
        };
        let port = *port;
        let own_certs: BTreeMap<&ServerCertificateId, &str> = self
            .observed
            .certificates
            .iter()
            .filter_map(|c| Some((&c.id, self.owner.owned_certificate_hash(&c.name)?)))
            .collect();
        // Domain -> the certificate it wants: each host not served by the listener's own.
        let mut want: BTreeMap<String, CertificateTarget> = BTreeMap::new();
        let default_hosts = &self.spec.certificates[0].hosts;
        for (c, target) in self.spec.certificates.iter().zip(&self.certificates).skip(1) {
            for h in &c.hosts {
                if !covers(default_hosts, h) {
                    want.entry(h.to_ascii_lowercase()).or_insert_with(|| target.clone());
                }
            }
        }
        let recreated = self.recreates(port);
        let mut have = BTreeSet::new();
        let mut count = 0;
        for e in self.observed.extensions.iter().filter(|_| !recreated) {
            let domain = e.domain.to_ascii_lowercase();
            let Some(hash) = own_certs.get(&e.server_certificate_id) else {
                count += 1;
                if want.contains_key(&domain) {
                    return Err(IngressError::RouteConflict {
                        host: domain,
                        url: String::new(),
                        first: format!("domain extension {}", e.id),
                        second: "a TLS host".into(),
                    });
                }
                continue;
            };
            match want.get(&domain) {
                Some(target) if have.insert(domain.clone()) => {
                    count += 1;
                    let same = match target {
                        CertificateTarget::Existing(id) => *id == e.server_certificate_id,
                        CertificateTarget::New(h) => h == hash,
                    };
                    if !same {
                        self.steps.push(IngressStep::SetExtension {
                            id: e.id.clone(),
                            domain: e.domain.clone(),
                            certificate: target.clone(),
                        });
                    }
                }
                _ => self.steps.push(IngressStep::DeleteExtension { id: e.id.clone(), domain: e.domain.clone() }),
            }
        }
        let new: Vec<(&String, &CertificateTarget)> = want.iter().filter(|(d, _)| !have.contains(*d)).collect();
        if count + new.len() > self.options.extension_quota {
            return Err(IngressError::Quota {
                what: "domain extensions",
                port,
                wanted: count + new.len(),
                quota: self.options.extension_quota,
            });
        }
        // Deletions were pushed above; creations go before them.
        let first_delete = self.steps.iter().position(|s| matches!(s, IngressStep::DeleteExtension { .. }));
        let creates: Vec<IngressStep> = new
            .into_iter()
            .map(|(d, c)| IngressStep::CreateExtension { port, domain: d.clone(), certificate: c.clone() })
            .collect();
        match first_delete {
            Some(i) => {
                let tail = self.steps.split_off(i);
                self.steps.extend(creates);
                self.steps.extend(tail);
            }
            None => self.steps.extend(creates),
        }
        Ok(())
    }

    fn drain(&mut self, leaving: Vec<(VServerGroupId, Vec<Backend>)>) {
        if leaving.is_empty() {
            return;
        }
        let batch = self.options.batch_size.max(1);
        let period = self.options.drain.period;
        if !period.is_zero() {
            for (g, backends) in &leaving {
                let zero: Vec<Backend> =
                    backends.iter().filter(|b| b.weight > 0).map(|b| Backend { weight: 0, ..b.clone() }).collect();
                for c in zero.chunks(batch) {
                    self.steps.push(IngressStep::SetBackends {
                        group: g.clone(),
                        backends: c.to_vec(),
                        purpose: Purpose::Drain,
                    });
                }
            }
            self.steps.push(IngressStep::WaitDrain { period });
        }
        for (g, backends) in leaving {
            for c in backends.chunks(batch) {
                self.steps.push(IngressStep::RemoveBackends { group: g.clone(), backends: c.to_vec() });
            }
        }
    }

    /// Listeners, groups and certificates of the binding that nothing wants any more.
    fn removals(&mut self, wanted: &[(u16, ListenerProtocol, bool)]) {
        for (port, l) in &self.observed.listeners {
            if self.owns_listener(&l.spec) && !wanted.iter().any(|(p, _, _)| p == port) {
                self.steps.push(IngressStep::DeleteListener { port: *port, protocol: l.spec.listener_protocol() });
            }
        }
        let keep: BTreeSet<String> = self.wanted_services().iter().map(IngressOwner::service_key).collect();
        for g in &self.observed.groups {
            if self.owner.owned_group_key(&g.name).is_some_and(|k| !keep.contains(&k)) {
                self.steps.push(IngressStep::DeleteGroup { group: g.id.clone(), name: g.name.clone() });
            }
        }
        let used: BTreeSet<&ServerCertificateId> = self
            .certificates
            .iter()
            .filter_map(|c| match c {
                CertificateTarget::Existing(id) => Some(id),
                CertificateTarget::New(_) => None,
            })
            .collect();
        for c in &self.observed.certificates {
            if !used.contains(&c.id) {
                self.steps.push(IngressStep::DeleteCertificate { id: c.id.clone(), name: c.name.clone() });
            }
        }
    }
}

/// The plan that removes everything the binding owns on the load balancer. A listener of
/// the binding that holds rules of someone else is not deleted from under them: that is a
/// [`IngressError::ForeignRules`] before any write.
pub fn plan_delete(spec: &IngressSpec, observed: &ObservedIngress) -> Result<IngressPlan, IngressError> {
    let owner = &spec.owner;
    let mut steps = Vec::new();
    let description = owner.listener_description();
    for (port, l) in &observed.listeners {
        let ours = l.spec.description.as_deref() == Some(description.as_str());
        let foreign: Vec<String> = observed
            .rules
            .get(port)
            .into_iter()
            .flatten()
            .filter(|r| !owner.owns_rule(&r.name))
            .map(|r| format!("{} ({})", r.rule_id, r.name))
            .collect();
        if ours && !foreign.is_empty() {
            return Err(IngressError::ForeignRules { port: *port, rules: foreign });
        }
        if ours {
            steps.push(IngressStep::DeleteListener { port: *port, protocol: l.spec.listener_protocol() });
        } else if let Some(rules) = observed.rules.get(port) {
            let ids: Vec<RuleId> =
                rules.iter().filter(|r| owner.owns_rule(&r.name)).map(|r| r.rule_id.clone()).collect();
            for c in ids.chunks(MAX_RULES_PER_CALL) {
                steps.push(IngressStep::DeleteRules { rules: c.to_vec() });
            }
        }
    }
    for g in observed.groups.iter().filter(|g| owner.owned_group_key(&g.name).is_some()) {
        steps.push(IngressStep::DeleteGroup { group: g.id.clone(), name: g.name.clone() });
    }
    for c in &observed.certificates {
        steps.push(IngressStep::DeleteCertificate { id: c.id.clone(), name: c.name.clone() });
    }
    Ok(IngressPlan { steps })
}
