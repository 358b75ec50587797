import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stateHash, canonicalString } from "../src/core/hash.ts";
import { replay } from "../src/core/replay.ts";
import { hvModel } from "../src/model/machine.ts";
import { smokeScenario } from "../src/sim/builtin/smoke.ts";
import { describeEvent } from "../src/export/describe.ts";
import { memoryIo } from "../src/cli/io.ts";
import { runDebug } from "../src/cli/commands/debug.ts";
import { DebugSession } from "../src/timetravel/debugger.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";
import { MISSING, lookup, parsePath } from "../src/timetravel/paths.ts";
import { readerOf, recordBytes, tempDir } from "./helpers.ts";

const bytes = recordBytes(smokeScenario, { seed: 3, maxEvents: 400, blockEvents: 64 });
const session = () => new DebugSession(seekerForTrace(readerOf(bytes), { interval: 32 }), { invariants: hvModel.invariants, describe: describeEvent });

describe("hvsim debug, scripted through stdin", () => {
  it("prints exactly these lines for a session", async () => {
    const dir = tempDir();
    const file = join(dir, "d.hvt");
    writeFileSync(file, bytes);
    const io = memoryIo(["step", "goto 10", "print hypercallCounts", "watch hypercallCounts.0x33", "continue", "reverse-continue", "why", "prev hypercall vcpu=1", "next timer_tick", "find hypercallCounts.0x08 >= 2", "diff 5 10", "check", "bogus", "quit", "step"]);
    expect(await runDebug(io, file, {})).toBe(0);
    expect(io.stdout).toEqual([
      `${file}: 400 events, scenario smoke, seed 3, ${hvModel.version}. Type help.`,
      "#0 t=0.000418270s hypercall vm0xff/vcpu0 hypervisor_identify (0x00)() -> api_info=0x5100000000008001 [0x10000eff, 0x0, 0x0]",
      "  hypercallCounts.0x00: (absent) -> 1",
      "#10 t=0.003608588s hypercall vm0xff/vcpu0 hypervisor_identify (0x00)() -> api_info=0x5100000000008001 [0x10000eff, 0x0, 0x0]",
      'hypercallCounts = {"0x00":8,"0x08":1,"0x63":1}',
      "watch 1: hypercallCounts.0x33 = (absent)",
      "watch: hypercallCounts.0x33: (absent) -> 1",
      "#26 t=0.009847856s hypercall vm0xff/vcpu0 hvc 0x6033 (unknown)() -> ERROR_UNIMPLEMENTED (-1)",
      "no watched value changes before here; now at #-1 genesis",
      "hypercallCounts.0x33: not written by any event up to #-1 (as in genesis)",
      "no earlier hypercall vcpu=1 (still at #-1)",
      "#9 t=0.003481302s timer_tick tick",
      "#49 t=0.018427350s hypercall vm0xff/vcpu0 hvc 0x6008 (unknown)() -> ERROR_UNIMPLEMENTED (-1)",
      "  hypercallCounts.0x08 = 2",
      "#5 -> #10: 1 difference besides seq and t",
      "  hypercallCounts.0x00: 4 -> 8",
      // The model's invariant count grows as rooms land; the line's shape is what matters here.
      expect.stringMatching(/^ok: \d+ invariants? hold after #49$/),
    ]);
    expect(io.stderr).toEqual(["error: unknown command 'bogus' (type help)"]);
  });

  it("back then step returns the identical state hash", () => {
    const s = session();
    for (const n of [1, 31, 32, 33, 200, 399]) {
      s.execute(`goto ${n}`);
      const here = stateHash(s.state);
      s.execute("back");
      expect(s.position).toBe(n - 1);
      s.execute("step");
      expect(s.position).toBe(n);
      expect(stateHash(s.state)).toBe(here);
    }
  });

  it("goto N equals a fresh replay to N", () => {
    const s = session();
    for (const n of [250, 3, 399, 64, 0, 128]) {
      s.execute(`goto ${n}`);
      const reader = readerOf(bytes);
      const fresh = replay(hvModel, hvModel.genesis(reader.header.config as never), reader.items(), { until: n });
      expect(stateHash(s.state)).toBe(stateHash(fresh.state));
    }
  });

  it("reverse-continue on a watched path stops at the event a linear scan finds", () => {
    const s = session();
    const path = parsePath("hypercallCounts.0x00");
    const seeker = seekerForTrace(readerOf(bytes));
    const key = (i: number) => {
      const v = lookup(seeker.stateAt(i), path);
      return v === MISSING ? "absent" : canonicalString(v);
    };
    s.execute("goto 380");
    s.execute("watch hypercallCounts.0x00");
    for (let k = 0; k < 4; k++) {
      const from = s.position;
      let expected = -1;
      for (let i = from - 1; i >= 0; i--) if (key(i) !== key(i - 1)) { expected = i; break; }
      s.execute("reverse-continue");
      expect(s.position).toBe(expected);
    }
  });

  it("completes commands and state paths", () => {
    const s = session();
    s.execute("goto 100");
    expect(s.complete("rev")).toEqual([["reverse-continue"], "rev"]);
    expect(s.complete("print hyper")).toEqual([["hypercallCounts"], "hyper"]);
    expect(s.complete("watch hypercallCounts.0x0")).toEqual([["hypercallCounts.0x00", "hypercallCounts.0x08"], "hypercallCounts.0x0"]);
    expect(s.prompt()).toBe("(hvsim #100 hypercall) ");
  });
});
