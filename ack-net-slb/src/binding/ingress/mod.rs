//! # IngressBinding: a load balancer's layer 7 as desired state
//!
//! What an ingress controller does on a CLB, as a library primitive with the decision kept
//! apart from the doing, like [`ServiceBinding`](super::ServiceBinding):
//!
//! 1. [`IngressSpec`]: routes `{host, url} -> service port`, the backends of each service
//!    port, the default backend, TLS certificates (the first is the HTTPS listener's; the
//!    other hosts get domain extensions), an optional HTTP-to-HTTPS redirect. Checked first:
//!    hosts and paths CLB cannot take, two Ingresses claiming one host and path.
//! 2. [`observe`]: the listeners on the spec's ports, their rules, the groups, the
//!    certificates, the domain extensions.
//! 3. [`plan`]: a pure function of the two, printable, empty when converged. Conflicts with
//!    what the binding does not own and quotas are errors before any write.
//! 4. [`apply`]: runs the steps in order and counts the calls.
//!
//! ## Ownership
//! Everything the binding makes carries its [`IngressOwner`]'s id: rule names, group names,
//! listener descriptions, certificate names (which also carry a hash of the certificate's
//! content, so a rotated Secret is a new upload and an unchanged one is found again). A
//! domain extension is the binding's when its certificate is. Nothing else is touched.
//!
//! ## No dropped traffic
//! New certificates are uploaded and new groups filled before anything points at them;
//! listeners switch group or certificate in place; rules are created before unwanted ones
//! go; a rotated certificate is uploaded, switched to, then the old one deleted; leaving
//! backends are drained ([`DrainPolicy`](super::DrainPolicy)) before removal; groups and
//! certificates go once nothing uses them. Only a change of an HTTP listener between
//! serving and redirecting (the API cannot change that in place), or of a redirecting one's
//! ACL (the binding sets a listener in place only with its group), makes it again.
//!
//! ```no_run
//! use ack_net_slb::binding::ingress::{IngressBinding, IngressOwner, IngressSpec, Route, ServiceRef};
//! use ack_net_slb::{Backend, SlbClient};
//!
//! # async fn demo(slb: SlbClient, lb: ack_net_slb::LoadBalancerId) -> Result<(), Box<dyn std::error::Error>> {
//! let web = ServiceRef::new("shop", "web", "80");
//! let spec = IngressSpec::new(IngressOwner::new("c-1", "ack-net"), lb)
//!     .service(web.clone(), vec![Backend::ecs(&"i-bp1node1".parse().unwrap(), 30080)])
//!     .route(Route::new(Some("www.example.com"), Some("/"), web, "shop/web"));
//! let binding = IngressBinding::new(slb, spec)?;
//! let observed = binding.observe().await?;
//! let plan = binding.plan(&observed)?;
//! print!("{plan}");
//! binding.apply(&plan).await?;
//! assert!(binding.plan(&binding.observe().await?)?.is_empty());
//! # Ok(()) }
//! ```

mod apply;
mod error;
mod observe;
mod owner;
mod plan;
mod spec;
#[cfg(test)]
mod tests;

pub use apply::{apply, apply_with, IngressApplyError, IngressReport};
pub use error::IngressError;
pub use observe::{observe, ObservedIngress, ObservedIngressGroup};
pub use owner::{IngressOwner, INGRESS_MARKER};
pub use plan::{
    plan, plan_delete, CertificateTarget, GroupTarget, IngressPlan, IngressPlanOptions, IngressStep, NewRule, Purpose,
    DEFAULT_EXTENSION_QUOTA, DEFAULT_RULE_QUOTA,
};
pub use spec::{IngressSpec, Route, ServiceRef, TlsCertificate};

use crate::SlbClient;

/// A client, a spec and the plan options. Cheap to clone.
#[derive(Clone, Debug)]
pub struct IngressBinding {
    client: SlbClient,
    spec: IngressSpec,
    options: IngressPlanOptions,
}

/// What [`IngressBinding::reconcile`] did.
#[derive(Clone, Debug)]
pub struct IngressReconciled {
    /// Reads made while observing.
    pub observe_reads: u64,
    /// The plan carried out.
    pub plan: IngressPlan,
    /// What applying it did.
    pub report: IngressReport,
}

impl IngressBinding {
    /// A binding of `spec` (checked now), with the default plan options and the client's
    /// batch size.
    pub fn new(client: SlbClient, spec: IngressSpec) -> Result<Self, IngressError> {
        spec.validate()?;
        let options = IngressPlanOptions::default().with_batch_size(client.batch_size());
        Ok(Self { client, spec, options })
    }

    /// Sets the plan options (quotas raised, drain policy).
    pub fn with_options(mut self, options: IngressPlanOptions) -> Self {
        self.options = options;
        self
    }

    /// The spec.
    pub fn spec(&self) -> &IngressSpec {
        &self.spec
    }

    /// Reads what the plan needs.
    pub async fn observe(&self) -> Result<ObservedIngress, IngressError> {
        observe(&self.client, &self.spec).await
    }

    /// The plan from `observed` to the spec.
    pub fn plan(&self, observed: &ObservedIngress) -> Result<IngressPlan, IngressError> {
        plan(&self.spec, observed, &self.options)
    }

    /// The plan that removes everything the binding owns (see [`plan_delete`]).
    pub fn plan_delete(&self, observed: &ObservedIngress) -> Result<IngressPlan, IngressError> {
        plan_delete(&self.spec, observed)
    }

    /// Carries out a plan.
    pub async fn apply(&self, plan: &IngressPlan) -> Result<IngressReport, IngressApplyError> {
        apply(&self.client, &self.spec, plan).await
    }

    /// Observes, plans and applies.
    pub async fn reconcile(&self) -> Result<IngressReconciled, IngressError> {
        let observed = self.observe().await?;
        let plan = self.plan(&observed)?;
        let report = self.apply(&plan).await.map_err(|e| e.source)?;
        Ok(IngressReconciled { observe_reads: observed.reads, plan, report })
    }

    /// Observes and removes everything the binding owns.
    pub async fn delete(&self) -> Result<IngressReconciled, IngressError> {
        let observed = self.observe().await?;
        let plan = self.plan_delete(&observed)?;
        let report = self.apply(&plan).await.map_err(|e| e.source)?;
        Ok(IngressReconciled { observe_reads: observed.reads, plan, report })
    }
}
