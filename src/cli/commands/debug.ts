import { createInterface } from "node:readline";
import type { Command } from "commander";
import { damageLine } from "../../trace/damage.ts";
import { openTraceFile, parseIntOption } from "../files.ts";
import type { Io } from "../io.ts";
import { EXIT } from "../exit.ts";
import { describeEvent } from "../../export/describe.ts";
import { hvModel, type Machine } from "../../model/machine.ts";
import { seekerForTrace } from "../../timetravel/open.ts";
import { DebugSession } from "../../timetravel/debugger.ts";

/**
 * Lines from the process's stdin. On a terminal: readline with the session's prompt, tab completion
 * of commands and state paths, and line history; from a pipe: plain lines, no prompt.
 */
async function* terminalLines(session: DebugSession<Machine>): AsyncGenerator<string> {
  const tty = process.stdin.isTTY === true;
  const rl = createInterface({
    input: process.stdin,
    output: tty ? process.stdout : undefined,
    terminal: tty,
    historySize: 500,
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

export async function runDebug(io: Io, file: string, opts: { at?: number; interval?: number }): Promise<number> {
  const reader = openTraceFile(file);
  try {
    const seeker = seekerForTrace(reader, { verifyOutcomes: true, ...(opts.interval === undefined ? {} : { interval: opts.interval }) });
    const session = new DebugSession(seeker, { invariants: hvModel.invariants, describe: describeEvent });
    const h = reader.header;
    io.out(`${file}: ${seeker.count} events, scenario ${h.scenario.name}, seed ${h.seed}, ${h.modelVersion}. Type help.`);
    if (seeker.store.damage !== null) io.out(`note: ${damageLine(file, seeker.store.damage)}; the ${seeker.count} whole events are available`);
    if (opts.at !== undefined) for (const l of session.execute(`goto ${opts.at}`)) io.out(l);
    const lines = io.stdin ?? terminalLines(session);
    for await (const line of lines) {
      for (const out of session.execute(line)) (out.startsWith("error: ") ? io.err : io.out)(out);
      if (session.finished) break;
    }
    if (seeker.divergence !== null) {
      const d = seeker.divergence;
      io.err(`note: this build computes another outcome than the stored one from event ${d.seq} (${d.kind}) on: see hvsim diff --replay`);
    }
    return seeker.store.damage === null ? EXIT.ok : EXIT.input;
  } finally {
    reader.close();
  }
}

export function registerDebug(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("debug")
    .description("interactive time-travel debugger: step, back, goto, watch, reverse-continue, find, why, diff")
    .argument("<file>", "trace file")
    .option("--at <n>", "start at the state after event N")
    .option("--interval <n>", "events between in-memory checkpoints (how far a seek replays at most)")
    .addHelpText(
      "after",
      "\nCommands are read from a terminal (tab completes commands and state paths) or a pipe:\n" +
        "  printf 'goto 100\\nwatch hypercallCounts.0x33\\nreverse-continue\\nwhy\\n' | hvsim debug a.hvt\n" +
        "Type help inside for the command list.",
    )
    .action(async (file: string, opts: { at?: string; interval?: string }) => {
      const code = await runDebug(io, file, {
        ...(opts.at === undefined ? {} : { at: parseIntOption("--at", opts.at, -1) }),
        ...(opts.interval === undefined ? {} : { interval: parseIntOption("--interval", opts.interval, 1) }),
      });
      setCode(code);
    });
}
