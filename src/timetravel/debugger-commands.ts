import { checkInvariants } from "../core/invariants.ts";
import { die } from "../core/errors.ts";
import type { CoreState } from "../core/reducer.ts";
import type { DebugSession } from "./debugger.ts";
import { diffStates, withoutEnvelope } from "./diff.ts";
import { checkPathShape, lookupResolved, MISSING, pathsOverlap, resolvePath, type ResolvedPath } from "./paths.ts";
import { compilePredicate, type Predicate } from "./predicate.ts";
import { readableBrief, readablePath, readableText, summary } from "./readable.ts";
import { changeProbe, findEvent, findNext, findPrev } from "./search.ts";
import { fires, makeBreak, makeWatch, parseFilter, stopsProbe, type Stop } from "./debugger-stops.ts";

/** One debugger command: names, usage, one line of help, and what it does (returns lines to print). */
export interface Command {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly usage: string;
  readonly help: string;
  /** Its argument is a state path (tab completion offers paths). */
  readonly takesPath?: boolean;
  /** Its first argument is an event kind (tab completion offers kinds). */
  readonly takesKind?: boolean;
  /** An empty line does not repeat it (quit, source). */
  readonly repeats?: false;
  run(s: DebugSession<CoreState>, args: readonly string[], rest: string): string[];
}

type Session = DebugSession<CoreState>;

const count = (raw: string | undefined): number => {
  const n = raw === undefined ? 1 : Number(raw.replace(/_/g, ""));
  if (!(Number.isSafeInteger(n) && n >= 1)) die("ARGUMENT_INVALID", `expected a count >= 1, got '${raw}'`);
  return n;
};

function step(s: Session, args: readonly string[]): string[] {
  const n = count(args[0]);
  const last = s.seeker.count - 1;
  if (s.position >= last) return [`at the end of the trace (#${s.position})`];
  if (n > 1) {
    const to = Math.min(last, s.position + n);
    const short = s.position + n > last ? [`(the trace ends after ${to - s.position} of ${n} events)`] : [];
    s.moveTo(to);
    return [s.eventLine(), ...short];
  }
  s.settle();
  const c = s.seeker.changeAt(s.position + 1, 200, s.state);
  s.state = c.after;
  s.position += 1;
  return [s.eventLine(), ...s.outcomeNote(s.position, c.outcome), ...s.changeLines(c.diff.changes)];
}

function back(s: Session, args: readonly string[]): string[] {
  if (s.position < 0) return ["at genesis (#-1)"];
  const n = count(args[0]);
  const to = Math.max(-1, s.position - n);
  const short = s.position - n < -1 ? [`(genesis is ${s.position + 1} of ${n} events back)`] : [];
  s.moveTo(to);
  return [s.eventLine(), ...short];
}

function seekEvent(s: Session, args: readonly string[], dir: 1 | -1): string[] {
  const f = parseFilter(args, s.options.kinds ?? [], s.options.eventFields);
  const i = findEvent(s.seeker, s.position, dir, f);
  if (i === -1) return [`no ${dir === 1 ? "later" : "earlier"} ${args.join(" ")} (still at #${s.position})`];
  s.moveTo(i);
  return [s.eventLine()];
}

/** A JSON value printed whole up to this many lines; beyond, an overview of its keys. */
const PRINT_LINES_MAX = 40;

/** A path typed by the user that must be possible in this state (a misspelt key is an error). */
function userPath(s: Session, text: string, what: string): ResolvedPath {
  const p = resolvePath(text);
  checkPathShape(s.state, p, what);
  return p;
}

function print(s: Session, args: readonly string[], rest: string): string[] {
  const all = args[0] === "-a";
  const text = all ? rest.slice(2).trim() : rest;
  const p = userPath(s, text, "print");
  const v = lookupResolved(s.state, p);
  const label = text || "(root)";
  if (v === MISSING) return [`${label}: (absent after #${s.position})`];
  const one = readableText(v, undefined, p.segments);
  if (one.length <= 100) return [`${label} = ${one}`];
  const lines = readableText(v, 2, p.segments).split("\n");
  if (all || lines.length <= PRINT_LINES_MAX || typeof v !== "object" || v === null || v instanceof Uint8Array) return [`${label} =`, ...lines];
  // A person asked to see something big: an overview they can drill into, not a wall of JSON.
  const entries = Object.entries(v);
  const width = Math.min(24, Math.max(...entries.map(([k]) => k.length)));
  return [
    `${label} after #${s.position}: ${summary(v, p.segments)} (${lines.length} lines in full)`,
    ...entries.map(([k, x]) => `  ${readablePath([k]).padEnd(width)}  ${summary(x, [...p.segments, k])}`),
    `print ${text === "" ? "KEY" : `${text}.KEY`} for one part, print -a ${text || "(root)"} for all of it`,
  ];
}

