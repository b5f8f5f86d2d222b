//! Regions and zones the mock knows (real ids, per PROTOCOL.md).

use std::collections::BTreeMap;

/// Regions and their zones.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// Region id to zone ids.
    pub zones: BTreeMap<String, Vec<String>>,
}

impl Default for Catalog {
    fn default() -> Self {
        let mut zones = BTreeMap::new();
        let mut add = |region: &str, suffixes: &[&str], dashed: bool| {
            let z = suffixes
                .iter()
                .map(|s| if dashed { format!("{region}-{s}") } else { format!("{region}{s}") })
                .collect();
            zones.insert(region.to_owned(), z);
        };
        add("cn-hangzhou", &["b", "e", "f", "g", "h", "i", "j", "k"], true);
        add("cn-shanghai", &["a", "b", "e", "f", "g", "l", "m", "n"], true);
        add("cn-beijing", &["a", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"], true);
        add("cn-shenzhen", &["a", "b", "c", "d", "e", "f"], true);
        add("ap-southeast-1", &["a", "b", "c"], false);
        add("eu-central-1", &["a", "b"], false);
        add("us-west-1", &["a", "b"], false);
        Self { zones }
    }
}

impl Catalog {
    /// Whether `region` exists.
    pub fn has_region(&self, region: &str) -> bool {
        self.zones.contains_key(region)
    }

    /// Whether `zone` exists in `region`.
    pub fn has_zone(&self, region: &str, zone: &str) -> bool {
        self.zones.get(region).is_some_and(|z| z.iter().any(|x| x == zone))
    }
}

/// The English name the console shows for a region.
pub fn local_name(region: &str) -> String {
    match region {
        "cn-hangzhou" => "China (Hangzhou)".into(),
        "cn-shanghai" => "China (Shanghai)".into(),
        "cn-beijing" => "China (Beijing)".into(),
        "cn-shenzhen" => "China (Shenzhen)".into(),
        "ap-southeast-1" => "Singapore".into(),
        "eu-central-1" => "Germany (Frankfurt)".into(),
        "us-west-1" => "US (Silicon Valley)".into(),
        other => other.to_owned(),
    }
}

fn zone_local_name(region: &str, zone: &str) -> String {
    let letter = zone.strip_prefix(region).map(|s| s.trim_start_matches('-')).unwrap_or(zone);
    format!("{} Zone {}", local_name(region), letter.to_ascii_uppercase())
}

/// Answers DescribeRegions and DescribeZones for every product, in each product's shape;
/// `None` for any other action.
pub fn handle(
    state: &mut crate::state::State,
    product: crate::dispatch::Product,
    req: &crate::handler::Req,
) -> Option<crate::error::HandlerResult> {
    use crate::dispatch::Product;
    use serde_json::json;
    let cat = &state.catalog;
    match req.action.as_str() {
        "DescribeRegions" => {
            let regions: Vec<serde_json::Value> = cat
                .zones
                .keys()
                .map(|r| {
                    let endpoint = match product {
                        Product::Vpc => format!("vpc.{r}.aliyuncs.com"),
                        Product::Ecs => format!("ecs.{r}.aliyuncs.com"),
                        Product::Slb => format!("slb.{r}.aliyuncs.com"),
                    };
                    let mut v = json!({ "RegionId": r, "LocalName": local_name(r), "RegionEndpoint": endpoint });
                    if product == Product::Ecs {
                        v["Status"] = json!("available");
                    }
                    v
                })
                .collect();
            Some(Ok(json!({ "Regions": { "Region": regions } })))
        }
        "DescribeZones" => Some((|| {
            let region = req.str("RegionId")?;
            let zones = cat.zones.get(region).ok_or_else(|| crate::vpc::vpcs::region_not_found(region))?;
            let items: Vec<serde_json::Value> = zones
                .iter()
                .map(|z| match product {
                    Product::Vpc => json!({ "ZoneId": z, "LocalName": zone_local_name(region, z), "ZoneType": "AvailabilityZone" }),
                    Product::Ecs => json!({
                        "ZoneId": z,
                        "LocalName": zone_local_name(region, z),
                        "ZoneType": "AvailabilityZone",
                        "AvailableResourceCreation": { "ResourceTypes": ["VSwitch", "IoOptimized", "Instance", "Disk"] },
                        "AvailableDiskCategories": { "DiskCategories": ["cloud_essd", "cloud_efficiency"] },
                        "AvailableVolumeCategories": { "VolumeCategories": [] },
                        "AvailableInstanceTypes": { "InstanceTypes": [] },
                        "AvailableDedicatedHostTypes": { "DedicatedHostType": [] },
                        "DedicatedHostGenerations": { "DedicatedHostGeneration": [] },
                        "AvailableResources": { "ResourcesInfo": [] },
                    }),
                    Product::Slb => {
                        let slaves: Vec<serde_json::Value> = zones
                            .iter()
                            .filter(|s| *s != z)
                            .map(|s| json!({ "ZoneId": s, "LocalName": zone_local_name(region, s) }))
                            .collect();
                        json!({ "ZoneId": z, "LocalName": zone_local_name(region, z), "SlaveZones": { "SlaveZone": slaves } })
                    }
                })
                .collect();
            Ok(json!({ "Zones": { "Zone": items } }))
        })()),
        _ => None,
    }
}
