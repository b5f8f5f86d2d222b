//! # ServiceBinding: a service's load balancer as desired state
//!
//! What a cloud controller manager does for a `type: LoadBalancer` Service, as a library
//! primitive, with the decision kept apart from the doing:
//!
//! 1. [`LoadBalancerSpec`]: who owns the binding, the load balancer (created with these
//!    attributes, or an existing one reused), one listener per port, each with the
//!    backends of its VServer group: ECS instances or ENI addresses (pods), with weights.
//! 2. [`observe`]: reads what the plan needs: the load balancer by the id the caller
//!    remembers, else by the binding's ownership tags; its listeners; the binding's groups.
//!    [`ObserveMode::Fast`] reads `1 + ports` times for a converged binding.
//! 3. [`plan`]: a pure function of the two: ordered [`Step`]s with their dependencies, which
//!    print as a readable diff. A converged binding plans nothing.
//! 4. [`apply`]: carries the plan out, independent steps at once, and reports every call.
//!
//! ## Ownership
//! A load balancer the binding creates carries the tags [`CLUSTER_TAG`] and [`SERVICE_TAG`];
//! its listeners a [`ListenerMarker`] in their description; its groups a name made by
//! [`OwnerId::group_name`]; its backends a marker in their description. The binding never
//! changes or deletes anything without its marker: a wanted port held by another listener
//! is [`BindingError::PortConflict`] before any write, and on a reused load balancer
//! everything else stays. A load balancer to reuse that another cluster or service
//! created or claims is [`BindingError::OwnedElsewhere`]. With [`Naming::Ccm`] the
//! binding uses the names and tags of ACK's cloud controller manager instead, and adopts
//! what it made in place.
//!
//! ## No dropped traffic
//! New backends are added before leaving ones are removed while the group has room; when
//! it is full, leaving backends are swapped for new ones a batch at a time in one atomic
//! call each (unhealthy ones first). A leaving backend is set to weight 0 and removed after
//! the [`DrainPolicy`] period (or once health checks show it out). A listener setting the
//! API can change is set in place; one it cannot (the protocol, an HTTP redirect) is
//! deleted and created again, which the plan shows as `recreate`.
//!
//! ## Crashes
//! Every step is one call and every prefix of a plan is a valid plan: after a crash, a new
//! [`ObserveMode::Full`] observation and plan pick up where the last run stopped (the load
//! balancer is created with a `ClientToken` derived from the owner, so a lost answer does
//! not make a second one; groups left without a listener are found by name and reused).
//!
//! ```no_run
//! use ack_net_core::{Credentials, RpcClient};
//! use ack_net_slb::binding::{LoadBalancerAttributes, LoadBalancerSpec, ObserveOptions, Owner, PortSpec, ServiceBinding};
//! use ack_net_slb::{Backend, InstanceSpec, SlbClient};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let rpc = RpcClient::builder()
//!     .region("cn-hangzhou")
//!     .credentials(Credentials::new("testid", "testsecret"))
//!     .endpoint("http://127.0.0.1:18080")
//!     .build()?;
//! let pods: Vec<Backend> = (1..=3u8)
//!     .map(|i| Backend::eni(&"eni-bp1abc".parse().unwrap(), format!("10.0.1.{i}").parse().unwrap(), 8080))
//!     .collect();
//! let spec = LoadBalancerSpec::create(Owner::new("c-1", "default/web"), LoadBalancerAttributes::internet(InstanceSpec::S1Small))
//!     .port(PortSpec::tcp(80, pods));
//! let binding = ServiceBinding::builder(spec).slb(SlbClient::new(rpc)).build()?;
//!
//! let observed = binding.observe().await?;
//! let plan = binding.plan(&observed)?;
//! println!("{plan}");
//! let report = binding.apply(&plan).await?;
//! let lb = report.load_balancer_id.clone();
//!
//! // Later: a cheap check that nothing changed (1 + ports reads, no write).
//! let observed = binding.observe_with(lb.as_ref(), &ObserveOptions::fast()).await?;
//! assert!(binding.plan(&observed)?.is_empty());
//! # Ok(()) }
//! ```

mod apply;
mod backends;
mod ccm;
mod diff;
mod display;
mod error;
mod hashing;
pub mod ingress;
mod observe;
mod ownership;
mod plan;
mod spec;
#[cfg(test)]
mod tests;

pub use apply::{apply, ApplyError, ApplyOptions, ApplyReport, StepHook, StepReport};
pub use ccm::{ccm_load_balancer_name, CCM_CLUSTER_TAG, CCM_REUSE_TAG, CCM_SERVICE_TAG};
pub use diff::{plan, plan_delete, plan_with};
pub use error::{BindingError, PortHolder};
pub use observe::{
    observe, FoundBy, ObserveMode, ObserveOptions, Observed, ObservedGroup, ObservedListener, ObservedLoadBalancer,
};
pub use ownership::{fingerprint, ListenerMarker, Naming, Owner, OwnerId, CLUSTER_TAG, MARKER_PREFIX, SERVICE_TAG};
pub use plan::{
    Action, DrainPolicy, GroupRef, LoadBalancerRef, Plan, PlanOptions, SetPurpose, Step, DEFAULT_GROUP_QUOTA,
};
pub use spec::{
    Billing, InstanceSpec, LoadBalancerAttributes, LoadBalancerSource, LoadBalancerSpec, PortSpec,
    MAX_BACKEND_DESCRIPTION,
};

use crate::{LoadBalancerId, SlbClient};

/// A binding: a client, a spec and the options of each phase. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ServiceBinding {
    client: SlbClient,
    spec: LoadBalancerSpec,
    plan_options: PlanOptions,
    observe_options: ObserveOptions,
    apply_options: ApplyOptions,
}

