import { isHvsimError, die } from "../core/errors.ts";
import type { EventBase, Outcome } from "../core/event.ts";
import type { Invariant } from "../core/invariants.ts";
import type { CoreState } from "../core/reducer.ts";
import { plainEqual } from "../core/equal.ts";
import { withoutEnvelope, type Change } from "./diff.ts";
import { brief, childKeys, formatPath, lookup, parsePath, MISSING, type PathSegment } from "./paths.ts";
import type { FunctionRegistry } from "./predicate.ts";
import type { Seeker } from "./seeker.ts";
import { COMMANDS, type Command } from "./debugger-commands.ts";

export interface DebugOptions<S> {
  readonly invariants: readonly Invariant<S>[];
  /** One line per event (describeEvent), injected so this module stays model-agnostic. */
  readonly describe: (ev: EventBase, outcome: Outcome) => string;
  readonly functions?: FunctionRegistry;
}

export interface Watch {
  readonly text: string;
  readonly segments: readonly PathSegment[];
}

/** Most changes one command prints; the rest are counted. */
export const CHANGES_SHOWN_MAX = 12;

/**
 * An interactive time-travel session over one trace: a position (event index, -1 = genesis), the
 * state there, watched paths and the command history. `execute` takes one command line and returns
 * the lines to print, so the same session runs under a terminal, a pipe, or a test.
 */
export class DebugSession<S extends CoreState> {
  position = -1;
  state: S;
  readonly watches: Watch[] = [];
  readonly history: string[] = [];
  finished = false;

  constructor(
    readonly seeker: Seeker<S>,
    readonly options: DebugOptions<S>,
  ) {
    this.state = seeker.genesis;
  }

  /** `(hvsim #12 hypercall) `: where we are, as the prompt. */
  prompt(): string {
    return this.position < 0 ? "(hvsim #-1 genesis) " : `(hvsim #${this.position} ${this.seeker.event(this.position).kind}) `;
  }

  /** Runs one command line. Errors become one `error: ...` line; the session stays usable. */
  execute(line: string): string[] {
    const text = line.trim();
    if (text === "" || text.startsWith("#")) return [];
    this.history.push(text);
    const [name, ...rest] = text.split(/\s+/);
    const cmd = findCommand(name!);
    if (cmd === undefined) return [`error: unknown command '${name}' (type help)`];
    try {
      return cmd.run(this, rest, text.slice(name!.length).trim());
    } catch (e) {
      if (isHvsimError(e)) return [`error: ${e.message}`];
      throw e;
    }
  }

  /** Moves to event `n` (clamped to the trace) by seeking; stepping by one uses the pure path. */
  moveTo(n: number): void {
    const target = Math.max(-1, Math.min(this.seeker.count - 1, n));
    if (target === this.position + 1 && target >= 0) {
      this.state = this.seeker.changeAt(target, 0, this.state).after;
    } else if (target !== this.position) {
      this.state = this.seeker.stateAt(target);
    }
    this.position = target;
  }

  /** The event line at `i` (stored outcome), with a note when this build recomputes another one. */
  eventLine(i = this.position): string {
    if (i < 0) return "#-1 genesis";
    return this.options.describe(this.seeker.event(i), this.seeker.store.outcome(i));
  }

  /** Change lines (`  path: before -> after`), the envelope's seq and t left out (the event line has them). */
  changeLines(changes: readonly Change[], indent = "  "): string[] {
    const shown = withoutEnvelope(changes);
    const lines = shown.slice(0, CHANGES_SHOWN_MAX).map((c) => `${indent}${formatPath(c.path)}: ${brief(c.before)} -> ${brief(c.after)}`);
    if (shown.length > CHANGES_SHOWN_MAX) lines.push(`${indent}(${shown.length - CHANGES_SHOWN_MAX} more changes)`);
    return lines;
  }

  /** A note when the model in this build computes another outcome than the one stored for event i. */
  outcomeNote(i: number, recomputed: Outcome): string[] {
    const stored = this.seeker.store.outcome(i);
    return plainEqual(stored, recomputed) ? [] : [`  ! this build computes another outcome: ${brief(recomputed)} (stored ${brief(stored)})`];
  }

  parseIndex(raw: string | undefined): number {
    if (raw === undefined) die("ARGUMENT_INVALID", "expected an event index");
    if (raw === "end" || raw === "$") return this.seeker.count - 1;
    const s = raw.replace(/_/g, "");
    const n = /^-?\d+$/.test(s) ? Number(s) : Number.NaN;
    if (!Number.isSafeInteger(n)) die("ARGUMENT_INVALID", `expected an event index, got '${raw}'`);
    return n;
  }

  /**
   * Tab completion (node:readline completer): command names first, then state paths against the
   * current state for commands that take one.
   */
  complete(line: string): [string[], string] {
    const words = line.split(/\s+/);
    if (words.length <= 1) {
      const names = COMMANDS.flatMap((c) => [c.name, ...c.aliases]).filter((n) => n.startsWith(words[0] ?? ""));
      return [names.sort(), words[0] ?? ""];
    }
    const cmd = findCommand(words[0]!);
    if (cmd === undefined || !cmd.takesPath) return [[], line];
    const token = /[\w$.[\]"']*$/.exec(line)![0];
    return [completePath(this.state, token), token];
  }
}

function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases.includes(name));
}

/** Completions of a partial path: the keys under its parent that start with the partial last key. */
export function completePath(state: unknown, token: string): string[] {
  const cut = Math.max(token.lastIndexOf("."), token.lastIndexOf("["));
  const parentText = cut < 0 ? "" : token.slice(0, cut);
  const partial = (cut < 0 ? token : token.slice(cut + 1)).replace(/^["']|["'\]]$/g, "");
  let parent: unknown;
  try {
    parent = lookup(state, parsePath(parentText));
  } catch {
    return [];
  }
  if (parent === MISSING) return [];
  return childKeys(parent)
    .filter((k) => k.startsWith(partial))
    .map((k) => (parentText === "" ? (/^\d+$/.test(k) ? `[${k}]` : k) : /^\d+$/.test(k) ? `${parentText}[${k}]` : `${parentText}.${k}`));
}
