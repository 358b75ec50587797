/**
 * Issue #19: guest RAM too fragmented for one RM message goes through the driver's MEM_APPEND path
 * (Linux drivers/virt/gunyah/rsc_mgr_rpc.c gh_rm_mem_lend_common / gh_rm_mem_append,
 * GH_RM_MAX_MEM_ENTRIES 512; RM:src/memparcel/memparcel.c:901-980 MEM_APPEND).
 */
import { describe, expect, it } from "vitest";
import { replay } from "../src/core/replay.ts";
import { hvModel, type Machine } from "../src/model/machine.ts";
import type { HypEvent } from "../src/model/events.ts";
import { streams } from "../src/sim/prng.ts";
import { LARGE_PIECES, LARGE_REGION, vmLargeMemoryScenario } from "../src/sim/builtin/vm-large-memory.ts";
import { memEntries } from "../src/model/vmm/ioctl.ts";
import { translate } from "../src/model/memory/stage2.ts";
import { labelOf } from "../src/model/rm/content.ts";
import { readerOf, recordBytes } from "./helpers.ts";

describe("vm-large-memory", () => {
  const bytes = recordBytes(vmLargeMemoryScenario, { seed: 1, checkInvariants: true, blockEvents: 16 });
  const all = [...readerOf(bytes).events()];

  it("the driver lends 600 unmergeable pages as MEM_LEND (APPEND, 512) and a MEM_APPEND (88, DONE), and the RM takes them all", () => {
    const start = all.find((e) => (e.ev as unknown as { op?: string }).op === "START")!;
    expect((start.outcome.rm as { msg: string; err: string }[]).map((r) => [r.msg, r.err])).toEqual([
      ["MEM_LEND", "OK"], ["MEM_SHARE", "OK"], ["MEM_LEND", "OK"], ["MEM_APPEND", "OK"],
      ["VM_CONFIG_IMAGE", "OK"], ["VM_INIT", "OK"], ["VM_GET_HYP_RESOURCES", "OK"], ["VM_START", "OK"],
    ]);
  });

  it("the RM accepted the parcel at the DT's memory node: each guest page reaches its own scattered host page", () => {
    const s = structuredClone(hvModel.genesis(vmLargeMemoryScenario.config)) as Machine;
    const d = vmLargeMemoryScenario.makeDriver(streams(1));
    for (let p = d.next(s); p !== null; p = d.next(s)) {
      const ev = { ...p, seq: s.seq + 1 } as HypEvent;
      d.observe?.(ev, hvModel.apply(s, ev), s);
      if (ev.kind === "smccc_call") break; // the guest is about to power off
    }
    const parcel = s.rm.parcels.ids.map((h) => s.rm.parcels.byId[h]!).find((p) => p.label === 2)!;
    expect(parcel.regions).toHaveLength(LARGE_PIECES);
    expect(parcel.state).toBe("SHARED");
    for (const page of [0, 1, 511, 512, LARGE_PIECES - 1]) {
      expect(translate(s, 0x80, LARGE_REGION.gpa + page * 0x1000)).toMatchObject({ pa: 0xa000_0000 + 2 * page * 0x1000 });
    }
    // The guest's writes landed in the scattered host pages (page 512: host page 1024); the host lost them.
    expect(labelOf(s, 0xa000_0000 + 2 * 512 * 0x1000 + 0x40)).toBe("vm128");
    expect(translate(s, 3, 0xa000_0000)).toBeNull();
    const dt = s.rm.vms.byId[0x80]!;
    expect(dt.accepted).toContain(parcel.handle);
  });

  it("replays with every invariant checked after every event; the host gets every page back", () => {
    const r = replay(hvModel, hvModel.genesis(vmLargeMemoryScenario.config as never), readerOf(bytes).items(), { path: "fast", invariants: "every" });
    expect(r.finding).toBeNull();
    expect(r.verified).toBe(all.length);
    const last = all.at(-1)!;
    expect((last.outcome.rm as { msg: string }[]).map((x) => x.msg)).toEqual(["VM_RESET", "MEM_RECLAIM", "MEM_RECLAIM", "MEM_RECLAIM", "VM_DEALLOCATE"]);
  });

  it("the driver merges physically adjacent pinned pages into one entry (vm_mgr_mm.c)", () => {
    const region = { label: 2, flags: 7, guestPhysAddr: 0, size: 0x5000, userspaceAddr: 0, lend: true, parcel: 0 };
    expect(memEntries({ ...region, backing: [{ addr: 0x1000, size: 0x1000 }, { addr: 0x2000, size: 0x2000 }, { addr: 0x8000, size: 0x1000 }, { addr: 0x9000, size: 0x1000 }] })).toEqual([
      { ipa: 0x1000, size: 0x3000 },
      { ipa: 0x8000, size: 0x2000 },
    ]);
    expect(memEntries({ ...region, userspaceAddr: 0x4000 })).toEqual([{ ipa: 0x4000, size: 0x5000 }]);
  });
});
