import { GUEST_COMMANDS } from "../../timetravel/guest-debug.ts";
import { EVENT_FIELDS } from "../../model/event-fields.ts";
import { createInterface } from "node:readline";
import { appendFileSync, existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { die } from "../../core/errors.ts";
import { parseIntOption } from "../files.ts";
import type { Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { exitAfterDamage, withTrace } from "../target.ts";
import { paint } from "../colour.ts";
import { EVENT_KINDS } from "../../model/events.ts";
import { describeEvent } from "../../export/describe.ts";
import { hvModel, type Machine } from "../../model/machine.ts";
import { DebugSession } from "../../timetravel/debugger.ts";

/** Commands kept across sessions, most recent last. */
const HISTORY_MAX = 1000;

/** `$HVSIM_HISTORY` (empty: none), else ~/.hvsim_history, as gdb keeps ~/.gdb_history. */
function historyFile(env: Io["env"]): string | null {
  if (env.HVSIM_HISTORY !== undefined) return env.HVSIM_HISTORY === "" ? null : env.HVSIM_HISTORY;
  const home = env.HOME ?? homedir();
  return home === "" ? null : join(home, ".hvsim_history");
}

function loadHistory(file: string | null): string[] {
  if (file === null || !existsSync(file)) return [];
  try {
    return readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").slice(-HISTORY_MAX);
  } catch {
    return []; // an unreadable history file costs the user their history, not their session
  }
}

/** Each event kind's fields, for the debugger's `field=value` filters. */
const EVENT_FIELD_NAMES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(Object.entries(EVENT_FIELDS).map(([kind, fields]) => [kind, Object.keys(fields)]));

/** Reads a command file for `source` and `-x`: one command a line, `#` comments. */
function readScript(path: string): string[] {
  if (!existsSync(path)) die("ARGUMENT_INVALID", `source ${path}: no such file`);
  if (!statSync(path).isFile()) die("ARGUMENT_INVALID", `source ${path}: not a regular file (a directory, a device or a FIFO)`);
  return readFileSync(path, "utf8").split(/\r?\n/);
}

/**
 * Lines from the process's stdin. On a terminal: readline with the session's prompt, tab completion
 * of commands, event kinds and state paths, and the history of earlier sessions; from a pipe: plain
 * lines, no prompt.
 */
async function* terminalLines(session: DebugSession<Machine>, past: readonly string[]): AsyncGenerator<string> {
  const tty = process.stdin.isTTY === true;
  const rl = createInterface({
    input: process.stdin,
    output: tty ? process.stdout : undefined,
    terminal: tty,
    historySize: HISTORY_MAX,
    history: [...past].reverse(),
    completer: tty ? (line: string) => session.complete(line) : undefined,
  });
  try {
    if (tty) {
      rl.setPrompt(session.prompt());
      rl.prompt();
    }
    for await (const line of rl) {
      yield line;
      if (session.finished) return;
      if (tty) {
        rl.setPrompt(session.prompt());
        rl.prompt();
      }
    }
  } finally {
    rl.close();
  }
}

export interface DebugCliOptions {
  readonly at?: string;
  readonly interval?: number;
  /** Command files run first (`-x FILE`, repeatable), as gdb's -x. */
  readonly scripts?: readonly string[];
  /** Keep and show history across sessions (default: when stdin is a terminal). */
  readonly history?: boolean;
}

export async function runDebug(io: Io, file: string, opts: DebugCliOptions): Promise<number> {
  return withTrace(io, file, async (trace) => {
    const interactive = opts.history ?? process.stdin.isTTY === true;
    const histFile = interactive ? historyFile(io.env) : null;
    const past = loadHistory(histFile);
    const seeker = trace.seeker({ verifyOutcomes: true, ...(opts.interval === undefined ? {} : { interval: opts.interval }) });
    const session = new DebugSession(seeker, {
      invariants: hvModel.invariants,
      describe: describeEvent,
      kinds: EVENT_KINDS,
      eventFields: EVENT_FIELD_NAMES,
      repeatOnEmpty: io.stdin === undefined && process.stdin.isTTY === true,
      readScript,
      pastHistory: past,
      extraCommands: GUEST_COMMANDS,
    });
    let errors = 0;
    const p = paint(io);
    const print = (lines: readonly string[]): void => {
      for (const l of lines) {
        if (l.startsWith("error: ")) {
          errors += 1;
          io.err(l);
        } else io.out(l.startsWith("#") ? p.event(l) : l.startsWith("  ") && l.includes(" -> ") ? p.change(l) : l);
      }
    };
    const h = trace.header;
    io.out(`${file}: ${seeker.count} ${trace.damage === null ? "" : "whole "}events, scenario ${h.scenario.name}, seed ${h.seed}, ${h.modelVersion}. Type help.`);
    if (opts.at !== undefined) print(session.execute(`goto ${opts.at}`, false));
    for (const script of opts.scripts ?? []) if (!session.finished) print(session.execute(`source ${script}`, false));
    if (!session.finished) {
      for await (const line of io.stdin ?? terminalLines(session, past)) {
        print(session.execute(line));
        if (histFile !== null && line.trim() !== "") appendFileSync(histFile, `${line.trim()}\n`);
        if (session.finished) break;
      }
    }
    if (seeker.divergence !== null) {
      const d = seeker.divergence;
      io.err(`note: this build computes another outcome than the stored one from event ${d.seq} (${d.kind}) on: see hvsim diff --replay`);
    }
    // A script whose commands failed did not do what it says: its exit says so (a person at a terminal saw each error).
    return exitAfterDamage(trace, errors > 0 && !interactive ? EXIT.input : EXIT.ok);
  }, { reads: "asked" });
}

export function registerDebug(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("debug")
    .description("interactive time-travel debugger: step, back, goto, break, watch, reverse-continue, find, why, diff")
    .argument("<file>", "trace file")
    .option("--at <n>", "start at the state after event N")
    .option("-x, --script <file>", "run the commands in FILE first (repeatable), as gdb -x", (v: string, prev: string[] = []) => [...prev, v])
    .option("--interval <n>", "events between in-memory checkpoints (how far a seek replays at most)")
    .addHelpText(
      "after",
      helpAfter(
        "debug",
        [`printf 'break vmm_ioctl\\ncontinue\\nwatch rm.vms.ids\\ncontinue\\nwhy\\n' | hvsim debug ${EXAMPLE_TRACE}`, `hvsim debug ${EXAMPLE_TRACE} -x docs/debug-commands.txt`],
        [
          "Commands come from a terminal (Tab completes commands, event kinds and state paths; Enter repeats the",
          "last one; history is kept in ~/.hvsim_history, or $HVSIM_HISTORY) or from a pipe or -x file, one a line.",
          "Type help inside for the command list.",
        ],
      ),
    )
    .action(async (file: string, opts: { at?: string; interval?: string; script?: string[] }) => {
      const code = await runDebug(io, file, {
        ...(opts.at === undefined ? {} : { at: opts.at }),
        ...(opts.script === undefined ? {} : { scripts: opts.script }),
        ...(opts.interval === undefined ? {} : { interval: parseIntOption("--interval", opts.interval, 1) }),
      });
      setCode(code);
    });
}
