import { Command, CommanderError } from "commander";
import { isHvsimError } from "../core/errors.ts";
import { exitFor, EXIT } from "./exit.ts";
import { isSystemError } from "./files.ts";
import { processIo, type Io } from "./io.ts";
import { registerRecord } from "./commands/record.ts";
import { registerReplay } from "./commands/replay.ts";
import { registerInfo } from "./commands/info.ts";
import { registerLog } from "./commands/log.ts";
import { registerState } from "./commands/state.ts";
import { registerRun } from "./commands/run.ts";
import { registerAbi } from "./commands/abi.ts";
import { registerCheck } from "./commands/check.ts";
import { registerScenarios } from "./commands/scenarios.ts";
import { registerFuzz } from "./commands/fuzz.ts";
import { registerAvb } from "./commands/avb.ts";
import { registerBcc } from "./commands/bcc.ts";
import { registerDebug } from "./commands/debug.ts";
import { registerGdb } from "./commands/gdb.ts";
import { registerBisect } from "./commands/bisect.ts";
import { registerDiff } from "./commands/diff.ts";
import { registerMinimize } from "./commands/minimize.ts";
import { registerExport } from "./commands/export.ts";
import { registerCpu } from "./commands/cpu.ts";
import { registerView } from "./commands/view.ts";
import { registerRepair } from "./commands/repair.ts";
import { MODEL_VERSION } from "../model/machine.ts";

export type Register = (program: Command, io: Io, setCode: (code: number) => void) => void;

/** Every command, in the order `--help` lists them. A new command adds one line here. */
const COMMANDS: readonly Register[] = [registerRun, registerRecord, registerReplay, registerInfo, registerLog, registerState, registerCheck, registerScenarios, registerFuzz, registerAvb, registerBcc, registerDebug, registerBisect, registerDiff, registerMinimize, registerExport, registerRepair, registerView, registerAbi, registerCpu, registerGdb];

function buildProgram(io: Io, setCode: (c: number) => void): Command {
  const program = new Command("hvsim")
    .description(
      "Deterministic record/replay simulator of the Gunyah hypervisor as used in the Android Virtualization Framework.\n" +
        "Every hypervisor event is recorded; any run can be replayed, inspected and checked.",
    )
    .version(`hvsim 0.1.0 (${MODEL_VERSION})`)
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, "")),
      writeErr: (s) => io.err(s.replace(/\n$/, "")),
      outputError: (s, write) => write(s.replace(/^error:/, "hvsim: usage error:")),
    })
    .addHelpText(
      "after",
      "\nExit codes: 0 ok, 1 finding (violation, difference), 2 bad input or usage (a damaged or incomplete trace,\n" +
        "a bad scenario, a wrong argument), 3 replay divergence, 70 a bug in hvsim; each command's --help lists its own.\n" +
        "Start with: hvsim run",
    );
  for (const register of COMMANDS) register(program, io, setCode);
  for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput());
  return program;
}

/** Runs the CLI; returns the exit code. Never throws: failures become one line and a code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  // `hvsim help NAME` of a command that does not exist: commander prints the whole help and exits 0.
  const [, , first, named] = argv;
  if (first === "help" && named !== undefined && !named.startsWith("-") && !program.commands.some((c) => c.name() === named || c.aliases().includes(named))) {
    io.err(`hvsim: usage error: unknown command '${named}' (hvsim --help lists them)`);
    return EXIT.input;
  }
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT.ok : EXIT.input;
    }
    if (isHvsimError(e)) {
      // A message of several lines names several problems (a scenario file's): each gets the prefix.
      for (const line of e.message.split("\n")) io.err(`hvsim: ${line}`);
      return exitFor(e.failureClass);
    }
    if (isSystemError(e)) {
      io.err(`hvsim: ${e.message}`);
      return EXIT.input;
    }
    io.err(`hvsim: internal error (a simulator bug, please report it with the command line): ${(e as Error)?.stack ?? e}`);
    return EXIT.bug;
  }
}
