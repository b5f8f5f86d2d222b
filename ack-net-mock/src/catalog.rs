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
