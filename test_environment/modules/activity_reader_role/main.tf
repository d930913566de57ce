# The activity reader role (`HeadroomActivityReader`, config key activity.role_arn) that
# `collect --activity-days N` assumes to read the organization trail, usually in the
# log-archive account. Its only permissions are one of policies/activity_reader_s3.json (read
# the trail's log files) or policies/activity_reader_athena.json (query them through Athena):
# exactly the actions `collect` calls, and those Athena takes on its behalf
# (collector/src/actions.rs, checked by collector/tests/iam_policies.rs).

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

variable "source_kind" {
  description = "`s3` (activity.source: s3, the default) or `athena`."
  type        = string
  default     = "s3"
  validation {
    condition     = contains(["s3", "athena"], var.source_kind)
    error_message = "source_kind must be s3 or athena."
  }
}

variable "trail_bucket" {
  description = "The organization trail's bucket (activity.bucket)."
  type        = string
}

variable "trail_key_prefix" {
  description = "What comes before AWSLogs/ in the trail's keys (activity.key_prefix), ending with / when set."
  type        = string
  default     = ""
}

variable "trail_kms_key_arn" {
  description = "The KMS key the trail's log files are encrypted with (SSE-KMS), if any."
  type        = string
  default     = null
}

variable "athena" {
  description = "For source_kind = athena: the workgroup, database, table and results location (activity.athena)."
  type = object({
    workgroup      = string
    database       = string
    table          = string
    results_bucket = string
    results_prefix = string
  })
  default = null
}

variable "role_name" {
  description = "The role's name; activity.role_arn names it in the Headroom config."
  type        = string
  default     = "HeadroomActivityReader"
}

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  file = var.source_kind == "s3" ? "activity_reader_s3.json" : "activity_reader_athena.json"
  document = jsondecode(templatefile("${path.module}/../../policies/${local.file}", {
    partition         = data.aws_partition.current.partition
    region            = data.aws_region.current.name
    account_id        = data.aws_caller_identity.current.account_id
    trail_bucket      = var.trail_bucket
    trail_key_prefix  = var.trail_key_prefix
    trail_kms_key_arn = coalesce(var.trail_kms_key_arn, "none")
    workgroup         = try(var.athena.workgroup, "")
    database          = try(var.athena.database, "")
    table             = try(var.athena.table, "")
    results_bucket    = try(var.athena.results_bucket, "")
    results_prefix    = try(var.athena.results_prefix, "")
  }))
  # Without a KMS key there is nothing to decrypt: the statement is left out.
  statements = [
    for s in local.document.Statement : s
    if s.Sid != "HeadroomDecryptTrail" || var.trail_kms_key_arn != null
  ]
}

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

resource "aws_iam_role_policy" "read_trail" {
  name   = "HeadroomReadTrail"
  role   = aws_iam_role.this.id
  policy = jsonencode(merge(local.document, { Statement = local.statements }))
}

output "role_arn" {
  value = aws_iam_role.this.arn
}
