/**
 * `hvsim fuzz merge`: the JSON results of several shards (`hvsim fuzz --json --shard i/n`, one
 * object per seed, then a summary object) merged into one: records by seed, summaries added up.
 * A shard that did not finish (no summary line), a seed reported twice, a shard of a range that is
 * missing, or results of different campaigns (another scenario or defect) are errors, each named
 * with the file and line, so a merged campaign is never silently short of seeds.
 */
import { die } from "../core/errors.ts";
import { addTotals, emptyTotals, parseSeedRange, parseShard, shardSeeds, type SwarmTotals } from "./fuzz.ts";

export interface FuzzSummary {
  readonly summary: true;
  /** The scenario fuzzed, or "swarm". */
  readonly scenario: string;
  readonly defect: string | null;
  /** The seed range the run was given, and its shard (null: all of it). */
  readonly range: string;
  readonly shard: string | null;
  readonly seeds: number;
  readonly failing: number;
  readonly failingSeeds: readonly number[];
  /** Swarm runs: the totals of every seed (events, failures by type, hostile calls, coverage, features). */
  readonly totals?: SwarmTotals;
  /** What shaped every seed's run: shards merge only with the same (absent in older output: not checked). */
  readonly settings?: FuzzSettings;
}

export interface FuzzSettings {
  readonly asserts: readonly string[];
  readonly maxEvents: number | null;
  readonly firstFailure: boolean;
}

export interface MergedFuzz {
  readonly summary: FuzzSummary & { readonly shards: number; readonly ranges: readonly string[] };
  readonly records: readonly Record<string, unknown>[];
}

interface Input {
  readonly name: string;
  readonly text: string;
}

function parseLines(input: Input): { records: { line: number; value: Record<string, unknown> }[]; summary: FuzzSummary } {
  const records: { line: number; value: Record<string, unknown> }[] = [];
  let summary: FuzzSummary | null = null;
  input.text.split("\n").forEach((raw, i) => {
    const text = raw.trim();
    if (text === "") return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      die("ARGUMENT_INVALID", `${input.name}:${i + 1}: not a JSON line (expected the output of hvsim fuzz --json)`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) die("ARGUMENT_INVALID", `${input.name}:${i + 1}: expected a JSON object`);
    const o = value as Record<string, unknown>;
    if (o.summary === true) {
      if (summary !== null) die("ARGUMENT_INVALID", `${input.name}:${i + 1}: a second summary line`);
      if (typeof o.scenario !== "string" || typeof o.range !== "string" || typeof o.seeds !== "number") die("ARGUMENT_INVALID", `${input.name}:${i + 1}: summary without scenario, range and seeds (written by an older hvsim?)`);
      summary = o as unknown as FuzzSummary;
    } else if (Number.isSafeInteger(o.seed)) {
      if (summary !== null) die("ARGUMENT_INVALID", `${input.name}:${i + 1}: a seed after the summary line`);
      records.push({ line: i + 1, value: o });
    } else die("ARGUMENT_INVALID", `${input.name}:${i + 1}: neither a seed result nor a summary`);
  });
  if (summary === null) return die("ARGUMENT_INVALID", `${input.name}: no summary line: that shard did not finish (run it again)`);
  const s: FuzzSummary = summary;
  if (s.seeds !== records.length) die("ARGUMENT_INVALID", `${input.name}: the summary counts ${s.seeds} seeds but ${records.length} are listed`);
  return { records, summary: s };
}

