terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.28 added aws_lambda_permission.invoked_via_function_url (needed for the second grant).
      version = ">= 6.28"
    }
  }

  # Partial configuration: bucket, key and region come from `terraform init -backend-config=…`.
  backend "s3" {}
}

provider "aws" {
  region = var.region
}

# CloudFront's web ACL (WAF) must be created in us-east-1.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
}
