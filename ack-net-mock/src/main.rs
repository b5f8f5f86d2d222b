//! `ack-net-mock`: the mock cloud as a standalone server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ack_net_mock::{parse_duration, FaultSpec, MockCloud, Preload};
use clap::Parser;

/// A stateful, signature-checking mock of the Alibaba Cloud VPC, ECS and SLB APIs.
///
/// Point any client at the printed URL as its endpoint (all three products share it).
#[derive(Debug, Parser)]
#[command(name = "ack-net-mock", version)]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:18080")]
    listen: SocketAddr,
    /// An accepted AccessKey as ID:SECRET, or ID:SECRET:STS_TOKEN for a key that only works
    /// with that token. Repeatable. Default: testid:testsecret.
    #[arg(long = "credential", value_name = "ID:SECRET[:TOKEN]")]
    credentials: Vec<String>,
    /// An accepted SecurityToken for any key. Repeatable.
    #[arg(long = "sts-token", value_name = "TOKEN")]
    sts_tokens: Vec<String>,
    /// Seed for ids, addresses, MACs, request ids and fault decisions.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A JSON file of VPCs, VSwitches and instances to create at start.
    #[arg(long, value_name = "FILE")]
    preload: Option<PathBuf>,
    /// Create N ECS instances at start, with the ground the ack-net examples look for them on:
    /// a VPC named ack-net-examples (192.168.0.0/16), VSwitches in zones cn-hangzhou-h and
    /// cn-hangzhou-i, a security group; the instances (ecs.g7.xlarge) are in the first VSwitch.
    /// Their ids go to stderr.
    #[arg(long, value_name = "N", default_value_t = 0)]
    preload_instances: usize,
    /// Fault injection as ACTION=SPEC or *=SPEC, e.g. '*=throttle:0.2,5xx:0.05,latency:100ms'.
    /// Kinds: throttle:RATE, 5xx:RATE, latency:D or latency:D1-D2, drop:RATE, timeout:RATE[/D],
    /// lost:RATE[/D] (the call takes effect, its answer is lost).
    /// Repeatable.
    #[arg(long = "fault", value_name = "TARGET=SPEC")]
    faults: Vec<String>,
    /// How long ENIs stay Attaching (e.g. 500ms). Default: the ECS simulation's own.
    #[arg(long, value_parser = parse_duration)]
    attach_delay: Option<Duration>,
    /// How long ENIs stay Detaching (defaults to --attach-delay when only that is given).
    #[arg(long, value_parser = parse_duration)]
    detach_delay: Option<Duration>,
    /// How long new VPCs, VSwitches and route entries stay Pending.
    #[arg(long, value_parser = parse_duration, default_value = "0ms")]
    pending_delay: Duration,
    /// Materialize the state as Linux networking (VPCs as router namespaces, instances as
    /// namespaces, ENIs as links, security groups in nftables) inside a namespace sandbox of
    /// its own; the port stays on this machine. Linux, built with the `fabric` feature; needs
    /// nft (Debian package nftables). If it cannot start, the API serves without it.
    #[arg(long)]
    fabric: bool,
}

fn build(args: &Args) -> Result<ack_net_mock::MockCloudBuilder, String> {
    let mut b = MockCloud::builder().seed(args.seed).listen(args.listen).pending_delay(args.pending_delay);
    match (args.attach_delay, args.detach_delay) {
        (None, None) => {}
        (a, d) => {
            let a = a.or(d).unwrap_or_default();
            b = b.ecs_delays(a, d.unwrap_or(a));
        }
    }
    for c in &args.credentials {
        let parts: Vec<&str> = c.splitn(3, ':').collect();
        b = match parts.as_slice() {
            [id, secret] if !id.is_empty() && !secret.is_empty() => b.credentials(id, secret),
            [id, secret, token] if !id.is_empty() && !secret.is_empty() && !token.is_empty() => {
                b.sts_credentials(id, secret, token)
            }
            _ => return Err(format!("--credential wants ID:SECRET or ID:SECRET:TOKEN, got {:?}", redact(c))),
        };
    }
    for t in &args.sts_tokens {
        b = b.sts_token(t);
    }
    for f in &args.faults {
        let (target, spec) = f.split_once('=').ok_or_else(|| format!("--fault wants TARGET=SPEC, got {f:?}"))?;
        let spec: FaultSpec = spec.parse().map_err(|e| format!("--fault {f:?}: {e}"))?;
        b = b.fault(target.trim(), spec);
    }
    if let Some(path) = &args.preload {
        let text = std::fs::read_to_string(path).map_err(|e| format!("--preload {}: {e}", path.display()))?;
        let p: Preload = serde_json::from_str(&text).map_err(|e| format!("--preload {}: {e}", path.display()))?;
        b = b.preload(p);
    }
    Ok(b)
}

/// Keeps the id of a credential argument for an error message, never the secret.
fn redact(c: &str) -> String {
    match c.split_once(':') {
        Some((id, _)) => format!("{id}:***"),
        None => "***".into(),
    }
}

async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// With `--fabric`: binds the port on this machine's network, then enters the sandbox (the
/// process is still single-threaded here), and asks the builder for the fabric. Without the
/// sandbox the API still serves.
#[cfg(all(feature = "fabric", target_os = "linux"))]
fn with_fabric(args: &Args, b: ack_net_mock::MockCloudBuilder) -> Result<ack_net_mock::MockCloudBuilder, String> {
    let listener = std::net::TcpListener::bind(args.listen).map_err(|e| format!("binding {}: {e}", args.listen))?;
    let b = b.bound_listener(listener);
    match ack_net_mock::fabric::enter_sandbox() {
        Ok(()) => Ok(b.fabric(ack_net_mock::fabric::FabricConfig::default())),
        Err(e) => {
            eprintln!("ack-net-mock: no fabric: {e}");
            Ok(b)
        }
    }
}

#[cfg(not(all(feature = "fabric", target_os = "linux")))]
fn with_fabric(_args: &Args, b: ack_net_mock::MockCloudBuilder) -> Result<ack_net_mock::MockCloudBuilder, String> {
    eprintln!(
        "ack-net-mock: no fabric: it needs Linux and a build with the `fabric` feature (cargo build --features fabric)"
    );
    Ok(b)
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let builder = match build(&args).and_then(|b| if args.fabric { with_fabric(&args, b) } else { Ok(b) }) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ack-net-mock: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(serve(builder, args.preload_instances)),
        Err(e) => {
            eprintln!("ack-net-mock: starting the runtime: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn serve(builder: ack_net_mock::MockCloudBuilder, preload_instances: usize) -> std::process::ExitCode {
    let mock = match builder.start().await {
        Ok(m) => m,
        Err(e) => {
            eprintln!("ack-net-mock: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    if preload_instances > 0 {
        match mock.scenario().nodes(preload_instances).build() {
            Ok(made) => eprintln!(
                "ack-net-mock: preloaded VPC {} ({}) with instance(s) {}",
                made.vpc_id,
                ack_net_mock::NODES_VPC_NAME,
                made.instance_ids().iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
            Err(e) => {
                eprintln!("ack-net-mock: --preload-instances: {e}");
                return std::process::ExitCode::from(1);
            }
        }
    }
    #[cfg(all(feature = "fabric", target_os = "linux"))]
    if let Some(e) = mock.fabric_error() {
        eprintln!("ack-net-mock: no fabric: {e}");
    }
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ack-net-mock listening on {}", mock.url());
        let _ = out.flush();
    }
    stopped().await;
    eprintln!("ack-net-mock: shutting down");
    mock.shutdown().await;
    std::process::ExitCode::SUCCESS
}
