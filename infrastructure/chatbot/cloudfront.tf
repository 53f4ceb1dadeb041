data "aws_cloudfront_cache_policy" "caching_disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_origin_request_policy" "all_viewer_except_host" {
  name = "Managed-AllViewerExceptHostHeader"
}

resource "aws_cloudfront_origin_access_control" "chatbot" {
  name                              = "${var.function_name}-url"
  description                       = "Signs CloudFront's requests to the chatbot function URL."
  origin_access_control_origin_type = "lambda"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# Security headers on every answer. No cors_config here: CORS is the function URL's, in one layer only.
resource "aws_cloudfront_response_headers_policy" "chatbot" {
  name    = "${var.function_name}-security-headers"
  comment = "Security headers for the chatbot distribution."

  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
  }
}

locals {
  function_url_domain = trimsuffix(trimprefix(aws_lambda_function_url.chatbot.function_url, "https://"), "/")
}

resource "aws_cloudfront_distribution" "chatbot" {
  #checkov:skip=CKV_AWS_174:the chatbot is served on its own *.cloudfront.net name, whose default certificate fixes the viewer TLS policy; a custom domain and ACM certificate are the site's decision.
  #checkov:skip=CKV2_AWS_42:as above: no custom domain, so no custom certificate.
  #checkov:skip=CKV_AWS_374:the site's users are worldwide; geo restriction would refuse legitimate students.
  #checkov:skip=CKV_AWS_310:origin groups fail over GET, HEAD and OPTIONS only; the chatbot is POST, and its single origin is the function URL.
  #checkov:skip=CKV_AWS_305:an API distribution has no root document; / goes to the function, which answers 404.
  #checkov:skip=CKV2_AWS_47:Log4j is covered by AWSManagedRulesKnownBadInputsRuleSet (rule known-bad-inputs in waf.tf); the check also demands AWSManagedRulesAnonymousIpList, which would block students behind VPNs and privacy relays.
  enabled         = true
  comment         = "Coding-test AI assistant"
  price_class     = "PriceClass_100"
  is_ipv6_enabled = true
  web_acl_id      = var.waf_enabled ? aws_wafv2_web_acl.chatbot[0].arn : null

  logging_config {
    bucket          = aws_s3_bucket.access_logs.bucket_domain_name
    prefix          = "cloudfront/"
    include_cookies = false
  }

  origin {
    origin_id                = "chatbot-function-url"
    domain_name              = local.function_url_domain
    origin_access_control_id = aws_cloudfront_origin_access_control.chatbot.id

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
      # CloudFront cuts an origin that is silent this long. The function sends a keep-alive every 10 s
      # of Gemini silence (KEEPALIVE_INTERVAL_MS), so 30 s leaves three keep-alives of margin.
      origin_read_timeout      = 30
      origin_keepalive_timeout = 5
    }
  }

  # The distribution is the chatbot's own: every path, /chatbot included, goes to the function URL.
  default_cache_behavior {
    target_origin_id           = "chatbot-function-url"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_disabled.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.chatbot.id
    compress                   = false
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

# Both grants are required for function URLs (since October 2025), each scoped to this distribution.
resource "aws_lambda_permission" "cloudfront_invoke_function_url" {
  statement_id           = "AllowCloudFrontInvokeFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.chatbot.function_name
  principal              = "cloudfront.amazonaws.com"
  source_arn             = aws_cloudfront_distribution.chatbot.arn
  function_url_auth_type = "AWS_IAM"
}

resource "aws_lambda_permission" "cloudfront_invoke_function" {
  statement_id             = "AllowCloudFrontInvokeFunction"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.chatbot.function_name
  principal                = "cloudfront.amazonaws.com"
  source_arn               = aws_cloudfront_distribution.chatbot.arn
  invoked_via_function_url = true
}
