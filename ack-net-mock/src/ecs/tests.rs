//! Unit tests of the ECS handlers, called directly on a `State`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::*;
use crate::vpc::{create_vpc, create_vswitch, NewVSwitch, NewVpc};

const R: &str = "cn-hangzhou";
const Z: &str = "cn-hangzhou-h";

struct World {
    state: State,
    vpc: String,
    vsw: String,
    vsw6: String,
    sg: String,
    instance: String,
}

fn call(state: &mut State, action: &str, params: &[(&str, &str)]) -> HandlerResult {
    let mut p: Vec<(&str, &str)> = vec![("RegionId", R)];
    p.extend_from_slice(params);
    let req = Req::new(action, VERSION, &p);
    handle(state, &req).expect("an ECS action")
}

fn call_at(state: &mut State, now: Instant, action: &str, params: &[(&str, &str)]) -> HandlerResult {
    let mut p: Vec<(&str, &str)> = vec![("RegionId", R)];
    p.extend_from_slice(params);
    let mut req = Req::new(action, VERSION, &p);
    req.now = now;
    handle(state, &req).expect("an ECS action")
}

fn world_with(instance_type: &str) -> World {
    let mut state = State::new(7);
    let now = Instant::now();
    let vpc = create_vpc(
        &mut state,
        now,
        NewVpc {
            region_id: R.into(),
            cidr_block: Some("192.168.0.0/16".into()),
            enable_ipv6: true,
            ..NewVpc::default()
        },
    )
    .unwrap();
    let vsw = create_vswitch(
        &mut state,
        now,
        NewVSwitch {
            vpc_id: vpc.clone(),
            zone_id: Z.into(),
            cidr_block: "192.168.1.0/24".into(),
            ..NewVSwitch::default()
        },
    )
    .unwrap();
    let vsw6 = create_vswitch(
        &mut state,
        now,
        NewVSwitch {
            vpc_id: vpc.clone(),
            zone_id: Z.into(),
            cidr_block: "192.168.2.0/24".into(),
            ipv6_index: Some(2),
            ..NewVSwitch::default()
        },
    )
    .unwrap();
    let sg = call(&mut state, "CreateSecurityGroup", &[("VpcId", &vpc), ("SecurityGroupName", "pods")]).unwrap()
        ["SecurityGroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    let inst = create_instance(
        &mut state,
        InstanceSeed {
            region_id: R.into(),
            zone_id: Z.into(),
            instance_type: instance_type.into(),
            vswitch_id: vsw.clone(),
            security_group_ids: vec![sg.clone()],
            instance_id: None,
        },
    )
    .unwrap();
    let instance = inst["InstanceId"].as_str().unwrap().to_owned();
    World { state, vpc, vsw, vsw6, sg, instance }
}

fn world() -> World {
    world_with("ecs.g7.large")
}

fn create_eni(w: &mut World, extra: &[(&str, &str)]) -> Value {
    let (vsw, sg) = (w.vsw.clone(), w.sg.clone());
    let mut p = vec![("VSwitchId", vsw.as_str()), ("SecurityGroupId", sg.as_str())];
    p.extend_from_slice(extra);
    call(&mut w.state, "CreateNetworkInterface", &p).unwrap()
}

fn id_of(v: &Value) -> String {
    v["NetworkInterfaceId"].as_str().unwrap().to_owned()
}

fn status(w: &mut World, now: Instant, id: &str) -> String {
    let v = call_at(&mut w.state, now, "DescribeNetworkInterfaceAttribute", &[("NetworkInterfaceId", id)]).unwrap();
    v["Status"].as_str().unwrap().to_owned()
}

#[test]
fn instance_has_a_primary_eni() {
    let mut w = world();
    assert!(w.state.ecs.instance_exists(&w.instance));
    let inst = w.instance.clone();
    let v = call(&mut w.state, "DescribeNetworkInterfaces", &[("InstanceId", &inst)]).unwrap();
    let set = &v["NetworkInterfaceSets"]["NetworkInterfaceSet"];
    assert_eq!(set.as_array().unwrap().len(), 1);
    assert_eq!(set[0]["Type"], "Primary");
    assert_eq!(set[0]["Status"], "InUse");
    assert_eq!(set[0]["Attachment"]["DeviceIndex"], 0);
    assert_eq!(set[0]["PrivateIpAddress"], "192.168.1.1");
    let v = call(&mut w.state, "DescribeInstances", &[("InstanceIds", &format!("[\"{inst}\"]"))]).unwrap();
    assert_eq!(v["Instances"]["Instance"][0]["InstanceType"], "ecs.g7.large");
    assert_eq!(v["TotalCount"], 1);
}

