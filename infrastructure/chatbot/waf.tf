# A public endpoint that spends money on every request: a per-IP rate limit in front of it, and AWS's
# known-bad-inputs rules (Log4j and friends). Web ACLs cost money, hence the switch; CloudFront's must
# live in us-east-1, whatever var.region is.
resource "aws_wafv2_web_acl" "chatbot" {
  count    = var.waf_enabled ? 1 : 0
  provider = aws.us_east_1
  name     = "${var.function_name}-edge"
  scope    = "CLOUDFRONT"

  default_action {
    allow {}
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 1

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit              = var.waf_requests_per_5_minutes
        aggregate_key_type = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "rate-limit-per-ip"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "known-bad-inputs"
    priority = 2

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.function_name}-edge"
    sampled_requests_enabled   = true
  }
}

resource "aws_cloudwatch_log_group" "waf" {
  #checkov:skip=CKV_AWS_158:WAF logs hold request metadata, no secrets; the account's default encryption covers them and a KMS key costs money per month.
  #checkov:skip=CKV_AWS_338:30 days is the retention chosen for request logs (they carry viewer IPs); a year is not needed to investigate abuse.
  count             = var.waf_enabled ? 1 : 0
  provider          = aws.us_east_1
  name              = "aws-waf-logs-${var.function_name}"
  retention_in_days = 30
}

resource "aws_wafv2_web_acl_logging_configuration" "chatbot" {
  count                   = var.waf_enabled ? 1 : 0
  provider                = aws.us_east_1
  resource_arn            = aws_wafv2_web_acl.chatbot[0].arn
  log_destination_configs = [aws_cloudwatch_log_group.waf[0].arn]
}
