output "distribution_domain_name" {
  description = "The chatbot's public domain (POST https://<this>/chatbot)."
  value       = aws_cloudfront_distribution.chatbot.domain_name
}

output "function_url" {
  description = "The function URL (AWS_IAM; reachable through CloudFront's OAC)."
  value       = aws_lambda_function_url.chatbot.function_url
}

output "function_name" {
  description = "The Lambda function's name."
  value       = aws_lambda_function.chatbot.function_name
}