function listStops(s: Session): string[] {
  if (s.stops.length === 0) return ["no breakpoints or watchpoints"];
  return s.stops.map((st) => (st.type === "watch" ? `watch ${st.id}: ${st.text} = ${readableBrief(lookupResolved(s.state, st.path), st.path.segments)}` : `break ${st.id}: ${st.text}`));
}

function watch(s: Session, _args: readonly string[], rest: string): string[] {
  if (rest === "") die("ARGUMENT_INVALID", "watch: expected a state path, e.g. watch rm.vms (info breakpoints lists the stops)");
  // Numbered once made: a misspelt path uses up no number.
  const w = { ...makeWatch(0, rest, s.state, s.options.functions), id: s.stopNumber() };
  s.stops.push(w);
  return [`watch ${w.id}: ${rest} = ${readableBrief(lookupResolved(s.state, w.path), w.path.segments)}`];
}

function breakpoint(s: Session, _args: readonly string[], rest: string): string[] {
  if (rest === "") die("ARGUMENT_INVALID", "break: expected an event kind, e.g. break hypercall (info breakpoints lists the stops)");
  const b = { ...makeBreak(0, rest, s.state, s.options.kinds ?? [], s.options.functions, s.options.eventFields), id: s.stopNumber() };
  s.stops.push(b);
  return [`break ${b.id}: ${rest}`];
}

function remove(s: Session, keep: (st: Stop) => boolean): string[] {
  const before = s.stops.length;
  const kept = s.stops.filter(keep);
  s.stops.splice(0, s.stops.length, ...kept);
  const n = before - kept.length;
  return [`removed ${n} ${n === 1 ? "stop" : "stops"}`];
}

function unwatch(s: Session, _args: readonly string[], rest: string): string[] {
  const named = (st: Stop): boolean => st.type === "watch" && (st.text === rest || st.path.text === rest);
  // Naming a watch that is not there is a mistake to report, as `delete N` does; no argument (or all) clears what there is.
  if (rest !== "" && rest !== "all" && !s.stops.some(named)) die("ARGUMENT_INVALID", `unwatch: no watch on '${rest}' (info breakpoints lists the stops)`);
  return remove(s, (st) => st.type !== "watch" || (rest !== "" && rest !== "all" && !named(st)));
}

function deleteStops(s: Session, args: readonly string[]): string[] {
  if (args.length === 0 || args[0] === "all") return remove(s, () => false);
  const ids = args.map((a) => count(a));
  const unknown = ids.filter((id) => !s.stops.some((st) => st.id === id));
  if (unknown.length > 0) die("ARGUMENT_INVALID", `no breakpoint or watchpoint ${unknown.join(", ")} (info breakpoints lists them)`);
  return remove(s, (st) => !ids.includes(st.id));
}

/** Why we stopped at event i: each stop that fires there. */
function stopLines(s: Session, i: number): string[] {
  const before = s.seeker.stateAt(i - 1);
  const after = s.seeker.stateAt(i);
  const ev = s.seeker.event(i);
  return s.stops
    .filter((st) => fires(st, ev, before, after))
    .map((st) =>
      st.type === "watch"
        ? `watch ${st.id}: ${readablePath(st.path.segments)}: ${readableBrief(lookupResolved(before, st.path), st.path.segments)} -> ${readableBrief(lookupResolved(after, st.path), st.path.segments)}`
        : `break ${st.id}: ${st.text}`,
    );
}

function cont(s: Session, dir: 1 | -1): string[] {
  if (s.stops.length === 0) return ["no breakpoints or watchpoints: add one with `break KIND` or `watch PATH`"];
  const probe = stopsProbe<CoreState>(s.stops);
  const i = dir === 1 ? findNext(s.seeker, s.position + 1, probe) : findPrev(s.seeker, s.position - 1, probe);
  if (i === -1) {
    s.moveTo(dir === 1 ? s.seeker.count - 1 : -1);
    return [`no breakpoint or watchpoint fires ${dir === 1 ? "after" : "before"} here; now at ${s.eventLine()}`];
  }
  s.moveTo(i);
  return [...stopLines(s, i), s.eventLine()];
}

