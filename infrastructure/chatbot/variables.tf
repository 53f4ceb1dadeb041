variable "region" {
  description = "AWS region of the function and its URL (CloudFront is global)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like us-east-1."
  }
}

variable "allowed_origins" {
  description = "Origins (scheme://host[:port]) of the pages that call the chatbot from a browser: the coding-test site's. CORS allows exactly these; there is no default, every environment names its own."
  type        = list(string)

  validation {
    condition     = length(var.allowed_origins) > 0 && alltrue([for origin in var.allowed_origins : can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", origin))])
    error_message = "allowed_origins must list at least one origin, each scheme://host[:port] with no path, no trailing slash and no wildcard (\"*\" is refused)."
  }
}

variable "function_name" {
  description = "Name of the chatbot Lambda function."
  type        = string
  default     = "chatbot-query"
}

variable "lambda_zip_path" {
  description = "The zip holding the release `bootstrap` (see the README: cargo build --release -p chatbot-query)."
  type        = string
  default     = "../../target/lambda/chatbot-query.zip"
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be 128..10240."
  }
}

variable "timeout" {
  description = "Function timeout in seconds; a streamed answer must finish within it."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be 1..900 seconds."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions (requests beyond it get 429)."
  type        = number
  default     = 10
}

variable "gemini_api_key_parameter" {
  description = "Name of the SSM SecureString holding the Gemini API key (created outside this stack)."
  type        = string
  default     = "/chatbot/gemini-api-key"
}

variable "gemini_model" {
  description = "The Gemini model the function calls."
  type        = string
  default     = "gemini-2.5-flash"
}

variable "cognito_state_bucket" {
  description = "S3 bucket of the existing Cognito stack's Terraform state."
  type        = string
  default     = "coding-test-terraform-state"
}

variable "cognito_state_key" {
  description = "Key of the existing Cognito stack's Terraform state in that bucket."
  type        = string
  default     = "cognito/terraform.tfstate"
}

variable "waf_enabled" {
  description = "Put a WAF web ACL (a per-IP rate limit and AWS's known-bad-inputs rules) in front of the distribution. It costs money: about 5 USD a month plus 1 USD per million requests."
  type        = bool
  default     = true
}

variable "waf_requests_per_5_minutes" {
  description = "Requests one IP may make in any 5 minutes before the WAF blocks it (AWS's minimum is 10)."
  type        = number
  default     = 300

  validation {
    condition     = var.waf_requests_per_5_minutes >= 10
    error_message = "waf_requests_per_5_minutes must be at least 10."
  }
}