/// Builds a [`ServiceBinding`]: from [`ServiceBinding::builder`].
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct ServiceBindingBuilder {
    spec: LoadBalancerSpec,
    client: Option<SlbClient>,
    plan_options: Option<PlanOptions>,
    observe_options: Option<ObserveOptions>,
    apply_options: Option<ApplyOptions>,
}

impl ServiceBindingBuilder {
    /// The SLB client the binding calls through (required).
    pub fn slb(mut self, client: SlbClient) -> Self {
        self.client = Some(client);
        self
    }

    /// The planning options (batch size, group quota, drain policy); by default, batches of
    /// the client's batch size.
    pub fn plan_options(mut self, options: PlanOptions) -> Self {
        self.plan_options = Some(options);
        self
    }

    /// The default observation options.
    pub fn observe_options(mut self, options: ObserveOptions) -> Self {
        self.observe_options = Some(options);
        self
    }

    /// The apply options.
    pub fn apply_options(mut self, options: ApplyOptions) -> Self {
        self.apply_options = Some(options);
        self
    }

    /// Checks the spec (the group quota is checked when planning, with the plan options'
    /// quota) and builds the binding.
    pub fn build(self) -> Result<ServiceBinding, BindingError> {
        let client = self.client.ok_or_else(|| BindingError::InvalidSpec {
            what: "SLB client".into(),
            reason: "the binding has none: call .slb(client)".into(),
        })?;
        self.spec.validate_with_quota(usize::MAX)?;
        Ok(ServiceBinding {
            plan_options: self
                .plan_options
                .unwrap_or_else(|| PlanOptions::default().with_batch_size(client.batch_size())),
            observe_options: self.observe_options.unwrap_or_default(),
            apply_options: self.apply_options.unwrap_or_default(),
            client,
            spec: self.spec,
        })
    }
}

/// What [`ServiceBinding::reconcile`] and [`ServiceBinding::delete`] did.
#[derive(Clone, Debug)]
pub struct Reconciled {
    /// Reads made while observing.
    pub observe_reads: u64,
    /// The plan carried out.
    pub plan: Plan,
    /// What applying it did.
    pub report: ApplyReport,
}

impl Reconciled {
    /// The load balancer to remember for the next observation.
    pub fn load_balancer_id(&self) -> Option<&LoadBalancerId> {
        self.report.load_balancer_id.as_ref()
    }
}

impl ServiceBinding {
    /// A binding of `spec`: name its parts ([`ServiceBindingBuilder::slb`], the options of each
    /// phase), then [`ServiceBindingBuilder::build`].
    pub fn builder(spec: LoadBalancerSpec) -> ServiceBindingBuilder {
        ServiceBindingBuilder { spec, client: None, plan_options: None, observe_options: None, apply_options: None }
    }

    /// The spec.
    pub fn spec(&self) -> &LoadBalancerSpec {
        &self.spec
    }

    /// The client.
    pub fn client(&self) -> &SlbClient {
        &self.client
    }

    /// The planning options.
    pub fn plan_options(&self) -> &PlanOptions {
        &self.plan_options
    }

    /// Observes with the binding's default options, finding the load balancer by the spec
    /// (the one it reuses, or the one tagged for its owner).
    pub async fn observe(&self) -> Result<Observed, BindingError> {
        self.observe_with(None, &self.observe_options).await
    }

    /// Observes with the binding's default options, looking first at `load_balancer`, the one
    /// a previous apply made (remembered in the Service's status, say).
    pub async fn observe_remembered(&self, load_balancer: &LoadBalancerId) -> Result<Observed, BindingError> {
        self.observe_with(Some(load_balancer), &self.observe_options).await
    }

    /// Observes with these options.
    pub async fn observe_with(
        &self,
        remembered: Option<&LoadBalancerId>,
        options: &ObserveOptions,
    ) -> Result<Observed, BindingError> {
        observe(&self.client, &self.spec, remembered, options).await
    }

    /// The plan from `observed` to the spec.
    pub fn plan(&self, observed: &Observed) -> Result<Plan, BindingError> {
        plan_with(&self.spec, observed, &self.plan_options)
    }

    /// The plan that removes the binding.
    pub fn plan_delete(&self, observed: &Observed) -> Result<Plan, BindingError> {
        plan_delete(&self.spec, observed)
    }

    /// Carries out a plan.
    pub async fn apply(&self, plan: &Plan) -> Result<ApplyReport, ApplyError> {
        self.apply_with(plan, &self.apply_options).await
    }

    /// Carries out a plan with these options.
    pub async fn apply_with(&self, plan: &Plan, options: &ApplyOptions) -> Result<ApplyReport, ApplyError> {
        apply(&self.client, plan, options).await
    }

    /// Observes, plans and applies.
    pub async fn reconcile(&self, remembered: Option<&LoadBalancerId>) -> Result<Reconciled, BindingError> {
        let observed = self.observe_with(remembered, &self.observe_options).await?;
        let plan = self.plan(&observed)?;
        let report = self.apply(&plan).await.map_err(|e| e.source)?;
        Ok(Reconciled { observe_reads: observed.reads, plan, report })
    }

    /// Observes fully and removes the binding (see [`plan_delete`]).
    pub async fn delete(&self, remembered: Option<&LoadBalancerId>) -> Result<Reconciled, BindingError> {
        let observed = self.observe_with(remembered, &ObserveOptions::full()).await?;
        let plan = self.plan_delete(&observed)?;
        let report = self.apply(&plan).await.map_err(|e| e.source)?;
        Ok(Reconciled { observe_reads: observed.reads, plan, report })
    }
}
