//! Carries an [`IngressPlan`] out, step by step in its order, and counts the calls.

use std::collections::BTreeMap;

use super::error::IngressError;
use super::plan::{CertificateTarget, GroupTarget, IngressPlan, IngressStep};
use super::spec::{IngressSpec, ServiceRef};
use crate::{
    ListenerBackend, ListenerProtocol, ListenerSpec, RuleSpec, ServerCertificateId, SlbClient, VServerGroupId,
};

/// What applying a plan did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngressReport {
    /// Calls made, by action (a batched backend step may make more than one).
    pub calls: BTreeMap<&'static str, u64>,
    /// How many steps ran to completion.
    pub steps_done: usize,
}

impl IngressReport {
    /// Every call made (all are writes).
    pub fn writes(&self) -> u64 {
        self.calls.values().sum()
    }
}

/// Why applying stopped: the step that failed and what it was, with what was done before.
#[derive(Debug, thiserror::Error)]
#[error("step {step} ({action}) failed: {source}")]
pub struct IngressApplyError {
    /// The index of the step.
    pub step: usize,
    /// Its action.
    pub action: &'static str,
    /// What the steps before it did.
    pub report: IngressReport,
    /// What failed.
    #[source]
    pub source: IngressError,
}

/// The ids the plan's new groups and certificates got.
#[derive(Default)]
struct Made {
    groups: BTreeMap<ServiceRef, VServerGroupId>,
    certificates: BTreeMap<String, ServerCertificateId>,
}

impl Made {
    fn group(&self, t: &GroupTarget) -> Result<VServerGroupId, IngressError> {
        match t {
            GroupTarget::Existing(id) => Ok(id.clone()),
            GroupTarget::New(s) => self.groups.get(s).cloned().ok_or_else(|| IngressError::InvalidSpec {
                what: "plan".into(),
                reason: format!("the group of {s} is used before the step that creates it"),
            }),
        }
    }

    fn certificate(&self, t: &CertificateTarget) -> Result<ServerCertificateId, IngressError> {
        match t {
            CertificateTarget::Existing(id) => Ok(id.clone()),
            CertificateTarget::New(h) => self.certificates.get(h).cloned().ok_or_else(|| IngressError::InvalidSpec {
                what: "plan".into(),
                reason: format!("certificate {h} is used before the step that uploads it"),
            }),
        }
    }
}

/// The listener the binding wants on `port`.
fn listener_spec(
    spec: &IngressSpec,
    port: u16,
    protocol: &ListenerProtocol,
    group: Option<VServerGroupId>,
    certificate: Option<ServerCertificateId>,
    redirect_to: Option<u16>,
) -> Result<ListenerSpec, IngressError> {
    let missing = |what: &str| IngressError::InvalidSpec {
        what: "plan".into(),
        reason: format!("the listener on {port} has no {what}"),
    };
    let l = match (protocol, redirect_to) {
        (ListenerProtocol::Http, Some(to)) => ListenerSpec::http_redirect(port, to),
        (ListenerProtocol::Http, None) => {
            ListenerSpec::http(port, ListenerBackend::VServerGroup(group.ok_or_else(|| missing("group"))?))
        }
        _ => ListenerSpec::https(
            port,
            ListenerBackend::VServerGroup(group.ok_or_else(|| missing("group"))?),
            certificate.ok_or_else(|| missing("certificate"))?,
        ),
    };
    let l = l.with_description(spec.owner.listener_description());
    Ok(match &spec.acl {
        Some(acl) => l.with_acl(acl.acl_id.clone(), acl.kind.clone()),
        None => l,
    })
}

/// Runs the steps of `plan` in order. A failure stops it; observing and planning again
/// continues from there (every prefix of a plan leaves the load balancer serving).
pub async fn apply(
    client: &SlbClient,
    spec: &IngressSpec,
    plan: &IngressPlan,
) -> Result<IngressReport, IngressApplyError> {
    apply_with(client, spec, plan, &mut |_, _| {}).await
}

/// [`apply`], calling `on_step` with each step's index after it is done (to watch the
/// load balancer between steps).
pub async fn apply_with(
    client: &SlbClient,
    spec: &IngressSpec,
    plan: &IngressPlan,
    on_step: &mut (dyn FnMut(usize, &IngressStep) + Send),
) -> Result<IngressReport, IngressApplyError> {
    let mut report = IngressReport::default();
    let mut made = Made::default();
    for (i, step) in plan.steps.iter().enumerate() {
        let action = step.action();
        match run(client, spec, step, &mut made).await {
            Ok(calls) => {
                if calls > 0 {
                    *report.calls.entry(action).or_default() += calls;
                }
                report.steps_done += 1;
                on_step(i, step);
            }
            Err(source) => return Err(IngressApplyError { step: i, action, report, source }),
        }
    }
    Ok(report)
}

