//! A model of `terraform apply` on the organization, for the convergence tests and
//! `cargo xtask converge`: the policies a snapshot would show once a plan's Terraform has been
//! applied.
//!
//! Each directory's Terraform state holds exactly the policies of the previous plan, so an
//! apply destroys every Headroom policy the new files no longer define, updates those they
//! still define and creates the rest; foreign policies are never touched. So after the apply
//! the organization holds its foreign policies, unchanged, plus exactly the new plan's
//! policies, with the names, descriptions and documents the files give them
//! ([`crate::render::deployed`]), each attached to its target. Policy IDs are the only thing
//! this model invents (`p-headroom-...`); no part of the analysis reads them.

use headroom_schemas::Policies;
use headroom_schemas::org::Organization;
use headroom_schemas::policies::{Policy, PolicyTarget, TargetType};

use crate::managed;
use crate::model::CheckKind;
use crate::placement::Level;
use crate::render::DeployedPolicy;

/// Replaces the Headroom policies of `policies` by `deployed`, attached as the Terraform
/// attaches them.
pub fn apply(policies: &mut Policies, org: &Organization, deployed: &[DeployedPolicy]) {
    policies
        .scps
        .retain(|_, p| !managed::is_headroom(p, CheckKind::Scp));
    policies
        .rcps
        .retain(|_, p| !managed::is_headroom(p, CheckKind::Rcp));
    let root_arn = org.roots.first().map_or("", |r| r.arn.as_str());
    let partition = org.arn.split(':').nth(1).unwrap_or("aws");
    for (n, policy) in deployed.iter().enumerate() {
        let kind = policy.kind.dir().trim_end_matches('s');
        let id = format!("p-headroom-{kind}-{n:06}");
        let target = &policy.target;
        let (target_type, arn) = match target.level {
            Level::Root => (TargetType::Root, root_arn.to_owned()),
            Level::Ou => (
                TargetType::OrganizationalUnit,
                org.organizational_units
                    .get(&target.id)
                    .map(|ou| ou.arn.clone())
                    .unwrap_or_default(),
            ),
            Level::Account => (
                TargetType::Account,
                org.accounts
                    .get(target.id.as_str())
                    .map(|a| a.arn.clone())
                    .unwrap_or_default(),
            ),
        };
        let entry = Policy {
            id: id.clone(),
            arn: format!(
                "arn:{partition}:organizations::{}:policy/{}/{}/{id}",
                org.management_account_id,
                org.id,
                crate::render::policy_type(policy.kind).to_ascii_lowercase()
            ),
            name: policy.name.clone(),
            description: policy.description.clone(),
            aws_managed: false,
            content: policy.content.clone(),
            targets: vec![PolicyTarget {
                target_id: target.id.clone(),
                arn,
                name: target.name.clone(),
                target_type,
            }],
        };
        match policy.kind {
            CheckKind::Scp => policies.scps.insert(id, entry),
            CheckKind::Rcp => policies.rcps.insert(id, entry),
        };
    }
}
