import { describe, expect, it } from "vitest";
import { replay } from "../src/core/replay.ts";
import { hvModel } from "../src/model/machine.ts";
import { vmRestartScenario } from "../src/sim/builtin/vm-restart.ts";
import { readerOf, recordBytes } from "./helpers.ts";

describe("vm-restart", () => {
  const bytes = recordBytes(vmRestartScenario, { seed: 3, checkInvariants: true, blockEvents: 16 });
  const all = [...readerOf(bytes).events()];

  it("boots the VM twice in one trace, the first exit asking for a restart", () => {
    const starts = all.filter((e) => e.ev.kind === "vmm_ioctl" && (e.ev as unknown as { op: string }).op === "START");
    expect(starts.map((e) => (e.outcome.rm as { msg: string; err: string }[]).find((r) => r.msg === "VM_START")?.err)).toEqual(["OK", "OK"]);
    const exits = all.filter((e) => e.outcome.exit === "STATUS").map((e) => [e.outcome.exitType, e.outcome.reason]);
    // PLATFORM_RESET, then PLATFORM_OFF; exit_flags 0 both times: the RM sets no RESTART flag, the
    // exit type alone asks for the restart (RM:src/vm_mgnt/vm_mgnt.c:2128-2133).
    expect(exits).toEqual([[2, [0]], [1, [0]]]);
    const created = all.filter((e) => (e.ev as unknown as { op?: string }).op === "CREATE_VM").map((e) => e.outcome.vmid);
    expect(created).toEqual([0x80, 0x80]);
  });

  it("replays exactly on the fast and pure paths, checking invariants after every event", () => {
    const run = (path: "fast" | "pure") => {
      const reader = readerOf(bytes);
      const hashes: string[] = [];
      const r = replay(hvModel, hvModel.genesis(reader.header.config as never), reader.items(), {
        path,
        invariants: "every",
        onCheckpoint: (_seq, h) => hashes.push(h),
      });
      expect(r.finding).toBeNull();
      expect(r.verified).toBe(all.length);
      return hashes;
    };
    const fast = run("fast");
    expect(fast.length).toBeGreaterThan(5);
    expect(run("pure")).toEqual(fast);
  });
});
