//! `plan`, `apply` and `delete`: a Service manifest against the cloud. The Service (with the
//! Nodes and EndpointSlices beside it) becomes a load balancer spec through ack-net-k8s, the
//! load balancer it owns is observed through a `ServiceBinding`, and the plan prints as a
//! diff. `plan` writes nothing, except the seed it puts on the embedded mock first; `apply`
//! then carries the plan out, and `delete` plans and carries out the binding's removal.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use ack_net_eni::EcsClient;
use ack_net_examples::BoxError;
use ack_net_k8s::service::annotations::{self, ServiceAnnotations};
use ack_net_k8s::service::{
    instance_id_from_provider_id, resolve_enis, translate, BackendMode, BackendNote, ServiceConfig, ServiceLoadBalancer,
};
use ack_net_mock::{InstanceSeed, MockCloud};
use ack_net_slb::binding::{
    ApplyReport, BindingError, DrainPolicy, FoundBy, Naming, ObserveOptions, Observed, Plan, PlanOptions,
    ServiceBinding,
};
use ack_net_slb::{LoadBalancerId, SlbClient, VSwitchId};
use ack_net_vpc::{cidr, RegionId, VpcClient, WaitPolicy, ZoneId};
use k8s_openapi::api::core::v1::Service;
use serde_json::{json, Value};

use super::manifest::{Manifest, ManifestError};
use super::output::{Progress, Shown};

/// The cluster id when `--cluster-id` is not given.
pub const DEFAULT_CLUSTER_ID: &str = "ack-net";

/// The arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Manifest files: YAML, one or more documents (`---`) or Lists, holding the Service and,
    /// for its backends, its Nodes and EndpointSlices. `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The Service to plan (`namespace/name`, or `name` in `default`) when the files hold several.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub service: Option<String>,
    /// The cluster id the load balancer's ownership tags carry (the controller's cluster id:
    /// with another, the Service's existing load balancer is not found).
    #[arg(long, value_name = "ID", default_value = DEFAULT_CLUSTER_ID)]
    pub cluster_id: String,
    /// The VSwitch of an intranet load balancer whose Service names none (default on the
    /// embedded mock: the seeded one).
    #[arg(long, value_name = "VSWITCH_ID")]
    pub vswitch: Option<VSwitchId>,
    /// The Service's load balancer, if known (else it is found by its ownership tags).
    #[arg(long, value_name = "LB_ID")]
    pub load_balancer: Option<LoadBalancerId>,
    /// On the embedded mock, seed only the network and the Nodes' instances, not an earlier
    /// version of the Service: the plan shows what the first `apply` creates.
    #[arg(long)]
    pub from_scratch: bool,
    /// Find and mark the load balancer as ACK's cloud controller manager does (its tags,
    /// listener descriptions and group names; the manifest's Service needs its uid): with
    /// the ACK cluster id, `plan` shows what adopting CCM's load balancer would change.
    #[arg(long)]
    pub ccm_naming: bool,
}

/// What the plan is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// The cloud as the Service wants it (`plan`, `apply`).
    Converge,
    /// The Service's binding removed (`delete`).
    Delete,
}

/// Why a Service could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The files could not be read or parsed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The files hold no Service.
    #[error("the manifest holds no Service ({0})")]
    NoService(String),
    /// The files hold several Services and `--service` does not pick one.
    #[error("the manifest holds several Services ({0}): pick one with --service")]
    SeveralServices(String),
    /// `--service` names a Service the files do not hold.
    #[error("the manifest holds no Service {wanted} (it holds {found})")]
    NoSuchService {
        /// `--service`, as `namespace/name`.
        wanted: String,
        /// The Services it holds.
        found: String,
    },
    /// The Service is not one a load balancer serves here.
    #[error("Service {service} gets no load balancer: {reason}")]
    NotLoadBalancer {
        /// `namespace/name`.
        service: String,
        /// Its type or class.
        reason: String,
    },
    /// The Service cannot be translated: a bad annotation (named with its value), port or
    /// combination.
    #[error("Service {service} cannot be planned")]
    Service {
        /// `namespace/name`.
        service: String,
        /// What is wrong with it.
        #[source]
        source: Box<ack_net_k8s::service::Error>,
    },
    /// Observing or planning the load balancer failed.
    #[error("{doing} the load balancer of Service {service} failed")]
    LoadBalancer {
        /// `observing` or `planning`.
        doing: &'static str,
        /// `namespace/name`.
        service: String,
        /// Why.
        #[source]
        source: Box<BindingError>,
    },
}

