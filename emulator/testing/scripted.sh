#!/usr/bin/env bash
# A stand-in function for lifecycle and protocol tests, speaking the Runtime API with bash's /dev/tcp
# (no other tool needed). It dumps its environment to $ENV_DUMP and its first invocation (the /next
# response's head and the event) to $EVENT_DUMP when set, then does what $BEHAVIOUR says:
#   crash   exit 3 (the default)
#   hang    sleep until the emulator's timeout kills it
#   cors    answer every invocation with a buffered 200 that sets its own access-control-allow-origin
#   raw     stream text/plain without the HTTP-integration prelude
#   trailer stream a prelude and "partial ", then end with error trailers
#   error   post the invocation's error to /error
#   log     print a log line on stdout (as AWS's runtime clients do), then answer buffered
#   page    answer every invocation with a buffered 200 HTML page (a site's /index.html)
if [ -n "${ENV_DUMP:-}" ]; then env > "$ENV_DUMP"; fi
export LC_ALL=C
host="${AWS_LAMBDA_RUNTIME_API%:*}" port="${AWS_LAMBDA_RUNTIME_API#*:}"
base="/2018-06-01/runtime/invocation"

next() {
  exec 3<>"/dev/tcp/$host/$port"
  printf 'GET %s/next HTTP/1.1\r\nHost: %s\r\n\r\n' "$base" "$AWS_LAMBDA_RUNTIME_API" >&3
  request_id="" length=0 head=""
  while IFS= read -r line <&3; do
    line="${line%$'\r'}"
    [ -z "$line" ] && break
    head+="$line"$'\n'
    case "${line,,}" in
      lambda-runtime-aws-request-id:*) request_id="${line#*: }" ;;
      content-length:*) length="${line#*: }" ;;
    esac
  done
  event=""
  if [ "$length" -gt 0 ]; then IFS= read -r -N "$length" event <&3; fi
  if [ -n "${EVENT_DUMP:-}" ] && [ ! -e "$EVENT_DUMP" ]; then
    printf '%s\n%s' "$head" "$event" > "$EVENT_DUMP"
  fi
}

# post PATH HEADERS BODY: one request on its own connection, the answer read and dropped.
post() {
  exec 4<>"/dev/tcp/$host/$port"
  printf 'POST %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n%s' "$1" "$AWS_LAMBDA_RUNTIME_API" "$2" "$3" >&4
  cat <&4 >/dev/null
  exec 4<&-
}

# chunk TEXT: one chunk of a chunked body, written to the response connection (fd 4).
chunk() { printf '%x\r\n%s\r\n' "${#1}" "$1" >&4; }

# open_stream CONTENT_TYPE [EXTRA_HEADERS]: starts a streamed /response on fd 4.
open_stream() {
  exec 4<>"/dev/tcp/$host/$port"
  printf 'POST %s/%s/response HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nLambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n%sConnection: close\r\n\r\n' \
    "$base" "$request_id" "$AWS_LAMBDA_RUNTIME_API" "$1" "${2:-}" >&4
}

next
case "${BEHAVIOUR:-crash}" in
  hang) exec sleep 600 ;;
  cors)
    while :; do
      body='{"statusCode":200,"headers":{"content-type":"text/event-stream","access-control-allow-origin":"*"},"body":"event: done\ndata: {\"finishReason\":\"STOP\",\"usage\":{}}\n\n"}'
      post "$base/$request_id/response" "Content-Length: ${#body}"$'\r\n' "$body"
      exec 3<&-
      next
    done ;;
  page)
    while :; do
      body='{"statusCode":200,"headers":{"content-type":"text/html"},"body":"<!doctype html><title>the site</title>"}'
      post "$base/$request_id/response" "Content-Length: ${#body}"$'\r\n' "$body"
      exec 3<&-
      next
    done ;;
  raw)
    open_stream text/plain
    chunk 'raw bytes, '
    chunk 'no prelude'
    printf '0\r\n\r\n' >&4
    cat <&4 >/dev/null
    exec sleep 600 ;;
  trailer)
    open_stream application/vnd.awslambda.http-integration-response \
      $'Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n'
    chunk '{"statusCode":200,"headers":{"content-type":"text/plain"}}'
    # The eight NUL bytes cannot live in a bash string: printf writes them.
    printf '8\r\n\0\0\0\0\0\0\0\0\r\n' >&4
    chunk 'partial '
    # Base64 of {"errorType":"Runtime.StreamError","errorMessage":"boom"}
    printf '0\r\nLambda-Runtime-Function-Error-Type: Runtime.StreamError\r\nLambda-Runtime-Function-Error-Body: eyJlcnJvclR5cGUiOiJSdW50aW1lLlN0cmVhbUVycm9yIiwiZXJyb3JNZXNzYWdlIjoiYm9vbSJ9\r\n\r\n' >&4
    cat <&4 >/dev/null
    exec sleep 600 ;;
  error)
    body='{"errorType":"Function.Boom","errorMessage":"it broke"}'
    post "$base/$request_id/error" "Content-Length: ${#body}"$'\r\nLambda-Runtime-Function-Error-Type: Function.Boom\r\n' "$body"
    exec sleep 600 ;;
  log)
    echo "Executing 'index.handler' in function directory '/var/task'"
    body='{"statusCode":200,"headers":{"content-type":"text/plain"},"body":"answered"}'
    post "$base/$request_id/response" "Content-Length: ${#body}"$'\r\n' "$body"
    exec 3<&-
    next
    exec sleep 600 ;;
  *) exit 3 ;;
esac
