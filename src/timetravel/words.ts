import { die } from "../core/errors.ts";

/** Levenshtein distance, bounded: enough for "did you mean" over short names. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length]!;
}

/** The candidates closest to a mistyped word (an edit per four letters, at least one), best first. */
export function closest(word: string, candidates: readonly string[], max = 3): string[] {
  const limit = Math.max(1, Math.ceil(word.length / 4));
  return candidates
    .map((c) => ({ c, d: c.startsWith(word) || word.startsWith(c) ? Math.min(1, distance(word, c)) : distance(word, c) }))
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, max)
    .map((x) => x.c);
}

/** ` (did you mean 'x'?)`, or empty when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const c = closest(word, candidates);
  return c.length === 0 ? "" : ` (did you mean ${c.map((x) => `'${x}'`).join(" or ")}?)`;
}

/** An event kind as typed by a user, checked against the kinds the build knows (`*` is any). */
export function checkKind(what: string, kind: string, kinds: readonly string[], allowAny = false): string {
  if ((allowAny && kind === "*") || kinds.length === 0 || kinds.includes(kind)) return kind;
  const hint = didYouMean(kind, kinds);
  return die("ARGUMENT_INVALID", `${what}: unknown event kind '${kind}'${hint === "" ? ` (kinds: ${kinds.join(", ")})` : hint}`);
}

/**
 * An event index as a person writes it, in one form everywhere (the commands' --at/--from/--to,
 * the debugger's goto): a number (underscores allowed, hex with 0x), -1 for genesis, `end` (or
 * `$`) for the last event and `end-N` for N before it. NaN when it is none of these; the caller
 * names the option and checks the range.
 */
export function eventIndexOf(raw: string, count: number): number {
  if (raw === "end" || raw === "$") return count - 1;
  const back = /^end-(\d{1,15})$/.exec(raw);
  if (back !== null) return count - 1 - Number(back[1]);
  const s = raw.replace(/_/g, "");
  const n = /^-?\d+$/.test(s) ? Number(s) : /^0x[0-9a-f]+$/i.test(s) ? Number.parseInt(s, 16) : Number.NaN;
  return Number.isSafeInteger(n) ? n : Number.NaN;
}
