/**
 * The (scenario, seed) pairs whose trace bytes are pinned, and how to record them. Shared by
 * test/scenario-determinism.test.ts (which checks them) and tools/pin-traces.ts (which rewrites
 * test/fixtures/pinned-traces.json when a change to the bytes is deliberate).
 */
import { createHash } from "node:crypto";
import { resolveScenario } from "../src/sim/resolve.ts";
import { recordBytes } from "./helpers.ts";

export interface PinnedCase {
  readonly scenario: string;
  readonly seed: number;
  readonly maxEvents: number;
}

/**
 * vm-secondary and vm-restart are not pinned: their header hash includes their generator's
 * `toString()`, which differs between the tsx and vitest transforms (so it cannot be pinned in
 * one and checked in the other). The file scenarios cover the same host and guest behaviours.
 */
export const PINNED_CASES: readonly PinnedCase[] = [
  { scenario: "hyp-secondary", seed: 1, maxEvents: 6_000 },
  { scenario: "smoke", seed: 7, maxEvents: 2_000 },
  { scenario: "scenarios/mem-churn.yaml", seed: 2, maxEvents: 3_000 },
  { scenario: "scenarios/vm-crash-restart.yaml", seed: 4, maxEvents: 10_000 },
  { scenario: "long-run", seed: 1, maxEvents: 5_000 },
];

export const PINNED_FILE = "test/fixtures/pinned-traces.json";

export function traceSha256(c: PinnedCase): string {
  const bytes = recordBytes(resolveScenario(c.scenario), { seed: c.seed, maxEvents: c.maxEvents });
  return createHash("sha256").update(bytes).digest("hex");
}