function holdsLines(s: Session, p: Predicate): string[] {
  return p.paths.map((text) => {
    const r = resolvePath(text);
    return `  ${text} = ${readableBrief(lookupResolved(s.state, r), r.segments)}`;
  });
}

function find(s: Session, rest: string, dir: 1 | -1): string[] {
  const p = compilePredicate(rest, s.options.functions, s.state);
  const test = () => (state: CoreState) => p.test(state);
  let i: number;
  if (dir === 1) i = findNext(s.seeker, s.position + 1, test);
  else {
    // Genesis is a state too: the search goes back to it.
    i = s.position >= 1 ? findPrev(s.seeker, s.position - 1, test) : -1;
    if (i === -1 && s.position >= 0 && p.test(s.seeker.genesis)) i = -2;
  }
  if (i === -1) {
    const range = dir === 1 ? (s.position + 1 <= s.seeker.count - 1 ? `#${s.position + 1}..#${s.seeker.count - 1}` : "none: this is the last") : s.position <= -1 ? "none: this is genesis" : `#-1..#${s.position - 1}`;
    const here = p.test(s.state) ? `; it holds here (#${s.position})` : "";
    return [`\`${rest}\` holds in no ${dir === 1 ? "later" : "earlier"} state (${range})${here}`];
  }
  s.moveTo(i === -2 ? -1 : i);
  return [s.eventLine(), ...holdsLines(s, p)];
}

function check(s: Session): string[] {
  const f = checkInvariants(s.state, s.options.invariants);
  if (f === null) return [`ok: ${s.options.invariants.length} invariant${s.options.invariants.length === 1 ? "" : "s"} hold after #${s.position}`];
  return [`violation after #${s.position}: ${f.invariant}: ${f.detail} [${f.path}]${f.objects ? ` ${readableText(f.objects)}` : ""}`];
}

function diff(s: Session, args: readonly string[]): string[] {
  const a = s.parseIndex(args[0]);
  const b = args[1] === undefined ? s.position : s.parseIndex(args[1]);
  const d = diffStates(s.seeker.stateAt(a), s.seeker.stateAt(b), 200);
  const n = withoutEnvelope(d.changes).length;
  if (n === 0) return [`no difference between #${a} and #${b} (besides seq and t)`];
  return [`#${a} -> #${b}: ${n}${d.truncated ? "+" : ""} difference${n === 1 ? "" : "s"} besides seq and t`, ...s.changeLines(d.changes)];
}

/** The last events (up to 3) at or before here that wrote the path (or the watched paths), via patches. */
function why(s: Session, _args: readonly string[], rest: string): string[] {
  const watched = s.stops.flatMap((st) => (st.type === "watch" ? [st.path] : []));
  const targets = rest !== "" ? [userPath(s, rest, "why")] : watched;
  if (targets.length === 0) die("ARGUMENT_INVALID", "why: expected a state path (or add a watch first), e.g. why rm.vms");
  const segments = targets.map((t) => t.segments);
  const out: string[] = [];
  let from = s.position;
  for (let k = 0; k < 3 && from >= 0; k++) {
    const i = findPrev(s.seeker, from, changeProbe(segments));
    if (i === -1) break;
    const c = s.seeker.changeAt(i);
    out.push(s.eventLine(i), ...s.changeLines(c.diff.changes.filter((ch) => segments.some((t) => pathsOverlap(t, ch.path)))));
    from = i - 1;
  }
  const label = rest || watched.map((w) => w.text).join(", ");
  return out.length === 0 ? [`${label}: not written by any event up to #${s.position} (as in genesis)`] : out;
}

function show(s: Session): string[] {
  if (s.position < 0) return ["#-1 genesis: no event made this state"];
  const c = s.seeker.changeAt(s.position);
  return [s.eventLine(), ...s.outcomeNote(s.position, c.outcome), ...s.changeLines(c.diff.changes)];
}

function info(s: Session, args: readonly string[]): string[] {
  const what = args[0];
  if (what === undefined) return [s.eventLine()];
  if (/^(b|br|break|breakpoints|w|watch|watchpoints|stops)$/.test(what)) return listStops(s);
  return die("ARGUMENT_INVALID", `info ${what}: expected 'info' (where we are) or 'info breakpoints'`);
}

function history(s: Session): string[] {
  const all = [...(s.options.pastHistory ?? []), ...s.history];
  return all.map((h, i) => `${String(i + 1).padStart(4)}  ${h}`);
}

