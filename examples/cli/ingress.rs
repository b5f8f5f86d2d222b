//! `plan`, `apply` and `delete` of Ingress manifests: the Ingresses of ack-net's IngressClass
//! (with their Services, EndpointSlices, Nodes and TLS Secrets from the same files) become
//! the layer 7 of one load balancer, as the ingress controller makes it. The load balancer
//! comes from the Ingresses' annotations (`ack_net_k8s::ingress::ingress_load_balancer`):
//! reused by its `id`, else found by its ownership tags, else created. An Ingress with an
//! error is left out and named; the others still plan.
//!
//! The files are the whole class: an Ingress of the class that they do not hold is, to the
//! plan, gone (its rules are removed), as a Service's ports are to the Service's plan.

use std::collections::{BTreeMap, BTreeSet};

use ack_net_eni::EcsClient;
use ack_net_examples::BoxError;
use ack_net_k8s::ingress::{
    ingress_enis, ingress_load_balancer, is_ours, key_of, translate, Cluster, Problem, INGRESS_CONTROLLER,
};
use ack_net_k8s::service::{BackendMode, NodeFilter, ServiceConfig};
use ack_net_mock::MockCloud;
use ack_net_slb::binding::ingress::{
    IngressBinding, IngressError, IngressOwner, IngressPlan, IngressPlanOptions, IngressReport, ObservedIngress,
};
use ack_net_slb::binding::{
    ApplyReport, BindingError, DrainPolicy, ObserveOptions, Observed, Plan, PlanOptions, ServiceBinding,
};
use ack_net_slb::{LoadBalancerId, SlbClient, VSwitchId};
use ack_net_vpc::RegionId;
use serde_json::{json, Value};

use super::manifest::Manifest;
use super::output::{Progress, Shown};
use super::plan::{found_by, seed_unless_given, Goal, PlanArgs};

/// The IngressClass name in the owner of what the plan writes: the controller's
/// (`ingress_controller` serves every class of ack-net's controller as `ack-net`).
pub const OWNER_CLASS: &str = "ack-net";

/// The id the plan shows for a load balancer it has yet to create.
const TO_CREATE: &str = "lb-tobecreated";

