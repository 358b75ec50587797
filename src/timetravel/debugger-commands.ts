import { checkInvariants } from "../core/invariants.ts";
import { die } from "../core/errors.ts";
import { toJson } from "../export/json.ts";
import type { CoreState } from "../core/reducer.ts";
import type { DebugSession } from "./debugger.ts";
import { diffStates, withoutEnvelope } from "./diff.ts";
import { brief, formatPath, lookup, MISSING, parsePath, pathsOverlap } from "./paths.ts";
import { compilePredicate } from "./predicate.ts";
import { changeProbe, findEvent, findNext, findPrev, type EventFilter } from "./search.ts";

/** One debugger command: names, usage, one line of help, and what it does (returns lines to print). */
export interface Command {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly usage: string;
  readonly help: string;
  /** Its argument is a state path (tab completion offers paths). */
  readonly takesPath?: boolean;
  run(s: DebugSession<CoreState>, args: readonly string[], rest: string): string[];
}

const count = (raw: string | undefined): number => {
  const n = raw === undefined ? 1 : Number(raw.replace(/_/g, ""));
  if (!(Number.isSafeInteger(n) && n >= 1)) die("ARGUMENT_INVALID", `expected a count >= 1, got '${raw}'`);
  return n;
};

function step(s: DebugSession<CoreState>, args: readonly string[]): string[] {
  const n = count(args[0]);
  if (s.position >= s.seeker.count - 1) return [`at the end of the trace (#${s.position})`];
  if (n > 1) {
    s.moveTo(s.position + n);
    return [s.eventLine()];
  }
  const c = s.seeker.changeAt(s.position + 1, 200, s.state);
  s.state = c.after;
  s.position += 1;
  return [s.eventLine(), ...s.outcomeNote(s.position, c.outcome), ...s.changeLines(c.diff.changes)];
}

function back(s: DebugSession<CoreState>, args: readonly string[]): string[] {
  if (s.position < 0) return ["at genesis (#-1)"];
  s.moveTo(s.position - count(args[0]));
  return [s.eventLine()];
}

/** `next hypercall vm=255 call=0x33`: kind (or `*`) then field=value filters. */
function parseFilter(args: readonly string[]): EventFilter {
  const [kind, ...rest] = args;
  if (kind === undefined) die("ARGUMENT_INVALID", "expected an event kind (or *) and optional field=value filters");
  const fields = rest.map((a) => {
    const m = /^([\w$]+)=(.+)$/.exec(a);
    if (m === null) die("ARGUMENT_INVALID", `expected field=value, got '${a}'`);
    return { name: m[1]!, value: m[2]! };
  });
  return { kind, fields };
}

function seekEvent(s: DebugSession<CoreState>, args: readonly string[], dir: 1 | -1): string[] {
  const f = parseFilter(args);
  const i = findEvent(s.seeker, s.position, dir, f);
  if (i === -1) return [`no ${dir === 1 ? "later" : "earlier"} ${args.join(" ")} (still at #${s.position})`];
  s.moveTo(i);
  return [s.eventLine()];
}

function print(s: DebugSession<CoreState>, _args: readonly string[], rest: string): string[] {
  const v = lookup(s.state, parsePath(rest));
  if (v === MISSING) return [`${rest}: (absent after #${s.position})`];
  const one = toJson(v);
  return one.length <= 100 ? [`${rest || "(root)"} = ${one}`] : [`${rest || "(root)"} =`, ...toJson(v, 2).split("\n")];
}

function watch(s: DebugSession<CoreState>, _args: readonly string[], rest: string): string[] {
  if (rest === "") return s.watches.length === 0 ? ["no watches"] : s.watches.map((w, i) => `watch ${i + 1}: ${w.text} = ${brief(lookup(s.state, w.segments))}`);
  const segments = parsePath(rest);
  s.watches.push({ text: rest, segments });
  return [`watch ${s.watches.length}: ${rest} = ${brief(lookup(s.state, segments))}`];
}

