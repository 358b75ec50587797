import type { Command } from "commander";
import type { Io } from "../io.ts";
import { helpAfter } from "../help.ts";
import { EXIT } from "../exit.ts";
import { builtinScenarios, DEFAULT_SCENARIO } from "../../sim/builtin/index.ts";
import { toJson } from "../../core/json.ts";

export function registerScenarios(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("scenarios")
    .description("list the built-in scenarios, a line each (those shipped as files in scenarios/ show their path)")
    .option("--json", "print [{name, description, default, file}]")
    .addHelpText("after", helpAfter("scenarios", ["hvsim scenarios", "hvsim scenarios --json"]))
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        io.out(toJson(builtinScenarios().map((s) => ({ name: s.name, description: s.description, default: s === DEFAULT_SCENARIO, file: s.source ?? null }))));
      } else {
        // Scenarios shipped as files are marked with their path: copy one to start your own.
        const width = Math.max(...builtinScenarios().map((s) => s.name.length));
        for (const s of builtinScenarios()) {
          const marks = [s === DEFAULT_SCENARIO ? "default" : "", s.source === undefined ? "" : `file ${s.source}`].filter((m) => m !== "");
          io.out(`${s.name.padEnd(width)}  ${s.description}${marks.length === 0 ? "" : ` (${marks.join("; ")})`}`);
        }
      }
      setCode(EXIT.ok);
    });
}
