#!/usr/bin/env bash
# Builds toxiproxy-server (the TCP fault proxy of the fault suite, see
# docs/adr/0004-fault-proxy.md) from its Go module through the Go module proxy,
# into the same cache as the control plane, keyed by version and Go version.
# A second run with the same versions does nothing but print the binary path.
#
#   bash controlplane/build-toxiproxy.sh           build if needed, print the binary
#   bash controlplane/build-toxiproxy.sh --print   print the binary path, build nothing
#
# Environment: KJD_CACHE_DIR (default ~/.cache/kube-job-dispatcher).
set -euo pipefail

main() {
  # Pinned here, not in versions.env: that file keys the control plane's cache,
  # and a proxy version bump must not rebuild kube-apiserver.
  local TOXIPROXY_VERSION=v2.5.0
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
  local go_version; go_version="$(go env GOVERSION)"
  local cache="${KJD_CACHE_DIR:-$HOME/.cache/kube-job-dispatcher}/toxiproxy/${TOXIPROXY_VERSION}_${go_version}"
  local bin="$cache/toxiproxy-server"
  case "${1:-}" in
    --print) echo "$bin"; exit 0 ;;
    "") ;;
    *) echo "usage: $0 [--print]" >&2; exit 2 ;;
  esac
  if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
  echo "[toxiproxy] building $TOXIPROXY_VERSION into $cache (go $go_version)" >&2
  mkdir -p "$cache"
  local stage; stage="$(mktemp -d "$cache/stage.XXXXXX")"
  # Expanded now: the trap runs after main has returned and its locals are gone.
  trap "rm -rf '$stage'" EXIT
  GOBIN="$stage" go install -trimpath -ldflags "-s -w" \
    "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
  mv "$stage/server" "$bin"
  echo "$bin"
}

main "$@"
