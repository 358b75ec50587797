import type { Command } from "commander";
import type { Io } from "../io.ts";
import { EXAMPLE_TRACE, helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { exitAfterDamage, indexOption, withTrace } from "../target.ts";
import { verifiedStateAt } from "../../timetravel/state-at.ts";
import { toJson } from "../../core/json.ts";
import { requirePath, resolvePath } from "../../timetravel/paths.ts";
import { readableJson } from "../../timetravel/readable.ts";

export function registerState(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("state")
    .description("the machine state after event N, as JSON")
    .argument("<file>", "trace file")
    .requiredOption("--at <n>", "event index (-1 for the genesis state, `end` for the last event, `end-K` for K before it)")
    .option("--path <a.b.c>", 'print only the value at this state path (a.b[3].c, hypercallCounts.msgqueue_send, a["odd key"])')
    .option("--raw", "the state exactly as stored: no <field>Hex beside addresses, hypercall counts by number")
    .addHelpText(
      "after",
      helpAfter("state", [`hvsim state ${EXAMPLE_TRACE} --at 100 --path hypercallCounts`, `hvsim state ${EXAMPLE_TRACE} --at 300 --path 'rm.vms.byId[128].status'`], [
        "Addresses keep their numbers and gain a <field>Hex string beside them; hypercall counts are keyed by Gunyah's names.",
      ]),
    )
    .action((file: string, opts: { at: string; path?: string; raw?: boolean }) => {
      withTrace(io, file, (trace) => {
        const at = indexOption(trace, "--at", opts.at);
        const state = verifiedStateAt(trace, at);
        const value = opts.path === undefined ? state : requirePath(state, opts.path, `--path: in the state after event ${at}`);
        io.out(opts.raw ? toJson(value, 2) : readableJson(value, 2, opts.path === undefined ? [] : resolvePath(opts.path).segments));
        // The state after an event before the damage is what it is, damage or not.
        setCode(exitAfterDamage(trace, EXIT.ok, true));
      }, { reads: "asked" });
    });
}
