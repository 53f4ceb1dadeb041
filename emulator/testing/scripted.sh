#!/usr/bin/env bash
# A stand-in function for lifecycle tests: optionally dumps its environment to $ENV_DUMP, asks the
# Runtime API for one invocation (bash's /dev/tcp, no other tool needed), then does what $BEHAVIOUR says:
# crash (exit 3), hang (until the emulator's timeout kills it), or cors: answer every invocation with a
# buffered 200 that sets its own access-control-allow-origin (what a function must not do behind a URL
# with CORS).
if [ -n "${ENV_DUMP:-}" ]; then env > "$ENV_DUMP"; fi
host="${AWS_LAMBDA_RUNTIME_API%:*}" port="${AWS_LAMBDA_RUNTIME_API#*:}"
next() {
  exec 3<>"/dev/tcp/$host/$port"
  printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n' "$AWS_LAMBDA_RUNTIME_API" >&3
  request_id=""
  while IFS= read -r line <&3; do
    line="${line%$'\r'}"
    [ -z "$line" ] && break
    case "${line,,}" in lambda-runtime-aws-request-id:*) request_id="${line#*: }" ;; esac
  done
}
next
case "${BEHAVIOUR:-crash}" in
  hang) exec sleep 600 ;;
  cors)
    while :; do
      body='{"statusCode":200,"headers":{"content-type":"text/event-stream","access-control-allow-origin":"*"},"body":"event: done\ndata: {\"finishReason\":\"STOP\",\"usage\":{}}\n\n"}'
      exec 4<>"/dev/tcp/$host/$port"
      printf 'POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
        "$request_id" "$AWS_LAMBDA_RUNTIME_API" "${#body}" "$body" >&4
      cat <&4 >/dev/null
      exec 3<&- 4<&-
      next
    done ;;
  *) exit 3 ;;
esac
