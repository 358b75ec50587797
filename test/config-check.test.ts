/**
 * A trace header's config is checked before genesis builds a machine from it (src/model/config.ts):
 * whatever a hand edit puts there, either the check names the field or genesis succeeds. Genesis
 * never fails with an internal error on a config the check let through.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { machineConfigProblem } from "../src/model/config.ts";
import { DEFAULT_PLATFORM, hvModel, type MachineConfig } from "../src/model/machine.ts";
import { isHvsimError } from "../src/core/errors.ts";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { resolveScenario } from "../src/sim/resolve.ts";

const MiB = 0x10_0000;
const page = (min: number, max: number) => fc.integer({ min: Math.ceil(min / 0x1000), max: Math.floor(max / 0x1000) }).map((n) => n * 0x1000);
const hostile = fc.constantFrom(-1, 0, 1.5, Number.NaN, 2 ** 48, 2 ** 53, null, "x", true, [], {});
/** Per field: mostly values near the valid range (so many edits get through the check), some hostile. */
const field = (plausible: fc.Arbitrary<unknown>) => fc.oneof({ weight: 4, arbitrary: plausible }, { weight: 1, arbitrary: hostile });
const range = (base: fc.Arbitrary<number>, size: fc.Arbitrary<number>) => fc.record({ base, size });
const edits: readonly (readonly [readonly (string | number)[], fc.Arbitrary<unknown>])[] = [
  [["platform", "cpus"], field(fc.integer({ min: 0, max: 9 }))],
  [["platform", "timerFreqHz"], field(fc.integer({ min: 1, max: 1_000_000_000 }))],
  [["platform", "ram", 0, "base"], field(page(0, 0x1_0000_0000))],
  [["platform", "ram", 0, "size"], field(page(16 * MiB, 4096 * MiB))],
  [["platform", "ram", 1], field(range(page(0x8000_0000, 0x2_0000_0000), page(0x1000, 256 * MiB)))],
  [["platform", "hypReserved"], field(range(page(0x7f00_0000, 0x8100_0000), page(0x1000, 32 * MiB)))],
  [["platform", "hwirqs"], field(fc.record({ first: fc.integer({ min: 30, max: 1020 }), count: fc.integer({ min: 0, max: 990 }) }))],
  [["rootVm"], field(fc.record({ base: page(0x8000_0000, 0x8400_0000), size: page(0x1000, 32 * MiB), ipa: page(0, 0x9000_0000), entry: page(0, 0x9000_0000), envIpa: page(0, 0x9000_0000) }))],
  [["hlos"], field(fc.boolean())],
  [["faults"], field(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }))],
  [["platform", "name"], field(fc.string({ maxLength: 8 }))],
];
const edit = fc.oneof(...edits.map(([path, value]) => value.map((v) => ({ path, value: v }))));

function edited(config: MachineConfig, edits: readonly { path: readonly (string | number)[]; value: unknown }[]): unknown {
  const c = structuredClone(config) as unknown as Record<string, unknown>;
  for (const { path, value } of edits) {
    let at: Record<string | number, unknown> = c;
    for (const k of path.slice(0, -1)) {
      if (typeof at[k] !== "object" || at[k] === null) at[k] = {};
      at = at[k] as Record<string | number, unknown>;
    }
    at[path.at(-1)!] = value;
  }
  return c;
}

describe("machine config check", () => {
  it("accepts the configs the scenarios build", () => {
    for (const s of [smokeScenario, resolveScenario("pvm-boot"), resolveScenario("scenarios/long-run.yaml"), resolveScenario("hyp-secondary")]) {
      expect(machineConfigProblem(s.config), s.name).toBeNull();
    }
  });

  it("names the field for hostile values: a billion CPUs, RAM past 2^48, a null platform", () => {
    expect(machineConfigProblem({ platform: { ...DEFAULT_PLATFORM, cpus: 1e9 } })).toBe("platform.cpus: expected an integer from 1 to 8, got 1000000000");
    expect(machineConfigProblem({ platform: { ...DEFAULT_PLATFORM, ram: [{ base: 2 ** 48 - 0x1000, size: 0x2000 }] } })).toBe("platform.ram[0]: ends at 0x1000000001000, beyond the 48-bit physical address space");
    expect(machineConfigProblem({ platform: null })).toBe("platform: expected a mapping, got null");
  });

  it("either refuses an edited config or genesis builds it, never an internal error (property)", () => {
    let built = 0;
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (changes) => {
        const c = edited({ platform: DEFAULT_PLATFORM }, changes);
        if (machineConfigProblem(c) !== null) return;
        try {
          hvModel.genesis(c as MachineConfig);
          built += 1;
        } catch (e) {
          expect(isHvsimError(e), `${JSON.stringify(changes)}: ${(e as Error).message}`).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    // The property is not vacuous: many edited configs get through the check and are built.
    expect(built).toBeGreaterThan(50);
  });
});
