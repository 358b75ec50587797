import type { Scenario } from "../scenario.ts";
import { smokeScenario } from "./smoke.ts";
import { hypSecondaryScenario } from "./hyp-secondary.ts";
import { vmSecondaryScenario } from "./vm-secondary.ts";
import { vmRestartScenario } from "./vm-restart.ts";
import { vmLargeMemoryScenario } from "./vm-large-memory.ts";
import { shippedScenarios } from "../file/files.ts";
import { BUG_SCENARIOS, PVM_SCENARIOS, pvmBootScenario } from "./pvm.ts";
import { CODE_SCENARIOS } from "./guest-code.ts";
import { pvmStolenTimeScenario } from "./pvm-stolen-time.ts";
import { pvmDemandPagingScenario } from "./pvm-demand-paging.ts";

/**
 * Built-in scenarios by name, in the order `hvsim scenarios` lists them. The first is the default
 * that `hvsim record` and `hvsim run` use when no scenario is named: the AVF protected-VM boot
 * (pvm-boot). The protected-VM scenarios and the bug-<defect> ones are in pvm.ts. The scenario files shipped in scenarios/ are built-ins too (loaded
 * by name; users copy them); smoke stays for the core's tests.
 */
function allBuiltins(): readonly Scenario[] {
  return [
    pvmBootScenario,
    ...PVM_SCENARIOS,
    pvmStolenTimeScenario,
    pvmDemandPagingScenario,
    vmSecondaryScenario,
    ...CODE_SCENARIOS,
    hypSecondaryScenario,
    vmRestartScenario,
    vmLargeMemoryScenario,
    ...shippedScenarios(),
    ...BUG_SCENARIOS,
    smokeScenario,
  ];
}

let builtins: readonly Scenario[] | undefined;
/** Built lazily: the shipped files are parsed on first use, not at every start of the CLI. */
export const builtinScenarios = (): readonly Scenario[] => (builtins ??= allBuiltins());

export const DEFAULT_SCENARIO = pvmBootScenario;

export function builtinScenario(name: string): Scenario | undefined {
  return builtinScenarios().find((s) => s.name === name);
}
