#!/usr/bin/env bash
# Builds Kueue's manager (cmd/kueue of sigs.k8s.io/kueue, issue 17) from its Go
# module through the Go module proxy, into the same cache as the control plane,
# keyed by Kueue's version and the Go version, and copies the module's CRDs
# (config/components/crd/bases) and webhook manifests next to it. A second run
# does nothing but print the folder. scripts/setup.sh runs it, so the Kueue
# tests in npm test have it; they skip, saying why, when it is missing.
#
#   bash controlplane/build-kueue.sh           build if needed, print the folder
#   bash controlplane/build-kueue.sh --print   print the folder, build nothing
#
# Kueue's go.mod has no replace or exclude directive, so a throwaway module that
# requires it is enough (no checked-in helper module, unlike KEDA's).
#
# Environment: KJD_CACHE_DIR (default ~/.cache/kube-job-dispatcher).
set -euo pipefail

# Everything runs inside main, so bash has read the whole file before it starts.
main() {
  # Pinned here, not in versions.env: that file keys the control plane's cache.
  local KUEUE_VERSION=v0.17.0
  local module=sigs.k8s.io/kueue
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
  local go_version; go_version="$(go env GOVERSION)"
  local cache="${KJD_CACHE_DIR:-$HOME/.cache/kube-job-dispatcher}/kueue/${KUEUE_VERSION}_${go_version}"
  local bin="$cache/kueue"
  case "${1:-}" in
    --print) echo "$cache"; exit 0 ;;
    "") ;;
    *) echo "usage: $0 [--print]" >&2; exit 2 ;;
  esac
  if [ -x "$bin" ] && [ -f "$cache/crds/kueue.x-k8s.io_workloads.yaml" ] && [ -f "$cache/webhook/manifests.yaml" ]; then
    echo "$cache"
    exit 0
  fi

  log() { echo "[kueue] $*" >&2; }
  log "building $module $KUEUE_VERSION (cmd/kueue) into $cache (go $go_version)"
  mkdir -p "$cache"
  local stage; stage="$(mktemp -d "$cache/stage.XXXXXX")"
  # Expanded now: the trap runs after main has returned and its locals are gone.
  # shellcheck disable=SC2064
  trap "rm -rf '$stage'" EXIT
  local start=$SECONDS

  mkdir -p "$stage/mod"
  (
    cd "$stage/mod"
    go mod init kjd.local/kueue-build >/dev/null 2>&1
    go get "$module@$KUEUE_VERSION" >/dev/null 2>&1
    go build -trimpath \
      -ldflags "-s -w -X=$module/pkg/version.GitVersion=$KUEUE_VERSION" \
      -o "$stage/kueue" "$module/cmd/kueue"
  )
  log "manager built after $((SECONDS - start))s"

  # The CRDs and webhook manifests from the very module version the binary was built from.
  local dir
  dir="$(cd "$stage/mod" && go list -m -f '{{.Dir}}' "$module")"
  if [ -z "$dir" ] || [ ! -d "$dir/config/components/crd/bases" ]; then
    log "no config/components/crd/bases in the module cache ($dir)"
    exit 1
  fi
  mkdir -p "$stage/crds" "$stage/webhook"
  cp "$dir"/config/components/crd/bases/*.yaml "$stage/crds/"
  cp "$dir"/config/components/webhook/manifests.yaml "$stage/webhook/"
  chmod -R u+w "$stage/crds" "$stage/webhook"

  rm -rf "$cache/crds" "$cache/webhook"
  mv "$stage/crds" "$cache/crds"
  mv "$stage/webhook" "$cache/webhook"
  mv "$stage/kueue" "$bin"
  log "done in $((SECONDS - start))s"
  echo "$cache"
}

main "$@"
