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
import { EVENT_KINDS } from "../src/model/events.ts";
import { seekerForTrace } from "../src/timetravel/open.ts";
import { MISSING, lookup, parsePath } from "../src/timetravel/paths.ts";
import { readerOf, recordBytes, tempDir } from "./helpers.ts";

const bytes = recordBytes(smokeScenario, { seed: 3, maxEvents: 400, blockEvents: 64 });
const session = () => new DebugSession(seekerForTrace(readerOf(bytes), { interval: 32 }), { invariants: hvModel.invariants, describe: describeEvent, kinds: EVENT_KINDS });

describe("hvsim debug, scripted through stdin", () => {
  it("prints exactly these lines for a session; a scripted command that fails makes the exit 2", async () => {
    const dir = tempDir();
    const file = join(dir, "d.hvt");
    writeFileSync(file, bytes);
    const io = memoryIo(["step", "goto 10", "print hypercallCounts", "watch hypercallCounts.0x33", "continue", "reverse-continue", "why", "prev hypercall vcpu=1", "next timer_tick", "find hypercallCounts.0x08 >= 2", "diff 5 10", "check", "bogus", "quit", "step"]);
    expect(await runDebug(io, file, {})).toBe(2);
    expect(io.stdout).toEqual([
      `${file}: 400 events, scenario smoke, seed 3, ${hvModel.version}. Type help.`,
      "#0 t=0.000418270s hypercall vm0xff/vcpu0 hypervisor_identify (0x00)() -> api_info=0x5100000000008001 [0x10000eff, 0x0, 0x0]",
      // Hypercall counts read by Gunyah's names; a call never made counts 0.
      "  hypercallCounts.hypervisor_identify: (absent) -> 1",
      "#10 t=0.003608588s hypercall vm0xff/vcpu0 hypervisor_identify (0x00)() -> api_info=0x5100000000008001 [0x10000eff, 0x0, 0x0]",
      'hypercallCounts = {"hypervisor_identify":8,"0x08":1,"0x63":1}',
      "watch 1: hypercallCounts.0x33 = 0",
      "watch 1: hypercallCounts.0x33: 0 -> 1",
      "#26 t=0.009847856s hypercall vm0xff/vcpu0 hvc 0x6033 (unknown)() -> ERROR_UNIMPLEMENTED (-1)",
      "no breakpoint or watchpoint fires before here; now at #-1 genesis",
      "hypercallCounts.0x33: not written by any event up to #-1 (as in genesis)",
      "no earlier hypercall vcpu=1 (still at #-1)",
      "#9 t=0.003481302s timer_tick tick",
      "#49 t=0.018427350s hypercall vm0xff/vcpu0 hvc 0x6008 (unknown)() -> ERROR_UNIMPLEMENTED (-1)",
      "  hypercallCounts.0x08 = 2",
      "#5 -> #10: 1 difference besides seq and t",
      "  hypercallCounts.hypervisor_identify: 4 -> 8",
      // The model's invariant count grows as rooms land; the line's shape is what matters here.
      expect.stringMatching(/^ok: \d+ invariants? hold after #49$/),
    ]);
    expect(io.stderr).toEqual(["error: unknown command 'bogus' (type help)"]);
  });

  it("a field=value filter names a field the kind has (hvsim debug knows the model's fields)", async () => {
    const dir = tempDir();
    const file = join(dir, "f.hvt");
    writeFileSync(file, bytes);
    const io = memoryIo(["break hypercall cal=0x33", "next timer_tick foo=1", "next hypercall call=0x33", "break * vm=255"]);
    expect(await runDebug(io, file, {})).toBe(2);
    expect(io.stderr).toEqual([
      "error: hypercall has no field 'cal' (did you mean 'call'?) (its fields: seq, t, vm, vcpu, call, args, data)",
      "error: timer_tick has no field 'foo' (its fields: seq, t)",
    ]);
    expect(io.stdout.slice(1)).toEqual([expect.stringMatching(/^#26 .*hvc 0x6033/), "break 1: * vm=255"]);
  });

  it("the same rules as everywhere: an index outside the trace, an unknown kind or a misspelt path is an error", () => {
    const s = session();
    s.execute("goto 100");
    expect(s.execute("goto 99999")).toEqual(["error: event index 99999 is out of range: this trace has events 0..399 (-1 is genesis)"]);
    expect(s.position).toBe(100);
    expect(s.execute("goto -2")).toEqual(["error: event index -2 is out of range: this trace has events 0..399 (-1 is genesis)"]);
    // The forms every command takes: end-N, hex.
    s.execute("goto end-5");
    expect(s.position).toBe(394);
    s.execute("goto 0x10");
    expect(s.position).toBe(16);
    expect(s.execute("goto 1.5")).toEqual(["error: expected an event index (N, 0xN, end or end-N), got '1.5'"]);
    s.execute("goto 100");
    expect(s.execute("next timer_tik")).toEqual(["error: event kind: unknown event kind 'timer_tik' (did you mean 'timer_tick'?)"]);
    expect(s.execute("break hypercal")).toEqual(["error: event kind: unknown event kind 'hypercal' (did you mean 'hypercall'?)"]);
    expect(s.execute("watch hypercallCount.x")).toEqual(["error: watch: 'hypercallCount' does not exist: the state has no key 'hypercallCount' (did you mean 'hypercallCounts'?)"]);
    expect(s.execute("watch hypercallCounts.msgqueue_sendd")).toEqual([
      "error: path 'hypercallCounts.msgqueue_sendd': 'msgqueue_sendd' is not a Gunyah hypercall (a name such as msgqueue_send, or a number 0x00..0x1ff) (did you mean 'msgqueue_send'?)",
    ]);
    expect(s.execute("print rm.vmz")).toEqual(["error: print: 'rm.vmz' does not exist: rm has no key 'vmz' (did you mean 'vms'?)"]);
    expect(s.execute("find foo.bar > 1")).toEqual(["error: predicate 'foo.bar > 1': column 1: 'foo' does not exist: the state has no key 'foo' (its keys: seq, t, config, hypercallCounts, rm, content, smmu, vmm, virtio, pvm, objects, memdb, ...)"]);
    // A command missing what it works on, or naming a stop that is not there, fails (a script then exits 2).
    expect(s.execute("why")).toEqual(["error: why: expected a state path (or add a watch first), e.g. why rm.vms"]);
    expect(s.execute("watch")).toEqual(["error: watch: expected a state path, e.g. watch rm.vms (info breakpoints lists the stops)"]);
    expect(s.execute("break")).toEqual(["error: break: expected an event kind, e.g. break hypercall (info breakpoints lists the stops)"]);
    expect(s.execute("unwatch hypercallCounts")).toEqual(["error: unwatch: no watch on 'hypercallCounts' (info breakpoints lists the stops)"]);
    expect(s.execute("unwatch")).toEqual(["removed 0 stops"]);
    expect(s.stops).toEqual([]);
    expect(s.position).toBe(100);
  });

  it("find and reverse-find say exactly which states they searched, and whether it holds here", () => {
    const s = session();
    s.execute("goto 26");
    // It holds here (#26 made the first 0x33 call) and in no later state where it is exactly 1? It does, until the second call.
    expect(s.execute("find hypercallCounts.0x33 == 0")).toEqual(["`hypercallCounts.0x33 == 0` holds in no later state (#27..#399)"]);
    expect(s.execute("reverse-find hypercallCounts.0x33 == 1")).toEqual(["`hypercallCounts.0x33 == 1` holds in no earlier state (#-1..#25); it holds here (#26)"]);
    expect(s.execute("reverse-find hypercallCounts.0x33 == 0")[0]).toMatch(/^#25 /);
    expect(s.position).toBe(25);
    s.execute("goto 0");
    expect(s.execute("reverse-find len(hypercallCounts) == 0")).toEqual(["#-1 genesis", "  hypercallCounts = {}"]);
    s.execute("goto end");
    expect(s.execute("find seq > 0")).toEqual(["`seq > 0` holds in no later state (none: this is the last); it holds here (#399)"]);
  });

  it("break KIND [field=value] [if PRED] and conditional watchpoints stop continue and reverse-continue", () => {
    const s = session();
    expect(s.execute("break hypercall call=0x33 if hypercallCounts.0x33 == 3")).toEqual(["break 1: hypercall call=0x33 if hypercallCounts.0x33 == 3"]);
    const third = s.execute("continue");
    expect(third[0]).toBe("break 1: hypercall call=0x33 if hypercallCounts.0x33 == 3");
    expect(third[1]).toMatch(/^#\d+ .*hvc 0x6033 \(unknown\)/);
    const at = s.position;
    expect(lookup(s.state, ["hypercallCounts", "0x33"])).toBe(3);
    const c = lookup(s.state, ["hypercallCounts", "0x00"]) as number;
    expect(s.execute(`watch hypercallCounts.hypervisor_identify if hypercallCounts.0x00 == ${c + 2}`)).toEqual([`watch 2: hypercallCounts.hypervisor_identify if hypercallCounts.0x00 == ${c + 2} = ${c}`]);
    const w = s.execute("continue");
    expect(w[0]).toBe(`watch 2: hypercallCounts.hypervisor_identify: ${c + 1} -> ${c + 2}`);
    expect(s.execute("info breakpoints")).toEqual(["break 1: hypercall call=0x33 if hypercallCounts.0x33 == 3", `watch 2: hypercallCounts.hypervisor_identify if hypercallCounts.0x00 == ${c + 2} = ${c + 2}`]);
    expect(s.execute("delete 2")).toEqual(["removed 1 stop"]);
    s.execute("goto end");
    const back = s.execute("reverse-continue");
    expect(back[0]).toBe("break 1: hypercall call=0x33 if hypercallCounts.0x33 == 3");
    expect(s.position).toBe(at);
    expect(s.execute("delete 9")).toEqual(["error: no breakpoint or watchpoint 9 (info breakpoints lists them)"]);
  });

  it("Enter repeats the last command (on a terminal); `b` is break, `back`/`bk`/`rs` step back", () => {
    const s = new DebugSession(seekerForTrace(readerOf(bytes), { interval: 32 }), { invariants: hvModel.invariants, describe: describeEvent, kinds: EVENT_KINDS, repeatOnEmpty: true });
    s.execute("step 5");
    s.execute("");
    s.execute("");
    expect(s.position).toBe(14);
    s.execute("bk");
    s.execute("");
    expect(s.position).toBe(12);
    expect(s.execute("b timer_tick")).toEqual(["break 1: timer_tick"]);
    expect(s.execute("rs 3")[0]).toMatch(/^#9 /);
  });

  it("print with no path gives an overview, not thousands of lines; -a prints all of it", () => {
    const s = session();
    s.execute("goto 50");
    const overview = s.execute("print");
    expect(overview[0]).toMatch(/^\(root\) after #50: \{\d+ keys: seq, t, config, hypercallCounts, \.\.\.\} \(\d+ lines in full\)$/);
    expect(overview).toContain("  objects          collection of 50");
    expect(overview.at(-1)).toBe("print KEY for one part, print -a (root) for all of it");
    expect(overview.length).toBeLessThan(30);
    const all = s.execute("print -a");
    expect(all.length).toBeGreaterThan(1000);
    expect(all[0]).toBe("(root) =");
  });

  it("history is kept across sessions; source FILE and -x FILE run command files", async () => {
    const dir = tempDir();
    const file = join(dir, "d.hvt");
    writeFileSync(file, bytes);
    const script = join(dir, "cmds.txt");
    writeFileSync(script, "# a comment\ngoto 26\nwhere\n");
    const env = { HVSIM_HISTORY: join(dir, "history") };
    const first = memoryIo(["step", `source ${script}`], { env });
    expect(await runDebug(first, file, { history: true })).toBe(0);
    expect(first.stdout.slice(3)).toEqual([expect.stringMatching(/^#26 /), expect.stringMatching(/^#26 /)]);
    const second = memoryIo(["history"], { env });
    expect(await runDebug(second, file, { history: true, scripts: [script] })).toBe(0);
    expect(second.stdout.slice(1)).toEqual([expect.stringMatching(/^#26 /), expect.stringMatching(/^#26 /), "   1  step", `   2  source ${script}`, "   3  history"]);
    const missing = memoryIo([]);
    expect(await runDebug(missing, file, { scripts: [join(dir, "nope.txt")] })).toBe(2);
    expect(missing.stderr).toEqual([`error: source ${join(dir, "nope.txt")}: no such file`]);
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
    expect(s.complete("rev")).toEqual([["reverse-continue", "reverse-find", "reverse-step"], "rev"]);
    expect(s.complete("print hyper")).toEqual([["hypercallCounts"], "hyper"]);
    expect(s.complete("watch hypercallCounts.msgqueue_s")).toEqual([["hypercallCounts.msgqueue_send"], "hypercallCounts.msgqueue_s"]);
    expect(s.complete("next timer")).toEqual([["timer_tick"], "timer"]);
    expect(s.complete("break vmm_")).toEqual([["vmm_ioctl", "vmm_add_device", "vmm_load_image", "vmm_mmio"], "vmm_"]);
    expect(s.prompt()).toBe("(hvsim #100 hypercall) ");
  });
});
