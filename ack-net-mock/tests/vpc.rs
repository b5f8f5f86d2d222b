//! The VPC product: VPCs, VSwitches, address accounting, route tables, tags, paging.

mod common;

use std::time::Duration;

use ack_net_core::{ErrorInfo, RpcRequest};

use ack_net_eni::ECS;

use ack_net_mock::MockCloud;
use ack_net_vpc::VPC;
use common::*;
use serde_json::Value;

fn read(action: &'static str) -> RpcRequest {
    RpcRequest::read(VPC, action)
}

#[tokio::test]
async fn vpc_and_vswitch_lifecycle() {
    let mock = MockCloud::builder().seed(9).start().await.unwrap();
    let c = client(&mock);
    let created: Value = c
        .call(
            RpcRequest::idempotent_write(VPC, "CreateVpc")
                .param("CidrBlock", "192.168.0.0/16")
                .param("VpcName", "demo")
                .param("EnableIpv6", true),
        )
        .await
        .unwrap();
    let vpc = created["VpcId"].as_str().unwrap().to_owned();
    assert!(created["VRouterId"].as_str().unwrap().starts_with("vrt-"));
    assert!(created["RouteTableId"].as_str().unwrap().starts_with("vtb-"));

    let d: Value = c.call(read("DescribeVpcs").param("VpcId", &vpc)).await.unwrap();
    let v = &d["Vpcs"]["Vpc"][0];
    assert_eq!(v["Status"], "Available");
    assert_eq!(v["CidrBlock"], "192.168.0.0/16");
    assert_eq!(v["VpcName"], "demo");
    assert!(v["Ipv6CidrBlock"].as_str().unwrap().ends_with("/56"), "{v}");

    let sw: Value = c
        .call(
            RpcRequest::idempotent_write(VPC, "CreateVSwitch")
                .param("VpcId", &vpc)
                .param("ZoneId", "cn-hangzhou-h")
                .param("CidrBlock", "192.168.1.0/24")
                .param("Ipv6CidrBlock", 3)
                .param("VSwitchName", "pods"),
        )
        .await
        .unwrap();
    let vsw = sw["VSwitchId"].as_str().unwrap().to_owned();
    let a: Value = c.call(read("DescribeVSwitchAttributes").param("VSwitchId", &vsw)).await.unwrap();
    assert_eq!(a["AvailableIpAddressCount"], 252);
    assert_eq!(a["ZoneId"], "cn-hangzhou-h");
    assert_eq!(a["VpcId"], vpc.as_str());
    assert!(
        a["Ipv6CidrBlock"].as_str().unwrap().ends_with(":3::/64")
            || a["Ipv6CidrBlock"].as_str().unwrap().ends_with("03::/64"),
        "{a}"
    );

    // Addresses taken by other products show in AvailableIpAddressCount.
    let ips = mock.with_state(|s| (0..10).map(|_| s.vpc.allocate_ipv4(&vsw, None).unwrap()).collect::<Vec<_>>());
    assert_eq!(ips[0].to_string(), "192.168.1.1");
    let l: Value = c.call(read("DescribeVSwitches").param("VpcId", &vpc)).await.unwrap();
    assert_eq!(l["VSwitches"]["VSwitch"][0]["AvailableIpAddressCount"], 242);

    // Delete refuses while addresses are in use, and the VPC while it has VSwitches.
    let del_sw = || RpcRequest::write(VPC, "DeleteVSwitch").param("VSwitchId", &vsw);
    assert_eq!(code(c.call_value(del_sw()).await), "DependencyViolation");
    let del_vpc = || RpcRequest::idempotent_write(VPC, "DeleteVpc").param("VpcId", &vpc);
    assert_eq!(code(c.call_value(del_vpc()).await), "DependencyViolation.VSwitch");
    mock.with_state(|s| ips.iter().for_each(|ip| s.vpc.release_ipv4(&vsw, *ip)));
    c.call_value(del_sw()).await.unwrap();
    assert_eq!(code(c.call_value(del_sw()).await), "InvalidVSwitchId.NotFound");
    c.call_value(del_vpc()).await.unwrap();
    let d: Value = c.call(read("DescribeVpcs")).await.unwrap();
    assert_eq!(d["TotalCount"], 0);
}

