import { describe, expect, it } from "vitest";
import { hvModel, type Machine } from "../src/model/machine.ts";
import { resolveScenario } from "../src/sim/resolve.ts";
import { describeEvent } from "../src/export/describe.ts";
import { EVENT_KINDS } from "../src/model/events.ts";
import { DebugSession } from "../src/timetravel/debugger.ts";
import { GUEST_COMMANDS } from "../src/timetravel/guest-debug.ts";
import { focusThread } from "../src/timetravel/positions.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";
import { REG_PC, readReg } from "../src/cpu/index.ts";
import { readerOf, recordBytes } from "./helpers.ts";

// vm-code-minimal's guest reads the virtio-mmio MagicValue at #13: the load goes out to crosvm
// (#14 the exit, #15 the device read) and retires at #16, the VCPU_RUN that completes it.
const bytes = recordBytes(resolveScenario("vm-code-minimal"), { seed: 1 });
const session = () =>
  new DebugSession<Machine>(seekerForTrace(readerOf(bytes), { interval: 16 }) as never, { invariants: hvModel.invariants, describe: describeEvent, kinds: EVENT_KINDS, extraCommands: GUEST_COMMANDS });
const focus = { vm: 0x80, vcpu: 0 };
const cpuOf = (s: DebugSession<Machine>) => focusThread(s.state, focus)!.cpu;
const at = (s: DebugSession<Machine>) => ({ pos: s.insns > 0 ? `#${s.position}+${s.insns}` : `#${s.position}`, pc: Number(readReg(cpuOf(s), REG_PC)), retired: cpuOf(s).retired });

describe("debug stepi and backi", () => {
  it("an MMIO load retires at the event that completes it, not one instruction later", () => {
    const s = session();
    s.execute("goto 13");
    expect(at(s)).toMatchObject({ pos: "#13", pc: 0x80001100 });
    expect(s.execute("stepi")).toEqual([expect.stringMatching(/^#16 .*GH_VCPU_RUN/), "#16 vm0x80/vcpu0 pc 0x80001104: cmp w2, w0"]);
    expect(s.execute("stepi")).toEqual(["#16+1 vm0x80/vcpu0 pc 0x80001108: b.ne 80001120"]);
    expect(s.execute("backi")).toEqual(["#16 vm0x80/vcpu0 pc 0x80001104: cmp w2, w0"]);
    // Back over the completed load: the state before #16 retired it (the load still pending).
    expect(s.execute("backi")).toEqual([expect.stringMatching(/^#15 .*vmm_mmio/), "#15 vm0x80/vcpu0 pc 0x80001100: ldr w2, [x1]"]);
    expect(s.execute("backi")).toEqual(["#12+520 vm0x80/vcpu0 pc 0x800010fc: movk w0, #0x7472, lsl #16"]);
  });

  it("focus takes VM/VCPU of a vCPU that runs code here, and says which do", () => {
    const s = session();
    expect(s.execute("focus 999/0")).toEqual(["error: focus: vm0x3e7/vcpu0 runs no guest code in this trace (these do: 0x80/0)"]);
    expect(s.execute("focus abc")).toEqual(["error: focus: expected VM/VCPU, e.g. focus 0x80/0, got 'abc'"]);
    expect(s.execute("focus 0x80/0")).toEqual(["#-1 vm0x80/vcpu0: no such vCPU here"]);
  });

  it("every stepi retires exactly one instruction, and backi retraces the same states", () => {
    const s = session();
    s.execute("goto 12");
    const forward = [at(s)];
    for (let i = 0; i < 530; i++) {
      const out = s.execute("stepi");
      if (out[0] === "no later instruction of this vCPU in the trace") break;
      forward.push(at(s));
    }
    expect(forward.length).toBe(531);
    for (let i = 1; i < forward.length; i++) expect(forward[i]!.retired - forward[i - 1]!.retired, `stepi ${i} to ${forward[i]!.pos}`).toBe(1);
    const back = [at(s)];
    for (let i = 1; i < forward.length; i++) {
      s.execute("backi");
      back.push(at(s));
    }
    expect(back.reverse().map((b) => [b.pc, b.retired])).toEqual(forward.map((f) => [f.pc, f.retired]));
  });
});
