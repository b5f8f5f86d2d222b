//! `ack_net enis`: ENIs with their addresses, of one instance or all of them.

use ack_net_eni::{EcsClient, InstanceId, NetworkInterface, VSwitchId};
use ack_net_examples::BoxError;
use serde_json::{json, Value};

use super::output::{or_dash, token_pages, Progress, Table};

pub async fn list_enis(
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
        (a.instance_id.is_none(), &a.instance_id, a.device_index).cmp(&(
            b.instance_id.is_none(),
            &b.instance_id,
            b.device_index,
        ))
    });
    Ok(enis)
}

pub fn enis_table(enis: &[NetworkInterface]) -> Table {
    let mut t =
        Table::new(&["ENI", "TYPE", "STATUS", "INSTANCE", "DEVICE", "VSWITCH", "PRIMARY IP", "SECONDARY IPS", "MAC"])
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

pub fn eni_json(e: &NetworkInterface) -> Value {
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

    #[test]
    fn addresses_read_compactly() {
        let ips: Vec<std::net::Ipv4Addr> = (1..=5).map(|i| std::net::Ipv4Addr::new(10, 0, 0, i)).collect();
        assert_eq!(address_list(&[]), "-");
        assert_eq!(address_list(&ips[..2]), "10.0.0.1,10.0.0.2");
        assert_eq!(address_list(&ips), "10.0.0.1,10.0.0.2 +3 more");
    }
}
