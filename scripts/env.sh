# Sourced by ./xformer and ./test: finds a JDK >= 22, makes sure the native toolchain and
# libtorch are installed (installing Debian's packages when run as root), and exports
# JAVA_HOME / JAVA. Nothing here is needed by hand on a prepared machine.

xf_die() { echo "xformer: $*" >&2; exit 1; }

xf_java_major() { # prints the feature version of the java binary $1, or 0
  # the JDK's release file first: starting a JVM to ask costs ~0.1 s on every ./xformer run
  local rel v
  rel=$(dirname "$(dirname "$1")")/release
  v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel" 2>/dev/null | head -1)
  [ -n "$v" ] && { echo "$v"; return; }
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -1 || echo 0
}

xf_find_jdk() {
  local cand best="" best_v=0 v
  for cand in "${JAVA_HOME:-}" /usr/lib/jvm/* /opt/java/* /opt/jdk*; do
    [ -n "$cand" ] && [ -x "$cand/bin/javac" ] || continue
    v=$(xf_java_major "$cand/bin/java"); v=${v:-0}
    if [ "$cand" = "${JAVA_HOME:-}" ] && [ "$v" -ge 22 ]; then best=$cand; break; fi
    if [ "$v" -ge 22 ] && [ "$v" -gt "$best_v" ]; then best=$cand; best_v=$v; fi
  done
  [ -n "$best" ] || xf_die "no JDK >= 22 found (looked at JAVA_HOME and /usr/lib/jvm); FFM needs JDK 22+. Install one (e.g. Temurin 25) and set JAVA_HOME."
  export JAVA_HOME=$best
  export JAVA=$best/bin/java
  XF_JAVA_MAJOR=$(xf_java_major "$JAVA")
  # Maven's bundled Guava touches sun.misc.Unsafe; JDK 24+ warns about it on every run.
  if [ "$XF_JAVA_MAJOR" -ge 24 ]; then export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"; fi
}

xf_have_libtorch() {
  if [ -n "${LIBTORCH_HOME:-}" ]; then
    # an unpacked libtorch or torch/ folder (share/cmake/Torch), or a Debian-style /usr tree
    # (lib/<arch>/cmake/Torch): CMake accepts both as a prefix.
    [ -d "$LIBTORCH_HOME/share/cmake/Torch" ] || ls -d "$LIBTORCH_HOME"/lib/*/cmake/Torch >/dev/null 2>&1 \
      || xf_die "LIBTORCH_HOME=$LIBTORCH_HOME has neither share/cmake/Torch nor lib/<arch>/cmake/Torch"
    return 0
  fi
  [ -f /usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake ] || [ -f /usr/lib/aarch64-linux-gnu/cmake/Torch/TorchConfig.cmake ] \
    || ls /usr/lib/*/cmake/Torch/TorchConfig.cmake >/dev/null 2>&1
}

xf_ensure_native_deps() { # extra package names may be passed (./test's test-only ones)
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  command -v cmake >/dev/null || missing+=(cmake)
  command -v g++ >/dev/null || missing+=(g++)
  command -v mvn >/dev/null || missing+=(maven)
  xf_have_libtorch || missing+=(libtorch-dev libgloo-dev)
  # Debian's libtorch links the generic libblas.so.3; without OpenBLAS that is the reference
  # BLAS, about 20x slower for every matmul (measured: 4 vs 82 GFLOP/s on one core).
  if [ -z "${LIBTORCH_HOME:-}" ] && ! ls /usr/lib/*/openblas-pthread/libblas.so.3 >/dev/null 2>&1; then
    missing+=(libopenblas0-pthread)
  fi
  # `xformer plot` renders text with AWT, which needs fontconfig and at least one font
  [ -n "$(fc-list 2>/dev/null | head -n 1)" ] || missing+=(fontconfig fonts-dejavu-core)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    xf_die "missing: ${missing[*]}. Install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  fi
  echo "xformer: installing ${missing[*]} (Debian packages, 1-2 minutes)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  # apt's and dpkg's chatter goes to a log, shown only when the install fails
  local log; log=$(mktemp /tmp/xformer-apt.XXXXXX.log)
  { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1 \
    || { cat "$log" >&2; xf_die "apt-get install ${missing[*]} failed (output above, also in $log)"; }
  rm -f "$log"
}

xf_setup() {
  xf_find_jdk
  xf_ensure_native_deps "$@"
}
