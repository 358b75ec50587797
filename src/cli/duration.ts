import { die } from "../core/errors.ts";

const UNITS: Record<string, number> = { ns: 1, us: 1_000, ms: 1_000_000, s: 1_000_000_000 };

/** "250ms", "2s", "1500us", "1000" (ns) -> integer nanoseconds. */
export function parseDuration(name: string, raw: string): number {
  const m = /^(\d[\d_]*)(ns|us|ms|s)?$/.exec(raw.trim());
  const n = m === null ? Number.NaN : Number(m[1]!.replace(/_/g, "")) * UNITS[m[2] ?? "ns"]!;
  if (!Number.isSafeInteger(n)) die("ARGUMENT_INVALID", `${name}: expected a time such as 250ms, 2s, 1500us or 1000ns, got '${raw}'`);
  return n;
}