export function mergeFuzzOutputs(inputs: readonly Input[]): MergedFuzz {
  if (inputs.length === 0) die("ARGUMENT_INVALID", "fuzz merge: name at least one results file");
  const parsed = inputs.map((input) => ({ input, ...parseLines(input) }));
  const first = parsed[0]!;
  const seen = new Map<number, string>();
  const records: Record<string, unknown>[] = [];
  for (const p of parsed) {
    if (p.summary.scenario !== first.summary.scenario || (p.summary.defect ?? null) !== (first.summary.defect ?? null)) {
      die("ARGUMENT_INVALID", `${p.input.name}: results of another campaign (scenario ${p.summary.scenario}, defect ${p.summary.defect ?? "none"}; ${first.input.name} has ${first.summary.scenario}, ${first.summary.defect ?? "none"})`);
    }
    const differs = settingsDiffer(p.summary.settings, first.summary.settings);
    if (differs !== null) die("ARGUMENT_INVALID", `${p.input.name}: run with other settings than ${first.input.name} (${differs}): not the same campaign`);
    const deal = new Set(shardSeeds(parseSeedRange(p.summary.range), p.summary.shard === null ? undefined : parseShard(p.summary.shard)));
    if (p.summary.settings?.firstFailure === true && p.summary.seeds < deal.size) {
      die("ARGUMENT_INVALID", `${p.input.name}: stopped at its first failure (--first-failure), so some of its seeds never ran: merging it would count them as run`);
    }
    for (const r of p.records) {
      const seed = r.value.seed as number;
      if (!deal.has(seed)) die("ARGUMENT_INVALID", `${p.input.name}:${r.line}: seed ${seed} is not one of ${p.summary.shard === null ? "seeds" : `shard ${p.summary.shard} of seeds`} ${p.summary.range}`);
      const other = seen.get(seed);
      if (other !== undefined) die("ARGUMENT_INVALID", `${p.input.name}:${r.line}: seed ${seed} is also in ${other}`);
      seen.set(seed, `${p.input.name}:${r.line}`);
      records.push(r.value);
    }
  }
  const ranges = checkShards(parsed.map((p) => ({ name: p.input.name, summary: p.summary })));
  records.sort((a, b) => (a.seed as number) - (b.seed as number));
  const failingSeeds = records.filter((r) => r.ok === false).map((r) => r.seed as number);
  let totals: SwarmTotals | undefined;
  for (const p of parsed) if (p.summary.totals !== undefined) addTotals((totals ??= emptyTotals()), p.summary.totals);
  const seeds = records.map((r) => r.seed as number);
  return {
    summary: {
      summary: true,
      scenario: first.summary.scenario,
      defect: first.summary.defect ?? null,
      range: seeds.length === 0 ? first.summary.range : `${seeds[0]}..${seeds.at(-1)}`,
      shard: null,
      seeds: records.length,
      failing: failingSeeds.length,
      failingSeeds,
      ...(totals === undefined ? {} : { totals }),
      shards: parsed.length,
      ranges,
    },
    records,
  };
}

/** What differs between two shards' settings, or null (also when either is older output without them). */
function settingsDiffer(a: FuzzSettings | undefined, b: FuzzSettings | undefined): string | null {
  if (a === undefined || b === undefined) return null;
  if (a.asserts.join("\u0000") !== b.asserts.join("\u0000")) return `--assert ${a.asserts.length === 0 ? "none" : a.asserts.join(", ")} against ${b.asserts.length === 0 ? "none" : b.asserts.join(", ")}`;
  if (a.maxEvents !== b.maxEvents) return `--max-events ${a.maxEvents ?? "the scenario's"} against ${b.maxEvents ?? "the scenario's"}`;
  return null;
}

/** Every range given with shards must have each of its n shards exactly once. */
function checkShards(list: readonly { name: string; summary: FuzzSummary }[]): string[] {
  const byRange = new Map<string, { name: string; shard: string | null }[]>();
  for (const { name, summary } of list) {
    const entries = byRange.get(summary.range) ?? [];
    entries.push({ name, shard: summary.shard });
    byRange.set(summary.range, entries);
  }
  for (const [range, entries] of byRange) {
    const whole = entries.filter((e) => e.shard === null);
    if (whole.length > 0 && entries.length > 1) die("ARGUMENT_INVALID", `${entries[1]!.name}: seeds ${range} are already all in ${whole[0]!.name}`);
    if (whole.length > 0) continue;
    const n = Number(entries[0]!.shard!.split("/")[1]);
    const have = new Map<number, string>();
    for (const e of entries) {
      const [i, count] = e.shard!.split("/").map(Number) as [number, number];
      if (count !== n) die("ARGUMENT_INVALID", `${e.name}: shard ${e.shard} of seeds ${range}, but ${entries[0]!.name} is a shard of ${n}`);
      if (have.has(i)) die("ARGUMENT_INVALID", `${e.name}: shard ${e.shard} of seeds ${range} is also ${have.get(i)}`);
      have.set(i, e.name);
    }
    const missing = Array.from({ length: n }, (_, k) => k + 1).filter((i) => !have.has(i));
    if (missing.length > 0) die("ARGUMENT_INVALID", `seeds ${range}: shard${missing.length === 1 ? "" : "s"} ${missing.map((i) => `${i}/${n}`).join(", ")} missing (merge every shard of a range)`);
  }
  return [...byRange.keys()];
}
