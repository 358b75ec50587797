import { die } from "../core/errors.ts";

/**
 * The query string of one API request, read strictly: every parameter the handler does not ask
 * for is an error, a repeated parameter is an error, and numbers are plain decimal integers. A
 * malformed request gets one sentence naming the parameter (the server answers 400 with it).
 */
export class Query {
  private readonly seen = new Set<string>();

  constructor(private readonly params: URLSearchParams) {
    for (const key of new Set(params.keys())) {
      if (params.getAll(key).length > 1) die("ARGUMENT_INVALID", `parameter '${key}' is given more than once`);
    }
  }

  /** A required integer in [min, max]. */
  int(name: string, min: number, max: number): number {
    const v = this.optionalInt(name, min, max);
    if (v === undefined) die("ARGUMENT_INVALID", `parameter '${name}' is required (an integer ${min}..${max})`);
    return v;
  }

  optionalInt(name: string, min: number, max: number): number | undefined {
    const raw = this.optionalString(name);
    if (raw === undefined) return undefined;
    const n = /^-?\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(n)) die("ARGUMENT_INVALID", `parameter '${name}': expected an integer, got '${clip(raw)}'`);
    if (n < min || n > max) die("ARGUMENT_INVALID", `parameter '${name}': ${n} is out of range (${min}..${max})`);
    return n;
  }

  optionalString(name: string, maxChars = 4096): string | undefined {
    this.seen.add(name);
    const raw = this.params.get(name);
    if (raw === null) return undefined;
    if (raw.length > maxChars) die("ARGUMENT_INVALID", `parameter '${name}' is longer than ${maxChars} characters`);
    return raw;
  }

  /** One of a fixed set of words. */
  optionalChoice<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const raw = this.optionalString(name);
    if (raw === undefined) return undefined;
    if (!choices.includes(raw as T)) die("ARGUMENT_INVALID", `parameter '${name}': unknown value '${clip(raw)}' (one of: ${choices.join(", ")})`);
    return raw as T;
  }

  /** Call after reading every parameter: anything else the request carried is refused. */
  done(): void {
    for (const key of this.params.keys()) {
      if (!this.seen.has(key)) {
        const known = [...this.seen].sort().join(", ");
        die("ARGUMENT_INVALID", `unknown parameter '${clip(key)}'${known === "" ? " (this request takes none)" : ` (this request takes: ${known})`}`);
      }
    }
  }
}

const clip = (s: string): string => (s.length > 40 ? `${s.slice(0, 39)}…` : s);
