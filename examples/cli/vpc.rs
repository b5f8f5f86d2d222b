//! `ack_net vpcs` and `ack_net vswitches`: VPCs, and VSwitches with their free addresses.

use ack_net_examples::BoxError;
use ack_net_vpc::{cidr, VSwitch, Vpc, VpcClient, VpcId, ZoneId};
use serde_json::{json, Value};

use super::output::{numbered_pages, Progress, Table};

pub async fn list_vpcs(client: &VpcClient, progress: &Progress) -> Result<Vec<Vpc>, BoxError> {
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

pub fn vpcs_table(vpcs: &[Vpc]) -> Table {
    let mut t = Table::new(&["VPC", "NAME", "CIDR", "STATUS", "VSWITCHES", "DEFAULT"]).right_align(&[4]);
    for v in vpcs {
        let cidrs: Vec<String> = std::iter::once(v.cidr_block)
            .chain(v.secondary_cidr_blocks.iter().copied())
            .map(|c| c.to_string())
            .collect();
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

pub fn vpc_json(v: &Vpc) -> Value {
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

pub async fn list_vswitches(
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
    .map(|mut all| {
        // Stable and readable: by VPC, then zone, then block.
        all.sort_by(|a, b| (&a.vpc_id, &a.zone_id, a.cidr_block).cmp(&(&b.vpc_id, &b.zone_id, b.cidr_block)));
        all
    })
}

pub fn vswitches_table(vswitches: &[VSwitch]) -> Table {
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

pub fn vswitch_json(v: &VSwitch) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_reads_as_a_percentage_of_usable_addresses() {
        assert_eq!(used_percent(252, 252), "0.0%");
        assert_eq!(used_percent(252, 189), "25.0%");
        assert_eq!(used_percent(0, 0), "-");
    }
}
