#!/usr/bin/env bash
# Compiles every libxft source with CUDA on (XFT_WITH_CUDA) against Debian 13's libtorch-cuda-dev
# 2.6 headers, unpacked by scripts/trixie.sh in /opt/libtorch-cuda, and a CUDA toolkit's headers
# (CUDA_HOME, default /usr/local/cuda). Object files only: linking would need libtorch_cuda and
# the CUDA runtime, which no GPU-less machine here has; a GPU machine builds with LIBTORCH_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
INC=/opt/libtorch-cuda/root/usr/include
CUDA=${CUDA_HOME:-/usr/local/cuda}
[ -f "$INC/c10/cuda/CUDAFunctions.h" ] || { echo "cuda-compile: no libtorch-cuda-dev headers in $INC" >&2; exit 1; }
[ -f "$CUDA/include/cuda_runtime_api.h" ] || { echo "cuda-compile: no CUDA headers in $CUDA/include (set CUDA_HOME)" >&2; exit 1; }
out=$(mktemp -d)
flags=(-std=c++17 -O0 -fPIC -Wall -Wno-unused-parameter -Werror=return-type -DXFT_WITH_CUDA
       -isystem "$INC" -isystem "$INC/torch/csrc/api/include" -isystem "$CUDA/include"
       -Inative-build/include -Inative-build/src)
echo "cuda-compile: $(ls native-build/src/*.cpp | wc -l) sources, libtorch-cuda-dev $(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH)/ {printf "%s%s", sep, $3; sep="."}' "$INC/torch/csrc/api/include/torch/version.h"), CUDA headers from $CUDA"
printf '%s\n' native-build/src/*.cpp | xargs -P "$(nproc)" -I{} sh -c 'g++ "$@" -c {} -o '"$out"'/$(basename {} .cpp).o && echo "  compiled {}"' _ "${flags[@]}"
n=$(ls "$out"/*.o | wc -l)
syms=$(nm -C "$out"/compat.o)
grep -q 'c10::cuda::CUDACachingAllocator' <<<"$syms" || { echo "cuda-compile: compat.o has no CUDA allocator calls: XFT_WITH_CUDA did not take" >&2; exit 1; }
echo "cuda-compile: $n object files with CUDA on"
rm -rf "$out"
