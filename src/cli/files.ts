import { die } from "../core/errors.ts";

/** An error from the operating system (ENOENT, ENOSPC, EISDIR...): the environment's, not a bug in hvsim. */
export const isSystemError = (e: unknown): e is NodeJS.ErrnoException =>
  e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string" && /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code!);

/** Parses an integer option (decimal, 0x hex, `_` separators allowed) with a clear error. */
export function parseIntOption(name: string, raw: string, min = Number.MIN_SAFE_INTEGER): number {
  const s = raw.replace(/_/g, "");
  const n = /^-?\d+$/.test(s) ? Number(s) : /^0x[0-9a-f]+$/i.test(s) ? Number.parseInt(s, 16) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) die("ARGUMENT_INVALID", `${name}: expected an integer${min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ""}, got '${raw}'`);
  return n;
}
