import { die } from "../core/errors.ts";

const UNITS: Record<string, number> = { ns: 1, us: 1_000, ms: 1_000_000, s: 1_000_000_000 };

/**
 * "250ms", "2s", "1500us", "1000ns" -> integer nanoseconds. The unit is required: a bare `5`
 * would be 5 ns (a run that stops before its first event), which is never what was meant.
 */
export function parseDuration(name: string, raw: string): number {
  const m = /^(\d[\d_]*)(ns|us|ms|s)?$/.exec(raw.trim());
  if (m !== null && m[2] === undefined) die("ARGUMENT_INVALID", `${name}: '${raw}' needs a unit: ${m[1]}ms, ${m[1]}s, ${m[1]}us or ${m[1]}ns`);
  const n = m === null ? Number.NaN : Number(m[1]!.replace(/_/g, "")) * UNITS[m[2]!]!;
  if (!Number.isSafeInteger(n)) die("ARGUMENT_INVALID", `${name}: expected a time such as 250ms, 2s, 1500us or 1000ns, got '${raw}'`);
  return n;
}
