#!/usr/bin/env bash
# A stand-in function for lifecycle tests: optionally dumps its environment to $ENV_DUMP, asks the
# Runtime API for one invocation (bash's /dev/tcp, no other tool needed), then does what $BEHAVIOUR says:
# crash (exit 3) or hang (until the emulator's timeout kills it).
if [ -n "${ENV_DUMP:-}" ]; then env > "$ENV_DUMP"; fi
exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}"
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n' "$AWS_LAMBDA_RUNTIME_API" >&3
read -r _status <&3
case "${BEHAVIOUR:-crash}" in
  hang) exec sleep 600 ;;
  *) exit 3 ;;
esac
