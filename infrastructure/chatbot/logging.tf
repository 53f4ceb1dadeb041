# CloudFront's standard access logs, in a bucket of their own.
resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:this is the access-log bucket; logging it to itself would loop.
  #checkov:skip=CKV_AWS_144:cross-region replication of request logs is not worth its cost here.
  #checkov:skip=CKV_AWS_145:CloudFront standard logging cannot deliver to an SSE-KMS bucket; SSE-S3 is set instead.
  #checkov:skip=CKV2_AWS_62:nothing consumes events of new log objects.
  bucket_prefix = "${var.function_name}-access-logs-"
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  #checkov:skip=CKV2_AWS_65:CloudFront standard logging writes with the awslogsdelivery ACL, so ACLs must stay enabled (BucketOwnerPreferred).
  bucket = aws_s3_bucket.access_logs.id
  rule {
    object_ownership = "BucketOwnerPreferred"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = 90
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}
