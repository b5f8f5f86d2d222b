//! Start the mock cloud and point a client at it, exactly as you would point an official
//! Alibaba Cloud SDK at it (endpoint `http://127.0.0.1:PORT`, AccessKey `testid`/`testsecret`).
//! Pass `--serve` to keep it running until Ctrl-C.
//!
//! ```sh
//! cargo run --example mock_server -- --serve
//! ```

use ack_net_core::{Credentials, ErrorInfo, RpcRequest, SignatureVersion};

use ack_net_eni::ECS;

use ack_net_examples::BoxError;
use ack_net_mock::MockCloud;
use ack_net_vpc::VPC;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mock = MockCloud::builder().seed(7).start().await?;
    println!("mock cloud listening at {}", mock.url());
    println!("  AccessKeyId testid, AccessKeySecret testsecret; VPC, ECS and SLB on one port\n");

    // Our client, once with each signature version.
    for version in [SignatureVersion::V1, SignatureVersion::V3] {
        let client = mock.client_builder().signature_version(version).build()?;
        let zones = client.call_value(RpcRequest::read(ECS, "DescribeZones")).await?;
        let n = zones["Zones"]["Zone"].as_array().map_or(0, Vec::len);
        println!("{version:?}: DescribeZones answered {n} zones of cn-hangzhou");
    }

    // A wrong secret is refused exactly as the cloud refuses it.
    let bad = mock.client_builder().credentials(Credentials::new("testid", "not-the-secret")).build()?;
    let err = bad.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap_err();
    println!("wrong secret: {}", err.code().unwrap_or("?"));

    println!("\npython: from aliyunsdkcore.client import AcsClient; from aliyunsdkcore.request import CommonRequest");
    println!("        r = CommonRequest(); r.set_domain('{}'); r.set_protocol_type('http')", mock.addr());
    if std::env::args().any(|a| a == "--serve") {
        println!("\nserving until Ctrl-C");
        tokio::signal::ctrl_c().await?;
    }
    mock.shutdown().await;
    Ok(())
}
