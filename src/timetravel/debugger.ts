import { isHvsimError, die } from "../core/errors.ts";
import type { EventBase, Outcome } from "../core/event.ts";
import type { Invariant } from "../core/invariants.ts";
import type { CoreState } from "../core/reducer.ts";
import { plainEqual } from "../core/equal.ts";
import { withoutEnvelope, type Change } from "./diff.ts";
import { childKeys, keyedRecordAt, lookup, MISSING, resolvePath } from "./paths.ts";
import { outOfRange } from "./store.ts";
import { eventIndexOf } from "./words.ts";
import type { FunctionRegistry } from "./predicate.ts";
import type { Seeker } from "./seeker.ts";
import { changeText, readableBrief } from "./readable.ts";
import { COMMANDS, type Command } from "./debugger-commands.ts";
import type { Stop } from "./debugger-stops.ts";

export interface DebugOptions<S> {
  readonly invariants: readonly Invariant<S>[];
  /** One line per event (describeEvent), injected so this module stays model-agnostic. */
  readonly describe: (ev: EventBase, outcome: Outcome) => string;
  readonly functions?: FunctionRegistry;
  /** The event kinds the model knows (to check `next KIND`, and to complete kinds); empty: any. */
  readonly kinds?: readonly string[];
  /** Each kind's event fields, for `field=value` filters: a field the kind does not have is a mistake to say. */
  readonly eventFields?: Readonly<Record<string, readonly string[]>>;
  /** An empty line repeats the last command (gdb's habit; on a terminal, not in scripts). */
  readonly repeatOnEmpty?: boolean;
  /** Reads a command file for `source FILE` (the CLI passes one; the library reads no files). */
  readonly readScript?: (path: string) => readonly string[];
  /** Commands of earlier sessions, listed first by `history`. */
  readonly pastHistory?: readonly string[];
  /** Commands a model adds (the guest's instructions and memory: stepi, backi, x, regs). */
  readonly extraCommands?: readonly Command[];
}

/** Most changes one command prints; the rest are counted. */
export const CHANGES_SHOWN_MAX = 12;

/** `source` files may source others, this deep at most (a file sourcing itself ends here). */
const SOURCE_DEPTH_MAX = 8;

/**
 * An interactive time-travel session over one trace: a position (event index, -1 = genesis), the
 * state there, breakpoints and watchpoints (numbered together, as gdb does) and the command
 * history. `execute` takes one command line and returns the lines to print, so the same session
 * runs under a terminal, a pipe, a script (`source`) or a test.
 */
export class DebugSession<S extends CoreState> {
  position = -1;
  /**
   * Guest instructions of event `position + 1` already executed in `state` (0 at an event
   * boundary): set by stepping commands that stand between instructions (positions.ts).
   */
  insns = 0;
  state: S;
  readonly stops: Stop[] = [];
  readonly history: string[] = [];
  finished = false;
  private nextStop = 1;
  private last: string | null = null;
  private depth = 0;

  constructor(
    readonly seeker: Seeker<S>,
    readonly options: DebugOptions<S>,
  ) {
    this.state = seeker.genesis;
  }

  /** `(hvsim #12 hypercall) `: where we are, as the prompt. */
  prompt(): string {
    if (this.insns > 0) return `(hvsim #${this.position}+${this.insns} insns) `;
    return this.position < 0 ? "(hvsim #-1 genesis) " : `(hvsim #${this.position} ${this.seeker.event(this.position).kind}) `;
  }

  /** Runs one command line. Errors become one `error: ...` line; the session stays usable. `remember`: keep it in the history. */
  execute(line: string, remember = true): string[] {
    let text = line.trim();
    if (text === "" && this.options.repeatOnEmpty === true && this.last !== null) text = this.last;
    if (text === "" || text.startsWith("#")) return [];
    if (this.depth === 0 && remember) this.history.push(text);
    const [name, ...rest] = text.split(/\s+/);
    const cmd = findCommand(name!, this.options.extraCommands);
    if (cmd === undefined) return [`error: unknown command '${name}' (type help)`];
    this.last = cmd.repeats === false ? null : text;
    try {
      return cmd.run(this, rest, text.slice(name!.length).trim());
    } catch (e) {
      if (isHvsimError(e)) return [`error: ${e.message}`];
      throw e;
    }
  }

  /** Runs the commands of a file (`source FILE`, `hvsim debug -x FILE`), stopping at `quit`. */
  source(path: string): string[] {
    if (this.options.readScript === undefined) die("ARGUMENT_INVALID", "source: this session cannot read files");
    if (this.depth >= SOURCE_DEPTH_MAX) die("ARGUMENT_INVALID", `source ${path}: files source each other more than ${SOURCE_DEPTH_MAX} deep`);
    const lines = this.options.readScript(path);
    const out: string[] = [];
    this.depth += 1;
    try {
      for (const l of lines) {
        out.push(...this.execute(l));
        if (this.finished) break;
      }
    } finally {
      this.depth -= 1;
    }
    return out;
  }