#[test]
fn create_eni_with_addresses_and_tags() {
    let mut w = world();
    let v = create_eni(
        &mut w,
        &[
            ("SecondaryPrivateIpAddressCount", "3"),
            ("Tag.1.Key", "owner"),
            ("Tag.1.Value", "ack-net"),
            ("NetworkInterfaceName", "pods-1"),
            ("Description", "for pods"),
        ],
    );
    assert_eq!(v["Status"], "Available");
    assert_eq!(v["Type"], "Secondary");
    assert!(v["MacAddress"].as_str().unwrap().starts_with("00:16:3e:"));
    let ips = v["PrivateIpSets"]["PrivateIpSet"].as_array().unwrap();
    assert_eq!(ips.len(), 4);
    assert_eq!(ips[0]["Primary"], true);
    assert_eq!(v["Tags"]["Tag"][0]["TagKey"], "owner");
    let id = id_of(&v);
    let ip: Ipv4Addr = ips[2]["PrivateIpAddress"].as_str().unwrap().parse().unwrap();
    assert!(w.state.ecs.eni_has_ip(&id, IpAddr::V4(ip)));
    assert_eq!(w.state.vpc.vswitch_entry(&w.vsw).unwrap().pool4.used(), 5, "instance primary + 4");

    let v =
        call(&mut w.state, "DescribeNetworkInterfaces", &[("Tag.1.Key", "owner"), ("Tag.1.Value", "ack-net")]).unwrap();
    assert_eq!(v["NetworkInterfaceSets"]["NetworkInterfaceSet"][0]["NetworkInterfaceId"], id.as_str());
    let v =
        call(&mut w.state, "DescribeNetworkInterfaces", &[("Tag.1.Key", "owner"), ("Tag.1.Value", "other")]).unwrap();
    assert_eq!(v["TotalCount"], 0);
    let v = call(&mut w.state, "DescribeNetworkInterfaces", &[("PrivateIpAddress.1", &ip.to_string())]).unwrap();
    assert_eq!(v["TotalCount"], 1);

    // Specific addresses, and conflicts.
    let v = create_eni(&mut w, &[("PrimaryIpAddress", "192.168.1.100"), ("PrivateIpAddress.1", "192.168.1.101")]);
    assert_eq!(v["PrivateIpAddress"], "192.168.1.100");
    let (vsw, sg) = (w.vsw.clone(), w.sg.clone());
    let e = call(
        &mut w.state,
        "CreateNetworkInterface",
        &[("VSwitchId", &vsw), ("SecurityGroupId", &sg), ("PrimaryIpAddress", "192.168.1.101")],
    )
    .unwrap_err();
    assert_eq!(e.code, "InvalidIp.IpAssigned");
    let e = call(
        &mut w.state,
        "CreateNetworkInterface",
        &[("VSwitchId", &vsw), ("SecurityGroupId", &sg), ("PrimaryIpAddress", "10.0.0.1")],
    )
    .unwrap_err();
    assert_eq!(e.code, "InvalidVSwitchId.IpInvalid");
}

#[test]
fn create_eni_refuses_bad_references() {
    let mut w = world();
    let (vsw, sg, vpc) = (w.vsw.clone(), w.sg.clone(), w.vpc.clone());
    let e = call(&mut w.state, "CreateNetworkInterface", &[("VSwitchId", "vsw-nope"), ("SecurityGroupId", &sg)])
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (404, "InvalidVSwitchId.NotFound"));
    let e = call(&mut w.state, "CreateNetworkInterface", &[("VSwitchId", &vsw)]).unwrap_err();
    assert_eq!(e.code, "MissingParameter.SecurityGroupId");
    let e = call(&mut w.state, "CreateNetworkInterface", &[("VSwitchId", &vsw), ("SecurityGroupIds.1", "sg-nope")])
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (404, "InvalidSecurityGroupId.NotFound"));
    // A group of another VPC.
    let other = create_vpc(
        &mut w.state,
        Instant::now(),
        NewVpc { region_id: R.into(), cidr_block: Some("10.0.0.0/8".into()), ..NewVpc::default() },
    )
    .unwrap();
    let other_sg = call(&mut w.state, "CreateSecurityGroup", &[("VpcId", &other)]).unwrap()["SecurityGroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    let e = call(&mut w.state, "CreateNetworkInterface", &[("VSwitchId", &vsw), ("SecurityGroupId", &other_sg)])
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "InvalidOperation.VpcMismatch"));
    // IPv6 on a VSwitch without IPv6.
    let e = call(
        &mut w.state,
        "CreateNetworkInterface",
        &[("VSwitchId", &vsw), ("SecurityGroupId", &sg), ("Ipv6AddressCount", "1")],
    )
    .unwrap_err();
    assert_eq!(e.code, "InvalidVSwitch.Ipv6NotTurnOn");
    let _ = vpc;
}

