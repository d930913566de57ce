# A small sample organization with the two Headroom roles, applied from the management
# account. It mirrors the organization the end-to-end test seeds into moto
# (collector/tests/moto.rs): nested OUs, a security analysis account, a workload account and
# an account directly under the root. Creating accounts is slow and closing them takes 90
# days: apply this only in a sandbox organization.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "email_domain" {
  description = "Accounts get <name>@<email_domain>."
  type        = string
}

variable "region" {
  type    = string
  default = "us-east-1"
}

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "management" {}

resource "aws_organizations_organization" "this" {
  feature_set          = "ALL"
  enabled_policy_types = ["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"]
}

locals {
  root_id = aws_organizations_organization.this.roots[0].id
}

resource "aws_organizations_organizational_unit" "security" {
  name      = "Security"
  parent_id = local.root_id
}

resource "aws_organizations_organizational_unit" "workloads" {
  name      = "Workloads"
  parent_id = local.root_id
}

resource "aws_organizations_organizational_unit" "prod" {
  name      = "Prod"
  parent_id = aws_organizations_organizational_unit.workloads.id
}

resource "aws_organizations_organizational_unit" "critical" {
  name      = "Critical"
  parent_id = aws_organizations_organizational_unit.prod.id
}

resource "aws_organizations_account" "security_tooling" {
  name      = "security-tooling"
  email     = "security-tooling@${var.email_domain}"
  parent_id = aws_organizations_organizational_unit.security.id
}

resource "aws_organizations_account" "prod_app" {
  name      = "prod-app"
  email     = "prod-app@${var.email_domain}"
  parent_id = aws_organizations_organizational_unit.prod.id
  tags      = { Environment = "prod", Owner = "team-app" }
}

resource "aws_organizations_account" "critical_db" {
  name      = "critical-db"
  email     = "critical-db@${var.email_domain}"
  parent_id = aws_organizations_organizational_unit.critical.id
}

resource "aws_organizations_account" "dev_sandbox" {
  name      = "dev-sandbox"
  email     = "dev-sandbox@${var.email_domain}"
  parent_id = local.root_id
}

# The organization reader role in the management account, trusting the security account.
module "org_reader_role" {
  source             = "../modules/org_reader_role"
  trusted_account_id = aws_organizations_account.security_tooling.id
}

# The account reader role in every member account, created through the role AWS
# Organizations makes in each new account.
provider "aws" {
  alias  = "security_tooling"
  region = var.region
  assume_role {
    role_arn = "arn:aws:iam::${aws_organizations_account.security_tooling.id}:role/OrganizationAccountAccessRole"
  }
}

provider "aws" {
  alias  = "prod_app"
  region = var.region
  assume_role {
    role_arn = "arn:aws:iam::${aws_organizations_account.prod_app.id}:role/OrganizationAccountAccessRole"
  }
}

provider "aws" {
  alias  = "critical_db"
  region = var.region
  assume_role {
    role_arn = "arn:aws:iam::${aws_organizations_account.critical_db.id}:role/OrganizationAccountAccessRole"
  }
}

provider "aws" {
  alias  = "dev_sandbox"
  region = var.region
  assume_role {
    role_arn = "arn:aws:iam::${aws_organizations_account.dev_sandbox.id}:role/OrganizationAccountAccessRole"
  }
}

module "headroom_role_security_tooling" {
  source             = "../modules/headroom_role"
  providers          = { aws = aws.security_tooling }
  trusted_account_id = aws_organizations_account.security_tooling.id
}

module "headroom_role_prod_app" {
  source             = "../modules/headroom_role"
  providers          = { aws = aws.prod_app }
  trusted_account_id = aws_organizations_account.security_tooling.id
}

module "headroom_role_critical_db" {
  source             = "../modules/headroom_role"
  providers          = { aws = aws.critical_db }
  trusted_account_id = aws_organizations_account.security_tooling.id
}

module "headroom_role_dev_sandbox" {
  source             = "../modules/headroom_role"
  providers          = { aws = aws.dev_sandbox }
  trusted_account_id = aws_organizations_account.security_tooling.id
}

output "headroom_config" {
  description = "Paste into headroom.yaml."
  value       = <<-YAML
    management_account_id: '${data.aws_caller_identity.management.account_id}'
    security_analysis_account_id: '${aws_organizations_account.security_tooling.id}'
    role_names:
      org_reader: OrgAndAccountInfoReader
      account_reader: Headroom
  YAML
}
