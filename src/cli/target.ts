import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { die } from "../core/errors.ts";
import { MAGIC } from "../trace/format.ts";
import { TraceReader } from "../trace/reader.ts";
import { fileSource } from "../trace/source.ts";
import { openTrace, type OpenedTrace } from "../timetravel/open.ts";
import { damageHint, damageLine, fallbackLine } from "../trace/damage.ts";
import type { Damage } from "../trace/reader.ts";
import { EXIT } from "./exit.ts";
import type { Io } from "./io.ts";
import { builtinScenarios, builtinScenario } from "../sim/builtin/index.ts";
import { resolveScenario } from "../sim/resolve.ts";
import { looksLikeFile } from "../sim/file/files.ts";
import type { Scenario } from "../sim/scenario.ts";
import { didYouMean, eventIndexOf } from "../timetravel/words.ts";

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

/**
 * How a command treats an unfinished recording (no footer): `accept` for one given
 * --allow-incomplete (verified as far as it goes, exit 0), `offer` for one that takes the option
 * but was not given it (the line says so), and otherwise like damage.
 */
/** Added to the damage line of a command that wanted the footer index and had to read the whole file. */
const SCANNED = "; with no usable footer index the whole file was scanned";

export type IncompletePolicy = "accept" | "offer" | "damage";

export interface OpenOptions {
  readonly incomplete?: IncompletePolicy;
  /**
   * `asked` for a command that reads only part of a trace (info, log, state, diff, debug, gdb):
   * through the footer index when the file ends in a checked trailer and a consistent footer,
   * each block checked when read; else (and with `whole`, the default, for commands that read
   * everything) one checked scan of every record when the trace is opened. `streamed` for a
   * command that then reads every record in order itself (replay, check): the count from a
   * usable footer, the damage met, and said, as it streams, so the file is decoded once, not twice
   * (`hvsim replay` of long-run 1.2M: the opening scan was 1.4 of 6.3 s); without a usable footer,
   * the same scan as `whole`, and nothing more said.
   */
  readonly reads?: "asked" | "streamed" | "whole";
}

/**
 * How every command opens a trace file: one line when it is missing or not a trace; the whole
 * events indexed through the checked footer (`reads: "asked"`) or by one checked pass (every
 * record's checksum, schema and place, the footer against the file, the trailer ending it);
 * damage or an unfinished recording found then announced on stderr at once, in one form, before
 * the command works on what is whole, and a command that wanted the footer index says when it had
 * to scan instead. Close it with `close()` (or use `withTrace`).
 */
export function openTraceFile(io: Io, path: string, o: OpenOptions = {}): OpenedTrace {
  if (!existsSync(path)) die("ARGUMENT_INVALID", `${path}: no such file`);
  if (!statSync(path).isFile()) die("ARGUMENT_INVALID", `${path}: not a file`);
  const reads = o.reads ?? "whole";
  const trace = openTrace(TraceReader.open(fileSource(path)), { reads: reads === "whole" ? "whole" : "asked" });
  // Damage that made the footer unusable is said once: the scan is added to its line.
  const scanned = reads === "asked" && trace.store.index === "scan";
  if (trace.damage !== null) reportDamage(io, path, trace.damage, o.incomplete, scanned ? SCANNED : "");
  else if (scanned) io.err(`hvsim: ${fallbackLine(path, trace.reader.footerUnusable() ?? "it does not agree with the file")}`);
  return trace;
}

/**
 * Says where a trace is damaged or that it is unfinished: the same line from every command. An
 * unfinished one also gets what to do about it (--allow-incomplete where the command takes it,
 * `hvsim repair`).
 */
export function reportDamage(io: Io, path: string, d: Damage, incomplete: IncompletePolicy = "damage", scanned = ""): void {
  const hint = d.code !== "TRACE_INCOMPLETE" || incomplete === "accept" ? "" : ` (${incomplete === "offer" ? "--allow-incomplete accepts it; " : ""}${damageHint(path, d)})`;
  io.err(`hvsim: ${damageLine(path, d)}${scanned}${hint}`);
}

/** Opens a trace, runs `fn` on it and closes it (also when `fn` is async or throws). */
export function withTrace<T>(io: Io, path: string, fn: (t: OpenedTrace) => T, o: OpenOptions = {}): T {
  const trace = openTraceFile(io, path, o);
  let async = false;
  try {
    const r = fn(trace);
    if (r instanceof Promise) {
      async = true;
      return r.finally(() => trace.close()) as T;
    }
    return r;
  } finally {
    if (!async) trace.close();
  }
}

/**
 * The exit code of a command's answer on a trace that may be damaged: an answer found in the whole
 * part before the damage stands (a violation, a divergence, a bisect hit: 1 or 3, or a state at an
 * index before the damage: `determined`); an "all fine" that could not look at the rest is 2. A
 * trace whose records are whole but whose structure is wrong (TRACE_MALFORMED: edited by hand or
 * written by something else) determines nothing: even its whole part is not what hvsim wrote.
 * `incomplete: "accept"` (--allow-incomplete) takes an unfinished recording as it is.
 */
export function exitAfterDamage(trace: OpenedTrace, code: number, determined = false, incomplete: IncompletePolicy = "damage"): number {
  // Damage a command met reading through the index was said where it was met (a debugger's error line).
  if (trace.found !== null && code === EXIT.ok) return EXIT.input;
  const d = trace.damage;
  if (d === null || code !== EXIT.ok) return code;
  if (incomplete === "accept" && d.code === "TRACE_INCOMPLETE") return code;
  return determined && d.code !== "TRACE_MALFORMED" ? code : EXIT.input;
}

/** The policy of a command that takes --allow-incomplete. */
export const incompleteOption = (allow: boolean | undefined): IncompletePolicy => (allow === true ? "accept" : "offer");

/**
 * An event index option (`--at`, `--from`): an integer, `end` for the last whole event or `end-K`
 * for K before it (`log --from end-19`: the last 20), checked against the trace.
 */
export function indexOption(trace: OpenedTrace, name: string, raw: string): number {
  const n = eventIndexOf(raw, trace.count);
  if (Number.isNaN(n)) die("ARGUMENT_INVALID", `${name}: expected an event index (N, 0xN, end or end-N), got '${raw}'`);
  return trace.checkIndex(n);
}

/**
 * A scenario as named on the command line: a built-in name, or a scenario file (.yaml). A misspelt
 * name gets the nearest built-ins; an existing file that is neither a scenario file nor a trace is
 * said to be so, rather than handed to the YAML parser.
 */
export function scenarioArg(ref: string | undefined, alsoTrace = false): Scenario {
  if (ref === undefined || builtinScenario(ref) !== undefined || ref.startsWith("swarm:")) return resolveScenario(ref);
  if (existsSync(ref) && statSync(ref).isFile() && !/\.ya?ml$/i.test(ref)) {
    die("ARGUMENT_INVALID", `${ref}: not ${alsoTrace ? "a trace (no HVSIMTRC magic at offset 0) nor " : ""}a scenario file (a .yaml file; \`hvsim scenarios\` lists the built-ins)`);
  }
  if (!looksLikeFile(ref)) {
    const hint = didYouMean(ref, builtinScenarios().map((x) => x.name));
    die("ARGUMENT_INVALID", `unknown scenario '${ref}'${hint === "" ? "" : hint}: not a built-in (\`hvsim scenarios\` lists them) nor a scenario file`);
  }
  return resolveScenario(ref);
}

/** Quotes an argument for a POSIX shell only when it needs it, so repro lines stay copy-pasteable. */
export const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** Collects a repeatable option's values (commander's reduce callback). */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
