# The organization reader role (`OrgAndAccountInfoReader` by default) in the management
# account. Its only permissions are policies/org_reader.json: exactly the Organizations read
# actions `collect` calls (collector/src/actions.rs, checked by collector/tests/iam_policies.rs).

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "trusted_account_id" {
  description = "The account `collect` runs from (the security analysis account)."
  type        = string
  validation {
    condition     = can(regex("^[0-9]{12}$", var.trusted_account_id))
    error_message = "trusted_account_id must be a 12-digit account ID."
  }
}

variable "trusted_principal_arns" {
  description = "The roles in trusted_account_id allowed to assume this role (aws:PrincipalArn; wildcards allowed, e.g. for IAM Identity Center roles). Empty: any principal of that account that its own IAM policies allow."
  type        = list(string)
  default     = []
}

variable "external_id" {
  description = "If set, collect must send this sts:ExternalId (config key external_id)."
  type        = string
  default     = null
  validation {
    condition     = var.external_id == null || can(regex("^[A-Za-z0-9+=,.@:/_-]{2,1224}$", var.external_id))
    error_message = "external_id must be 2 to 1224 characters of A-Za-z0-9+=,.@:/_-."
  }
}

variable "max_session_duration" {
  description = "The longest session collect may ask for (config key session_duration), in seconds."
  type        = number
  default     = 3600
}

variable "role_name" {
  description = "Must match role_names.org_reader in the Headroom config."
  type        = string
  default     = "OrgAndAccountInfoReader"
}

data "aws_partition" "current" {}

resource "aws_iam_role" "this" {
  name                 = var.role_name
  max_session_duration = var.max_session_duration
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [merge(
      {
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${var.trusted_account_id}:root" }
        Action    = "sts:AssumeRole"
      },
      length(local.conditions) == 0 ? {} : { Condition = local.conditions }
    )]
  })
}

locals {
  conditions = merge(
    length(var.trusted_principal_arns) == 0 ? {} : { ArnLike = { "aws:PrincipalArn" = var.trusted_principal_arns } },
    var.external_id == null ? {} : { StringEquals = { "sts:ExternalId" = var.external_id } },
  )
}

resource "aws_iam_role_policy" "read_organization" {
  name   = "HeadroomReadOrganization"
  role   = aws_iam_role.this.id
  policy = file("${path.module}/../../policies/org_reader.json")
}

output "role_arn" {
  value = aws_iam_role.this.arn
}
