#!/bin/sh
# kjd's test worker, as seed 000's image_worker would behave, for the real
# node's tests: it prints each argument on its own line as `arg: [VALUE]`,
# writes a termination message to /dev/termination-log, and exits with the
# code in EXIT_CODE (default 0).
#   TERMINATION_MESSAGE  the message (default: "exit CODE, N argument(s)")
#   SLEEP_SECONDS        sleep this long first (default 0), for tests that
#                        watch a running Job
# The image also has it as /go/bin/image_worker, the path seed 000's Job
# template names.
code="${EXIT_CODE:-0}"
case "$code" in
  '' | *[!0-9]*) echo "kjd-worker: EXIT_CODE must be a number 0-255, not [$code]" >&2; code=2 ;;
esac
if [ "${SLEEP_SECONDS:-0}" != 0 ]; then sleep "$SLEEP_SECONDS"; fi
for arg in "$@"; do
  printf 'arg: [%s]\n' "$arg"
done
message="${TERMINATION_MESSAGE:-exit $code, $# argument(s)}"
# Absent outside Kubernetes (the kubelet mounts it): not an error then.
{ printf '%s' "$message" >/dev/termination-log; } 2>/dev/null || true
exit "$code"
