import type { Damage } from "./reader.ts";

/**
 * The one line every command says about a trace that is not whole: an unfinished recording
 * (incomplete: how many whole blocks and events it holds) or damage (where, what, and what is
 * still used). Commands add nothing to it: they work on the whole part and exit by one rule.
 */
export function damageLine(file: string, d: Damage): string {
  if (d.code === "TRACE_INCOMPLETE") return `${file}: incomplete trace: ${d.message}`;
  return `${file}: damaged at byte offset ${d.offset} (block ${d.block}): ${d.message}; ${d.eventsBefore === 0 ? "no whole event precedes it" : `using the ${d.eventsBefore} whole events before it`}`;
}

/** What a user can do about it. */
export function damageHint(file: string, d: Damage): string {
  return d.code === "TRACE_INCOMPLETE" ? `hvsim repair ${file} -o FIXED.hvt completes it` : `hvsim repair ${file} -o FIXED.hvt keeps the whole blocks before the damage`;
}
