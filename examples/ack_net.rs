//! `ack_net`: a small operator CLI over the ack-net crates. Lists VPCs, VSwitches with their
//! free addresses, ENIs, and load balancers with their listeners and backends, as aligned
//! tables or JSON; progress goes to stderr so stdout stays clean for pipes.
//!
//! ```sh
//! cargo run --example ack_net -- vswitches
//! cargo run --example ack_net -- lbs --output json
//! ACK_NET_ENDPOINT=https://... cargo run --example ack_net -- enis --instance i-bp1...
//! ```
//!
//! Without `ACK_NET_ENDPOINT` it starts the embedded mock cloud and first creates a small demo
//! estate there (`--no-demo` to skip it). With `ACK_NET_ENDPOINT` it only reads: credentials
//! come from the standard chain (`ALIBABA_CLOUD_ACCESS_KEY_ID`..., the profile, the ECS RAM
//! role) and `--region` (or `ALIBABA_CLOUD_REGION_ID`) picks the region.

use std::process::ExitCode;

use ack_net_core::{CallStats, Credentials, DefaultChain, RpcClient};
use ack_net_eni::{EcsClient, InstanceId, NetworkInterface};
use ack_net_examples::{BoxError, Cloud};
use ack_net_mock::MockCloud;
use ack_net_slb::SlbClient;
use ack_net_vpc::{cidr, RegionId, VSwitch, VSwitchId, Vpc, VpcClient, VpcId, ZoneId};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};

#[path = "cli/demo.rs"]
mod demo;
#[path = "cli/lbs.rs"]
mod lbs;
#[path = "cli/output.rs"]
mod output;

use output::{numbered_pages, or_dash, token_pages, Progress, RetryNotice, Table};

/// The region when neither `--region` nor `ALIBABA_CLOUD_REGION_ID` names one.
const DEFAULT_REGION: &str = "cn-hangzhou";

#[derive(Debug, Parser)]
#[command(name = "ack_net", version, about = "List the VPCs, VSwitches, ENIs and load balancers ACK networking uses")]
#[command(after_help = "Talks to ACK_NET_ENDPOINT when set, else to an embedded mock cloud with a demo estate.")]
struct Cli {
    /// Region (default: ALIBABA_CLOUD_REGION_ID, else cn-hangzhou).
    #[arg(long, global = true)]
    region: Option<RegionId>,
    /// How to print the result.
    #[arg(long, short, global = true, value_enum, default_value_t = Format::Table)]
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
    let region = match cli.region {
        Some(r) => r,
        None => RegionId::new(std::env::var("ALIBABA_CLOUD_REGION_ID").unwrap_or_else(|_| DEFAULT_REGION.to_owned()))?,
    };
    let endpoint = std::env::var("ACK_NET_ENDPOINT").ok().filter(|e| !e.is_empty());
    if endpoint.is_some() && cli.demo {
        return Err("--demo creates resources, so it only runs on the embedded mock (unset ACK_NET_ENDPOINT)".into());
    }
    let progress = Progress::new(cli.quiet);
    let cloud = connect(endpoint.as_deref(), &region, cli.quiet).await?;
    progress.say(format_args!("ack_net: {region} on {}", cloud.describe()));
    if let (Some(mock), false) = (&cloud.mock, cli.no_demo) {
        demo::create(mock, &cloud.rpc, &region, &progress).await?;
    }
    let calls_before = cloud.stats.total();

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
    };
    print!("{out}");
    progress.say(format_args!(
        "{} read call(s) in {:.0?}",
        cloud.stats.total() - calls_before,
        progress.elapsed()
    ));
    if let Some(mock) = cloud.mock {
        mock.shutdown().await;
    }
    Ok(())
}

