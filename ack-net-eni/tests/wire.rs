//! The exact parameters CreateNetworkInterface puts on the wire, pinned with wiremock.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ack_net_eni::{EcsClient, Tag};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ANSWER: &str = r#"{"RequestId":"R1","NetworkInterfaceId":"eni-bp1wire","Status":"Available","Type":"Secondary",
  "MacAddress":"00:16:3e:00:00:01","VpcId":"vpc-bp1v","VSwitchId":"vsw-bp1s","ZoneId":"cn-hangzhou-h",
  "PrivateIpAddress":"192.168.1.10","PrivateIpSets":{"PrivateIpSet":[{"PrivateIpAddress":"192.168.1.10","Primary":true},
  {"PrivateIpAddress":"192.168.1.11","Primary":false}]},"Ipv6Sets":{},"SecurityGroupIds":{"SecurityGroupId":["sg-bp1a"]},
  "Tags":{"Tag":[{"TagKey":"owner","TagValue":"cni"}]}}"#;

#[tokio::test]
async fn create_network_interface_parameters() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_string(ANSWER)).mount(&server).await;
    let rpc = ack_net_mock::client_builder_at(&server.uri()).build().unwrap();
    let eni = EcsClient::new(rpc)
        .network_interfaces()
        .create(&"vsw-bp1s".parse().unwrap())
        .security_groups(["sg-bp1a", "sg-bp1b"].map(|g| g.parse().unwrap()))
        .primary_ip(Ipv4Addr::new(192, 168, 1, 10))
        .secondary_ips([Ipv4Addr::new(192, 168, 1, 11)])
        .tag(Tag::new("owner", "cni"))
        .name("pods a")
        .description("for pods")
        .client_token("tok-123")
        .send()
        .await
        .unwrap();
    assert_eq!(eni.id.as_str(), "eni-bp1wire");
    assert_eq!(eni.secondary_ips, vec![Ipv4Addr::new(192, 168, 1, 11)]);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let body = String::from_utf8(requests[0].body.clone()).unwrap();
    let mut all: BTreeMap<String, String> =
        url::form_urlencoded::parse(requests[0].url.query().unwrap_or("").as_bytes())
            .chain(url::form_urlencoded::parse(body.as_bytes()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    for common in [
        "Format",
        "Version",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
        "Signature",
    ] {
        assert!(all.remove(common).is_some(), "{common} is sent");
    }
    let expected: BTreeMap<String, String> = [
        ("Action", "CreateNetworkInterface"),
        ("RegionId", "cn-hangzhou"),
        ("VSwitchId", "vsw-bp1s"),
        ("SecurityGroupIds.1", "sg-bp1a"),
        ("SecurityGroupIds.2", "sg-bp1b"),
        ("PrimaryIpAddress", "192.168.1.10"),
        ("PrivateIpAddress.1", "192.168.1.11"),
        ("NetworkInterfaceName", "pods a"),
        ("Description", "for pods"),
        ("Tag.1.Key", "owner"),
        ("Tag.1.Value", "cni"),
        ("ClientToken", "tok-123"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(all, expected);
}
