import type { Command } from "commander";
import type { Io } from "../io.ts";
import { EXIT } from "../exit.ts";
import { exitAfterDamage, indexOption, withTrace } from "../target.ts";
import { verifiedStateAt } from "../../timetravel/state-at.ts";
import { toJson } from "../../export/json.ts";
import { requirePath } from "../../timetravel/paths.ts";

export function registerState(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("state")
    .description("the machine state after event N, as JSON")
    .argument("<file>", "trace file")
    .requiredOption("--at <n>", "event index (-1 for the genesis state, `end` for the last event)")
    .option("--path <a.b.c>", 'print only the value at this state path (a.b[3].c, hypercallCounts.0x1b, a["odd key"])')
    .addHelpText("after", "\nExamples:\n  hvsim state a.hvt --at 100 --path hypercallCounts\n  hvsim state a.hvt --at end --path 'rm.vms.byId[128].status'")
    .action((file: string, opts: { at: string; path?: string }) => {
      withTrace(io, file, (trace) => {
        const at = indexOption(trace, "--at", opts.at);
        const state = verifiedStateAt(trace, at);
        const value = opts.path === undefined ? state : requirePath(state, opts.path, `--path: in the state after event ${at}`);
        io.out(toJson(value, 2));
        // The state after an event before the damage is what it is, damage or not.
        setCode(exitAfterDamage(trace, EXIT.ok, true));
      });
    });
}