  /** A new breakpoint or watchpoint number. */
  stopNumber(): number {
    return this.nextStop++;
  }

  /** Moves to event `n` (an index outside the trace is an error) by seeking; stepping by one uses the pure path. */
  moveTo(n: number): void {
    this.settle();
    if (n === this.position + 1 && n >= 0 && n < this.seeker.count) {
      this.state = this.seeker.changeAt(n, 0, this.state).after;
    } else if (n !== this.position) {
      this.state = this.seeker.stateAt(n);
    }
    this.position = n;
  }

  /** Back to the event boundary when the state stands between two instructions of the next event. */
  settle(): void {
    if (this.insns === 0) return;
    this.insns = 0;
    this.state = this.seeker.stateAt(this.position);
  }

  /** The event line at `i` (stored outcome), with a note when this build recomputes another one. */
  eventLine(i = this.position): string {
    if (i < 0) return "#-1 genesis";
    return this.options.describe(this.seeker.event(i), this.seeker.store.outcome(i));
  }

  /** Change lines (`  path: before -> after`), the envelope's seq and t left out (the event line has them). */
  changeLines(changes: readonly Change[], indent = "  "): string[] {
    const shown = withoutEnvelope(changes);
    const lines = shown.slice(0, CHANGES_SHOWN_MAX).map((c) => `${indent}${changeText(c.path, c.before, c.after)}`);
    if (shown.length > CHANGES_SHOWN_MAX) lines.push(`${indent}(${shown.length - CHANGES_SHOWN_MAX} more changes)`);
    return lines;
  }

  /** A note when the model in this build computes another outcome than the one stored for event i. */
  outcomeNote(i: number, recomputed: Outcome): string[] {
    const stored = this.seeker.store.outcome(i);
    return plainEqual(stored, recomputed) ? [] : [`  ! this build computes another outcome: ${readableBrief(recomputed)} (stored ${readableBrief(stored)})`];
  }

  /** An event index as typed (as the commands take one: `end`, `end-N`, hex), checked against the trace. */
  parseIndex(raw: string | undefined): number {
    if (raw === undefined) die("ARGUMENT_INVALID", "expected an event index");
    const n = eventIndexOf(raw, this.seeker.count);
    if (Number.isNaN(n)) die("ARGUMENT_INVALID", `expected an event index (N, 0xN, end or end-N), got '${raw}'`);
    if (!(n >= -1 && n < this.seeker.count)) outOfRange(n, this.seeker.count, this.seeker.store.damage);
    return n;
  }

  /**
   * Tab completion (node:readline completer): command names first; then event kinds for commands
   * that take one, state paths for those that take a path (keyed records complete by name).
   */
  complete(line: string): [string[], string] {
    const words = line.split(/\s+/);
    if (words.length <= 1) {
      const names = COMMANDS.flatMap((c) => [c.name, ...c.aliases]).filter((n) => n.startsWith(words[0] ?? ""));
      return [names.sort(), words[0] ?? ""];
    }
    const cmd = findCommand(words[0]!, this.options.extraCommands);
    if (cmd === undefined) return [[], line];
    if (cmd.takesKind === true && words.length === 2) {
      const token = words[1]!;
      return [(this.options.kinds ?? []).filter((k) => k.startsWith(token)), token];
    }
    if (cmd.takesPath !== true) return [[], line];
    const token = /[\w$.[\]"']*$/.exec(line)![0];
    return [completePath(this.state, token), token];
  }
}

export function findCommand(name: string, extra: readonly Command[] = []): Command | undefined {
  const match = (c: Command): boolean => c.name === name || c.aliases.includes(name);
  return extra.find(match) ?? COMMANDS.find(match);
}

/** Completions of a partial path: the keys under its parent that start with the partial last key. */
export function completePath(state: unknown, token: string): string[] {
  const cut = Math.max(token.lastIndexOf("."), token.lastIndexOf("["));
  const parentText = cut < 0 ? "" : token.slice(0, cut);
  const partial = (cut < 0 ? token : token.slice(cut + 1)).replace(/^["']|["'\]]$/g, "");
  let parent: unknown;
  let keyed: readonly string[] | undefined;
  try {
    const p = resolvePath(parentText);
    parent = lookup(state, p.segments);
    keyed = keyedRecordAt(p.segments)?.names;
  } catch {
    return [];
  }
  if (parent === MISSING) return [];
  const keys = keyed ?? childKeys(parent);
  return keys
    .filter((k) => k.startsWith(partial))
    .map((k) => (parentText === "" ? (/^\d+$/.test(k) ? `[${k}]` : k) : /^\d+$/.test(k) ? `${parentText}[${k}]` : `${parentText}.${k}`));
}