/// Runs one step; returns how many calls it made.
async fn run(client: &SlbClient, spec: &IngressSpec, step: &IngressStep, made: &mut Made) -> Result<u64, IngressError> {
    let lb = &spec.load_balancer_id;
    match step {
        IngressStep::UploadCertificate { name, content_hash, certificate } => {
            let c = client
                .certificates()
                .upload(name.clone(), certificate.certificate_pem.clone(), certificate.private_key.clone())
                .send()
                .await?;
            made.certificates.insert(content_hash.clone(), c.id);
        }
        IngressStep::CreateGroup { service, name, backends } => {
            let g = client.vserver_groups().create(lb, name.clone()).backends(backends.clone()).send().await?;
            made.groups.insert(service.clone(), g.vserver_group_id);
        }
        IngressStep::AddBackends { group, backends } => {
            client.vserver_groups().add_backends(&made.group(group)?, backends.clone()).send().await?;
        }
        IngressStep::SetBackends { group, backends, .. } => {
            client.vserver_groups().set_backends(group, backends.clone()).send().await?;
        }
        IngressStep::WaitDrain { period } => {
            tokio::time::sleep(*period).await;
            return Ok(0);
        }
        IngressStep::RemoveBackends { group, backends } => {
            client.vserver_groups().remove_backends(group, backends.clone()).send().await?;
        }
        IngressStep::DeleteListener { port, protocol } => {
            client.listeners().delete(lb, *port, protocol.clone()).send().await?;
        }
        IngressStep::CreateListener { port, protocol, group, certificate, redirect_to } => {
            let group = group.as_ref().map(|g| made.group(g)).transpose()?;
            let certificate = certificate.as_ref().map(|c| made.certificate(c)).transpose()?;
            let l = listener_spec(spec, *port, protocol, group, certificate, *redirect_to)?;
            client.listeners().create(lb, l).send().await?;
        }
        IngressStep::SetListener { port, protocol, group, certificate } => {
            let certificate = certificate.as_ref().map(|c| made.certificate(c)).transpose()?;
            let l = listener_spec(spec, *port, protocol, Some(made.group(group)?), certificate, None)?;
            client.listeners().set(lb, l).send().await?;
        }
        IngressStep::StartListener { port, protocol } => {
            client.listeners().start(lb, *port, protocol.clone()).send().await?;
        }
        IngressStep::CreateRules { port, protocol, rules } => {
            let mut specs = Vec::with_capacity(rules.len());
            for r in rules {
                specs.push(RuleSpec::new(r.name.clone(), r.host.as_deref(), r.url.as_deref(), made.group(&r.group)?));
            }
            client.rules().create(lb, *port, protocol.clone()).rules(specs).send().await?;
        }
        IngressStep::SetRuleGroup { rule, group, .. } => {
            client.rules().set(rule).vserver_group_id(made.group(group)?).send().await?;
        }
        IngressStep::DeleteRules { rules } => {
            client.rules().delete(rules).await?;
        }
        IngressStep::CreateExtension { port, domain, certificate } => {
            let c = made.certificate(certificate)?;
            client.domain_extensions().create(lb, *port, domain.clone(), &c).send().await?;
        }
        IngressStep::SetExtension { id, certificate, .. } => {
            let c = made.certificate(certificate)?;
            client.domain_extensions().set_certificate(id, &c).send().await?;
        }
        IngressStep::DeleteExtension { id, .. } => {
            client.domain_extensions().delete(id).send().await?;
        }
        IngressStep::DeleteGroup { group, .. } => {
            client.vserver_groups().delete(group).await?;
        }
        IngressStep::DeleteCertificate { id, .. } => {
            client.certificates().delete(id).send().await?;
        }
    }
    Ok(calls_of(client, step))
}

/// The calls a step makes: one, or one per batch for backend steps larger than the
/// client's batch size.
fn calls_of(client: &SlbClient, step: &IngressStep) -> u64 {
    let batches = |n: usize| n.div_ceil(client.batch_size().max(1)).max(1) as u64;
    match step {
        IngressStep::WaitDrain { .. } => 0,
        IngressStep::CreateGroup { backends, .. } => batches(backends.len()),
        IngressStep::AddBackends { backends, .. }
        | IngressStep::SetBackends { backends, .. }
        | IngressStep::RemoveBackends { backends, .. } => batches(backends.len()),
        _ => 1,
    }
}
