//! `ack_net`: a small operator CLI over the ack-net crates. Lists VPCs, VSwitches with their
//! free addresses, ENIs, and load balancers with their listeners and backends, as aligned
//! tables or JSON; plans a Kubernetes Service manifest, or Ingress manifests (the Ingresses of
//! ack-net's IngressClass as the layer 7 of one load balancer), against the cloud, printing
//! the diff, and applies or deletes it, so that an operator can manage a Service's or the
//! Ingresses' load balancer from the manifests without a cluster. Files that hold Ingresses
//! are planned as Ingresses (their Services are their backends) unless `--service` picks a
//! Service. Progress goes to stderr (when it is a terminal, or with
//! `--progress`) so stdout stays clean for pipes.
//!
//! ```sh
//! cargo run --example ack_net -- vswitches
//! cargo run --example ack_net -- lbs --output json
//! cargo run --example ack_net -- plan examples/manifests/web-service.yaml examples/manifests/nodes.yaml
//! cargo run --example ack_net -- plan examples/manifests/eni-service.yaml examples/manifests/nodes.yaml
//! cargo run --example ack_net -- plan --from-scratch examples/manifests/web-service.yaml examples/manifests/nodes.yaml
//! cargo run --example ack_net -- apply examples/manifests/web-service.yaml examples/manifests/nodes.yaml -o json
//! cargo run --example ack_net -- delete examples/manifests/web-service.yaml
//! cargo run --example ack_net -- plan examples/manifests/ingress.yaml examples/manifests/nodes.yaml
//! ACK_NET_ENDPOINT=aliyun cargo run --example ack_net -- enis --instance i-bp1...
//! kubectl get svc,nodes,endpointslices -n shop -o yaml | \
//!     ACK_NET_ENDPOINT=aliyun cargo run --example ack_net -- plan --cluster-id c-... --service shop/web -
//! ```
//!
//! Without `ACK_NET_ENDPOINT` it starts the embedded mock cloud and first creates a small demo
//! estate there (`--no-demo` to skip it; `plan`, `apply` and `delete` seed the network their
//! manifest needs and an earlier version of its Service instead, `--from-scratch` only the
//! network). With `ACK_NET_ENDPOINT` only `apply` and `delete` write: credentials
//! come from the standard chain (`ALIBABA_CLOUD_ACCESS_KEY_ID`..., the profile, the ECS RAM
//! role) and `--region` (or `ALIBABA_CLOUD_REGION_ID`) picks the region.

use std::process::ExitCode;

use ack_net_eni::{EcsClient, InstanceId};
use ack_net_examples::{region_for, BoxError, Cloud};
use ack_net_slb::SlbClient;
use ack_net_vpc::{RegionId, VSwitchId, VpcClient, VpcId, ZoneId};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::Value;

#[path = "cli/demo.rs"]
mod demo;
#[path = "cli/enis.rs"]
mod enis;
#[path = "cli/ingress.rs"]
mod ingress;
#[path = "cli/lbs.rs"]
mod lbs;
#[path = "cli/manifest.rs"]
mod manifest;
#[path = "cli/output.rs"]
mod output;
#[path = "cli/plan.rs"]
mod plan;
#[path = "cli/vpc.rs"]
mod vpc;

use enis::{eni_json, enis_table, list_enis};
use output::{Progress, RetryNotice, Shown, Table};
use vpc::{list_vpcs, list_vswitches, vpc_json, vpcs_table, vswitch_json, vswitches_table};

