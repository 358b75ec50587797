import { describe, expect, it } from "vitest";
import { findRange, noShift, setRange, type Range, type Shift } from "./ranges.ts";

// The linear versions these functions replaced (whole-list scan and rebuild): the reference the
// binary search and the in-place splice must match exactly, range for range.
function findRangeLinear<T>(list: readonly Range<T>[], addr: number): Range<T> | undefined {
  for (const r of list) {
    if (addr < r.base) return undefined;
    if (addr < r.base + r.size) return r;
  }
  return undefined;
}

function setRangeRebuild<T>(list: Range<T>[], base: number, size: number, value: T | null, shift: Shift<T>): void {
  const end = base + size;
  const out: Range<T>[] = [];
  let inserted = false;
  for (const r of list) {
    const rEnd = r.base + r.size;
    if (rEnd <= base || r.base >= end) {
      if (!inserted && r.base >= end) {
        if (value !== null) out.push({ base, size, value });
        inserted = true;
      }
      out.push(r);
      continue;
    }
    if (r.base < base) out.push({ base: r.base, size: base - r.base, value: r.value });
    if (!inserted) {
      if (value !== null) out.push({ base, size, value });
      inserted = true;
    }
    if (rEnd > end) out.push({ base: end, size: rEnd - end, value: shift(r.value, end - r.base) });
  }
  if (!inserted && value !== null) out.push({ base, size, value });
  list.length = 0;
  for (const r of out) {
    const prev = list[list.length - 1];
    const same = (a: unknown, b: unknown) =>
      a === b || (typeof a === "object" && typeof b === "object" && a !== null && b !== null && JSON.stringify(a) === JSON.stringify(b));
    if (prev !== undefined && prev.base + prev.size === r.base && same(shift(prev.value, prev.size), r.value)) {
      list[list.length - 1] = { base: prev.base, size: prev.size + r.size, value: prev.value };
    } else list.push(r);
  }
}

/** A small deterministic generator (xorshift32): the same cases on every run. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

const PAGE = 0x1000;
const LABELS = ["vm3", "vm4", "zero", "vm5"];
const shiftPa: Shift<{ pa: number; rights: number }> = (v, delta) => ({ pa: v.pa + delta, rights: v.rights });

describe("rm/ranges", () => {
  it("setRange and findRange match the linear reference on random label updates", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      // Sorted genesis ranges with gaps of 0..2 pages: adjacent ones stay unmerged until the first update.
      const genesis: Range<string>[] = [];
      for (let base = r(4) * PAGE, n = 0; n < 1 + r(4); n++) {
        const size = (1 + r(6)) * PAGE;
        genesis.push({ base, size, value: "vm3" });
        base += size + r(3) * PAGE;
      }
      const fast = genesis.map((g) => ({ ...g }));
      const ref = genesis.map((g) => ({ ...g }));
      for (let step = 0; step < 60; step++) {
        const base = r(48) * 0x400 + (r(4) === 0 ? r(0x400) : 0);
        const size = r(10) === 0 ? 0 : r(3) === 0 ? 1 + r(64) : (1 + r(12)) * 0x400;
        const value = r(8) === 0 ? null : LABELS[r(LABELS.length)]!;
        setRange(fast, base, size, value, noShift);
        setRangeRebuild(ref, base, size, value, noShift);
        expect(fast).toEqual(ref);
        for (let probe = 0; probe < 8; probe++) {
          const addr = r(56) * 0x400 + r(0x400);
          expect(findRange(fast, addr)).toEqual(findRangeLinear(ref, addr));
        }
        for (const x of fast) {
          if (x.size === 0) continue; // an empty range holds no address
          expect(findRange(fast, x.base)).toBe(x);
          expect(findRange(fast, x.base + x.size - 1)).toBe(x);
        }
      }
    }
  });

  it("setRange matches the reference with shifted object values (mapping-like ranges)", () => {
    for (let seed = 1; seed <= 100; seed++) {
      const r = rng(seed * 7919);
      const fast: Range<{ pa: number; rights: number }>[] = [];
      const ref: Range<{ pa: number; rights: number }>[] = [];
      for (let step = 0; step < 50; step++) {
        const base = r(32) * PAGE;
        const size = (1 + r(6)) * PAGE;
        const value = r(6) === 0 ? null : { pa: 0x8000_0000 + (r(2) === 0 ? base : r(64) * PAGE), rights: 2 + 4 * r(2) };
        setRange(fast, base, size, value, shiftPa);
        setRangeRebuild(ref, base, size, value, shiftPa);
        expect(fast).toEqual(ref);
      }
    }
  });
});