function unwatch(s: DebugSession<CoreState>, _args: readonly string[], rest: string): string[] {
  const before = s.watches.length;
  const keep = rest === "" || rest === "all" ? [] : s.watches.filter((w) => w.text !== rest);
  s.watches.splice(0, s.watches.length, ...keep);
  return [`removed ${before - keep.length} watch${before - keep.length === 1 ? "" : "es"}`];
}

/** Lines naming each watched value that differs between the states after `i - 1` and `i`. */
function watchLines(s: DebugSession<CoreState>, i: number): string[] {
  const before = s.seeker.stateAt(i - 1);
  const after = s.seeker.stateAt(i);
  return s.watches
    .filter((w) => brief(lookup(before, w.segments), 1e6) !== brief(lookup(after, w.segments), 1e6))
    .map((w) => `watch: ${w.text}: ${brief(lookup(before, w.segments))} -> ${brief(lookup(after, w.segments))}`);
}

function cont(s: DebugSession<CoreState>, dir: 1 | -1): string[] {
  if (s.watches.length === 0) return ["no watches: add one with `watch PATH`"];
  const probe = changeProbe<CoreState>(s.watches.map((w) => w.segments));
  const i = dir === 1 ? findNext(s.seeker, s.position + 1, probe) : findPrev(s.seeker, s.position - 1, probe);
  if (i === -1) {
    s.moveTo(dir === 1 ? s.seeker.count - 1 : -1);
    return [`no watched value changes ${dir === 1 ? "after" : "before"} here; now at ${s.eventLine()}`];
  }
  s.moveTo(i);
  return [...watchLines(s, i), s.eventLine()];
}

function find(s: DebugSession<CoreState>, _args: readonly string[], rest: string): string[] {
  const p = compilePredicate(rest, s.options.functions);
  const i = findNext(s.seeker, s.position + 1, () => (state) => p.test(state));
  if (i === -1) return [`\`${rest}\` does not hold after #${s.position}`];
  s.moveTo(i);
  return [s.eventLine(), ...p.paths.map((path) => `  ${path} = ${brief(lookup(s.state, parsePath(path)))}`)];
}

function check(s: DebugSession<CoreState>): string[] {
  const f = checkInvariants(s.state, s.options.invariants);
  if (f === null) return [`ok: ${s.options.invariants.length} invariant${s.options.invariants.length === 1 ? "" : "s"} hold after #${s.position}`];
  return [`violation after #${s.position}: ${f.invariant}: ${f.detail} [${f.path}]${f.objects ? ` ${toJson(f.objects)}` : ""}`];
}

function diff(s: DebugSession<CoreState>, args: readonly string[]): string[] {
  const a = s.parseIndex(args[0]);
  const b = args[1] === undefined ? s.position : s.parseIndex(args[1]);
  const d = diffStates(s.seeker.stateAt(a), s.seeker.stateAt(b), 200);
  const n = withoutEnvelope(d.changes).length;
  if (n === 0) return [`no difference between #${a} and #${b} (besides seq and t)`];
  return [`#${a} -> #${b}: ${n}${d.truncated ? "+" : ""} difference${n === 1 ? "" : "s"} besides seq and t`, ...s.changeLines(d.changes)];
}

/** The last events (up to 3) at or before here that wrote the path (or the watched paths), via patches. */
function why(s: DebugSession<CoreState>, _args: readonly string[], rest: string): string[] {
  const targets = rest !== "" ? [parsePath(rest)] : s.watches.map((w) => w.segments);
  if (targets.length === 0) return ["why what? give a path, or add a watch"];
  const out: string[] = [];
  let from = s.position;
  for (let k = 0; k < 3 && from >= 0; k++) {
    const i = findPrev(s.seeker, from, changeProbe(targets));
    if (i === -1) break;
    const c = s.seeker.changeAt(i);
    out.push(s.eventLine(i), ...s.changeLines(c.diff.changes.filter((ch) => targets.some((t) => pathsOverlap(t, ch.path)))));
    from = i - 1;
  }
  const label = rest || s.watches.map((w) => w.text).join(", ");
  return out.length === 0 ? [`${label}: not written by any event up to #${s.position} (as in genesis)`] : out;
}