#[derive(Debug, Parser)]
#[command(
    name = "ack_net",
    version,
    about = "List the VPCs, VSwitches, ENIs and load balancers ACK networking uses; plan a Service against them"
)]
#[command(after_help = "Talks to ACK_NET_ENDPOINT when set, else to an embedded mock cloud with a demo estate.")]
struct Cli {
    /// Region (default: ALIBABA_CLOUD_REGION_ID; required with ACK_NET_ENDPOINT, the mock's on the mock).
    #[arg(long, global = true)]
    region: Option<RegionId>,
    /// How to print the result.
    #[arg(long, short, global = true, value_enum, value_name = "FORMAT", default_value_t = Format::Table)]
    output: Format,
    /// Create the demo estate first (the default on the embedded mock; refused elsewhere).
    #[arg(long, global = true, overrides_with = "no_demo")]
    demo: bool,
    /// Do not create the demo estate on the embedded mock.
    #[arg(long, global = true, overrides_with = "demo")]
    no_demo: bool,
    /// No progress on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Progress on stderr even when it is not a terminal (`--quiet` wins).
    #[arg(long, global = true)]
    progress: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Aligned columns.
    Table,
    /// Pretty-printed JSON.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// VPCs of the region.
    Vpcs,
    /// VSwitches with their free addresses.
    Vswitches {
        /// Only the VSwitches of this VPC.
        #[arg(long)]
        vpc: Option<VpcId>,
        /// Only the VSwitches in this zone.
        #[arg(long)]
        zone: Option<ZoneId>,
    },
    /// ENIs with their addresses: of one instance, or all of them.
    Enis {
        /// Only the ENIs attached to this instance.
        #[arg(long)]
        instance: Option<InstanceId>,
        /// Only the ENIs in this VSwitch.
        #[arg(long)]
        vswitch: Option<VSwitchId>,
    },
    /// Load balancers with their listeners and each listener's backends.
    Lbs,
    /// Plan a Service manifest, or Ingress manifests, (YAML) against the cloud and print the diff; writes nothing.
    Plan(plan::PlanArgs),
    /// Plan a Service (or Ingress) manifest and carry the plan out: its load balancer as the manifest wants it.
    Apply(plan::PlanArgs),
    /// Remove what a Service (or the Ingresses) of the manifest own: their listeners, rules, groups, certificates,
    /// and the load balancer if it was created for them.
    Delete(plan::PlanArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ack_net: error: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    let endpoint = std::env::var("ACK_NET_ENDPOINT").ok().filter(|e| !e.is_empty());
    let region = match cli.region {
        Some(r) => r,
        None => RegionId::new(region_for(endpoint.as_deref(), std::env::var("ALIBABA_CLOUD_REGION_ID").ok())?)?,
    };
    if endpoint.is_some() && cli.demo {
        return Err("--demo creates resources, so it only runs on the embedded mock (unset ACK_NET_ENDPOINT)".into());
    }
    let progress = Progress::for_stderr(cli.progress, cli.quiet);
    let cloud = connect(endpoint.as_deref(), &region, cli.quiet).await?;
    progress.say(format_args!("ack_net: {region} on {}", cloud.describe()));
    let seed = cloud.mock.as_ref().filter(|_| !cli.no_demo);
    let manifest_command = matches!(cli.command, Command::Plan(_) | Command::Apply(_) | Command::Delete(_));
    if let (Some(mock), false) = (seed, manifest_command) {
        demo::create(mock, &cloud.rpc, &region, &progress).await?;
    }
    let calls_before = cloud.stats.total();
    let listing = std::time::Instant::now();

    let out = match cli.command {
        Command::Vpcs => {
            let vpcs = list_vpcs(&VpcClient::new(cloud.rpc.clone()), &progress).await?;
            render(cli.output, &vpcs, "VPCs", &region, vpcs_table, vpc_json)
        }
        Command::Vswitches { vpc, zone } => {
            let vswitches = list_vswitches(&VpcClient::new(cloud.rpc.clone()), vpc, zone, &progress).await?;
            let free: u64 = vswitches.iter().map(|v| v.available_ip_address_count).sum();
            progress.say(format_args!("{} VSwitch(es), {free} addresses free", vswitches.len()));
            render(cli.output, &vswitches, "VSwitches", &region, vswitches_table, vswitch_json)
        }
        Command::Enis { instance, vswitch } => {
            let enis = list_enis(&EcsClient::new(cloud.rpc.clone()), instance, vswitch, &progress).await?;
            render(cli.output, &enis, "ENIs", &region, enis_table, eni_json)
        }
        Command::Lbs => {
            let views = lbs::fetch(&SlbClient::new(cloud.rpc.clone()), &progress).await?;
            match (cli.output, views.is_empty()) {
                (Format::Json, _) => pretty(&lbs::to_json(&views)),
                (Format::Table, true) => format!("No load balancers in {region}.\n"),
                (Format::Table, false) => lbs::render_tables(&views),
            }
        }
        Command::Plan(args) => {
            manifest(plan::Goal::Converge, false, &args, &cloud, seed, &region, &progress, cli.output).await?
        }
        Command::Apply(args) => {
            manifest(plan::Goal::Converge, true, &args, &cloud, seed, &region, &progress, cli.output).await?
        }
        Command::Delete(args) => {
            manifest(plan::Goal::Delete, true, &args, &cloud, seed, &region, &progress, cli.output).await?
        }
    };
    print!("{out}");
    progress.say(format_args!(
        "done with {} API call(s) in {:.0?}",
        cloud.stats.total() - calls_before,
        listing.elapsed()
    ));
    if let Some(mock) = cloud.mock {
        mock.shutdown().await;
    }
    Ok(())
}

/// `plan` (`write` false), `apply` and `delete`: reads the manifest, plans its Ingresses
/// (when it holds any and `--service` is not given) or its Service for `goal`, carries the
/// plan out when `write`, and renders what was planned and done.
#[allow(clippy::too_many_arguments)]
async fn manifest(
    goal: plan::Goal,
    write: bool,
    args: &plan::PlanArgs,
    cloud: &Cloud,
    seed: Option<&ack_net_mock::MockCloud>,
    region: &RegionId,
    progress: &Progress,
    format: Format,
) -> Result<String, BoxError> {
    let manifest = plan::read_manifest(args, progress)?;
    let shown: Box<dyn Shown> = if ingress::wanted(&manifest, args) {
        let planned = ingress::plan(goal, args, &manifest, &cloud.rpc, seed, region, progress).await?;
        if write {
            Box::new(planned.apply(progress).await?)
        } else {
            Box::new(planned)
        }
    } else {
        let planned = plan::plan_manifest(goal, args, &manifest, &cloud.rpc, seed, region, progress).await?;
        if write {
            Box::new(planned.apply(progress).await?)
        } else {
            Box::new(planned)
        }
    };
    Ok(match format {
        Format::Json => pretty(&shown.to_json()),
        Format::Table => shown.render(),
    })
}

/// The client, to `endpoint` with the standard credential chain, or to a new embedded mock.
async fn connect(endpoint: Option<&str>, region: &RegionId, quiet: bool) -> Result<Cloud, BoxError> {
    Cloud::connect_with(endpoint, region.as_str(), Some(std::sync::Arc::new(RetryNotice { quiet }))).await
}

/// `items` as a table or JSON; a sentence instead of an empty table.
fn render<T>(
    format: Format,
    items: &[T],
    what: &str,
    region: &RegionId,
    table: fn(&[T]) -> Table,
    to_json: fn(&T) -> Value,
) -> String {
    match format {
        Format::Json => pretty(&Value::Array(items.iter().map(to_json).collect())),
        Format::Table if items.is_empty() => format!("No {what} in {region}.\n"),
        Format::Table => table(items).render(),
    }
}

fn pretty(v: &Value) -> String {
    // Serializing a `Value` cannot fail.
    format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_parses_and_checks_ids() {
        Cli::command().debug_assert();
        let cli =
            Cli::try_parse_from(["ack_net", "vswitches", "--vpc", "vpc-1", "--zone", "cn-hangzhou-h", "-o", "json"])
                .unwrap();
        assert_eq!(cli.output, Format::Json);
        assert!(matches!(cli.command, Command::Vswitches { vpc: Some(_), zone: Some(_) }));
        // Bad ids are refused by the parser, before anything starts.
        assert!(Cli::try_parse_from(["ack_net", "vswitches", "--vpc", "vsw-1"]).is_err());
        assert!(Cli::try_parse_from(["ack_net", "enis", "--instance", "eni-1"]).is_err());
        assert!(Cli::try_parse_from(["ack_net", "vpcs", "--region", "Hangzhou"]).is_err());
        let cli = Cli::try_parse_from(["ack_net", "--demo", "--no-demo", "lbs"]).unwrap();
        assert!(!cli.demo && cli.no_demo);
        let cli =
            Cli::try_parse_from(["ack_net", "plan", "a.yaml", "b.yaml", "--cluster-id", "c-1", "--progress"]).unwrap();
        assert!(cli.progress);
        assert!(matches!(&cli.command, Command::Plan(p) if p.files.len() == 2 && p.cluster_id == "c-1"));
        let cli = Cli::try_parse_from(["ack_net", "plan", "a.yaml"]).unwrap();
        assert!(matches!(&cli.command, Command::Plan(p) if p.cluster_id == plan::DEFAULT_CLUSTER_ID));
        let cli = Cli::try_parse_from(["ack_net", "plan", "--from-scratch", "--ccm-naming", "a.yaml"]).unwrap();
        assert!(matches!(&cli.command, Command::Plan(p) if p.from_scratch && p.ccm_naming));
        let cli = Cli::try_parse_from(["ack_net", "apply", "a.yaml", "-o", "json"]).unwrap();
        assert!(matches!(&cli.command, Command::Apply(p) if p.files.len() == 1) && cli.output == Format::Json);
        let cli = Cli::try_parse_from(["ack_net", "delete", "a.yaml", "--load-balancer", "lb-1"]).unwrap();
        assert!(matches!(&cli.command, Command::Delete(p) if p.load_balancer.is_some()));
        // A manifest is required, and ids are checked.
        assert!(Cli::try_parse_from(["ack_net", "plan"]).is_err());
        assert!(Cli::try_parse_from(["ack_net", "apply"]).is_err());
        assert!(Cli::try_parse_from(["ack_net", "plan", "a.yaml", "--load-balancer", "vsw-1"]).is_err());
    }

    #[tokio::test]
    async fn every_command_lists_the_demo_estate() {
        let region = RegionId::new("cn-hangzhou").unwrap();
        let progress = Progress::new(true);
        let cloud = connect(None, &region, true).await.unwrap();
        let mock = cloud.mock.as_ref().unwrap();
        demo::create(mock, &cloud.rpc, &region, &progress).await.unwrap();

        let vpc_client = VpcClient::new(cloud.rpc.clone());
        let vpcs = list_vpcs(&vpc_client, &progress).await.unwrap();
        assert_eq!(vpcs.len(), 1);
        let vswitches = list_vswitches(&vpc_client, Some(vpcs[0].vpc_id.clone()), None, &progress).await.unwrap();
        assert_eq!(vswitches.len(), 2);
        // The node VSwitch lends addresses to two primaries, two pod addresses and the VIP.
        let free: Vec<u64> = vswitches.iter().map(|v| v.available_ip_address_count).collect();
        assert_eq!(free, vec![247, 252]);
        assert!(vswitches_table(&vswitches).render().contains("  247     252  2.0%  Available"));

        let enis = list_enis(&EcsClient::new(cloud.rpc.clone()), None, None, &progress).await.unwrap();
        assert_eq!(enis.iter().map(|e| e.device_index).collect::<Vec<_>>(), vec![Some(0), Some(1)]);
        let instance = enis[0].instance_id.clone();
        let only = list_enis(&EcsClient::new(cloud.rpc.clone()), instance, None, &progress).await.unwrap();
        assert_eq!(only.len(), 2);
        assert_eq!(eni_json(&only[1])["secondary_ips"].as_array().map(Vec::len), Some(2));

        let views = lbs::fetch(&SlbClient::new(cloud.rpc.clone()), &progress).await.unwrap();
        let json = lbs::to_json(&views);
        let listener = &json[0]["listeners"][0];
        assert_eq!((listener["protocol"].as_str(), listener["port"].as_u64()), (Some("tcp"), Some(80)));
        assert_eq!(listener["forwards_to"]["kind"], "vserver-group");
        let backends = listener["backends"].as_array().unwrap();
        let kinds: Vec<&str> = backends.iter().filter_map(|b| b["type"].as_str()).collect();
        assert_eq!(kinds, ["ecs", "eni"]);
        assert!(backends.iter().all(|b| b["health"].is_string()));
        let tables = lbs::render_tables(&views);
        assert_eq!(tables.lines().count(), 6, "{tables}");
    }
}
