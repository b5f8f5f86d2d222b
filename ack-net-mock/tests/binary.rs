//! Runs the `ack-net-mock` binary, not only the library.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use ack_net_core::{Credentials, ErrorInfo, RpcRequest};

use ack_net_eni::ECS;

use ack_net_vpc::VPC;
use serde_json::Value;

/// Kills the child even when an assertion fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary; answers it and the URL it printed on its first line.
async fn start(mut cmd: Command) -> (Child, String) {
    let mut child = Child(cmd.stdout(Stdio::piped()).spawn().expect("spawn ack-net-mock"));
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).expect("URL on stdout").to_owned();
    (child, url)
}

#[tokio::test]
async fn binary_serves_signed_calls() {
    let dir = std::env::temp_dir().join(format!("ack-net-mock-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let preload = dir.join("preload.json");
    std::fs::write(
        &preload,
        r#"{"vpcs": [{"RegionId": "cn-hangzhou", "CidrBlock": "10.0.0.0/8", "VpcId": "vpc-preloaded"}],
            "vswitches": [{"VpcId": "vpc-preloaded", "ZoneId": "cn-hangzhou-h", "CidrBlock": "10.1.0.0/16"}]}"#,
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ack-net-mock"));
    cmd.args(["--listen", "127.0.0.1:0", "--credential", "binid:binsecret", "--seed", "4"])
        .args(["--fault", "DescribeVSwitches=throttle:1"])
        .arg("--preload")
        .arg(&preload)
        .stderr(Stdio::null());
    let (mut child, url) = start(cmd).await;

    let c = ack_net_mock::client_builder_at(&url).credentials(Credentials::new("binid", "binsecret")).build().unwrap();
    let v: Value = c.call(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap();
    assert_eq!(v["Vpcs"]["Vpc"][0]["VpcId"], "vpc-preloaded");
    let e = c.call_value(RpcRequest::read(VPC, "DescribeVSwitches")).await.unwrap_err();
    assert_eq!(e.code(), Some("Throttling.User"));
    let wrong = ack_net_mock::client_builder_at(&url).build().unwrap();
    assert_eq!(
        common::code(wrong.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await),
        "InvalidAccessKeyId.NotFound"
    );

    // SIGTERM (where there is one) stops it cleanly.
    #[cfg(unix)]
    {
        let pid = child.0.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let exit = tokio::task::spawn_blocking(move || {
            let s = child.0.wait();
            (s, child)
        })
        .await
        .unwrap();
        assert!(exit.0.unwrap().success());
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// `--fabric` keeps the port on this machine's network (it is bound before the process enters
/// its sandbox), and the API serves whether or not the fabric could start; the binary says
/// which on stderr.
#[tokio::test]
async fn binary_with_fabric_serves_on_this_machine() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ack-net-mock"));
    cmd.args(["--listen", "127.0.0.1:0", "--fabric"]).stderr(Stdio::piped());
    let (mut child, url) = start(cmd).await;
    let c = ack_net_mock::client_builder_at(&url).build().unwrap();
    let v: Value = c.call(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap();
    assert!(v.get("RequestId").is_some());
    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut err).unwrap();
    if cfg!(all(feature = "fabric", target_os = "linux")) {
        assert!(!err.contains("no fabric"), "the fabric started: {err}");
    } else {
        assert!(err.contains("no fabric") && err.contains("fabric` feature"), "{err}");
    }
}

#[tokio::test]
async fn binary_preloads_instances_that_describe_instances_finds_in_their_vpc() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ack-net-mock"));
    cmd.args(["--listen", "127.0.0.1:0", "--preload-instances", "2"]).stderr(Stdio::null());
    let (_child, url) = start(cmd).await;
    let c = ack_net_mock::client_builder_at(&url).build().unwrap();
    let vpcs: Value =
        c.call(RpcRequest::read(VPC, "DescribeVpcs").param("VpcName", ack_net_mock::NODES_VPC_NAME)).await.unwrap();
    let vpc = vpcs["Vpcs"]["Vpc"][0]["VpcId"].as_str().expect("the preloaded VPC").to_owned();
    let found: Value = c.call(RpcRequest::read(ECS, "DescribeInstances").param("VpcId", vpc.as_str())).await.unwrap();
    let instances = found["Instances"]["Instance"].as_array().unwrap();
    assert_eq!(instances.len(), 2, "{found}");
    assert!(instances
        .iter()
        .all(|i| i["InstanceType"] == ack_net_mock::NODE_INSTANCE_TYPE && i["Status"] == "Running"));
    let groups: Value =
        c.call(RpcRequest::read(ECS, "DescribeSecurityGroups").param("VpcId", vpc.as_str())).await.unwrap();
    assert_eq!(groups["SecurityGroups"]["SecurityGroup"].as_array().map(Vec::len), Some(1), "{groups}");
}
