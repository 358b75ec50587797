import seedrandom from "seedrandom";

/** A probability as a ratio of integers: no floats in decisions that must replay everywhere. */
export interface Ratio {
  readonly numerator: number;
  readonly denominator: number;
}
export const ratio = (numerator: number, denominator: number): Ratio => {
  if (!(Number.isInteger(numerator) && Number.isInteger(denominator) && denominator > 0 && numerator >= 0 && numerator <= denominator)) {
    throw new RangeError(`bad ratio ${numerator}/${denominator}`);
  }
  return { numerator, denominator };
};

/**
 * A seeded, integer-only generator. Only `src/sim` draws random numbers; its choices become event
 * fields, so replay never needs the seed.
 */
export interface Prng {
  /** A uniform unsigned 32-bit integer. */
  u32(): number;
  /** A uniform integer in [min, max], both inclusive. */
  rangeInclusive(min: number, max: number): number;
  /** True with the given probability. */
  chance(p: Ratio): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
}

export function prng(seed: number | string, stream: string): Prng {
  // One named stream per source of nondeterminism: adding a stream never changes another's draws.
  const rng = seedrandom(`hvsim:${seed}:${stream}`);
  const u32 = (): number => rng.int32() >>> 0;
  const below = (n: number): number => {
    if (!(Number.isInteger(n) && n >= 1 && n <= 2 ** 32)) throw new RangeError(`bad bound ${n}`);
    // Rejection sampling removes modulo bias; the loop ends with probability 1 and, bounded, never spins.
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (let i = 0; i < 64; i++) {
      const x = u32();
      if (x < limit) return x % n;
    }
    return u32() % n;
  };
  return {
    u32,
    rangeInclusive: (min, max) => {
      if (max < min) throw new RangeError(`empty range ${min}..${max}`);
      return min + below(max - min + 1);
    },
    chance: (p) => below(p.denominator) < p.numerator,
    pick: (items) => {
      if (items.length === 0) throw new RangeError("pick from an empty list");
      return items[below(items.length)]!;
    },
  };
}

/** Named streams, created on first use. */
export function streams(seed: number | string): (name: string) => Prng {
  const made = new Map<string, Prng>();
  return (name) => {
    let p = made.get(name);
    if (p === undefined) {
      p = prng(seed, name);
      made.set(name, p);
    }
    return p;
  };
}
