import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { mutableCopy } from "../src/core/reducer.ts";
import { checkInvariants } from "../src/core/invariants.ts";
import { hvModel, type Machine } from "../src/model/machine.ts";
import type { HypEvent } from "../src/model/events.ts";
import { hvErrorName } from "../src/model/abi/errors.ts";
import { runningVcpus } from "../src/model/hyp/caller.ts";
import { boot, buildVm } from "../src/model/hyp/testkit.ts";

/**
 * Random hypercalls (known and unknown numbers; arguments that are often valid cap IDs, small
 * sizes or page-aligned addresses, sometimes any 64-bit value) from random running vCPUs, with
 * timer ticks between: the reducer never throws, X0 is always a Gunyah error code (X0 of
 * hypervisor_identify is hyp_api_info), and every invariant holds after every event.
 */
const [start] = buildVm(boot(), { proxy: false, powerOn: true, affinity: 1 });

const argArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 60 }).map(BigInt) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x400 }).map((p) => BigInt(0x8000_0000 + p * 0x1000)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1_0000 }).map((p) => BigInt(p * 0x1000)) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) },
);
const stepArb = fc.oneof(
  { weight: 12, arbitrary: fc.record({ tick: fc.constant(false), call: fc.integer({ min: 0, max: 0x70 }), args: fc.array(argArb, { maxLength: 8 }), who: fc.nat(), dt: fc.integer({ min: 0, max: 200_000 }) }) },
  { weight: 1, arbitrary: fc.record({ tick: fc.constant(true), call: fc.constant(0), args: fc.constant([] as bigint[]), who: fc.nat(), dt: fc.integer({ min: 0, max: 6_000_000 }) }) },
);

describe("random hypercall sequences (property)", () => {
  it("never crash, always answer a known error code, keep every invariant", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 60 }), (steps) => {
        const s: Machine = mutableCopy(start);
        for (const st of steps) {
          const t = s.t + st.dt;
          let ev: HypEvent;
          if (st.tick) ev = { kind: "timer_tick", seq: s.seq + 1, t };
          else {
            const callers = runningVcpus(s);
            if (callers.length === 0) return;
            const c = callers[st.who % callers.length]!;
            ev = { kind: "hypercall", seq: s.seq + 1, t, vm: c.vm, vcpu: c.vcpu, call: st.call, args: st.args, data: Uint8Array.from([1, 2, 3, 4]) };
          }
          const out = hvModel.apply(s, ev);
          if (ev.kind === "hypercall") {
            const x = out.x as bigint[];
            expect(Array.isArray(x) && x.length >= 1).toBe(true);
            if (ev.call !== 0) expect(hvErrorName(x[0]!)).toBeDefined();
          }
          const bad = checkInvariants(s, hvModel.invariants);
          if (bad !== null) throw new Error(`invariant ${bad.invariant} broken after ${JSON.stringify(ev, (_k, v) => (typeof v === "bigint" ? v.toString(16) : v))}: ${bad.detail}`);
        }
      }),
      { numRuns: 1000, seed: 20240601 },
    );
  });
});
