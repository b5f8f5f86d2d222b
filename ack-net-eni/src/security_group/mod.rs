//! Security groups: create, describe, delete; their rules (describe, authorize, revoke);
//! and the [`RuleConverger`] that keeps the rules a tool owns equal to what it wants.

use ack_net_core::de;
use ack_net_core::listing::numbered_stream;
use ack_net_core::{Product, RpcRequest};
use futures_util::stream::BoxStream;
use serde::Deserialize;

use crate::common::{
    add_tags, opt_parsed, validate_page, validate_tags, validate_text, wire_tags, with_client_token, wrapped, Removed,
};
use crate::{EcsClient, Error, SecurityGroupId, Tag, VpcId};

mod converge;
mod rule;
mod rules_api;

pub use converge::{ConvergeReport, RuleCall, RuleConverger, RulePlan};
pub use rule::{Direction, IpProtocol, Peer, Permission, Policy, PortRange, SecurityGroupRule};
pub use rules_api::{DescribeSecurityGroupAttribute, RuleChange, SecurityGroupAttribute, MAX_RULES_PER_CALL};

/// The largest page DescribeSecurityGroups returns.
pub const MAX_PAGE_SIZE: u32 = 50;

/// Security-group operations; from [`EcsClient::security_groups`].
#[derive(Clone, Debug)]
pub struct SecurityGroups {
    client: EcsClient,
}

impl SecurityGroups {
    pub(crate) fn new(client: EcsClient) -> Self {
        Self { client }
    }

    /// CreateSecurityGroup in `vpc_id`.
    pub fn create(&self, vpc_id: impl AsRef<str>) -> CreateSecurityGroup {
        CreateSecurityGroup {
            client: self.client.clone(),
            vpc_id: vpc_id.as_ref().to_owned(),
            name: None,
            description: None,
            enterprise: false,
            tags: Vec::new(),
            client_token: None,
        }
    }

    /// DeleteSecurityGroup. Refused while ENIs or instances use the group
    /// (`DependencyViolation`); a group that does not exist counts as deleted.
    pub async fn delete(&self, group_id: impl AsRef<str>) -> Result<Removed, Error> {
        let id = SecurityGroupId::new(group_id.as_ref())?;
        let req = RpcRequest::write(Product::Ecs, "DeleteSecurityGroup").param("SecurityGroupId", id);
        match self.client.rpc().call::<serde_json::Value>(req).await {
            Ok(_) => Ok(Removed::Now),
            Err(e) if e.is_code("InvalidSecurityGroupId.NotFound") => Ok(Removed::Already),
            Err(e) => Err(e.into()),
        }
    }

    /// DescribeSecurityGroups: one page with [`DescribeSecurityGroups::send`], all with
    /// [`DescribeSecurityGroups::into_stream`].
    pub fn describe(&self) -> DescribeSecurityGroups {
        DescribeSecurityGroups {
            client: self.client.clone(),
            vpc_id: None,
            group_id: None,
            name: None,
            tags: Vec::new(),
            page_number: None,
            page_size: None,
        }
    }
}

/// A CreateSecurityGroup request; answers the new group's id.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct CreateSecurityGroup {
    client: EcsClient,
    vpc_id: String,
    name: Option<String>,
    description: Option<String>,
    enterprise: bool,
    tags: Vec<Tag>,
    client_token: Option<String>,
}

impl CreateSecurityGroup {
    /// `SecurityGroupName` (2-128 characters).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `Description` (at most 256 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// An enterprise security group (`SecurityGroupType=enterprise`) instead of a normal one.
    pub fn enterprise(mut self, enterprise: bool) -> Self {
        self.enterprise = enterprise;
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// `ClientToken`: the same token and parameters create the group only once.
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// The request as it will be sent; checks every field first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let vpc_id = VpcId::new(self.vpc_id.as_str())?;
        if let Some(n) = &self.name {
            if n.chars().count() < 2 {
                return Err(Error::invalid_input("SecurityGroupName", "at least 2 characters"));
            }
            validate_text("SecurityGroupName", n, 128)?;
        }
        if let Some(d) = &self.description {
            validate_text("Description", d, 256)?;
        }
        validate_tags(&self.tags)?;
        let req = RpcRequest::idempotent_write(Product::Ecs, "CreateSecurityGroup")
            .param("VpcId", vpc_id)
            .opt_param("SecurityGroupName", self.name.as_deref())
            .opt_param("Description", self.description.as_deref())
            .param("SecurityGroupType", if self.enterprise { "enterprise" } else { "normal" });
        Ok(with_client_token(add_tags(req, &self.tags), self.client_token.as_deref())?)
    }

