#!/usr/bin/env bash
# Builds the KEDA operator (for the head-to-head of issue 14) from its Go module
# through the Go module proxy, into the same cache as the control plane, keyed
# by KEDA's version and the Go version, and copies KEDA's CRDs (the module's
# config/crd/bases) next to it. A second run does nothing but print the folder.
# npm test never builds it: the KEDA smoke test skips without it.
#
#   bash controlplane/build-keda.sh           build if needed, print the folder
#   bash controlplane/build-keda.sh --print   print the folder, build nothing
#
# KEDA's go.mod has a replace and an exclude directive, so `go install pkg@v`
# refuses it; the helper module controlplane/keda/go.mod copies them.
#
# Environment: KJD_CACHE_DIR (default ~/.cache/kube-job-dispatcher);
# KJD_WAIT_FOR_LOG=<file>: before the Go build, wait until the file's last
# line starts with `exit` (a CI run sharing the machine has finished).
set -euo pipefail

# Everything runs inside main, so bash has read the whole file before it starts.
main() {
  # Pinned here, not in versions.env: that file keys the control plane's cache.
  # Must match the require in controlplane/keda/go.mod.
  local KEDA_VERSION=v2.21.0
  local module=github.com/kedacore/keda/v2
  local here; here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
  local go_version; go_version="$(go env GOVERSION)"
  local cache="${KJD_CACHE_DIR:-$HOME/.cache/kube-job-dispatcher}/keda/${KEDA_VERSION}_${go_version}"
  local bin="$cache/keda-operator"
  case "${1:-}" in
    --print) echo "$cache"; exit 0 ;;
    "") ;;
    *) echo "usage: $0 [--print]" >&2; exit 2 ;;
  esac
  if [ -x "$bin" ] && [ -f "$cache/crds/keda.sh_scaledjobs.yaml" ]; then echo "$cache"; exit 0; fi

  log() { echo "[keda] $*" >&2; }
  if [ -n "${KJD_WAIT_FOR_LOG:-}" ]; then
    until [ -f "$KJD_WAIT_FOR_LOG" ] && tail -n 1 "$KJD_WAIT_FOR_LOG" | grep -q '^exit'; do
      log "waiting for $KJD_WAIT_FOR_LOG to end (its last line starts with 'exit')"
      sleep 30
    done
  fi

  log "building $module $KEDA_VERSION (cmd/operator) into $cache (go $go_version)"
  mkdir -p "$cache"
  local stage; stage="$(mktemp -d "$cache/stage.XXXXXX")"
  # Expanded now: the trap runs after main has returned and its locals are gone.
  # shellcheck disable=SC2064
  trap "rm -rf '$stage'" EXIT
  local start=$SECONDS

  # A staged copy of go.mod/go.sum (-modfile), so the build never edits the
  # checked-in files.
  cp "$here/keda/go.mod" "$stage/build.mod"
  cp "$here/keda/go.sum" "$stage/build.sum"
  (cd "$here/keda" && go build -modfile="$stage/build.mod" -trimpath \
    -ldflags "-s -w -X=$module/version.Version=$KEDA_VERSION" \
    -o "$stage/keda-operator" "$module/cmd/operator")
  log "operator built after $((SECONDS - start))s"

  # The CRDs from the very module version the binary was built from.
  local dir
  # Run outside any module (the stage has no go.mod): a plain module download.
  dir="$(cd "$stage" && GOFLAGS= go mod download -json "$module@$KEDA_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  if [ -z "$dir" ] || [ ! -d "$dir/config/crd/bases" ]; then
    log "no config/crd/bases in the module cache ($dir)"
    exit 1
  fi
  mkdir -p "$stage/crds"
  cp "$dir"/config/crd/bases/*.yaml "$stage/crds/"
  chmod -R u+w "$stage/crds"

  rm -rf "$cache/crds"
  mv "$stage/crds" "$cache/crds"
  mv "$stage/keda-operator" "$bin"
  log "done in $((SECONDS - start))s"
  echo "$cache"
}

main "$@"
