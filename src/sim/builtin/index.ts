import type { Scenario } from "../scenario.ts";
import { smokeScenario } from "./smoke.ts";
import { hypSecondaryScenario } from "./hyp-secondary.ts";
import { vmSecondaryScenario } from "./vm-secondary.ts";
import { vmRestartScenario } from "./vm-restart.ts";
import { shippedScenarios } from "../file/files.ts";

/**
 * Built-in scenarios by name, in the order `hvsim scenarios` lists them. The first is the default
 * that `hvsim record` and `hvsim run` use when no scenario is named: a secondary-VM boot until the
 * protected-VM scenario lands. The scenario files shipped in scenarios/ are built-ins too (loaded
 * by name; users copy them); smoke stays for the core's tests.
 */
export const BUILTIN_SCENARIOS: readonly Scenario[] = [
  vmSecondaryScenario,
  hypSecondaryScenario,
  vmRestartScenario,
  ...shippedScenarios(),
  smokeScenario,
];

export const DEFAULT_SCENARIO = BUILTIN_SCENARIOS[0]!;

export function builtinScenario(name: string): Scenario | undefined {
  return BUILTIN_SCENARIOS.find((s) => s.name === name);
}