#[test]
fn attach_detach_are_asynchronous() {
    let mut w = world();
    w.state.ecs.set_delays(Duration::from_secs(2), Duration::from_secs(3));
    let id = id_of(&create_eni(&mut w, &[]));
    let inst = w.instance.clone();
    let t0 = Instant::now();
    call_at(&mut w.state, t0, "AttachNetworkInterface", &[("NetworkInterfaceId", &id), ("InstanceId", &inst)]).unwrap();
    assert_eq!(status(&mut w, t0, &id), "Attaching");
    // Attaching: cannot attach again, delete or detach.
    let e = call_at(&mut w.state, t0, "DeleteNetworkInterface", &[("NetworkInterfaceId", &id)]).unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "InvalidOperation.InvalidEniState"));
    let t1 = t0 + Duration::from_secs(2);
    assert_eq!(status(&mut w, t1, &id), "InUse");
    let v = call_at(&mut w.state, t1, "DescribeNetworkInterfaceAttribute", &[("NetworkInterfaceId", &id)]).unwrap();
    assert_eq!(v["Attachment"]["DeviceIndex"], 1);
    assert_eq!(v["InstanceId"], inst.as_str());
    let e = call_at(&mut w.state, t1, "DeleteNetworkInterface", &[("NetworkInterfaceId", &id)]).unwrap_err();
    assert_eq!(e.code, "InvalidOperation.InvalidEniState");

    call_at(&mut w.state, t1, "DetachNetworkInterface", &[("NetworkInterfaceId", &id), ("InstanceId", &inst)]).unwrap();
    assert_eq!(status(&mut w, t1 + Duration::from_secs(2), &id), "Detaching");
    let t2 = t1 + Duration::from_secs(3);
    assert_eq!(status(&mut w, t2, &id), "Available");
    call_at(&mut w.state, t2, "DeleteNetworkInterface", &[("NetworkInterfaceId", &id)]).unwrap();
    let e = call_at(&mut w.state, t2, "DescribeNetworkInterfaceAttribute", &[("NetworkInterfaceId", &id)]).unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (404, "InvalidEniId.NotFound"));
    assert_eq!(w.state.vpc.vswitch_entry(&w.vsw).unwrap().pool4.used(), 1, "addresses went back to the VSwitch");
}

#[test]
fn attach_limits() {
    let mut w = world(); // ecs.g7.large: 3 ENIs
    w.state.ecs.set_delays(Duration::ZERO, Duration::ZERO);
    let inst = w.instance.clone();
    for _ in 0..2 {
        let id = id_of(&create_eni(&mut w, &[]));
        call(&mut w.state, "AttachNetworkInterface", &[("NetworkInterfaceId", &id), ("InstanceId", &inst)]).unwrap();
    }
    let id = id_of(&create_eni(&mut w, &[]));
    let e = call(&mut w.state, "AttachNetworkInterface", &[("NetworkInterfaceId", &id), ("InstanceId", &inst)])
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "EniPerInstanceLimitExceeded"));
    let e = call(&mut w.state, "AttachNetworkInterface", &[("NetworkInterfaceId", &id), ("InstanceId", "i-nope")])
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (404, "InvalidEcsId.NotFound"));
    // The primary ENI cannot be detached.
    let primary = w.state.ecs.instances[&inst].primary_eni.clone();
    let e = call(&mut w.state, "DetachNetworkInterface", &[("NetworkInterfaceId", &primary), ("InstanceId", &inst)])
        .unwrap_err();
    assert_eq!(e.code, "InvalidOperation.DetachPrimaryEniNotAllowed");
    // Too many addresses for the instance type (6 per ENI on g7.large).
    let mut w = world();
    let inst = w.instance.clone();
    let big = id_of(&create_eni(&mut w, &[("SecondaryPrivateIpAddressCount", "6")]));
    let e = call(&mut w.state, "AttachNetworkInterface", &[("NetworkInterfaceId", &big), ("InstanceId", &inst)])
        .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "InvalidOperation.Ipv4CountExceeded"));
    // More than an unattached ENI holds.
    let (vsw, sg) = (w.vsw.clone(), w.sg.clone());
    let e = call(
        &mut w.state,
        "CreateNetworkInterface",
        &[("VSwitchId", &vsw), ("SecurityGroupId", &sg), ("SecondaryPrivateIpAddressCount", "11")],
    )
    .unwrap_err();
    assert_eq!(e.code, "InvalidOperation.Ipv4CountExceeded");
}

