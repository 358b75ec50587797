import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { MAGIC } from "../trace/format.ts";

/** True when `ref` names an existing file that starts with the trace magic. */
export function isTraceFile(ref: string): boolean {
  if (!existsSync(ref) || !statSync(ref).isFile()) return false;
  const fd = openSync(ref, "r");
  try {
    const b = Buffer.alloc(MAGIC.length);
    return readSync(fd, b, 0, b.length, 0) === b.length && b.equals(MAGIC);
  } finally {
    closeSync(fd);
  }
}

/** Quotes an argument for a POSIX shell only when it needs it, so repro lines stay copy-pasteable. */
export const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** Collects a repeatable option's values (commander's reduce callback). */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