/// A plan with what led to it.
#[derive(Debug)]
pub struct PlannedService {
    /// `namespace/name`.
    pub service: String,
    /// The cluster id of the ownership tags.
    pub cluster_id: String,
    /// The translation: spec, backends and notes.
    pub translated: ServiceLoadBalancer,
    /// What the cloud holds.
    pub observed: Observed,
    /// The plan.
    pub plan: Plan,
    /// The binding that planned it, to apply it.
    pub binding: ServiceBinding,
}

/// A plan carried out.
#[derive(Debug)]
pub struct AppliedService {
    /// The plan and what led to it.
    pub planned: PlannedService,
    /// What applying it did.
    pub report: ApplyReport,
}

/// Reads the manifest and plans its Service against `rpc`'s cloud. Given the embedded `mock`
/// and no `--vswitch`, it first seeds the mock with a network, the Nodes' instances and
/// (unless `--from-scratch`) an earlier version of the Service, so the plan has something to
/// change. (The CLI reads the manifest first: [`read_manifest`], [`plan_manifest`].)
#[cfg(test)]
pub async fn plan(
    args: &PlanArgs,
    rpc: &ack_net_core::RpcClient,
    mock: Option<&MockCloud>,
    region: &RegionId,
    progress: &Progress,
) -> Result<PlannedService, BoxError> {
    plan_for(Goal::Converge, args, rpc, mock, region, progress).await
}

/// [`plan`], for `goal`: deleting observes in full (to find every group of the binding) and
/// plans the binding's removal.
#[cfg(test)]
pub async fn plan_for(
    goal: Goal,
    args: &PlanArgs,
    rpc: &ack_net_core::RpcClient,
    mock: Option<&MockCloud>,
    region: &RegionId,
    progress: &Progress,
) -> Result<PlannedService, BoxError> {
    let manifest = read_manifest(args, progress)?;
    plan_manifest(goal, args, &manifest, rpc, mock, region, progress).await
}

/// Reads the manifest files of `args`, saying what they hold.
pub fn read_manifest(args: &PlanArgs, progress: &Progress) -> Result<Manifest, PlanError> {
    let files: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    progress.say(format_args!("reading {}", files.join(", ")));
    let manifest = Manifest::read(&args.files)?;
    progress.say(format_args!("  {}", manifest.summary()));
    for s in &manifest.skipped {
        progress.say(format_args!(
            "  skipping {s}: plan reads Services, Nodes, EndpointSlices, Ingresses, IngressClasses and Secrets"
        ));
    }
    Ok(manifest)
}

