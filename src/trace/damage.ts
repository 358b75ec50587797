import type { Damage } from "./reader.ts";

/**
 * The one line every command says about a trace that is not whole: an unfinished recording
 * (incomplete: how many whole blocks and events it holds) or damage (where, what, and how many
 * whole events precede it). Commands add what they did with the part that is whole.
 */
export function damageLine(file: string, d: Damage): string {
  if (d.code === "TRACE_INCOMPLETE") return `${file}: incomplete trace: ${d.message}`;
  return `${file}: damaged at byte offset ${d.offset} (block ${d.block}): ${d.message}; ${d.eventsBefore} whole event${d.eventsBefore === 1 ? "" : "s"} before it`;
}

/** What a user can do about it, for the commands that stop at it. */
export function damageHint(file: string, d: Damage): string {
  return d.code === "TRACE_INCOMPLETE" ? `hvsim repair ${file} -o FIXED.hvt completes it` : `hvsim repair ${file} -o FIXED.hvt keeps the whole blocks before the damage`;
}