function show(s: DebugSession<CoreState>): string[] {
  if (s.position < 0) return ["#-1 genesis: no event made this state"];
  const c = s.seeker.changeAt(s.position);
  return [s.eventLine(), ...s.outcomeNote(s.position, c.outcome), ...s.changeLines(c.diff.changes)];
}

function help(): string[] {
  const lines = COMMANDS.map((c) => `  ${c.usage.padEnd(34)} ${c.help}`);
  return ["commands (an event index N is 0-based; -1 is genesis; `end` is the last event):", ...lines];
}

export const COMMANDS: readonly Command[] = [
  { name: "step", aliases: ["s"], usage: "step [N]", help: "apply the next event (or N events); shows what it changed", run: step },
  { name: "back", aliases: ["b"], usage: "back [N]", help: "step back one event (or N)", run: back },
  { name: "goto", aliases: ["g"], usage: "goto N", help: "go to the state after event N", run: (s, a) => (s.moveTo(s.parseIndex(a[0])), [s.eventLine()]) },
  { name: "next", aliases: ["n"], usage: "next KIND [field=value..]", help: "go to the next event of a kind (* any), e.g. next hypercall vm=1", run: (s, a) => seekEvent(s, a, 1) },
  { name: "prev", aliases: [], usage: "prev KIND [field=value..]", help: "go to the previous such event, e.g. prev hypercall vm=255", run: (s, a) => seekEvent(s, a, -1) },
  { name: "print", aliases: ["p", "x"], usage: "print [PATH]", help: "print the state (or the value at PATH), e.g. print hypercallCounts", takesPath: true, run: print },
  { name: "watch", aliases: ["w"], usage: "watch [PATH]", help: "watch PATH (no argument: list watches)", takesPath: true, run: watch },
  { name: "unwatch", aliases: [], usage: "unwatch [PATH|all]", help: "remove a watch (no argument: all)", takesPath: true, run: unwatch },
  { name: "continue", aliases: ["c"], usage: "continue", help: "run forward to the next event that changes a watched value", run: (s) => cont(s, 1) },
  { name: "reverse-continue", aliases: ["rc"], usage: "reverse-continue", help: "run backward to the last event that changed a watched value", run: (s) => cont(s, -1) },
  { name: "find", aliases: ["f"], usage: "find PREDICATE", help: "go to the first later state where PREDICATE holds, e.g. find len(hypercallCounts) > 2", takesPath: true, run: find },
  { name: "check", aliases: [], usage: "check", help: "run every invariant on the current state", run: (s) => check(s) },
  { name: "diff", aliases: ["d"], usage: "diff N [M]", help: "state differences between events N and M (default: here)", run: diff },
  { name: "why", aliases: [], usage: "why [PATH]", help: "the last events that wrote PATH (or the watched paths)", takesPath: true, run: why },
  { name: "show", aliases: ["changes"], usage: "show", help: "what the current event changed", run: (s) => show(s) },
  { name: "where", aliases: ["info"], usage: "where", help: "the current event", run: (s) => [s.eventLine()] },
  { name: "history", aliases: [], usage: "history", help: "commands entered so far", run: (s) => s.history.map((h, i) => `${String(i + 1).padStart(4)}  ${h}`) },
  { name: "help", aliases: ["h", "?"], usage: "help", help: "this list", run: () => help() },
  { name: "quit", aliases: ["q", "exit"], usage: "quit", help: "leave the debugger", run: (s) => ((s.finished = true), []) },
];
