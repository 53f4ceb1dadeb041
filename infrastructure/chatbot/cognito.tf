# The user pool lives in its own stack; its outputs name the pool and the app client the function trusts.
data "terraform_remote_state" "cognito" {
  backend = "s3"

  config = {
    bucket = var.cognito_state_bucket
    key    = var.cognito_state_key
    region = var.region
  }
}