#[tokio::test]
async fn vswitch_validation() {
    let mock = MockCloud::start().await.unwrap();
    let c = client(&mock);
    let vpc = create_vpc(&c, "10.0.0.0/16").await;
    create_vswitch(&c, &vpc, "cn-hangzhou-h", "10.0.0.0/24").await;
    let try_sw = |zone: &str, cidr: &str, vpc: &str| {
        RpcRequest::idempotent_write(VPC, "CreateVSwitch")
            .param("VpcId", vpc)
            .param("ZoneId", zone)
            .param("CidrBlock", cidr)
    };
    assert_eq!(code(c.call_value(try_sw("cn-hangzhou-h", "10.0.0.128/25", &vpc)).await), "InvalidCidrBlock.Overlapped");
    assert_eq!(code(c.call_value(try_sw("cn-hangzhou-h", "10.1.0.0/24", &vpc)).await), "InvalidCidrBlock.Malformed");
    assert_eq!(code(c.call_value(try_sw("cn-hangzhou-h", "10.0.5.0/30", &vpc)).await), "InvalidCidrBlock.Malformed");
    assert_eq!(code(c.call_value(try_sw("cn-hangzhou-h", "10.0.5.1/24", &vpc)).await), "InvalidCidrBlock.Malformed");
    assert_eq!(code(c.call_value(try_sw("cn-hangzhou-z", "10.0.5.0/24", &vpc)).await), "InvalidZoneId.NotFound");
    assert_eq!(code(c.call_value(try_sw("cn-shanghai-b", "10.0.5.0/24", &vpc)).await), "InvalidZoneId.NotFound");
    assert_eq!(code(c.call_value(try_sw("cn-hangzhou-h", "10.0.5.0/24", "vpc-nope")).await), "InvalidVpcId.NotFound");
    let missing = RpcRequest::idempotent_write(VPC, "CreateVSwitch").param("VpcId", &vpc);
    assert!(code(c.call_value(missing).await).starts_with("MissingParameter"));
    let ipv6 = try_sw("cn-hangzhou-h", "10.0.6.0/24", &vpc).param("Ipv6CidrBlock", 1);
    assert_eq!(code(c.call_value(ipv6).await), "OperationFailed.VpcNotEnableIpv6");
    for bad in ["10.0.0.0/7", "100.64.0.0/16", "224.0.0.0/8", "not-a-cidr", "10.0.0.0/29"] {
        let r = RpcRequest::idempotent_write(VPC, "CreateVpc").param("CidrBlock", bad);
        assert_eq!(code(c.call_value(r).await), "InvalidCidrBlock.Malformed", "{bad}");
    }
}