/// The client, to `endpoint` with the standard credential chain, or to a new embedded mock.
async fn connect(endpoint: Option<&str>, region: &RegionId, quiet: bool) -> Result<Cloud, BoxError> {
    let stats = CallStats::new();
    let builder =
        RpcClient::builder().region(region.as_str()).observer(stats.clone()).observer(RetryNotice { quiet });
    Ok(match endpoint {
        Some(endpoint) => {
            let rpc = builder.endpoint(endpoint).credentials_provider(DefaultChain::new()).build()?;
            Cloud { rpc, stats, mock: None }
        }
        None => {
            let mock = MockCloud::builder().seed(42).start().await?;
            let rpc = builder.endpoint(&mock.url()).credentials(Credentials::new("testid", "testsecret")).build()?;
            Cloud { rpc, stats, mock: Some(mock) }
        }
    })
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

async fn list_vpcs(client: &VpcClient, progress: &Progress) -> Result<Vec<Vpc>, BoxError> {
    progress.say("fetching VPCs...");
    let size = ack_net_vpc::vpc::MAX_PAGE_SIZE;
    numbered_pages(progress, "VPCs", size, |page| {
        let req = client.vpcs().describe().page_number(page).page_size(size);
        async move {
            let r = req.send().await?;
            Ok::<_, BoxError>((r.vpcs, Some(r.total_count)))
        }
    })
    .await
}

fn vpcs_table(vpcs: &[Vpc]) -> Table {
    let mut t = Table::new(&["VPC", "NAME", "CIDR", "STATUS", "VSWITCHES", "DEFAULT"]).right_align(&[4]);
    for v in vpcs {
        let cidrs: Vec<String> =
            std::iter::once(v.cidr_block).chain(v.secondary_cidr_blocks.iter().copied()).map(|c| c.to_string()).collect();
        t.row(vec![
            v.vpc_id.to_string(),
            v.vpc_name.clone(),
            cidrs.join(","),
            v.status.to_string(),
            v.vswitch_ids.len().to_string(),
            if v.is_default { "yes" } else { "no" }.to_owned(),
        ]);
    }
    t
}

fn vpc_json(v: &Vpc) -> Value {
    json!({
        "vpc_id": v.vpc_id,
        "name": v.vpc_name,
        "cidr_block": v.cidr_block,
        "secondary_cidr_blocks": v.secondary_cidr_blocks,
        "status": v.status.to_string(),
        "is_default": v.is_default,
        "vswitch_ids": v.vswitch_ids,
        "route_table_ids": v.route_table_ids,
        "creation_time": v.creation_time,
    })
}

async fn list_vswitches(
    client: &VpcClient,
    vpc: Option<VpcId>,
    zone: Option<ZoneId>,
    progress: &Progress,
) -> Result<Vec<VSwitch>, BoxError> {
    progress.say("fetching VSwitches...");
    let size = ack_net_vpc::vswitch::MAX_PAGE_SIZE;
    numbered_pages(progress, "VSwitches", size, |page| {
        let mut req = client.vswitches().describe().page_number(page).page_size(size);
        if let Some(v) = &vpc {
            req = req.vpc_id(v);
        }
        if let Some(z) = &zone {
            req = req.zone_id(z);
        }
        async move {
            let r = req.send().await?;
            Ok::<_, BoxError>((r.vswitches, Some(r.total_count)))
        }
    })
    .await
}

fn vswitches_table(vswitches: &[VSwitch]) -> Table {
    let mut t = Table::new(&["VSWITCH", "NAME", "VPC", "ZONE", "CIDR", "FREE", "USABLE", "USED", "STATUS"])
        .right_align(&[5, 6, 7]);
    for v in vswitches {
        let usable = cidr::usable_addresses(v.cidr_block);
        t.row(vec![
            v.vswitch_id.to_string(),
            v.vswitch_name.clone(),
            v.vpc_id.to_string(),
            v.zone_id.to_string(),
            v.cidr_block.to_string(),
            v.available_ip_address_count.to_string(),
            usable.to_string(),
            used_percent(usable, v.available_ip_address_count),
            v.status.to_string(),
        ]);
    }
    t
}

/// The share of usable addresses in use, `12.5%`.
fn used_percent(usable: u64, free: u64) -> String {
    if usable == 0 {
        return "-".to_owned();
    }
    format!("{:.1}%", usable.saturating_sub(free) as f64 * 100.0 / usable as f64)
}

fn vswitch_json(v: &VSwitch) -> Value {
    json!({
        "vswitch_id": v.vswitch_id,
        "name": v.vswitch_name,
        "vpc_id": v.vpc_id,
        "zone_id": v.zone_id,
        "cidr_block": v.cidr_block,
        "free_addresses": v.available_ip_address_count,
        "usable_addresses": cidr::usable_addresses(v.cidr_block),
        "status": v.status.to_string(),
        "is_default": v.is_default,
    })
}

async fn list_enis(
    client: &EcsClient,
    instance: Option<InstanceId>,
    vswitch: Option<VSwitchId>,
    progress: &Progress,
) -> Result<Vec<NetworkInterface>, BoxError> {
    match &instance {
        Some(i) => progress.say(format_args!("fetching the ENIs of {i}...")),
        None => progress.say("fetching ENIs..."),
    }
    let mut enis = token_pages(progress, "ENIs", |token| {
        let mut req = client.network_interfaces().describe().max_results(100);
        if let Some(i) = &instance {
            req = req.instance_id(i);
        }
        if let Some(v) = &vswitch {
            req = req.vswitch_id(v);
        }
        if let Some(t) = token {
            req = req.next_token(t);
        }
        async move {
            let p = req.send().await?;
            Ok::<_, BoxError>((p.network_interfaces, Some(p.next_token), p.total_count))
        }
    })
    .await?;
    // An instance's ENIs together, in device order; detached ones last.
    enis.sort_by(|a, b| {
        (a.instance_id.is_none(), &a.instance_id, a.device_index).cmp(&(b.instance_id.is_none(), &b.instance_id, b.device_index))
    });
    Ok(enis)
}

fn enis_table(enis: &[NetworkInterface]) -> Table {
    let mut t = Table::new(&[
        "ENI",
        "TYPE",
        "STATUS",
        "INSTANCE",
        "DEVICE",
        "VSWITCH",
        "PRIMARY IP",
        "SECONDARY IPS",
        "MAC",
    ])
    .right_align(&[4]);
    for e in enis {
        t.row(vec![
            e.id.to_string(),
            e.eni_type.to_string(),
            e.status.to_string(),
            or_dash(e.instance_id.as_ref()),
            or_dash(e.device_index),
            e.vswitch_id.to_string(),
            e.primary_ip.to_string(),
            address_list(&e.secondary_ips),
            e.mac.to_string(),
        ]);
    }
    t
}

/// Up to three addresses, then how many more (the JSON output has them all).
fn address_list(ips: &[std::net::Ipv4Addr]) -> String {
    match ips {
        [] => "-".to_owned(),
        _ if ips.len() <= 3 => ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        _ => format!("{},{} +{} more", ips[0], ips[1], ips.len() - 2),
    }
}

fn eni_json(e: &NetworkInterface) -> Value {
    let tags: serde_json::Map<String, Value> = e.tags.iter().map(|t| (t.key.clone(), json!(t.value))).collect();
    json!({
        "eni_id": e.id,
        "name": e.name,
        "type": e.eni_type.to_string(),
        "status": e.status.to_string(),
        "instance_id": e.instance_id,
        "device_index": e.device_index,
        "mac": e.mac,
        "vpc_id": e.vpc_id,
        "vswitch_id": e.vswitch_id,
        "zone_id": e.zone_id,
        "primary_ip": e.primary_ip,
        "secondary_ips": e.secondary_ips,
        "ipv6": e.ipv6,
        "security_group_ids": e.security_group_ids,
        "tags": tags,
        "creation_time": e.creation_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_parses_and_checks_ids() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["ack_net", "vswitches", "--vpc", "vpc-1", "--zone", "cn-hangzhou-h", "-o", "json"])
            .unwrap();
        assert_eq!(cli.output, Format::Json);
        assert!(matches!(cli.command, Command::Vswitches { vpc: Some(_), zone: Some(_) }));
        // Bad ids are refused by the parser, before anything starts.
        assert!(Cli::try_parse_from(["ack_net", "vswitches", "--vpc", "vsw-1"]).is_err());
        assert!(Cli::try_parse_from(["ack_net", "enis", "--instance", "eni-1"]).is_err());
        assert!(Cli::try_parse_from(["ack_net", "vpcs", "--region", "Hangzhou"]).is_err());
        let cli = Cli::try_parse_from(["ack_net", "--demo", "--no-demo", "lbs"]).unwrap();
        assert!(!cli.demo && cli.no_demo);
    }

    #[test]
    fn addresses_and_usage_read_compactly() {
        let ips: Vec<std::net::Ipv4Addr> = (1..=5).map(|i| std::net::Ipv4Addr::new(10, 0, 0, i)).collect();
        assert_eq!(address_list(&[]), "-");
        assert_eq!(address_list(&ips[..2]), "10.0.0.1,10.0.0.2");
        assert_eq!(address_list(&ips), "10.0.0.1,10.0.0.2 +3 more");
        assert_eq!(used_percent(252, 252), "0.0%");
        assert_eq!(used_percent(252, 189), "25.0%");
        assert_eq!(used_percent(0, 0), "-");
    }
}