#[test]
fn attach_refuses_another_zone() {
    let mut w = world();
    let vsw_g = create_vswitch(
        &mut w.state,
        Instant::now(),
        NewVSwitch {
            vpc_id: w.vpc.clone(),
            zone_id: "cn-hangzhou-g".into(),
            cidr_block: "192.168.9.0/24".into(),
            ..NewVSwitch::default()
        },
    )
    .unwrap();
    let sg = w.sg.clone();
    let id = id_of(
        &call(&mut w.state, "CreateNetworkInterface", &[("VSwitchId", &vsw_g), ("SecurityGroupId", &sg)]).unwrap(),
    );
    let inst = w.instance.clone();
    let e = call(&mut w.state, "AttachNetworkInterface", &[("NetworkInterfaceId", &id), ("InstanceId", &inst)])
        .unwrap_err();
    assert_eq!(e.code, "InvalidOperation.AvailabilityZoneMismatch");
}

#[test]
fn secondary_ipv4_quota() {
    let mut w = world(); // 6 per ENI: 5 secondaries when attached
    w.state.ecs.set_delays(Duration::ZERO, Duration::ZERO);
    let id = id_of(&create_eni(&mut w, &[]));
    let e = call(
        &mut w.state,
        "AssignPrivateIpAddresses",
        &[("NetworkInterfaceId", &id), ("SecondaryPrivateIpAddressCount", "11")],
    )
    .unwrap_err();
    assert_eq!(e.code, "InvalidParameter");
    let v = call(
        &mut w.state,
        "AssignPrivateIpAddresses",
        &[("NetworkInterfaceId", &id), ("SecondaryPrivateIpAddressCount", "3")],
    )
    .unwrap();
    let got = v["AssignedPrivateIpAddressesSet"]["PrivateIpSet"]["PrivateIpAddress"].as_array().unwrap().clone();
    assert_eq!(got.len(), 3);
    let inst = w.instance.clone();
    call(&mut w.state, "AttachNetworkInterface", &[("NetworkInterfaceId", &id), ("InstanceId", &inst)]).unwrap();
    call(
        &mut w.state,
        "AssignPrivateIpAddresses",
        &[("NetworkInterfaceId", &id), ("SecondaryPrivateIpAddressCount", "2")],
    )
    .unwrap();
    let e = call(
        &mut w.state,
        "AssignPrivateIpAddresses",
        &[("NetworkInterfaceId", &id), ("SecondaryPrivateIpAddressCount", "1")],
    )
    .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "InvalidOperation.Ipv4CountExceeded"));

    let ip = got[0].as_str().unwrap();
    call(&mut w.state, "UnassignPrivateIpAddresses", &[("NetworkInterfaceId", &id), ("PrivateIpAddress.1", ip)])
        .unwrap();
    let e =
        call(&mut w.state, "UnassignPrivateIpAddresses", &[("NetworkInterfaceId", &id), ("PrivateIpAddress.1", ip)])
            .unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (403, "InvalidIp.IpUnassigned"));
    assert!(!w.state.ecs.eni_has_ip(&id, ip.parse().unwrap()));
    // A specific address back again.
    call(&mut w.state, "AssignPrivateIpAddresses", &[("NetworkInterfaceId", &id), ("PrivateIpAddress.1", ip)]).unwrap();
    assert!(w.state.ecs.eni_has_ip(&id, ip.parse().unwrap()));
}