/// [`plan_for`] on a manifest already read.
pub async fn plan_manifest(
    goal: Goal,
    args: &PlanArgs,
    manifest: &Manifest,
    rpc: &ack_net_core::RpcClient,
    mock: Option<&MockCloud>,
    region: &RegionId,
    progress: &Progress,
) -> Result<PlannedService, BoxError> {
    let service = select(manifest, args.service.as_deref())?;
    let key = key_of(service);
    let naming = if args.ccm_naming { Naming::Ccm } else { Naming::AckNet };
    let mut cfg = ServiceConfig::new(&args.cluster_id).with_naming(naming);
    if !cfg.wants(service) {
        return Err(PlanError::NotLoadBalancer { service: key, reason: why_not(service) }.into());
    }
    let service_error = |source| PlanError::Service { service: key.clone(), source: Box::new(source) };
    let annotations = ServiceAnnotations::from_service(service).map_err(service_error)?;
    let eni_mode = BackendMode::of(service, &annotations).map_err(service_error)? == BackendMode::Eni;
    // On the embedded mock, seed what the Service stands on, unless the caller names a VSwitch
    // (then the mock is left as it is).
    let seeded = seed_unless_given(args, mock, rpc, region, manifest, eni_mode, progress).await?;
    if let Some(v) = args.vswitch.clone().or_else(|| seeded.clone()) {
        cfg = cfg.with_vswitch(v);
    }
    if eni_mode {
        progress.say(format_args!("looking up the ENIs of {key}'s pod addresses"));
    }
    let enis = resolve_enis(&EcsClient::new(rpc.clone()), service, &annotations, &manifest.slices)
        .await
        .map_err(service_error)?;
    let translated = translate(service, &manifest.nodes, &manifest.slices, &enis, &cfg).map_err(service_error)?;

    let slb = SlbClient::new(rpc.clone());
    let lb_error = |doing, source| PlanError::LoadBalancer { doing, service: key.clone(), source: Box::new(source) };
    if seeded.is_some() && !args.from_scratch {
        seed_earlier_version(&slb, &translated, progress).await?;
    }
    // The plan shows what the controller would do; its drain wait is no part of a preview.
    let options = PlanOptions { drain: DrainPolicy::none(), ..PlanOptions::default() };
    let binding = ServiceBinding::builder(translated.spec.clone())
        .slb(slb)
        .plan_options(options)
        .build()
        .map_err(|e| lb_error("planning", e))?;
    match &args.load_balancer {
        Some(id) => progress.say(format_args!("observing {id}")),
        None => progress.say(format_args!("observing the load balancer tagged for {}/{key}", args.cluster_id)),
    }
    let observed = match (goal, &args.load_balancer) {
        (Goal::Delete, remembered) => binding.observe_with(remembered.as_ref(), &ObserveOptions::full()).await,
        (Goal::Converge, Some(id)) => binding.observe_remembered(id).await,
        (Goal::Converge, None) => binding.observe().await,
    }
    .map_err(|e| lb_error("observing", e))?;
    match &observed.load_balancer {
        Some(lb) => progress.say(format_args!(
            "  found {} ({}): {} listener(s), {} read call(s)",
            lb.attributes.load_balancer_id,
            found_by(&lb.found_by),
            lb.listeners.len(),
            observed.reads
        )),
        None => progress.say(format_args!("  none yet ({} read call(s))", observed.reads)),
    }
    progress.say("planning");
    let plan = match goal {
        Goal::Converge => binding.plan(&observed),
        Goal::Delete => binding.plan_delete(&observed),
    }
    .map_err(|e| lb_error("planning", e))?;
    Ok(PlannedService { service: key, cluster_id: args.cluster_id.clone(), translated, observed, plan, binding })
}

impl PlannedService {
    /// Carries the plan out; a step that fails ends it with the error (the steps before it
    /// are done, and planning again picks up from there).
    pub async fn apply(self, progress: &Progress) -> Result<AppliedService, BoxError> {
        if self.plan.is_empty() {
            progress.say("nothing to apply");
        } else {
            progress.say(format_args!("applying {} step(s)", self.plan.steps.len()));
        }
        let report = self.binding.apply(&self.plan).await.map_err(|e| PlanError::LoadBalancer {
            doing: "applying the plan to",
            service: self.service.clone(),
            source: Box::new(e.source),
        })?;
        progress.say(format_args!("  {} API call(s), {} write(s)", report.total_calls(), report.writes()));
        Ok(AppliedService { planned: self, report })
    }
}

impl AppliedService {
    /// The load balancer the Service has now: the one created, else the one observed.
    fn load_balancer_id(&self) -> Option<String> {
        let observed = self.planned.observed.load_balancer.as_ref().map(|lb| &lb.attributes.load_balancer_id);
        self.report.load_balancer_id.as_ref().or(observed).map(ToString::to_string)
    }
}

impl Shown for AppliedService {
    /// The plan as `plan` prints it, then what was done, step by step.
    fn render(&self) -> String {
        let mut out = self.planned.render();
        let lb = self.load_balancer_id().unwrap_or_else(|| "no load balancer".to_owned());
        out.push_str(&format!(
            "
applied on {lb}: {} step(s), {} API call(s)
",
            self.report.steps.len(),
            self.report.total_calls()
        ));
        for step in &self.report.steps {
            out.push_str(&format!(
                "  #{:<3} {} ({} call(s))
",
                step.id, step.summary, step.calls
            ));
        }
        out
    }