function help(s: Session): string[] {
  const lines = [...COMMANDS, ...(s.options.extraCommands ?? [])].map((c) => `  ${c.usage.padEnd(38)} ${c.help}${c.aliases.length > 0 ? ` (${c.aliases.join(", ")})` : ""}`);
  return [
    "commands (an event index N is 0-based; -1 is genesis; `end` is the last event; Enter repeats the last command):",
    ...lines,
    "paths: a.b[3].c, hypercallCounts.msgqueue_send, a[\"odd key\"]; predicates: see `hvsim bisect --help`",
  ];
}

export const COMMANDS: readonly Command[] = [
  { name: "step", aliases: ["s"], usage: "step [N]", help: "apply the next event (or N events); shows what it changed", run: step },
  { name: "back", aliases: ["bk", "reverse-step", "rs"], usage: "back [N]", help: "step back one event (or N)", run: back },
  { name: "goto", aliases: ["g"], usage: "goto N", help: "go to the state after event N", run: (s, a) => (s.moveTo(s.parseIndex(a[0])), [s.eventLine()]) },
  { name: "next", aliases: ["n"], usage: "next KIND [field=value..]", help: "go to the next event of a kind (* any), e.g. next hypercall vm=3", takesKind: true, run: (s, a) => seekEvent(s, a, 1) },
  { name: "prev", aliases: [], usage: "prev KIND [field=value..]", help: "go to the previous such event, e.g. prev hypercall vm=255", takesKind: true, run: (s, a) => seekEvent(s, a, -1) },
  { name: "break", aliases: ["b", "br"], usage: "break KIND [field=value..] [if PRED]", help: "stop continue/reverse-continue at such events, e.g. break hypercall call=0x1b if rm.vms.ids[0] == 128", takesKind: true, run: breakpoint },
  { name: "watch", aliases: ["w"], usage: "watch PATH [if PRED]", help: "stop where an event changes PATH (and PRED holds after it)", takesPath: true, run: watch },
  { name: "delete", aliases: ["d", "del"], usage: "delete [N..|all]", help: "remove breakpoints/watchpoints by number (no argument: all)", run: deleteStops },
  { name: "unwatch", aliases: [], usage: "unwatch [PATH|all]", help: "remove a watch by its path (no argument: every watch)", takesPath: true, run: unwatch },
  { name: "continue", aliases: ["c"], usage: "continue", help: "run forward to the next event where a breakpoint or watchpoint fires", run: (s) => cont(s, 1) },
  { name: "reverse-continue", aliases: ["rc"], usage: "reverse-continue", help: "run backward to the last such event", run: (s) => cont(s, -1) },
  { name: "find", aliases: ["f"], usage: "find PRED", help: "go to the first later state where PRED holds, e.g. find len(rm.vms) > 0", takesPath: true, run: (s, _a, r) => find(s, r, 1) },
  { name: "reverse-find", aliases: ["rf"], usage: "reverse-find PRED", help: "go to the last earlier state where PRED holds", takesPath: true, run: (s, _a, r) => find(s, r, -1) },
  { name: "print", aliases: ["p"], usage: "print [-a] [PATH]", help: "the value at PATH (big values as an overview; -a: all of it)", takesPath: true, run: print },
  { name: "show", aliases: ["changes"], usage: "show", help: "what the current event changed", run: (s) => show(s) },
  { name: "why", aliases: [], usage: "why [PATH]", help: "the last events that wrote PATH (or the watched paths)", takesPath: true, run: why },
  { name: "diff", aliases: [], usage: "diff N [M]", help: "state differences between events N and M (default: here)", run: diff },
  { name: "check", aliases: [], usage: "check", help: "run every invariant on the current state", run: (s) => check(s) },
  { name: "where", aliases: [], usage: "where", help: "the current event", run: (s) => [s.eventLine()] },
  { name: "info", aliases: ["i"], usage: "info [breakpoints]", help: "the current event, or the breakpoints and watchpoints", run: info },
  { name: "history", aliases: [], usage: "history", help: "commands entered (in this and earlier sessions on a terminal)", run: history },
  { name: "source", aliases: [], usage: "source FILE", help: "run the commands in FILE, one a line", repeats: false, run: (s, _a, r) => (r === "" ? die("ARGUMENT_INVALID", "source: expected a file") : s.source(r)) },
  { name: "help", aliases: ["h", "?"], usage: "help", help: "this list", run: (s) => help(s) },
  { name: "quit", aliases: ["q", "exit"], usage: "quit", help: "leave the debugger", repeats: false, run: (s) => ((s.finished = true), []) },
];
