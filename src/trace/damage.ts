import type { Damage } from "./reader.ts";

/**
 * The one line every command says about a trace that is not whole: an unfinished recording
 * (incomplete: how many whole blocks and events it holds) or damage (where, what, and what is
 * still used). Commands add nothing to it: they work on the whole part and exit by one rule.
 */
export function damageLine(file: string, d: Damage): string {
  if (d.code === "TRACE_INCOMPLETE") return `${file}: incomplete trace: ${d.message}`;
  return `${damageAt(file, d)}; ${d.eventsBefore === 0 ? "no whole event precedes it" : `using the ${d.eventsBefore} whole events before it`}`;
}

/**
 * Where and what, for damage found in a record read on demand through the footer index: the
 * command stops there (what it printed before stands), so nothing is said about what it uses.
 */
export function damageAt(file: string, d: Damage): string {
  return `${file}: damaged at byte offset ${d.offset} (block ${d.block}): ${d.message}`;
}

/**
 * Said by a command that reads only what it is asked for, when the file has no footer index it
 * can trust (cut, or its trailer or footer damaged): it read the whole file instead.
 */
export function fallbackLine(file: string, why: string): string {
  return `${file}: no usable footer index (${why}), so the whole file was scanned`;
}

/** What a user can do about it. */
export function damageHint(file: string, d: Damage): string {
  return d.code === "TRACE_INCOMPLETE" ? `hvsim repair ${file} -o FIXED.hvt completes it` : `hvsim repair ${file} -o FIXED.hvt keeps the whole blocks before the damage`;
}
