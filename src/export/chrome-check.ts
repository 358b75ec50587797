/**
 * A structural check of the Chrome JSON trace event format (what Perfetto's JSON importer expects),
 * so exports are tested without a browser: the top-level `traceEvents` array; per phase the required
 * fields ("X": ts and dur >= 0; "i": ts, scope s in t/p/g if given; "C": ts and numeric args; "M":
 * process_name/thread_name/... with args.name); integer pid/tid; and on every (pid, tid) track,
 * "X" slices in non-decreasing ts that nest or follow each other (never partly overlap).
 * Returns the problems found (empty: well-formed), at most `limit`.
 */
export function checkChromeTrace(doc: unknown, limit = 20): string[] {
  const problems: string[] = [];
  const add = (p: string): void => void (problems.length < limit && problems.push(p));
  if (typeof doc !== "object" || doc === null || !Array.isArray((doc as { traceEvents?: unknown }).traceEvents)) {
    return ["top level: expected an object with a traceEvents array"];
  }
  const events = (doc as { traceEvents: unknown[] }).traceEvents;
  const stacks = new Map<string, Track>();
  events.forEach((raw, i) => {
    if (typeof raw !== "object" || raw === null) return add(`#${i}: not an object`);
    const e = raw as Record<string, unknown>;
    const at = `#${i} (${String(e.ph)} ${String(e.name)})`;
    if (typeof e.name !== "string") add(`${at}: name must be a string`);
    if (!Number.isInteger(e.pid) || !Number.isInteger(e.tid)) add(`${at}: pid and tid must be integers`);
    const tsOk = typeof e.ts === "number" && Number.isFinite(e.ts) && e.ts >= 0;
    switch (e.ph) {
      case "M":
        if (!["process_name", "thread_name", "process_sort_index", "thread_sort_index"].includes(String(e.name))) add(`${at}: unknown metadata name`);
        if (typeof (e.args as { name?: unknown } | undefined)?.name !== "string" && String(e.name).endsWith("_name")) add(`${at}: metadata needs args.name`);
        return;
      case "X":
        if (!tsOk) return add(`${at}: ts must be a number >= 0`);
        if (typeof e.dur !== "number" || !(e.dur >= 0)) return add(`${at}: X needs dur >= 0`);
        return checkNesting(stacks, `${e.pid}:${e.tid}`, e.ts as number, e.dur, at, add);
      case "i":
      case "I":
        if (!tsOk) add(`${at}: ts must be a number >= 0`);
        if (e.s !== undefined && !["t", "p", "g"].includes(String(e.s))) add(`${at}: instant scope must be t, p or g`);
        return;
      case "C": {
        if (!tsOk) add(`${at}: ts must be a number >= 0`);
        const args = e.args as Record<string, unknown> | undefined;
        if (typeof args !== "object" || args === null || Object.values(args).some((v) => typeof v !== "number")) add(`${at}: counter args must be numbers`);
        return;
      }
      default:
        add(`${at}: unsupported phase ${String(e.ph)}`);
    }
  });
  return problems;
}

/** Slices on one track: starts never go backwards, and a slice ends before the enclosing one does. */
function checkNesting(tracks: Map<string, Track>, key: string, ts: number, dur: number, at: string, add: (p: string) => void): void {
  let track = tracks.get(key);
  if (track === undefined) {
    track = { lastTs: -1, open: [] };
    tracks.set(key, track);
  }
  if (ts < track.lastTs) return add(`${at}: ts ${ts} goes back on track ${key} (previous slice at ${track.lastTs})`);
  track.lastTs = ts;
  while (track.open.length > 0 && track.open[track.open.length - 1]!.end <= ts) track.open.pop();
  const parent = track.open[track.open.length - 1];
  if (parent !== undefined && ts + dur > parent.end) add(`${at}: overlaps the slice at ${parent.ts} on track ${key} without nesting`);
  track.open.push({ ts, end: ts + dur });
}

interface Track {
  lastTs: number;
  readonly open: { readonly ts: number; readonly end: number }[];
}
