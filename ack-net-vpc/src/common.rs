//! Pieces every resource module shares: tags, client tokens, wire enums and decoders.

pub(crate) use ack_net_core::de::{opt_parsed, wrapped};
pub(crate) use ack_net_core::input::{validate_opt_text, validate_page_size};
pub use ack_net_core::tag::{Tag, MAX_TAGS};
pub(crate) use ack_net_core::wire_enum;

wire_enum!(
    /// The status of a VPC or a VSwitch.
    ResourceStatus {
        /// Being created.
        Pending = "Pending",
        /// Ready to use.
        Available = "Available",
    }
);

/// The check of an operation whose only input to check is its tags (at most
/// [`MAX_TAGS`], keys and values of the API's lengths).
pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), crate::Error> {
    Ok(ack_net_core::tag::validate_tags(tags)?)
}

/// A name (`param`: `VpcName`, `VSwitchName`, `RouteEntryName`) of at most 128 characters and a description of at
/// most 256, as the VPC API takes them.
pub(crate) fn check_name_and_description(
    param: &str,
    name: &Option<String>,
    description: &Option<String>,
) -> Result<(), crate::Error> {
    validate_opt_text(param, name, 128)?;
    Ok(validate_opt_text("Description", description, 256)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_enums_keep_unknown_values() {
        let s: ResourceStatus = serde_json::from_str("\"Available\"").unwrap();
        assert_eq!(s, ResourceStatus::Available);
        let s: ResourceStatus = serde_json::from_str("\"Deleting\"").unwrap();
        assert_eq!(s, ResourceStatus::Unknown("Deleting".into()));
        assert_eq!(s.to_string(), "Deleting");
        assert_eq!(serde_json::to_string(&ResourceStatus::Pending).unwrap(), "\"Pending\"");
    }
}