    /// [`PlannedService::to_json`] with what was done under `applied`.
    fn to_json(&self) -> Value {
        let mut v = self.planned.to_json();
        let steps: Vec<Value> = self
            .report
            .steps
            .iter()
            .map(|s| json!({"id": s.id, "action": s.action, "summary": s.summary, "calls": s.calls}))
            .collect();
        v["applied"] = json!({
            "load_balancer_id": self.load_balancer_id(),
            "steps": steps,
            "calls": self.report.total_calls(),
            "writes": self.report.writes(),
            "calls_by_action": self.report.calls,
        });
        v
    }
}

impl Shown for PlannedService {
    /// The plan as a diff, then the nodes that do not serve and the translation's notes.
    fn render(&self) -> String {
        let mut out = format!("{}\n", self.plan);
        let skipped = &self.translated.backends.skipped_nodes;
        if !skipped.is_empty() {
            out.push_str("\nnodes that do not serve:\n");
            for s in skipped {
                out.push_str(&format!("  {}: {}\n", if s.node.is_empty() { "<unnamed>" } else { &s.node }, s.reason));
            }
        }
        let notes = self.notes();
        if !notes.is_empty() {
            out.push_str("\nnotes:\n");
            for n in notes {
                out.push_str(&format!("  {n}\n"));
            }
        }
        out
    }

    /// The plan and what led to it, as JSON.
    fn to_json(&self) -> Value {
        let lb = self.observed.load_balancer.as_ref().map(|lb| {
            json!({
                "id": lb.attributes.load_balancer_id.to_string(),
                "address": lb.attributes.address.to_string(),
                "found_by": found_by(&lb.found_by),
            })
        });
        let skipped: Vec<Value> = self
            .translated
            .backends
            .skipped_nodes
            .iter()
            .map(|s| json!({"node": s.node, "reason": s.reason.to_string()}))
            .collect();
        json!({
            "service": self.service,
            "cluster_id": self.cluster_id,
            "backend_mode": format!("{:?}", self.translated.backends.mode).to_lowercase(),
            "load_balancer": lb,
            "up_to_date": self.plan.is_empty(),
            "writes": self.plan.writes(),
            "calls_by_action": self.plan.calls_by_action().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
            // Serializing plain data into a `Value` does not fail.
            "plan": serde_json::to_value(&self.plan).unwrap_or(Value::Null),
            "skipped_nodes": skipped,
            "notes": self.notes(),
        })
    }
}

impl PlannedService {
    /// The translation's notes and each port's backend notes, as sentences.
    fn notes(&self) -> Vec<String> {
        let mut notes = self.translated.notes.clone();
        for p in &self.translated.backends.ports {
            for n in &p.notes {
                notes.push(format!("port {}: {}", p.port, backend_note(n)));
            }
        }
        notes
    }
}

fn backend_note(note: &BackendNote) -> String {
    match note {
        BackendNote::NoEni { ip } => format!("no ENI holds the ready pod address {ip}, so it is no backend"),
        BackendNote::IneligibleNode { node, endpoints } => {
            format!("{endpoints} ready endpoint(s) on node {node}, which may not serve")
        }
        BackendNote::NoNode { endpoints } => format!("{endpoints} ready endpoint(s) name no node"),
        other => format!("{other:?}"),
    }
}

pub fn found_by(f: &FoundBy) -> &'static str {
    match f {
        FoundBy::RememberedId => "by --load-balancer",
        FoundBy::OwnershipTags => "by its ownership tags",
        FoundBy::Reuse => "reused by the Service's loadbalancer-id annotation",
    }
}

/// `namespace/name`, as ack-net-k8s keys Services.
fn key_of(service: &Service) -> String {
    format!(
        "{}/{}",
        service.metadata.namespace.as_deref().unwrap_or("default"),
        service.metadata.name.as_deref().unwrap_or("<unnamed>")
    )
}