/// Why Ingresses could not be planned (a single Ingress's errors are not: it is left out).
#[derive(Debug, thiserror::Error)]
pub enum IngressPlanError {
    /// No Ingress of the files is of an IngressClass of ack-net's controller.
    #[error(
        "no Ingress of the manifest ({found}) is of an IngressClass whose controller is {INGRESS_CONTROLLER} \
         (the files must hold the class)"
    )]
    NoIngressOfClass {
        /// The Ingresses the files hold.
        found: String,
    },
    /// The Ingresses' load balancer annotations, each valid, do not fit together.
    #[error("the Ingresses' load balancer annotations do not fit together")]
    Settings(#[source] Box<ack_net_k8s::service::Error>),
    /// Finding the pods' ENIs for an ENI-mode Service failed.
    #[error("looking up the ENIs of the ENI-mode Services' pods failed")]
    Enis(#[source] Box<ack_net_k8s::service::Error>),
    /// Observing, planning or applying the load balancer itself failed.
    #[error("{doing} the Ingresses' load balancer failed")]
    LoadBalancer {
        /// What was being done.
        doing: &'static str,
        /// Why.
        #[source]
        source: Box<BindingError>,
    },
    /// Observing, planning or applying the layer 7 (listeners, rules, groups,
    /// certificates) failed.
    #[error("{doing} the Ingresses' listeners, rules and certificates failed")]
    Layer7 {
        /// What was being done.
        doing: &'static str,
        /// Why.
        #[source]
        source: Box<IngressError>,
    },
}

fn lb_error(doing: &'static str) -> impl FnOnce(BindingError) -> IngressPlanError {
    move |e| IngressPlanError::LoadBalancer { doing, source: Box::new(e) }
}

fn layer7_error(doing: &'static str) -> impl FnOnce(IngressError) -> IngressPlanError {
    move |e| IngressPlanError::Layer7 { doing, source: Box::new(e) }
}

/// The two plans of the Ingresses, with what led to them.
#[derive(Debug)]
pub struct PlannedIngress {
    /// What the plans are for.
    pub goal: Goal,
    /// The cluster id of the ownership tags.
    pub cluster_id: String,
    /// The VSwitch of an intranet load balancer (`--vswitch`, or the one seeded).
    pub vswitch: Option<VSwitchId>,
    /// The Ingresses of the class, by `namespace/name`.
    pub ingresses: Vec<String>,
    /// Those routed.
    pub served: BTreeSet<String>,
    /// What each Ingress asks that is not done.
    pub problems: BTreeMap<String, Vec<Problem>>,
    /// Ingresses of the files that are not of ack-net's class.
    pub other_class: Vec<String>,
    /// The load balancer: its binding (no ports), what the cloud holds, its plan.
    pub lb_binding: ServiceBinding,
    /// What was observed of the load balancer.
    pub lb_observed: Observed,
    /// The plan of the load balancer itself (created, or deleted, or nothing).
    pub lb_plan: Plan,
    /// The layer 7's binding (on [`TO_CREATE`] while the load balancer is to be created).
    pub binding: IngressBinding,
    /// What was observed of the layer 7.
    pub observed: ObservedIngress,
    /// The layer 7's plan.
    pub plan: IngressPlan,
    slb: SlbClient,
    options: IngressPlanOptions,
}

/// Both plans carried out.
#[derive(Debug)]
pub struct AppliedIngress {
    /// The plans and what led to them.
    pub planned: PlannedIngress,
    /// The load balancer after it.
    pub load_balancer_id: Option<LoadBalancerId>,
    /// What applying the load balancer's plan did.
    pub lb_report: ApplyReport,
    /// What applying the layer 7's plan did.
    pub report: IngressReport,
}

/// Whether the manifest is planned as Ingresses: it holds some, and `--service` does not
/// pick a Service.
pub fn wanted(manifest: &Manifest, args: &PlanArgs) -> bool {
    !manifest.ingresses.is_empty() && args.service.is_none()
}

/// Plans the manifest's Ingresses for `goal`. On the embedded `mock` without `--vswitch`, it
/// first seeds the network, the Nodes' instances and (for ENI-mode Services) the pods' ENIs.
pub async fn plan(
    goal: Goal,
    args: &PlanArgs,
    manifest: &Manifest,
    rpc: &ack_net_core::RpcClient,
    mock: Option<&MockCloud>,
    region: &RegionId,
    progress: &Progress,
) -> Result<PlannedIngress, BoxError> {
    let (ours, others): (Vec<_>, Vec<_>) =
        manifest.ingresses.iter().cloned().partition(|i| is_ours(i, &manifest.classes));
    let other_class: Vec<String> = others.iter().map(|i| key_of(&i.metadata)).collect();
    for o in &other_class {
        progress.say(format_args!("  skipping Ingress {o}: not of an IngressClass of {INGRESS_CONTROLLER}"));
    }
    if ours.is_empty() {
        return Err(IngressPlanError::NoIngressOfClass { found: other_class.join(", ") }.into());
    }
    let eni_mode = manifest.services.iter().any(|s| {
        ack_net_k8s::service::annotations::ServiceAnnotations::from_service(s)
            .and_then(|a| BackendMode::of(s, &a))
            .is_ok_and(|m| m == BackendMode::Eni)
    });
    let seeded = seed_unless_given(args, mock, rpc, region, manifest, eni_mode, progress).await?;
    let mut cfg = ServiceConfig::new(&args.cluster_id);
    let vswitch = args.vswitch.clone().or(seeded);
    if let Some(v) = vswitch.clone() {
        cfg = cfg.with_vswitch(v);
    }
    let owner = IngressOwner::new(&args.cluster_id, OWNER_CLASS);
    let lb = ingress_load_balancer(&owner, &ours, &cfg).map_err(|e| IngressPlanError::Settings(Box::new(e)))?;
    let live: Vec<_> = ours.iter().filter(|i| !lb.rejected.contains(&key_of(&i.metadata))).cloned().collect();

    let slb = SlbClient::new(rpc.clone());
    // The plan shows what the controller would do; its drain wait is no part of a preview.
    let lb_options = PlanOptions { drain: DrainPolicy::none(), ..PlanOptions::default() };
    let lb_binding = ServiceBinding::builder(lb.spec.clone())
        .slb(slb.clone())
        .plan_options(lb_options)
        .build()
        .map_err(lb_error("planning"))?;
    progress.say(format_args!("observing the Ingresses' load balancer"));
    let lb_observed = match goal {
        Goal::Delete => lb_binding.observe_with(args.load_balancer.as_ref(), &ObserveOptions::full()).await,
        Goal::Converge => match &args.load_balancer {
            Some(id) => lb_binding.observe_remembered(id).await,
            None => lb_binding.observe().await,
        },
    }
    .map_err(lb_error("observing"))?;
    let lb_plan = match goal {
        Goal::Converge => lb_binding.plan(&lb_observed),
        Goal::Delete => {
            // The layer 7's listeners are deleted first: the load balancer's plan runs without them.
            let mut without = lb_observed.clone();
            let marker = owner.listener_description();
            for o in without.load_balancer.iter_mut() {
                o.listeners.retain(|l| l.description.as_deref() != Some(marker.as_str()));
            }
            lb_binding.plan_delete(&without)
        }
    }
    .map_err(lb_error("planning"))?;
    let existing = lb_observed.load_balancer.as_ref().map(|o| o.attributes.load_balancer_id.clone());
    match (&lb_observed.load_balancer, goal) {
        (Some(o), _) => progress.say(format_args!(
            "  found {} ({})",
            o.attributes.load_balancer_id,
            found_by(&o.found_by).replace("Service", "Ingress")
        )),
        (None, Goal::Converge) => progress.say("  none yet: it is created"),
        (None, Goal::Delete) => progress.say("  none"),
    }

    if eni_mode {
        progress.say("looking up the ENIs of the ENI-mode Services' pods");
    }
    let enis = ingress_enis(&EcsClient::new(rpc.clone()), &live, &manifest.services, &manifest.slices)
        .await
        .map_err(|e| IngressPlanError::Enis(Box::new(e)))?;
    let filter = NodeFilter::default();
    let cluster = Cluster {
        services: &manifest.services,
        slices: &manifest.slices,
        nodes: &manifest.nodes,
        secrets: &manifest.secrets,
        enis: &enis,
        filter: &filter,
    };
    let id = existing.clone().map_or_else(|| TO_CREATE.parse(), Ok)?;
    let mut translated = translate(owner, id, &live, cluster);
    translated.spec.acl = lb.acl;
    let mut problems = lb.problems;
    for (k, ps) in translated.problems {
        problems.entry(k).or_default().extend(ps);
    }
    let options = IngressPlanOptions::default().with_batch_size(slb.batch_size()).with_drain(DrainPolicy::none());
    let binding = IngressBinding::new(slb.clone(), translated.spec)
        .map_err(layer7_error("planning"))?
        .with_options(options.clone());
    progress.say("planning");
    let observed = match existing {
        Some(_) => binding.observe().await.map_err(layer7_error("observing"))?,
        None => ObservedIngress::default(),
    };
    let plan = match goal {
        Goal::Converge => binding.plan(&observed),
        Goal::Delete => binding.plan_delete(&observed),
    }
    .map_err(layer7_error("planning"))?;
    Ok(PlannedIngress {
        goal,
        cluster_id: args.cluster_id.clone(),
        vswitch,
        ingresses: ours.iter().map(|i| key_of(&i.metadata)).collect(),
        served: translated.served,
        problems,
        other_class,
        lb_binding,
        lb_observed,
        lb_plan,
        binding,
        observed,
        plan,
        slb,
        options,
    })
}

impl PlannedIngress {
    /// Carries both plans out: for `apply` the load balancer first (a new one gets the layer
    /// 7 planned again on its id, against nothing, as the plan showed), for `delete` the
    /// layer 7 first (its certificates are the region's and outlive the load balancer).
    pub async fn apply(self, progress: &Progress) -> Result<AppliedIngress, BoxError> {
        let existing = self.lb_observed.load_balancer.as_ref().map(|o| o.attributes.load_balancer_id.clone());
        let layer7 = |binding: &IngressBinding, plan: &IngressPlan| {
            let (binding, plan) = (binding.clone(), plan.clone());
            async move { binding.apply(&plan).await.map_err(|e| layer7_error("applying")(e.source)) }
        };
        progress.say(format_args!("applying {} + {} step(s)", self.lb_plan.steps.len(), self.plan.steps.len()));
        let (lb_report, report, load_balancer_id) = match self.goal {
            Goal::Converge => {
                let lb_report =
                    self.lb_binding.apply(&self.lb_plan).await.map_err(|e| lb_error("applying")(e.source))?;
                let id = lb_report.load_balancer_id.clone().or(existing.clone()).ok_or("no load balancer was made")?;
                let report = if existing.is_some() {
                    layer7(&self.binding, &self.plan).await?
                } else {
                    let mut spec = self.binding.spec().clone();
                    spec.load_balancer_id = id.clone();
                    let binding = IngressBinding::new(self.slb.clone(), spec)
                        .map_err(layer7_error("planning"))?
                        .with_options(self.options.clone());
                    let plan = binding.plan(&binding.observe().await.map_err(layer7_error("observing"))?)?;
                    layer7(&binding, &plan).await?
                };
                (lb_report, report, Some(id))
            }
            Goal::Delete => {
                let report = layer7(&self.binding, &self.plan).await?;
                let lb_report =
                    self.lb_binding.apply(&self.lb_plan).await.map_err(|e| lb_error("applying")(e.source))?;
                let deleted = lb_report.calls.contains_key("DeleteLoadBalancer");
                (lb_report, report, existing.filter(|_| !deleted))
            }
        };
        progress.say(format_args!("  {} write(s)", lb_report.writes() + report.writes()));
        Ok(AppliedIngress { planned: self, load_balancer_id, lb_report, report })
    }

    /// The load balancer's id, or what the plan does about it.
    fn load_balancer(&self) -> String {
        match &self.lb_observed.load_balancer {
            Some(o) => {
                format!("{} ({})", o.attributes.load_balancer_id, found_by(&o.found_by).replace("Service", "Ingress"))
            }
            None if self.goal == Goal::Converge => "none yet: created by the plan".to_owned(),
            None => "none".to_owned(),
        }
    }

    /// Whether nothing is to be done.
    pub fn is_empty(&self) -> bool {
        self.lb_plan.is_empty() && self.plan.is_empty()
    }
}

impl Shown for PlannedIngress {
    /// The load balancer's plan, the layer 7's, then each Ingress's state and problems.
    fn render(&self) -> String {
        let mut out = format!("Ingresses of {} on load balancer {}\n", self.cluster_id, self.load_balancer());
        if self.is_empty() {
            out.push_str("up to date\n");
        } else {
            if !self.lb_plan.is_empty() {
                out.push_str(&format!("\nload balancer:\n{}\n", self.lb_plan));
            }
            out.push_str(&format!("\nlisteners, rules, groups and certificates:\n{}", self.plan));
        }
        out.push_str("\nIngresses:\n");
        for key in &self.ingresses {
            let state = match (self.goal, self.served.contains(key)) {
                (Goal::Delete, _) => "removed",
                (Goal::Converge, true) => "served",
                (Goal::Converge, false) => "NOT served",
            };
            out.push_str(&format!("  {key}: {state}\n"));
            for p in self.problems.get(key).into_iter().flatten() {
                out.push_str(&format!("    {}: {}\n", kind(p), p.message()));
            }
        }
        for key in &self.other_class {
            out.push_str(&format!("  {key}: not of ack-net's IngressClass, skipped\n"));
        }
        out
    }

    /// The plans and what led to them, as JSON.
    fn to_json(&self) -> Value {
        let ingresses: Vec<Value> = self
            .ingresses
            .iter()
            .map(|k| {
                let problems: Vec<Value> = self
                    .problems
                    .get(k)
                    .into_iter()
                    .flatten()
                    .map(|p| json!({"kind": kind(p), "message": p.message()}))
                    .collect();
                json!({"ingress": k, "served": self.served.contains(k), "problems": problems})
            })
            .collect();
        let steps: Vec<String> = self.plan.steps.iter().map(ToString::to_string).collect();
        let mut calls: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &self.plan.steps {
            *calls.entry(s.action()).or_default() += 1;
        }
        json!({
            "cluster_id": self.cluster_id,
            "vswitch": self.vswitch.as_ref().map(ToString::to_string),
            "load_balancer": self.lb_observed.load_balancer.as_ref().map(|o| json!({
                "id": o.attributes.load_balancer_id.to_string(),
                "address": o.attributes.address.to_string(),
                "found_by": found_by(&o.found_by).replace("Service", "Ingress"),
            })),
            "up_to_date": self.is_empty(),
            "reads": self.lb_observed.reads + self.observed.reads,
            "load_balancer_plan": serde_json::to_value(&self.lb_plan).unwrap_or(Value::Null),
            "writes": self.lb_plan.writes() + self.plan.calls(),
            "steps": steps,
            "calls_by_action": calls,
            "ingresses": ingresses,
            "other_class": self.other_class,
        })
    }
}

impl Shown for AppliedIngress {
    /// The plans as `plan` prints them, then what was done.
    fn render(&self) -> String {
        let mut out = self.planned.render();
        let lb = self.load_balancer_id.as_ref().map_or_else(|| "no load balancer".to_owned(), ToString::to_string);
        let calls: Vec<String> =
            self.lb_report.calls.iter().chain(&self.report.calls).map(|(a, n)| format!("{a} x{n}")).collect();
        out.push_str(&format!(
            "\napplied, now on {lb}: {} write(s) ({})\n",
            self.lb_report.writes() + self.report.writes(),
            calls.join(", ")
        ));
        out
    }

    /// [`PlannedIngress::to_json`] with what was done under `applied`.
    fn to_json(&self) -> Value {
        let mut v = self.planned.to_json();
        let mut calls = self.lb_report.calls.clone();
        for (a, n) in &self.report.calls {
            *calls.entry(a).or_default() += n;
        }
        v["applied"] = json!({
            "load_balancer_id": self.load_balancer_id.as_ref().map(ToString::to_string),
            "writes": self.lb_report.writes() + self.report.writes(),
            "calls_by_action": calls,
        });
        v
    }
}

/// How a problem is printed.
fn kind(p: &Problem) -> &'static str {
    match p {
        Problem::Invalid(_) => "error",
        Problem::Conflict(_) => "conflict",
        Problem::Unsupported(_) => "not routed",
        Problem::Narrowed(_) => "narrowed",
        Problem::Ignored(_) => "ignored",
        Problem::Annotation(_) => "annotation",
        _ => "note",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ack_net_core::ErrorInfo;
    use std::path::{Path, PathBuf};

    fn sample(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests").join(name)
    }

    fn args(files: Vec<PathBuf>) -> PlanArgs {
        PlanArgs {
            files,
            service: None,
            cluster_id: super::super::plan::DEFAULT_CLUSTER_ID.to_owned(),
            vswitch: None,
            load_balancer: None,
            from_scratch: false,
            ccm_naming: false,
        }
    }

    /// Plans `args`' files for `goal` on `cloud`.
    async fn plan_on(cloud: &ack_net_examples::Cloud, goal: Goal, args: &PlanArgs) -> Result<PlannedIngress, BoxError> {
        let progress = Progress::new(true);
        let manifest = Manifest::read(&args.files)?;
        assert!(wanted(&manifest, args));
        let region = RegionId::new("cn-hangzhou")?;
        plan(goal, args, &manifest, &cloud.rpc, cloud.mock.as_ref(), &region, &progress).await
    }

    /// The service a request for `host` and `path` on `port` reaches (by its group's name).
    async fn reaches(
        cloud: &ack_net_examples::Cloud,
        lb: &LoadBalancerId,
        port: u16,
        host: &str,
        path: &str,
    ) -> String {
        let mock = cloud.mock.as_ref().unwrap();
        let routed = mock.with_state(|s| s.slb.route(lb.as_str(), port, host, path)).expect("a layer-7 listener");
        let group = routed.vserver_group_id().unwrap_or_default().to_owned();
        let groups = SlbClient::new(cloud.rpc.clone()).vserver_groups().describe(lb).send().await.unwrap();
        let name = groups.into_iter().find(|g| g.vserver_group_id.as_str() == group).map(|g| g.name);
        name.and_then(|n| n.split(' ').nth(1).map(str::to_owned)).unwrap_or_default()
    }

    #[tokio::test]
    async fn the_sample_is_created_converges_routes_and_is_deleted_with_its_certificate() {
        let region = RegionId::new("cn-hangzhou").unwrap();
        let cloud = ack_net_examples::Cloud::connect_with(None, region.as_str(), None).await.unwrap();
        let progress = Progress::new(true);
        let files = vec![sample("ingress.yaml"), sample("nodes.yaml")];
        let planned = plan_on(&cloud, Goal::Converge, &args(files.clone())).await.unwrap();
        assert!(planned.lb_observed.load_balancer.is_none());
        assert_eq!(planned.lb_plan.calls_by_action()[0], ("CreateLoadBalancer", 1));
        assert_eq!(planned.served.len(), 2, "{:?}", planned.problems);
        let actions: BTreeSet<&str> = planned.plan.steps.iter().map(|s| s.action()).collect();
        for a in ["UploadServerCertificate", "CreateVServerGroup", "CreateRules"] {
            assert!(actions.contains(a), "{a} in {actions:?}");
        }
        let text = planned.render();
        assert!(text.contains("none yet: created by the plan"), "{text}");
        assert!(text.contains("shop/shop: served") && text.contains("shop/static: served"), "{text}");
        // `Prefix /api` is routed as `/api/`, and says so.
        assert!(text.contains("narrowed: Prefix /api"), "{text}");
        let layer7_writes = planned.plan.calls();

        let applied = planned.apply(&progress).await.unwrap();
        let lb = applied.load_balancer_id.clone().expect("created");
        assert_eq!(applied.report.writes(), layer7_writes as u64, "the layer 7 was made as planned");
        assert_eq!(applied.to_json()["applied"]["load_balancer_id"].as_str(), Some(lb.as_str()));
        assert_eq!(reaches(&cloud, &lb, 80, "www.example.com", "/api/v1").await, "shop/api:http");
        assert_eq!(reaches(&cloud, &lb, 443, "www.example.com", "/cart").await, "shop/web:80");
        assert_eq!(reaches(&cloud, &lb, 80, "static.example.com", "/assets/a.css").await, "shop/web:80");

        // Planned again (on the seeded VSwitch, so nothing is seeded again): up to date, found by its tags.
        let vswitch = applied.planned.vswitch.clone();
        let again = PlanArgs { vswitch: vswitch.clone(), ..args(files.clone()) };
        let planned = plan_on(&cloud, Goal::Converge, &again).await.unwrap();
        assert!(planned.is_empty(), "{}", planned.render());
        assert!(planned.render().contains("up to date"));
        assert!(planned.render().contains("by its ownership tags"), "{}", planned.render());

        // Delete: the rules, groups, listeners and the certificate (the region's), then the
        // load balancer made for them.
        let planned = plan_on(&cloud, Goal::Delete, &again).await.unwrap();
        assert!(planned.lb_plan.notes.is_empty(), "its listeners go first: {:?}", planned.lb_plan.notes);
        assert!(planned.render().contains("shop/static: removed"), "{}", planned.render());
        let applied = planned.apply(&progress).await.unwrap();
        assert_eq!(applied.lb_report.calls.get("DeleteLoadBalancer"), Some(&1));
        assert_eq!(applied.report.calls.get("DeleteServerCertificate"), Some(&1), "{:?}", applied.report.calls);
        let slb = SlbClient::new(cloud.rpc.clone());
        assert!(slb.load_balancers().get(&lb).await.is_err_and(|e| e.is_not_found()), "deleted");
        assert!(slb.certificates().describe().send().await.unwrap().is_empty(), "no certificate left");
        if let Some(m) = cloud.mock {
            m.shutdown().await;
        }
    }

    /// The sample with `extra` documents added, in a file of its own.
    fn with_extra(extra: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("ack-net-ingress-{}-{}", std::process::id(), extra.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ingresses.yaml");
        let text = std::fs::read_to_string(sample("ingress.yaml")).unwrap();
        std::fs::write(&file, format!("{text}---\n{extra}")).unwrap();
        (dir, file)
    }

    const BROKEN: &str = "\
kind: Ingress
metadata: {name: bad-host, namespace: shop}
spec:
  rules: [{host: bad_host!.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
kind: Ingress
metadata: {name: bad-path, namespace: shop}
spec:
  rules: [{host: a.example.com, http: {paths: [{path: '/a b', pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
kind: Ingress
metadata: {name: not-a-cert, namespace: shop}
spec:
  tls: [{hosts: [b.example.com], secretName: opaque}]
  rules: [{host: b.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
kind: Secret
metadata: {name: opaque, namespace: shop}
type: Opaque
stringData: {password: hunter2}
---
kind: Ingress
metadata: {name: no-service, namespace: shop}
spec:
  rules: [{host: c.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: gone, port: {number: 80}}}}]}}]
---
kind: Ingress
metadata:
  name: odd-annotations
  namespace: shop
  creationTimestamp: '2026-12-03T10:00:00Z'
  annotations:
    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-scheduler: wlc
    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-made-up: x
    service.beta.kubernetes.io/alibaba-cloud-loadbalancer-spec: slb.s3.large
spec:
  rules: [{host: d.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
kind: Ingress
metadata:
  name: bad-annotation
  namespace: shop
  annotations: {service.beta.kubernetes.io/alibaba-cloud-loadbalancer-bandwidth: lots}
spec:
  rules: [{host: e.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
";

    #[tokio::test]
    async fn each_broken_ingress_gets_its_own_error_and_the_others_still_plan() {
        let (dir, file) = with_extra(BROKEN);
        let region = RegionId::new("cn-hangzhou").unwrap();
        let cloud = ack_net_examples::Cloud::connect_with(None, region.as_str(), None).await.unwrap();
        let planned = plan_on(&cloud, Goal::Converge, &args(vec![file, sample("nodes.yaml")])).await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
        let served: Vec<&str> = planned.served.iter().map(String::as_str).collect();
        assert_eq!(served, ["shop/odd-annotations", "shop/shop", "shop/static"]);
        let first_error = |key: &str| {
            let ps = planned.problems.get(key).unwrap_or_else(|| panic!("no problem for {key}"));
            ps.iter().find(|p| p.is_error()).map(|p| p.message().to_owned()).unwrap_or_default()
        };
        assert!(first_error("shop/bad-host").contains("host \"bad_host!.example.com\""));
        assert!(first_error("shop/bad-path").contains("path \"/a b\""));
        assert_eq!(first_error("shop/not-a-cert"), "Secret shop/opaque is not of type kubernetes.io/tls");
        assert!(first_error("shop/no-service").contains("Service shop/gone does not exist"));
        assert!(first_error("shop/bad-annotation").contains("alibaba-cloud-loadbalancer-bandwidth"));
        // Served, with what its annotations could not do named.
        let odd: Vec<&str> = planned.problems["shop/odd-annotations"].iter().map(Problem::message).collect();
        assert!(odd.iter().any(|m| m.contains("-scheduler: not read on an Ingress")), "{odd:?}");
        assert!(odd.iter().any(|m| m.contains("-made-up: not an annotation this controller reads")), "{odd:?}");
        assert!(
            odd.iter().any(|m| m.contains("-spec: the load balancer's is \"slb.s1.small\", as shop/shop")),
            "{odd:?}"
        );
        let text = planned.render();
        assert!(text.contains("shop/no-service: NOT served\n    error: "), "{text}");
        assert!(!text.contains("hunter2"), "a Secret's data is never printed");
        let json = planned.to_json();
        let no_service = json["ingresses"].as_array().unwrap().iter().find(|i| i["ingress"] == "shop/no-service");
        assert_eq!(no_service.map(|i| i["served"].clone()), Some(Value::Bool(false)));
        if let Some(m) = cloud.mock {
            m.shutdown().await;
        }
    }

    #[tokio::test]
    async fn an_eni_mode_service_routes_to_its_pods_on_their_enis() {
        let eni_service = std::fs::read_to_string(sample("eni-service.yaml")).unwrap();
        let ingress = "kind: Ingress\nmetadata: {name: pods, namespace: shop}\n\
                       spec: {rules: [{host: pods.example.com, http: {paths: [{path: /, pathType: Prefix, \
                       backend: {service: {name: web-eni, port: {number: 80}}}}]}}]}\n";
        let (dir, file) = with_extra(&format!("{eni_service}\n---\n{ingress}"));
        let region = RegionId::new("cn-hangzhou").unwrap();
        let cloud = ack_net_examples::Cloud::connect_with(None, region.as_str(), None).await.unwrap();
        let planned = plan_on(&cloud, Goal::Converge, &args(vec![file, sample("nodes.yaml")])).await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert!(planned.served.contains("shop/pods"), "{:?}", planned.problems);
        let spec = planned.binding.spec();
        let pods = spec.backends.iter().find(|(s, _)| s.name == "web-eni").map(|(_, b)| b).expect("web-eni's group");
        let mut held: Vec<(String, u8)> = pods.iter().map(|b| (b.server_ip.unwrap().to_string(), b.weight)).collect();
        held.sort();
        let expected = [("192.168.0.21", 100), ("192.168.0.22", 100), ("192.168.0.31", 100), ("192.168.0.41", 0)];
        assert_eq!(held, expected.map(|(ip, w)| (ip.to_owned(), w)));
        assert!(pods.iter().all(|b| b.server_id.starts_with("eni-")), "{pods:?}");
        if let Some(m) = cloud.mock {
            m.shutdown().await;
        }
    }
}
