import type { Command } from "commander";
import type { Io } from "../io.ts";
import { EXIT } from "../exit.ts";
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO } from "../../sim/builtin/index.ts";
import { toJson } from "../../export/json.ts";

export function registerScenarios(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command("scenarios")
    .description("list the built-in scenarios, a line each")
    .option("--json", "print [{name, description, default}]")
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        io.out(toJson(BUILTIN_SCENARIOS.map((s) => ({ name: s.name, description: s.description, default: s === DEFAULT_SCENARIO }))));
      } else {
        const width = Math.max(...BUILTIN_SCENARIOS.map((s) => s.name.length));
        for (const s of BUILTIN_SCENARIOS) io.out(`${s.name.padEnd(width)}  ${s.description}${s === DEFAULT_SCENARIO ? " (default)" : ""}`);
      }
      setCode(EXIT.ok);
    });
}
