import type { Command } from "commander";
import { openTraceFile, parseIntOption } from "../files.ts";
import type { Io } from "../io.ts";
import { EXIT } from "../exit.ts";
import { verifiedStateAt } from "../../timetravel/state-at.ts";
import { atPath, toJson } from "../../export/json.ts";
import { die } from "../../core/errors.ts";
import { damageLine } from "../../trace/damage.ts";

export function registerState(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("state")
    .description("the machine state after event N, as JSON")
    .argument("<file>", "trace file")
    .requiredOption("--at <n>", "event index (-1 for the genesis state)")
    .option("--path <a.b.c>", "print only the value at this state path")
    .addHelpText("after", "\nExample:\n  hvsim state a.hvt --at 100 --path hypercallCounts")
    .action((file: string, opts: { at: string; path?: string }) => {
      const at = parseIntOption("--at", opts.at, -1);
      const reader = openTraceFile(file);
      try {
        let damaged = false;
        const state = verifiedStateAt(reader, at, (d, n) => {
          damaged = true;
          io.err(`hvsim: ${damageLine(file, d)}; the state is from its ${n} whole events`);
        });
        let value: unknown = state;
        if (opts.path !== undefined) {
          const found = atPath(state, opts.path);
          if (!found.found) die("ARGUMENT_INVALID", `--path: '${found.at}' does not exist in the state after event ${at}`);
          value = found.value;
        }
        io.out(toJson(value, 2));
        setCode(damaged ? EXIT.input : EXIT.ok);
      } finally {
        reader.close();
      }
    });
}