#[test]
fn ipv6_addresses() {
    let mut w = world();
    let (vsw6, sg) = (w.vsw6.clone(), w.sg.clone());
    let v = call(
        &mut w.state,
        "CreateNetworkInterface",
        &[("VSwitchId", &vsw6), ("SecurityGroupId", &sg), ("Ipv6AddressCount", "2")],
    )
    .unwrap();
    assert_eq!(v["Ipv6Sets"]["Ipv6Set"].as_array().unwrap().len(), 2);
    let id = id_of(&v);
    let v =
        call(&mut w.state, "AssignIpv6Addresses", &[("NetworkInterfaceId", &id), ("Ipv6AddressCount", "1")]).unwrap();
    let ip = v["Ipv6Sets"]["Ipv6Address"][0].as_str().unwrap().to_owned();
    assert!(w.state.ecs.eni_has_ip(&id, ip.parse().unwrap()));
    call(&mut w.state, "UnassignIpv6Addresses", &[("NetworkInterfaceId", &id), ("Ipv6Address.1", &ip)]).unwrap();
    let e = call(&mut w.state, "UnassignIpv6Addresses", &[("NetworkInterfaceId", &id), ("Ipv6Address.1", &ip)])
        .unwrap_err();
    assert_eq!(e.code, "InvalidIp.IpUnassigned");
    call(&mut w.state, "AssignIpv6Addresses", &[("NetworkInterfaceId", &id), ("Ipv6Address.1", &ip)]).unwrap();
    // No IPv6 on the plain VSwitch.
    let plain = id_of(&create_eni(&mut w, &[]));
    let e = call(&mut w.state, "AssignIpv6Addresses", &[("NetworkInterfaceId", &plain), ("Ipv6AddressCount", "1")])
        .unwrap_err();
    assert_eq!(e.code, "InvalidVSwitch.Ipv6NotTurnOn");
}

#[test]
fn describe_pages_by_token() {
    let mut w = world();
    for _ in 0..25 {
        create_eni(&mut w, &[("Tag.1.Key", "k")]);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let mut p = vec![("MaxResults", "10"), ("Tag.1.Key", "k")];
        if !token.is_empty() {
            p.push(("NextToken", token.as_str()));
        }
        let v = call(&mut w.state, "DescribeNetworkInterfaces", &p).unwrap();
        for e in v["NetworkInterfaceSets"]["NetworkInterfaceSet"].as_array().unwrap() {
            seen.push(e["NetworkInterfaceId"].as_str().unwrap().to_owned());
        }
        token = v["NextToken"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), 25);
    seen.dedup();
    assert_eq!(seen.len(), 25);
    let e = call(&mut w.state, "DescribeNetworkInterfaces", &[("MaxResults", "9")]).unwrap_err();
    assert_eq!(e.code, "InvalidParameter");
    let e = call(&mut w.state, "DescribeNetworkInterfaces", &[("MaxResults", "501")]).unwrap_err();
    assert_eq!(e.code, "InvalidParameter");
    let v = call(&mut w.state, "DescribeNetworkInterfaces", &[("PageNumber", "3"), ("PageSize", "10")]).unwrap();
    assert_eq!(v["TotalCount"], 26);
    assert_eq!(v["NetworkInterfaceSets"]["NetworkInterfaceSet"].as_array().unwrap().len(), 6);
}

