resource "aws_iam_role" "chatbot" {
  name = "${var.function_name}-execution"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "basic_execution" {
  role       = aws_iam_role.chatbot.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

data "aws_caller_identity" "current" {}

resource "aws_iam_role_policy" "gemini_key" {
  name = "read-gemini-api-key"
  role = aws_iam_role.chatbot.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = "ssm:GetParameter"
        Resource = "arn:aws:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter${var.gemini_api_key_parameter}"
      },
      {
        # The SecureString is encrypted with the account's default SSM key.
        Effect    = "Allow"
        Action    = "kms:Decrypt"
        Resource  = "*"
        Condition = { StringEquals = { "kms:ViaService" = "ssm.${var.region}.amazonaws.com" } }
      },
    ]
  })
}

resource "aws_cloudwatch_log_group" "chatbot" {
  #checkov:skip=CKV_AWS_158:the function never logs tokens, keys or prompts' secrets; the account's default encryption covers the logs and a KMS key costs money per month.
  #checkov:skip=CKV_AWS_338:30 days is deliberate: the logs carry user ids (sub), kept no longer than needed to debug.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = 30
}

resource "aws_iam_role_policy_attachment" "xray" {
  role       = aws_iam_role.chatbot.name
  policy_arn = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

resource "aws_lambda_function" "chatbot" {
  #checkov:skip=CKV_AWS_116:the function is invoked synchronously through its URL only; a dead-letter queue applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:no VPC: the function calls only public endpoints (Cognito's JWKS, Gemini, SSM), and function URLs do not stream responses from a VPC-attached function.
  #checkov:skip=CKV_AWS_272:the zip deployed is the gated CI artifact (built, checked and passed through emulator check before a protected apply); Lambda code signing needs an S3-hosted signed object this pipeline does not use.
  #checkov:skip=CKV_AWS_173:the environment holds no secret (the Gemini key is an SSM SecureString read at cold start); Lambda's default key encrypts it at rest.
  function_name                  = var.function_name
  role                           = aws_iam_role.chatbot.arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = ["x86_64"]
  filename                       = var.lambda_zip_path
  source_code_hash               = filebase64sha256(var.lambda_zip_path)
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    # Never COGNITO_JWKS_URL, GEMINI_BASE_URL or AWS_ENDPOINT_URL*: the emulator overlays those locally.
    variables = {
      COGNITO_USER_POOL_ID     = data.terraform_remote_state.cognito.outputs.user_pool_id
      COGNITO_CLIENT_ID        = data.terraform_remote_state.cognito.outputs.client_id
      COGNITO_REGION           = data.terraform_remote_state.cognito.outputs.region
      GEMINI_API_KEY_PARAMETER = var.gemini_api_key_parameter
      GEMINI_MODEL             = var.gemini_model
    }
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.chatbot, aws_iam_role_policy_attachment.basic_execution]
}

resource "aws_lambda_function_url" "chatbot" {
  function_name      = aws_lambda_function.chatbot.function_name
  authorization_type = "AWS_IAM"
  invoke_mode        = "RESPONSE_STREAM"

  # The site calls the chatbot cross-origin, so CORS is needed, in exactly one layer. It lives here, not
  # in a CloudFront response headers policy: the function URL answers the (OAC-signed) preflight itself
  # without invoking the function (reference/aws-edge.md §7), whereas behind a headers policy the
  # preflight would reach the function, which answers only POST. AWS *adds* these headers beside any the
  # function sets, so the function sets none (duplicated access-control-allow-origin is rejected by
  # browsers). Exactly what the browser client sends: POST with these three headers.
  cors {
    allow_origins = var.allowed_origins
    allow_methods = ["POST"]
    allow_headers = ["content-type", "x-amz-content-sha256", "x-chatbot-authorization"]
    # Chromium caps a preflight cache at 2 hours; longer buys nothing.
    max_age = 7200
  }
}