    /// Sends the request.
    pub async fn send(self) -> Result<SecurityGroupId, Error> {
        #[derive(Deserialize)]
        struct Created {
            #[serde(rename = "SecurityGroupId")]
            id: SecurityGroupId,
        }
        let req = self.to_request()?;
        let r: Created = self.client.call(req).await?;
        Ok(r.id)
    }
}

/// A DescribeSecurityGroups request.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct DescribeSecurityGroups {
    client: EcsClient,
    vpc_id: Option<String>,
    group_id: Option<String>,
    name: Option<String>,
    tags: Vec<Tag>,
    page_number: Option<u32>,
    page_size: Option<u32>,
}

impl DescribeSecurityGroups {
    /// Only groups of this VPC.
    pub fn vpc_id(mut self, id: impl AsRef<str>) -> Self {
        self.vpc_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only this group.
    pub fn group_id(mut self, id: impl AsRef<str>) -> Self {
        self.group_id = Some(id.as_ref().to_owned());
        self
    }

    /// Only groups of this name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Only groups with this tag.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    /// The page to fetch (from 1).
    pub fn page_number(mut self, n: u32) -> Self {
        self.page_number = Some(n);
        self
    }

    /// The page size (1-50).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// The request as it will be sent; checks every field first.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        let mut req = RpcRequest::read(Product::Ecs, "DescribeSecurityGroups");
        if let Some(id) = &self.vpc_id {
            req = req.param("VpcId", VpcId::new(id.as_str())?);
        }
        if let Some(id) = &self.group_id {
            req = req.param("SecurityGroupId", SecurityGroupId::new(id.as_str())?);
        }
        validate_page(self.page_number, self.page_size, MAX_PAGE_SIZE)?;
        if self.tags.iter().any(|t| t.key.is_empty()) {
            return Err(Error::invalid_input("Tag.Key", "must not be empty"));
        }
        req = req
            .opt_param("SecurityGroupName", self.name.as_deref())
            .opt_param("PageNumber", self.page_number)
            .opt_param("PageSize", self.page_size);
        Ok(add_tags(req, &self.tags))
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<SecurityGroupPage, Error> {
        let req = self.to_request()?;
        self.client.call(req).await
    }

    /// Every matching group, over all pages.
    pub fn into_stream(mut self) -> BoxStream<'static, Result<SecurityGroup, Error>> {
        let size = self.page_size.unwrap_or(MAX_PAGE_SIZE);
        self.page_size = Some(size);
        self.page_number = None;
        let request = self.to_request();
        numbered_stream(self.client.rpc().clone(), request, size, |r: SecurityGroupPage| {
            (r.security_groups, r.total_count)
        })
    }
}

/// One page of DescribeSecurityGroups.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SecurityGroupPage {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// How many groups match, over all pages.
    #[serde(rename = "TotalCount", default, deserialize_with = "de::opt_number")]
    pub total_count: Option<u64>,
    /// The groups on this page.
    #[serde(rename = "SecurityGroups", default, deserialize_with = "wrapped")]
    pub security_groups: Vec<SecurityGroup>,
}

/// A security group as DescribeSecurityGroups shows it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SecurityGroup {
    /// The id.
    #[serde(rename = "SecurityGroupId")]
    pub id: SecurityGroupId,
    /// The name.
    #[serde(rename = "SecurityGroupName", default, deserialize_with = "de::string")]
    pub name: String,
    /// The description.
    #[serde(rename = "Description", default, deserialize_with = "de::string")]
    pub description: String,
    /// The VPC.
    #[serde(rename = "VpcId", default, deserialize_with = "opt_parsed")]
    pub vpc_id: Option<VpcId>,
    /// `normal` or `enterprise`.
    #[serde(rename = "SecurityGroupType", default, deserialize_with = "de::string")]
    pub group_type: String,
    /// When it was created.
    #[serde(rename = "CreationTime", default, deserialize_with = "de::string")]
    pub creation_time: String,
    /// Tags.
    #[serde(rename = "Tags", default, deserialize_with = "wire_tags")]
    pub tags: Vec<Tag>,
}

#[cfg(test)]
mod tests {
    use crate::client::test_support::client;

    #[test]
    fn requests_are_checked() {
        let sgs = client().security_groups();
        assert!(sgs.create("vpc-1").name("pods").to_request().is_ok());
        assert!(sgs.create("vsw-1").to_request().is_err());
        assert!(sgs.create("vpc-1").name("p").to_request().is_err());
        assert!(sgs.create("vpc-1").client_token("").to_request().is_err());
        assert!(sgs.describe().page_size(51).to_request().is_err());
        assert!(sgs.describe().group_id("eni-1").to_request().is_err());
    }
}