#[test]
fn security_group_rules() {
    let mut w = world();
    let sg = w.sg.clone();
    call(
        &mut w.state,
        "AuthorizeSecurityGroup",
        &[
            ("SecurityGroupId", &sg),
            ("Permissions.1.IpProtocol", "tcp"),
            ("Permissions.1.PortRange", "80/80"),
            ("Permissions.1.SourceCidrIp", "10.0.0.0/8"),
            ("Permissions.1.Description", "ack-net: web"),
            ("Permissions.2.IpProtocol", "ALL"),
            ("Permissions.2.PortRange", "-1/-1"),
            ("Permissions.2.SourceGroupId", &sg),
            ("Permissions.2.Priority", "5"),
        ],
    )
    .unwrap();
    // The legacy flat form; a repeat of an existing rule changes nothing.
    call(
        &mut w.state,
        "AuthorizeSecurityGroup",
        &[("SecurityGroupId", &sg), ("IpProtocol", "TCP"), ("PortRange", "80/80"), ("SourceCidrIp", "10.0.0.0/8")],
    )
    .unwrap();
    call(
        &mut w.state,
        "AuthorizeSecurityGroupEgress",
        &[("SecurityGroupId", &sg), ("IpProtocol", "UDP"), ("PortRange", "53/53"), ("DestCidrIp", "0.0.0.0/0")],
    )
    .unwrap();
    let v = call(&mut w.state, "DescribeSecurityGroupAttribute", &[("SecurityGroupId", &sg)]).unwrap();
    let perms = v["Permissions"]["Permission"].as_array().unwrap();
    assert_eq!(perms.len(), 3);
    assert_eq!(perms[0]["IpProtocol"], "TCP");
    assert_eq!(perms[0]["Policy"], "Accept");
    assert_eq!(perms[0]["Priority"], "1");
    assert_eq!(perms[1]["SourceGroupId"], sg.as_str());
    assert_eq!(perms[2]["Direction"], "egress");
    let v = call(&mut w.state, "DescribeSecurityGroupAttribute", &[("SecurityGroupId", &sg), ("Direction", "ingress")])
        .unwrap();
    assert_eq!(v["Permissions"]["Permission"].as_array().unwrap().len(), 2);

    for (proto, range, code) in [
        ("TCP", "80/70", "InvalidPortRange.Malformed"),
        ("TCP", "0/70", "InvalidPortRange.Malformed"),
        ("ICMP", "1/1", "InvalidPortRange.Malformed"),
        ("SCTP", "1/1", "InvalidIpProtocol.ValueNotSupported"),
    ] {
        let e = call(
            &mut w.state,
            "AuthorizeSecurityGroup",
            &[("SecurityGroupId", &sg), ("IpProtocol", proto), ("PortRange", range), ("SourceCidrIp", "10.0.0.0/8")],
        )
        .unwrap_err();
        assert_eq!(e.code, code, "{proto} {range}");
    }
    let e = call(
        &mut w.state,
        "AuthorizeSecurityGroup",
        &[("SecurityGroupId", &sg), ("IpProtocol", "TCP"), ("PortRange", "1/2"), ("SourceCidrIp", "10.0.0.0/33")],
    )
    .unwrap_err();
    assert_eq!(e.code, "InvalidSourceCidrIp.Malformed");

    // Revoke matches without the description; revoking again is no error.
    for _ in 0..2 {
        call(
            &mut w.state,
            "RevokeSecurityGroup",
            &[
                ("SecurityGroupId", &sg),
                ("Permissions.1.IpProtocol", "TCP"),
                ("Permissions.1.PortRange", "80/80"),
                ("Permissions.1.SourceCidrIp", "10.0.0.0/8"),
            ],
        )
        .unwrap();
    }
    let v = call(&mut w.state, "DescribeSecurityGroupAttribute", &[("SecurityGroupId", &sg), ("MaxResults", "10")])
        .unwrap();
    assert_eq!(v["Permissions"]["Permission"].as_array().unwrap().len(), 2);
    assert_eq!(v["NextToken"], "");

    // A group in use cannot be deleted; an unused one can.
    let e = call(&mut w.state, "DeleteSecurityGroup", &[("SecurityGroupId", &sg)]).unwrap_err();
    assert_eq!(e.code, "DependencyViolation");
    let vpc = w.vpc.clone();
    let spare = call(&mut w.state, "CreateSecurityGroup", &[("VpcId", &vpc)]).unwrap()["SecurityGroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = call(&mut w.state, "DescribeSecurityGroups", &[("VpcId", &vpc)]).unwrap();
    assert_eq!(v["TotalCount"], 2);
    call(&mut w.state, "DeleteSecurityGroup", &[("SecurityGroupId", &spare)]).unwrap();
    let e = call(&mut w.state, "DescribeSecurityGroupAttribute", &[("SecurityGroupId", &spare)]).unwrap_err();
    assert_eq!((e.status, e.code.as_str()), (404, "InvalidSecurityGroupId.NotFound"));
    let e = call(&mut w.state, "CreateSecurityGroup", &[("VpcId", "vpc-nope")]).unwrap_err();
    assert_eq!(e.code, "InvalidVpcId.NotFound");
}

#[test]
fn dump_and_unknown_actions() {
    let mut w = world();
    create_eni(&mut w, &[]);
    let d = w.state.ecs.dump();
    assert_eq!(d["Instances"].as_array().unwrap().len(), 1);
    assert_eq!(d["NetworkInterfaces"].as_array().unwrap().len(), 2);
    let req = Req::new("CreateVpc", VERSION, &[]);
    assert!(handle(&mut w.state, &req).is_none());
    let req = Req::new("DescribeNetworkInterfaces", "2016-04-28", &[]);
    assert!(handle(&mut w.state, &req).is_none());
}
