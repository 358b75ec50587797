#!/bin/sh
# Rebuilds the guest programs (guests/bin/*.elf) from their sources with Debian's cross toolchain
# (gcc-aarch64-linux-gnu, binutils-aarch64-linux-gnu). The images are committed; a test rebuilds
# them into a temporary directory and checks the result is byte for byte what is committed.
#
#   guests/build.sh [OUT_DIR]      (default: guests/bin)
set -eu
cd "$(dirname "$0")"
CC=${CC:-aarch64-linux-gnu-gcc}
OUT=${1:-bin}
mkdir -p "$OUT"
# Bare-metal EL1 code with the MMU off: no FP/SIMD, no unaligned accesses (memory is Device), no
# stack protector or PAC (nothing sets them up), no debug info (keeps the bytes independent of paths).
CFLAGS="-O2 -std=c11 -ffreestanding -nostdlib -nostartfiles -static -mgeneral-regs-only -mstrict-align \
  -mbranch-protection=none -fno-pic -fno-stack-protector -fno-asynchronous-unwind-tables -g0 -fno-tree-loop-distribute-patterns \
  -ffunction-sections -fdata-sections -Wall -Werror"
LDFLAGS="-Wl,--gc-sections -Wl,--build-id=none -Wl,-T,lib/guest.ld -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments"
LIB="lib/start.S lib/hv.c lib/string.c lib/virtio.c lib/gic.c lib/fdt.c lib/rm.c"
for g in minimal linux-like pvm-payload; do
  # shellcheck disable=SC2086
  $CC $CFLAGS $LDFLAGS -o "$OUT/$g.elf" $LIB "$g/$g.c"
done