#[tokio::test]
async fn slash29_is_exhausted_after_four_addresses() {
    let mock = MockCloud::start().await.unwrap();
    let c = client(&mock);
    let vpc = create_vpc(&c, "172.16.0.0/12").await;
    let vsw = create_vswitch(&c, &vpc, "cn-hangzhou-k", "172.16.0.8/29").await;
    let got = mock.with_state(|s| {
        let mut got = Vec::new();
        loop {
            match s.vpc.allocate_ipv4(&vsw, None) {
                Ok(ip) => got.push(ip.to_string()),
                Err(e) => return (got, e),
            }
        }
    });
    assert_eq!(got.0, ["172.16.0.9", "172.16.0.10", "172.16.0.11", "172.16.0.12"]);
    assert_eq!(got.1.code, "InvalidVSwitchId.IpNotEnough");
    assert_eq!(got.1.status, 403);
    let a: Value = c.call(read("DescribeVSwitchAttributes").param("VSwitchId", &vsw)).await.unwrap();
    assert_eq!(a["AvailableIpAddressCount"], 0);
    let taken = mock.with_state(|s| s.vpc.allocate_ipv4(&vsw, Some("172.16.0.10".parse().unwrap())).unwrap_err());
    assert_eq!(taken.code, "InvalidIp.IpAssigned");
    let reserved = mock.with_state(|s| {
        s.vpc.release_ipv4(&vsw, "172.16.0.10".parse().unwrap());
        s.vpc.allocate_ipv4(&vsw, Some("172.16.0.13".parse().unwrap())).unwrap_err()
    });
    assert_eq!(reserved.code, "InvalidVSwitchId.IpInvalid");
    let ipv6 = mock.with_state(|s| s.vpc.allocate_ipv6(&vsw).unwrap_err());
    assert_eq!(ipv6.code, "InvalidVSwitchId.Ipv6NotTurnOn");
}

#[tokio::test]
async fn describe_paging_limits_and_filters() {
    let mock = MockCloud::start().await.unwrap();
    let c = client(&mock);
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(create_vpc(&c, &format!("10.{i}.0.0/16")).await);
    }
    let d: Value = c.call(read("DescribeVpcs")).await.unwrap();
    assert_eq!(
        (d["TotalCount"].as_u64(), d["PageSize"].as_u64(), d["PageNumber"].as_u64()),
        (Some(12), Some(10), Some(1))
    );
    assert_eq!(d["Vpcs"]["Vpc"].as_array().unwrap().len(), 10);
    let d: Value = c.call(read("DescribeVpcs").param("PageNumber", 2)).await.unwrap();
    assert_eq!(d["Vpcs"]["Vpc"].as_array().unwrap().len(), 2);
    let d: Value = c.call(read("DescribeVpcs").param("PageSize", 50)).await.unwrap();
    let listed: Vec<&str> = d["Vpcs"]["Vpc"].as_array().unwrap().iter().map(|v| v["VpcId"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), 12);
    assert!(ids.iter().all(|id| listed.contains(&id.as_str())));
    assert_eq!(code(c.call_value(read("DescribeVpcs").param("PageSize", 51)).await), "InvalidParameter");
    assert_eq!(code(c.call_value(read("DescribeVpcs").param("PageNumber", 0)).await), "InvalidParameter");
    let d: Value = c.call(read("DescribeVpcs").param("VpcId", format!("{},{}", ids[0], ids[5]))).await.unwrap();
    assert_eq!(d["TotalCount"], 2);
    let d: Value = c.call(read("DescribeVpcs").param("RegionId", "cn-beijing")).await.unwrap();
    assert_eq!(d["TotalCount"], 0);

    for i in 0..12 {
        create_vswitch(
            &c,
            &ids[0],
            if i % 2 == 0 { "cn-hangzhou-h" } else { "cn-hangzhou-i" },
            &format!("10.0.{i}.0/24"),
        )
        .await;
    }
    let d: Value =
        c.call(read("DescribeVSwitches").param("VpcId", &ids[0]).param("ZoneId", "cn-hangzhou-i")).await.unwrap();
    assert_eq!(d["TotalCount"], 6);
    let d: Value = c
        .call(read("DescribeVSwitches").param("VpcId", &ids[0]).param("PageSize", 5).param("PageNumber", 3))
        .await
        .unwrap();
    assert_eq!(d["VSwitches"]["VSwitch"].as_array().unwrap().len(), 2);
    assert_eq!(code(c.call_value(read("DescribeVSwitches").param("PageSize", 100)).await), "InvalidParameter");
}

