/*
 * A compute-heavy bare-metal program for the CPU benchmark: a sieve, a hash over it and a
 * matrix multiply, in the integer code gcc -O2 emits for freestanding AArch64. Built twice by
 * tools/bench/cpu.ts: ending in `brk #0` for hvsim, and in exit(2) for qemu-aarch64.
 */
typedef unsigned long u64;
typedef unsigned int u32;

static unsigned char sieve[65536];
static u32 a[32][32], b[32][32], m[32][32];

static u64 primes(u32 n) {
  u64 count = 0;
  for (u32 i = 2; i < n; i++) sieve[i] = 1;
  for (u32 i = 2; i * i < n; i++)
    if (sieve[i])
      for (u32 j = i * i; j < n; j += i) sieve[j] = 0;
  for (u32 i = 2; i < n; i++) count += sieve[i];
  return count;
}

static u64 fnv(const unsigned char *p, u32 n) {
  u64 h = 0xcbf29ce484222325ul;
  for (u32 i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ul;
  return h;
}

static u64 matmul(void) {
  for (u32 i = 0; i < 32; i++)
    for (u32 j = 0; j < 32; j++) {
      a[i][j] = i * 31 + j;
      b[i][j] = j * 17 + i;
    }
  for (u32 i = 0; i < 32; i++)
    for (u32 j = 0; j < 32; j++) {
      u32 s = 0;
      for (u32 k = 0; k < 32; k++) s += a[i][k] * b[k][j];
      m[i][j] = s;
    }
  return fnv((const unsigned char *)m, sizeof m);
}

u64 compute(u32 rounds) {
  u64 acc = 0;
  for (u32 r = 0; r < rounds; r++) {
    acc += primes(65536);
    acc ^= fnv(sieve, sizeof sieve) >> (r & 7);
    acc += matmul() / (r + 3);
  }
  return acc;
}

#ifndef ROUNDS
#define ROUNDS 8
#endif

void _start(void) {
  u64 r = compute(ROUNDS);
#ifdef QEMU
  static u64 out;
  out = r;
  __asm__ volatile("mov x0, #1; mov x1, %0; mov x2, #8; mov x8, #64; svc #0; mov x0, #0; mov x8, #93; svc #0" ::"r"(&out) : "x0", "x1", "x2", "x8");
#else
  __asm__ volatile("mov x0, %0; brk #0" ::"r"(r) : "x0");
#endif
  for (;;) {
  }
}
