#!/usr/bin/env bash
# Builds the local test control plane from upstream Go modules (through the Go
# module proxy) into a cache outside the repo, keyed by the pinned versions.
# A second run with the same versions does nothing but print the folder.
#
#   bash controlplane/build.sh            build if needed, print the bin folder
#   bash controlplane/build.sh --print    print the bin folder, build nothing
#   bash controlplane/build.sh --helm     also build helm (deploy tests)
#
# The kubelet (for the real node, harness/node/) is built with the same module,
# flags and version stamps as kube-apiserver. It is in the default set, so an
# existing cache folder only gains it: the key (and RECIPE) did not change.
#
# Environment: KJD_CACHE_DIR (default ~/.cache/kube-job-dispatcher).
set -euo pipefail

# Everything runs inside main, so bash has read the whole file before it
# starts: editing this script while a build runs cannot corrupt that build.
main() {

  local here; here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  # shellcheck source=versions.env
  source "$here/versions.env"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

  # Bump when the build flags below change, so cached binaries are rebuilt.
  RECIPE=1
  go_version="$(go env GOVERSION)"
  # The key covers the versions, the helper modules and the recipe: any change rebuilds.
  mod_hash="$( (echo "recipe $RECIPE"; cat "$here/versions.env" "$here"/*/go.mod "$here"/*/go.sum) | sha256sum | cut -c1-12)"
  key="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_${go_version}_${mod_hash}"
  cache="${KJD_CACHE_DIR:-$HOME/.cache/kube-job-dispatcher}/controlplane/$key"
  bin="$cache/bin"

  want_helm=0
  case "${1:-}" in
    --print) echo "$bin"; exit 0 ;;
    --helm) want_helm=1 ;;
    "") ;;
    *) echo "usage: $0 [--print|--helm]" >&2; exit 2 ;;
  esac

  log() { echo "[controlplane] $*" >&2; }
  need=()
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubelet; do
    [ -x "$bin/$b" ] || need+=("$b")
  done
  [ "$want_helm" = 1 ] && [ ! -x "$bin/helm" ] && need+=(helm)
  if [ "${#need[@]}" -eq 0 ]; then
    echo "$bin"
    exit 0
  fi

  log "building ${need[*]} into $bin (go $go_version)"
  mkdir -p "$bin"
  stage="$(mktemp -d "$cache/stage.XXXXXX")"
  trap 'rm -rf "$stage"' EXIT
  start=$SECONDS

  has() { printf '%s\n' "${need[@]}" | grep -qx "$1"; }

  # Only the Kubernetes commands that are missing, so a cache folder from
  # before the kubelet was added builds the kubelet alone (about 1 min warm).
  k8s_cmds=()
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet; do
    has "$b" && k8s_cmds+=("k8s.io/kubernetes/cmd/$b")
  done
  if [ "${#k8s_cmds[@]}" -gt 0 ]; then
    minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
    stamp=""
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      stamp+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
      stamp+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    # A staged copy of go.mod/go.sum (-modfile): with -mod=mod, go adds the
    # sums of modules only the kubelet needs, and an edit of the checked-in
    # go.sum would change the cache key above (a full rebuild next time).
    cp "$here/kubernetes/go.mod" "$stage/build.mod"
    cp "$here/kubernetes/go.sum" "$stage/build.sum"
    (cd "$here/kubernetes" && go build -modfile="$stage/build.mod" -trimpath -tags selinux,notest \
      -ldflags "-s -w$stamp" -o "$stage/" "${k8s_cmds[@]}")
    rm -f "$stage/build.mod" "$stage/build.sum"
    log "kubernetes (${k8s_cmds[*]##*/}) built after $((SECONDS - start))s"
  fi
  if has etcd; then
    (cd "$here/etcd" && go build -trimpath -ldflags "-s -w" -o "$stage/etcd" go.etcd.io/etcd/server/v3)
    log "etcd built after $((SECONDS - start))s"
  fi
  if has kwok; then
    # kwok's go.mod has no replace directives, so a plain install works.
    GOBIN="$stage" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    log "kwok built after $((SECONDS - start))s"
  fi
  if has helm; then
    GOBIN="$stage" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    log "helm built after $((SECONDS - start))s"
  fi
  mv "$stage"/* "$bin/"
  log "done in $((SECONDS - start))s"
  echo "$bin"
}

main "$@"
