#!/usr/bin/env bash
# Runs a command inside an image's unpacked root filesystem, roughly as a
# container runtime would, to check an image without one: in a private mount
# namespace (nothing leaks to the host), with /proc and a small tmpfs /dev
# (null, zero, random, urandom and an empty termination-log), as a given user.
#
#   chroot-run.sh [--ro] [--user UID:GID] [--env K=V]... [--termlog FILE] ROOTFS CMD [ARG...]
#     --ro        the root filesystem is read-only, as with readOnlyRootFilesystem
#     --env       set K=V in the otherwise empty environment (PATH and HOME are set)
#     --termlog   copy /dev/termination-log to FILE afterwards
# Exits with the command's exit code. Needs root and util-linux's unshare.
set -euo pipefail

opts=("$@")
ro=0 user=0:0 termlog="" envs=(PATH=/usr/local/bin:/usr/bin:/bin HOME=/)
while [ $# -gt 0 ]; do
  case "$1" in
    --ro) ro=1; shift ;;
    --user) user="$2"; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --termlog) termlog="$2"; shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "usage: $0 [--ro] [--user UID:GID] [--env K=V]... [--termlog FILE] ROOTFS CMD [ARG...]" >&2; exit 2; }
root="$1"; shift

if [ -z "${KJD_CHROOT_RUN_INNER:-}" ]; then
  # Re-run this script in a new mount namespace (mounts private: none reach the host).
  exec env KJD_CHROOT_RUN_INNER=1 unshare --mount --propagation private -- bash "$0" "${opts[@]}"
fi

# Mount points a runtime would create (the container's own copy: not the image).
mkdir -p "$root/proc" "$root/dev"
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount -t tmpfs -o size=1m,mode=755 tmpfs "$root/dev"
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 666 "$root/dev/zero" c 1 5
mknod -m 666 "$root/dev/random" c 1 8
mknod -m 666 "$root/dev/urandom" c 1 9
install -m 666 /dev/null "$root/dev/termination-log"
if [ "$ro" = 1 ]; then
  mount -o remount,bind,ro "$root"
fi
rc=0
env -i "${envs[@]}" "$(command -v chroot)" --userspec="$user" "$root" "$@" || rc=$?
if [ -n "$termlog" ]; then cp "$root/dev/termination-log" "$termlog"; fi
exit "$rc"