/// The Service to plan: the only one, or the one `wanted` names.
fn select<'a>(manifest: &'a Manifest, wanted: Option<&str>) -> Result<&'a Service, PlanError> {
    let keys = || manifest.services.iter().map(key_of).collect::<Vec<_>>().join(", ");
    match (wanted, manifest.services.as_slice()) {
        (_, []) => Err(PlanError::NoService(manifest.summary())),
        (None, [only]) => Ok(only),
        (None, _) => Err(PlanError::SeveralServices(keys())),
        (Some(w), services) => {
            let wanted = if w.contains('/') { w.to_owned() } else { format!("default/{w}") };
            services
                .iter()
                .find(|s| key_of(s) == wanted)
                .ok_or_else(|| PlanError::NoSuchService { wanted, found: keys() })
        }
    }
}

/// Why `ServiceConfig::wants` refused the Service.
fn why_not(service: &Service) -> String {
    let spec = service.spec.as_ref();
    let annotated = service.metadata.annotations.as_ref().and_then(|a| a.get(annotations::CLASS_ANNOTATION));
    match spec.and_then(|s| s.type_.as_deref()) {
        Some("LoadBalancer") => match (spec.and_then(|s| s.load_balancer_class.as_deref()), annotated) {
            (None, Some(class)) => format!("its {} {class:?} is another controller's", annotations::CLASS_ANNOTATION),
            (class, _) => format!("its loadBalancerClass {:?} is another controller's", class.unwrap_or_default()),
        },
        Some(t) => format!("its type is {t}, not LoadBalancer"),
        None => "its type is ClusterIP (the default), not LoadBalancer".to_owned(),
    }
}

/// On the embedded `mock` and without `--vswitch`, [`seed_network`], answering its VSwitch;
/// else nothing is seeded (the mock, or the cloud, is left as it is).
pub async fn seed_unless_given(
    args: &PlanArgs,
    mock: Option<&MockCloud>,
    rpc: &ack_net_core::RpcClient,
    region: &RegionId,
    manifest: &Manifest,
    eni_mode: bool,
    progress: &Progress,
) -> Result<Option<VSwitchId>, BoxError> {
    match (mock, &args.vswitch) {
        (Some(mock), None) => Ok(Some(seed_network(mock, rpc, region, manifest, eni_mode, progress).await?)),
        _ => Ok(None),
    }
}

/// Seeds the embedded mock with what the manifest's Service stands on: a VPC, a VSwitch (the
/// default of intranet load balancers) and the ECS instances its Nodes name; for a Service
/// whose backends are ENIs, also one ENI per node holding the addresses of the node's pods.
/// Answers the VSwitch.
async fn seed_network(
    mock: &MockCloud,
    rpc: &ack_net_core::RpcClient,
    region: &RegionId,
    manifest: &Manifest,
    eni_mode: bool,
    progress: &Progress,
) -> Result<VSwitchId, BoxError> {
    progress.say(format_args!("seeding the embedded mock in {region} (--no-demo to skip)"));
    let wait = WaitPolicy::new(Duration::from_secs(30)).with_backoff(Duration::from_millis(50), Duration::from_secs(1));
    let vpcs = VpcClient::new(rpc.clone());
    let zone: ZoneId = super::demo::two_zones(rpc).await?.swap_remove(0);
    let vpc = vpcs.vpcs().create().cidr_block("192.168.0.0/16").name("ack-net-plan").send_and_wait(&wait).await?;
    let planned = cidr::plan_vswitches(vpc.cidr_block, &[], &[(zone, 24)])?;
    let planned = planned.first().ok_or("no VSwitch block was planned")?;
    let vsw = vpcs
        .vswitches()
        .create(&vpc.vpc_id, &planned.zone_id, planned.cidr)
        .name("ack-net-plan-nodes")
        .send_and_wait(&wait)
        .await?;
    progress.say(format_args!("  VPC {} with VSwitch {} {}", vpc.vpc_id, vsw.vswitch_id, vsw.cidr_block));
    let ecs = EcsClient::new(rpc.clone());
    let group = ecs.security_groups().create(&vpc.vpc_id).name("ack-net-plan-nodes").send().await?;
    let mut made = Vec::new();
    for node in &manifest.nodes {
        let Some(id) = node.spec.as_ref().and_then(|s| s.provider_id.as_deref()).and_then(instance_id_from_provider_id)
        else {
            continue;
        };
        mock.create_instance(InstanceSeed {
            region_id: region.to_string(),
            zone_id: vsw.zone_id.to_string(),
            instance_type: "ecs.g7.xlarge".into(),
            vswitch_id: vsw.vswitch_id.to_string(),
            security_group_ids: vec![group.to_string()],
            instance_id: Some(id.to_owned()),
        })?;
        made.push(id.to_owned());
        let name = node.metadata.name.as_deref().unwrap_or_default();
        let ips = if eni_mode && !name.is_empty() { pod_addresses(manifest, name, &vsw) } else { Vec::new() };
        if !ips.is_empty() {
            let eni = ecs
                .network_interfaces()
                .create(&vsw.vswitch_id)
                .security_group(&group)
                .secondary_ips(ips.iter().copied())
                .name(format!("ack-net-plan-pods-{name}"))
                .send_and_attach(&id.parse()?, &wait)
                .await?;
            let listed: Vec<String> = ips.iter().map(Ipv4Addr::to_string).collect();
            progress.say(format_args!("  ENI {} on {id} holding {}", eni.id, listed.join(", ")));
        }
    }
    if !made.is_empty() {
        progress.say(format_args!("  instances of the Nodes: {}", made.join(", ")));
    }
    Ok(vsw.vswitch_id)
}

