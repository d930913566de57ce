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

variable "role_name" {
  description = "Must match role_names.org_reader in the Headroom config."
  type        = string
  default     = "OrgAndAccountInfoReader"
}

data "aws_partition" "current" {}

resource "aws_iam_role" "this" {
  name = var.role_name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${var.trusted_account_id}:root" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "read_organization" {
  name   = "HeadroomReadOrganization"
  role   = aws_iam_role.this.id
  policy = file("${path.module}/../../policies/org_reader.json")
}

output "role_arn" {
  value = aws_iam_role.this.arn
}