#[tokio::test]
async fn pending_then_available() {
    let mock = MockCloud::builder().pending_delay(Duration::from_millis(300)).start().await.unwrap();
    let c = client(&mock);
    let vpc = create_vpc(&c, "10.0.0.0/8").await;
    let status = |v: Value| v["Vpcs"]["Vpc"][0]["Status"].as_str().unwrap().to_owned();
    assert_eq!(status(c.call(read("DescribeVpcs").param("VpcId", &vpc)).await.unwrap()), "Pending");
    let early = RpcRequest::idempotent_write(VPC, "CreateVSwitch")
        .param("VpcId", &vpc)
        .param("ZoneId", "cn-hangzhou-h")
        .param("CidrBlock", "10.0.0.0/24");
    assert_eq!(code(c.call_value(early).await), "IncorrectVpcStatus");
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(status(c.call(read("DescribeVpcs").param("VpcId", &vpc)).await.unwrap()), "Available");
    let vsw = create_vswitch(&c, &vpc, "cn-hangzhou-h", "10.0.0.0/24").await;
    let a: Value = c.call(read("DescribeVSwitchAttributes").param("VSwitchId", &vsw)).await.unwrap();
    assert_eq!(a["Status"], "Pending");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let a: Value = c.call(read("DescribeVSwitchAttributes").param("VSwitchId", &vsw)).await.unwrap();
    assert_eq!(a["Status"], "Available");
}