/// The addresses of `node`'s pods in the manifest's EndpointSlices that lie in `vsw`, sorted
/// and each once: what an ENI of the node would hold in Terway's ENI mode.
fn pod_addresses(manifest: &Manifest, node: &str, vsw: &ack_net_vpc::VSwitch) -> Vec<Ipv4Addr> {
    let mut ips: Vec<Ipv4Addr> = manifest
        .slices
        .iter()
        .flat_map(|slice| slice.endpoints.iter().flatten())
        .filter(|e| e.node_name.as_deref() == Some(node))
        .flat_map(|e| &e.addresses)
        .filter_map(|a| a.parse().ok())
        .filter(|ip| vsw.cidr_block.contains(ip))
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

/// Applies an earlier version of the Service to the embedded mock, as if the controller had
/// served it before the manifest changed: without its last port (when it has several), its
/// first port without its last backend and with other weights (100, or 50 where the
/// manifest wants 100). Reused load balancers are not seeded (the mock cannot hold one with
/// the annotated id).
async fn seed_earlier_version(
    slb: &SlbClient,
    translated: &ServiceLoadBalancer,
    progress: &Progress,
) -> Result<(), BoxError> {
    if translated.spec.attributes().is_none() {
        return Ok(());
    }
    let mut earlier = translated.spec.clone();
    if earlier.ports.len() > 1 {
        earlier.ports.pop();
    }
    if let Some(first) = earlier.ports.first_mut() {
        if first.backends.len() > 1 {
            first.backends.pop();
        }
        for b in &mut first.backends {
            b.weight = if b.weight == 100 { 50 } else { 100 };
        }
    }
    let binding = ServiceBinding::builder(earlier)
        .slb(slb.clone())
        .plan_options(PlanOptions { drain: DrainPolicy::none(), ..PlanOptions::default() })
        .build()?;
    let report = binding.reconcile(None).await?;
    let ports: Vec<String> = binding.spec().ports.iter().map(|p| p.port().to_string()).collect();
    progress.say(format_args!(
        "  an earlier version of the Service on {} (port(s) {}), as a controller left it",
        report.load_balancer_id().map_or_else(|| "a load balancer".to_owned(), ToString::to_string),
        ports.join(", ")
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ack_net_core::ErrorInfo;
    use std::path::Path;

    fn manifest(text: &str) -> Manifest {
        let mut m = Manifest::default();
        m.parse(Path::new("t.yaml"), text).unwrap();
        m
    }

    const TWO: &str = "kind: Service\nmetadata: {name: a, namespace: shop}\n---\n\
                       kind: Service\nmetadata: {name: b}\nspec: {type: NodePort}\n";

    #[test]
    fn the_service_is_the_only_one_or_the_one_named() {
        let m = manifest(TWO);
        let e = select(&m, None).unwrap_err();
        assert_eq!(e.to_string(), "the manifest holds several Services (shop/a, default/b): pick one with --service");
        assert_eq!(key_of(select(&m, Some("shop/a")).unwrap()), "shop/a");
        assert_eq!(key_of(select(&m, Some("b")).unwrap()), "default/b");
        let e = select(&m, Some("shop/c")).unwrap_err();
        assert!(matches!(&e, PlanError::NoSuchService { wanted, .. } if wanted == "shop/c"));
        let e = select(&manifest("kind: Node\nmetadata: {name: n}\n"), None).unwrap_err();
        assert_eq!(e.to_string(), "the manifest holds no Service (0 Services, 1 Node, 0 EndpointSlices)");
        assert_eq!(why_not(select(&m, Some("b")).unwrap()), "its type is NodePort, not LoadBalancer");
        assert!(why_not(select(&m, Some("shop/a")).unwrap()).contains("ClusterIP"));
        let nlb = manifest(
            "kind: Service\nmetadata: {name: n, annotations: {service.beta.kubernetes.io/class: nlb}}\nspec: {type: LoadBalancer}\n",
        );
        let s = select(&nlb, None).unwrap();
        assert!(!ServiceConfig::new("c").wants(s));
        assert_eq!(why_not(s), "its service.beta.kubernetes.io/class \"nlb\" is another controller's");
    }

    fn sample(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests").join(name)
    }

    async fn plan_on_mock(args: &PlanArgs) -> Result<PlannedService, BoxError> {
        let region = RegionId::new("cn-hangzhou").unwrap();
        let cloud = ack_net_examples::Cloud::connect_with(None, region.as_str(), None).await.unwrap();
        let planned = plan(args, &cloud.rpc, cloud.mock.as_ref(), &region, &Progress::new(true)).await;
        if let Some(m) = cloud.mock {
            m.shutdown().await;
        }
        planned
    }

    fn args(files: Vec<PathBuf>) -> PlanArgs {
        PlanArgs {
            files,
            service: None,
            cluster_id: DEFAULT_CLUSTER_ID.to_owned(),
            vswitch: None,
            load_balancer: None,
            from_scratch: false,
            ccm_naming: false,
        }
    }

    #[tokio::test]
    async fn the_sample_plans_against_the_seeded_earlier_version() {
        let planned = plan_on_mock(&args(vec![sample("web-service.yaml"), sample("nodes.yaml")])).await.unwrap();
        assert_eq!(planned.service, "shop/web");
        assert!(planned.observed.load_balancer.is_some(), "the seeded load balancer is found by its tags");
        let calls: Vec<(&str, usize)> = planned.plan.calls_by_action();
        assert_eq!(
            calls,
            vec![
                ("AddVServerGroupBackendServers", 1),
                ("CreateLoadBalancerTCPListener", 1),
                ("CreateVServerGroup", 1),
                ("SetVServerGroupAttribute", 1),
                ("StartLoadBalancerListener", 1),
            ]
        );
        let text = planned.render();
        assert!(text.contains("node-d: not Ready"), "{text}");
        let json = planned.to_json();
        assert_eq!((json["backend_mode"].as_str(), json["writes"].as_u64()), (Some("local"), Some(5)));

        // Without its Nodes, the Service has no backends: the plan empties its groups.
        let planned = plan_on_mock(&args(vec![sample("web-service.yaml")])).await.unwrap();
        assert!(planned.translated.backends.ports.iter().all(|p| p.backends.is_empty()));
    }

    #[tokio::test]
    async fn from_scratch_plans_the_first_creation_which_apply_makes_and_delete_removes() {
        let region = RegionId::new("cn-hangzhou").unwrap();
        let cloud = ack_net_examples::Cloud::connect_with(None, region.as_str(), None).await.unwrap();
        let progress = Progress::new(true);
        let mock = cloud.mock.as_ref();
        let files = vec![sample("web-service.yaml"), sample("nodes.yaml")];
        let scratch = PlanArgs { from_scratch: true, ..args(files.clone()) };

        let planned = plan(&scratch, &cloud.rpc, mock, &region, &progress).await.unwrap();
        assert!(planned.observed.load_balancer.is_none(), "no earlier version was seeded");
        assert_eq!(planned.plan.calls_by_action()[0], ("CreateLoadBalancer", 1));
        let first = planned.plan.writes();

        let applied = planned.apply(&progress).await.unwrap();
        assert_eq!(applied.report.writes(), first as u64, "apply carries out exactly the plan");
        let id = applied.report.load_balancer_id.clone().expect("created");
        assert!(applied.render().contains(&format!("applied on {id}: {first} step(s)")), "{}", applied.render());
        let json = applied.to_json();
        assert_eq!(json["applied"]["load_balancer_id"].as_str(), Some(id.as_str()));
        assert_eq!(json["applied"]["writes"].as_u64(), Some(first as u64));
        let binding = &applied.planned.binding;
        assert!(binding.plan(&binding.observe_remembered(&id).await.unwrap()).unwrap().is_empty(), "converged");

        // Delete finds it by its tags (the VSwitch given, so nothing is seeded again).
        let seeded = applied.planned.translated.spec.attributes().and_then(|a| a.vswitch_id.clone());
        let delete = PlanArgs { vswitch: seeded, ..args(files) };
        let planned = plan_for(Goal::Delete, &delete, &cloud.rpc, mock, &region, &progress).await.unwrap();
        let applied = planned.apply(&progress).await.unwrap();
        assert_eq!(applied.report.calls.get("DeleteLoadBalancer"), Some(&1), "{:?}", applied.report.calls);
        let lbs = SlbClient::new(cloud.rpc.clone()).load_balancers();
        assert!(lbs.get(&id).await.is_err_and(|e| e.is_not_found()), "deleted");
        if let Some(m) = cloud.mock {
            m.shutdown().await;
        }
    }

    #[tokio::test]
    async fn ccm_naming_plans_with_ccms_names() {
        let files = vec![sample("web-service.yaml"), sample("nodes.yaml")];
        let planned = plan_on_mock(&PlanArgs { ccm_naming: true, ..args(files) }).await.unwrap();
        assert!(planned.observed.load_balancer.is_some(), "the earlier version, seeded in CCM's naming, is found");
        let text = planned.render();
        assert!(text.contains("\"k8s/30443/web/shop/ack-net\""), "{text}");
        assert!(!text.contains("ack-net.v1/"), "{text}");
    }

    #[tokio::test]
    async fn the_eni_sample_has_the_pods_on_seeded_enis_as_backends() {
        let planned = plan_on_mock(&args(vec![sample("eni-service.yaml"), sample("nodes.yaml")])).await.unwrap();
        assert_eq!(planned.service, "shop/web-eni");
        let ports = &planned.translated.backends.ports;
        assert_eq!(ports.len(), 2);
        for port in ports {
            let mut held: Vec<(String, u8)> =
                port.backends.iter().map(|b| (b.server_ip.unwrap().to_string(), b.weight)).collect();
            held.sort();
            // The terminating pod on node-c drains (weight 0); every address is on an ENI.
            let expected = [("192.168.0.21", 100), ("192.168.0.22", 100), ("192.168.0.31", 100), ("192.168.0.41", 0)];
            assert_eq!(held, expected.map(|(ip, w)| (ip.to_owned(), w)), "port {}", port.port);
            assert!(port.backends.iter().all(|b| b.server_id.starts_with("eni-")), "{:?}", port.backends);
        }
        let json = planned.to_json();
        assert_eq!(json["backend_mode"].as_str(), Some("eni"));
        assert!(!planned.render().contains("no ENI holds"), "{}", planned.render());
    }

    #[tokio::test]
    async fn a_bad_annotation_is_named_with_its_value() {
        let dir = std::env::temp_dir().join(format!("ack-net-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bad.yaml");
        let text = std::fs::read_to_string(sample("web-service.yaml")).unwrap().replace("slb.s1.small", "slb.huge");
        std::fs::write(&file, text).unwrap();
        let e = plan_on_mock(&args(vec![file])).await.unwrap_err();
        std::fs::remove_dir_all(&dir).ok();
        let Some(PlanError::Service { service, source }) = e.downcast_ref::<PlanError>() else {
            panic!("not a Service error: {e}");
        };
        assert_eq!(service, "shop/web");
        assert_eq!(source.annotation(), Some("service.beta.kubernetes.io/alibaba-cloud-loadbalancer-spec"));
        assert!(source.to_string().contains("\"slb.huge\" is invalid"), "{source}");
    }
}
