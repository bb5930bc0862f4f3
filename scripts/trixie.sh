#!/usr/bin/env bash
# The libtorch 2.6 test leg: runs the suite inside a Debian 13 ("trixie") chroot whose
# libtorch-dev is 2.6, and compiles libxft against trixie's libtorch-cuda-dev 2.6 with CUDA on.
#
#   scripts/trixie.sh test      # the whole suite on libtorch 2.6 (what CI's second leg runs)
#   scripts/trixie.sh cuda      # compile libxft with CUDA on against libtorch-cuda-dev 2.6 headers
#   scripts/trixie.sh shell     # a shell in the chroot, the project copied to /src
#   scripts/trixie.sh run CMD   # one command in the chroot's /src (e.g. ./xformer bench stage1 ...)
#
# The chroot lives in XF_TRIXIE (default /var/tmp/xformer-trixie) and is reused when present;
# making it takes about two minutes (debootstrap + apt). The Debian mirror is the one this
# machine's apt already uses. The JDK and ~/.m2 are bind-mounted; the project is copied in
# (not mounted), so the 2.6 build never touches the host's native-build/build.
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"
CH=${XF_TRIXIE:-/var/tmp/xformer-trixie}
PKGS="libtorch-dev libgloo-dev libopenblas0-pthread cmake make g++ maven ca-certificates"

[ "$(id -u)" -eq 0 ] || xf_die "scripts/trixie.sh needs root (debootstrap, chroot, bind mounts)"

mirror() { # the Debian mirror of this machine's apt sources (deb822 or one-line format)
  local m
  m=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
  [ -n "$m" ] || m=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
                      | awk '{print $2}' | grep -v security | grep -i debian | head -1)
  [ -n "$m" ] || xf_die "no Debian mirror found in /etc/apt/sources.list*"
  echo "$m"
}

make_chroot() {
  [ -f "$CH/.xformer-ready" ] && return 0
  command -v debootstrap >/dev/null || { apt-get update -qq >&2; apt-get install -y -qq debootstrap >&2; }
  local m; m=$(mirror)
  echo "xformer: creating the Debian 13 chroot in $CH from $m (about 2 minutes)..." >&2
  rm -rf "$CH"
  debootstrap --variant=minbase --components=main,contrib trixie "$CH" "$m" >"$CH.log" 2>&1 \
    || { tail -20 "$CH.log" >&2; xf_die "debootstrap failed (log: $CH.log)"; }
  echo "deb $m trixie main contrib" >"$CH/etc/apt/sources.list"
  chroot "$CH" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PKGS" \
    >>"$CH.log" 2>&1 || { tail -20 "$CH.log" >&2; xf_die "apt-get in the chroot failed (log: $CH.log)"; }
  touch "$CH/.xformer-ready"
}

MOUNTS=()
mount_all() {
  local jdk=$JAVA_HOME
  mkdir -p "$CH/proc" "$CH/dev" "$CH$jdk" "$CH/root/.m2" "$CH/src"
  mount -t proc proc "$CH/proc" && MOUNTS+=("$CH/proc")
  mount --bind /dev "$CH/dev" && MOUNTS+=("$CH/dev")
  mount --bind "$jdk" "$CH$jdk" && MOUNTS+=("$CH$jdk")
  mkdir -p "$HOME/.m2"
  mount --bind "$HOME/.m2" "$CH/root/.m2" && MOUNTS+=("$CH/root/.m2")
  cp /etc/resolv.conf "$CH/etc/resolv.conf" 2>/dev/null || true
}
umount_all() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
}

copy_project() {
  # The working tree as it is (tracked + untracked, not ignored). Build outputs in the chroot are
  # kept for speed, so only files whose content changed are rewritten (and get a new mtime):
  # a copied file older than its stale .class or .o would otherwise not be rebuilt.
  command -v rsync >/dev/null || { apt-get update -qq >&2; apt-get install -y -qq rsync >&2; }
  local stage; stage=$(mktemp -d)
  (cd "$ROOT" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -C "$stage" -xf -
  mkdir -p "$CH/src"
  rsync -rlpc --delete --exclude '/*/target/' --exclude '/native-build/build/' "$stage/" "$CH/src/"
  rm -rf "$stage"
}

in_chroot() {
  chroot "$CH" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    JAVA_HOME="$JAVA_HOME" LANG=C.UTF-8 CI="${CI:-}" /bin/bash -c "cd /src && $1"
}

cuda_headers() {
  # trixie's libtorch-cuda-dev unpacked, not installed: it conflicts with libtorch-dev, and its
  # runtime (1.4 GB plus CUDA and cuDNN) is not needed to compile.
  local d=$CH/opt/libtorch-cuda
  if [ ! -f "$d/.ready" ]; then
    rm -rf "$d" && mkdir -p "$d/debs"
    in_chroot "cd /opt/libtorch-cuda/debs && apt-get download -qq libtorch-cuda-dev 2>/dev/null && dpkg -x libtorch-cuda-dev_*.deb /opt/libtorch-cuda/root" \
      || xf_die "could not fetch libtorch-cuda-dev from trixie's contrib component"
    touch "$d/.ready"
  fi
  # CUDA's own headers: the host's toolkit (CUDA_HOME or /usr/local/cuda), mounted at the same path.
  local cuda; cuda=$(readlink -f "${CUDA_HOME:-/usr/local/cuda}")
  [ -f "$cuda/include/cuda_runtime_api.h" ] || xf_die "no CUDA toolkit headers at $cuda/include (set CUDA_HOME)"
  mkdir -p "$CH$cuda" && mount --bind "$cuda" "$CH$cuda" && MOUNTS+=("$CH$cuda")
  CUDA_IN_CHROOT=$cuda
}

cmd=${1:-test}; shift || true
xf_find_jdk
make_chroot
trap umount_all EXIT
mount_all
copy_project
case "$cmd" in
  test)  in_chroot "./test $*" ;;
  cuda)  cuda_headers; in_chroot "CUDA_HOME=$CUDA_IN_CHROOT scripts/cuda-compile.sh $*" ;;
  shell) in_chroot "bash" ;;
  run)   in_chroot "$*" ;;
  *) xf_die "usage: scripts/trixie.sh test|cuda|shell|run CMD" ;;
esac