#[tokio::test]
async fn route_tables_and_entries() {
    let mock = MockCloud::start().await.unwrap();
    let c = client(&mock);
    let vpc = create_vpc(&c, "10.0.0.0/8").await;
    create_vswitch(&c, &vpc, "cn-hangzhou-h", "10.1.0.0/16").await;
    let t: Value = c.call(read("DescribeRouteTableList").param("VpcId", &vpc)).await.unwrap();
    let table = &t["RouterTableList"]["RouterTableListType"][0];
    assert_eq!(table["RouteTableType"], "System");
    let rtb = table["RouteTableId"].as_str().unwrap().to_owned();

    let entry = |dest: &str| {
        RpcRequest::write(VPC, "CreateRouteEntry")
            .param("RouteTableId", &rtb)
            .param("DestinationCidrBlock", dest)
            .param("NextHopType", "NetworkInterface")
            .param("NextHopId", "eni-bp1abc")
    };
    let mut ids = Vec::new();
    for i in 0..15 {
        let r: Value = c.call(entry(&format!("172.20.{i}.0/24"))).await.unwrap();
        ids.push(r["RouteEntryId"].as_str().unwrap().to_owned());
    }
    assert_eq!(code(c.call_value(entry("172.20.3.0/24")).await), "RouterEntryConflict.Duplicated");
    assert_eq!(code(c.call_value(entry("10.1.2.0/24")).await), "InvalidCIDRBlock.Duplicate");
    assert_eq!(code(c.call_value(entry("172.20.3.1/24")).await), "InvalidDestinationCidrBlock.Malformed");
    let unknown = entry("172.30.0.0/16").param("NextHopType", "Instance").param("NextHopId", "i-nope");
    assert_eq!(code(c.call_value(unknown).await), "InvalidInstanceId.NotFound");

    // NextToken paging over custom and system entries.
    let list = |token: Option<String>| {
        read("DescribeRouteEntryList").param("RouteTableId", &rtb).param("MaxResult", 7).opt_param("NextToken", token)
    };
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page: Value = c.call(list(token.clone())).await.unwrap();
        for e in page["RouteEntrys"]["RouteEntry"].as_array().unwrap() {
            seen.push(e["RouteEntryId"].as_str().unwrap().to_owned());
        }
        match page["NextToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    assert_eq!(seen.len(), 17); // 15 custom + 100.64.0.0/10 + the VSwitch's
    assert!(ids.iter().all(|id| seen.contains(id)));
    let custom: Value = c
        .call(
            read("DescribeRouteEntryList")
                .param("RouteTableId", &rtb)
                .param("RouteEntryType", "Custom")
                .param("MaxResult", 100),
        )
        .await
        .unwrap();
    let first = &custom["RouteEntrys"]["RouteEntry"][0];
    assert_eq!(first["NextHops"]["NextHop"][0]["NextHopType"], "NetworkInterface");
    assert_eq!(code(c.call_value(list(None).param("MaxResult", 101)).await), "InvalidParameter");
    assert_eq!(code(c.call_value(list(Some("bogus".into()))).await), "InvalidNextToken");

    // Delete by id and by destination; the VPC cannot go while custom entries remain.
    let del = RpcRequest::write(VPC, "DeleteRouteEntry").param("RouteEntryId", &ids[0]);
    c.call_value(del).await.unwrap();
    let del = RpcRequest::write(VPC, "DeleteRouteEntry")
        .param("RouteTableId", &rtb)
        .param("DestinationCidrBlock", "172.20.1.0/24");
    c.call_value(del).await.unwrap();
    let del = RpcRequest::write(VPC, "DeleteRouteEntry").param("RouteEntryId", &ids[0]);
    assert_eq!(code(c.call_value(del).await), "InvalidRouteEntry.NotFound");
    let custom: Value = c
        .call(
            read("DescribeRouteEntryList")
                .param("RouteTableId", &rtb)
                .param("RouteEntryType", "Custom")
                .param("MaxResult", 100),
        )
        .await
        .unwrap();
    assert_eq!(custom["TotalCount"], 13);
}

#[tokio::test]
async fn tags_on_vpcs_and_vswitches() {
    let mock = MockCloud::start().await.unwrap();
    let c = client(&mock);
    let vpc = create_vpc(&c, "10.0.0.0/8").await;
    let other = create_vpc(&c, "192.168.0.0/16").await;
    let vsw = create_vswitch(&c, &vpc, "cn-hangzhou-h", "10.0.0.0/16").await;
    let mut tag = RpcRequest::write(VPC, "TagResources").param("ResourceType", "VPC").param("ResourceId.1", &vpc);
    tag.params_mut().tags("Tag", "Key", "Value", [("team", "net"), ("env", "test")]);
    c.call_value(tag).await.unwrap();
    let mut tag = RpcRequest::write(VPC, "TagResources").param("ResourceType", "VSWITCH").param("ResourceId.1", &vsw);
    tag.params_mut().tags("Tag", "Key", "Value", [("team", "net")]);
    c.call_value(tag).await.unwrap();

    let mut q = read("DescribeVpcs");
    q.params_mut().tags("Tag", "Key", "Value", [("team", "net")]);
    let d: Value = c.call(q).await.unwrap();
    assert_eq!(d["TotalCount"], 1);
    assert_eq!(d["Vpcs"]["Vpc"][0]["VpcId"], vpc.as_str());
    assert_eq!(d["Vpcs"]["Vpc"][0]["Tags"]["Tag"].as_array().unwrap().len(), 2);

    let l: Value = c
        .call(
            read("ListTagResources")
                .param("ResourceType", "VPC")
                .param("ResourceId.1", &vpc)
                .param("ResourceId.2", &other),
        )
        .await
        .unwrap();
    assert_eq!(l["TagResources"]["TagResource"].as_array().unwrap().len(), 2);
    let untag = RpcRequest::write(VPC, "UntagResources")
        .param("ResourceType", "VPC")
        .param("ResourceId.1", &vpc)
        .param("TagKey.1", "env");
    c.call_value(untag).await.unwrap();
    let l: Value =
        c.call(read("ListTagResources").param("ResourceType", "VPC").param("ResourceId.1", &vpc)).await.unwrap();
    assert_eq!(l["TagResources"]["TagResource"][0]["TagKey"], "team");
    let bad = RpcRequest::write(VPC, "TagResources")
        .param("ResourceType", "VPC")
        .param("ResourceId.1", "vpc-nope")
        .param("Tag.1.Key", "k");
    assert_eq!(code(c.call_value(bad).await), "InvalidVpcId.NotFound");
}

#[tokio::test]
async fn concurrent_creates_stay_consistent() {
    let mock = MockCloud::builder().seed(5).start().await.unwrap();
    let c = client(&mock);
    let vpc = create_vpc(&c, "10.0.0.0/8").await;
    // 64 callers race for 16 CIDRs: each CIDR is won exactly once.
    let mut tasks = Vec::new();
    for i in 0..64 {
        let c = c.clone();
        let vpc = vpc.clone();
        tasks.push(tokio::spawn(async move {
            let r = RpcRequest::idempotent_write(VPC, "CreateVSwitch")
                .param("VpcId", vpc)
                .param("ZoneId", "cn-hangzhou-h")
                .param("CidrBlock", format!("10.{}.0.0/16", i % 16));
            c.call_value(r).await.map(|v| v["VSwitchId"].as_str().unwrap().to_owned())
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e.code(), Some("InvalidCidrBlock.Overlapped")),
        }
    }
    assert_eq!(won, 16);

    // Many threads allocating from one VSwitch never get one address twice.
    let vsw = mock.with_state(|s| s.vpc.vswitches.keys().next().unwrap().clone());
    let mock = std::sync::Arc::new(mock);
    let mut threads = Vec::new();
    for _ in 0..8 {
        let mock = mock.clone();
        let vsw = vsw.clone();
        threads.push(std::thread::spawn(move || {
            (0..500).map(|_| mock.with_state(|s| s.vpc.allocate_ipv4(&vsw, None).unwrap())).collect::<Vec<_>>()
        }));
    }
    let mut all: Vec<_> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n);
    assert_eq!(n, 4000);
}

#[tokio::test]
async fn concurrent_enis_never_share_an_address() {
    let mock = MockCloud::builder().seed(8).start().await.unwrap();
    let c = client(&mock);
    let vpc = create_vpc(&c, "10.0.0.0/8").await;
    let vsw = create_vswitch(&c, &vpc, "cn-hangzhou-h", "10.0.0.0/24").await;
    let sg: Value =
        c.call(RpcRequest::idempotent_write(ECS, "CreateSecurityGroup").param("VpcId", &vpc)).await.unwrap();
    let sg = sg["SecurityGroupId"].as_str().unwrap().to_owned();
    // 64 callers want 6 addresses each (384) from a /24 that offers 252.
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let c = c.clone();
        let (vsw, sg) = (vsw.clone(), sg.clone());
        tasks.push(tokio::spawn(async move {
            let r = RpcRequest::idempotent_write(ECS, "CreateNetworkInterface")
                .param("VSwitchId", vsw)
                .param("SecurityGroupId", sg)
                .param("SecondaryPrivateIpAddressCount", 5);
            c.call_value(r).await
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(e) => assert_eq!(e.code(), Some("InvalidVSwitchId.IpNotEnough"), "{e}"),
        }
    }
    assert_eq!(created, 42); // 42 * 6 = 252
    let mut ips = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page: Value = c
            .call(
                RpcRequest::read(ECS, "DescribeNetworkInterfaces")
                    .param("VSwitchId", &vsw)
                    .param("MaxResults", 500)
                    .opt_param("NextToken", token.clone()),
            )
            .await
            .unwrap();
        for eni in page["NetworkInterfaceSets"]["NetworkInterfaceSet"].as_array().unwrap() {
            for ip in eni["PrivateIpSets"]["PrivateIpSet"].as_array().unwrap() {
                ips.push(ip["PrivateIpAddress"].as_str().unwrap().to_owned());
            }
        }
        match page["NextToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    let n = ips.len();
    ips.sort();
    ips.dedup();
    assert_eq!((n, ips.len()), (252, 252));
    let a: Value = c.call(read("DescribeVSwitchAttributes").param("VSwitchId", &vsw)).await.unwrap();
    assert_eq!(a["AvailableIpAddressCount"], 0);
}
