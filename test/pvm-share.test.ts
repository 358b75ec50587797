/**
 * Issue #6: the pVM chooses what it shares. In pvm-boot the pVM (an RM client) MEM_SHAREs the
 * bounce-buffer pages it picks from memory the HLOS donated to it, the host MEM_ACCEPTs them, and at
 * the end the host MEM_RELEASEs and the pVM MEM_RECLAIMs (docs/protected-vms.md).
 */
import { describe, expect, it } from "vitest";
import { hvModel, type Machine } from "../src/model/machine.ts";
import type { HypEvent } from "../src/model/events.ts";
import type { Outcome } from "../src/core/event.ts";
import { streams } from "../src/sim/prng.ts";
import { allInvariants, checkScenario } from "../src/sim/check.ts";
import { memorySink } from "../src/trace/source.ts";
import { pvmBootScenario } from "../src/sim/builtin/pvm.ts";
import { PVM_LAYOUT } from "../src/sim/builtin/pvm-common.ts";
import { translate } from "../src/model/memory/stage2.ts";
import { mapsPa, s2Of } from "../src/model/protected/view.ts";
import { VMID } from "../src/model/abi/rm.ts";

const PVM = 0x80;
// The HLOS accepts normal memory mapped directly, IPA = PA (RM:platform/qemu/src/vm_memory.c:57-77 is_mapped_direct).
const sw = PVM_LAYOUT.swiotlb;

describe("pvm-boot: the pVM shares its swiotlb pages through its own RM channel", () => {
  it("the host reaches the pages only between MEM_ACCEPT and MEM_RELEASE; the invariants hold", () => {
    const s = structuredClone(hvModel.genesis(pvmBootScenario.config)) as Machine;
    const d = pvmBootScenario.makeDriver(streams(1));
    const seen: { msg: string; vm: number; err: string; hostPa: number | null; hostAccess: number | null; hostMapsPvmPa: boolean }[] = [];
    let pvmPa: number | null = null;
    for (let p = d.next(s); p !== null; p = d.next(s)) {
      const ev = { ...p, seq: s.seq + 1 } as HypEvent;
      if (ev.kind === "rm_request" && ev.vm === PVM && pvmPa === null) {
        pvmPa = translate(s, PVM, sw.gpa)!.pa;
        // Before the share: the pages are the pVM's alone.
        expect(translate(s, VMID.HLOS, pvmPa)).toBeNull();
        expect(mapsPa(s2Of(s, VMID.HLOS), pvmPa, sw.shared)).toBeNull();
      }
      const out: Outcome = hvModel.apply(s, ev);
      d.observe?.(ev, out, s);
      if (ev.kind === "rm_request" && (ev.vm === PVM || out.msg === "MEM_ACCEPT" || out.msg === "MEM_RELEASE")) {
        const tr = pvmPa === null ? null : translate(s, VMID.HLOS, pvmPa);
        seen.push({ msg: out.msg as string, vm: ev.vm, err: out.err as string, hostPa: tr?.pa ?? null, hostAccess: tr?.access ?? null, hostMapsPvmPa: mapsPa(s2Of(s, VMID.HLOS), pvmPa!, sw.shared) !== null });
      }
    }
    const pa = pvmPa!;
    expect(seen).toEqual([
      { msg: "MEM_SHARE", vm: PVM, err: "OK", hostPa: null, hostAccess: null, hostMapsPvmPa: false },
      { msg: "MEM_NOTIFY", vm: PVM, err: "OK", hostPa: null, hostAccess: null, hostMapsPvmPa: false },
      { msg: "MEM_ACCEPT", vm: VMID.HLOS, err: "OK", hostPa: pa, hostAccess: 6, hostMapsPvmPa: true }, // RW
      { msg: "MEM_RELEASE", vm: VMID.HLOS, err: "OK", hostPa: null, hostAccess: null, hostMapsPvmPa: false },
      { msg: "MEM_RECLAIM", vm: PVM, err: "OK", hostPa: null, hostAccess: null, hostMapsPvmPa: false },
    ]);
    expect(translate(s, PVM, sw.gpa)).toBeNull(); // the pVM is gone after teardown
  });

  it("hvsim check pvm-boot: every invariant (isolation included) holds after every event", () => {
    const r = checkScenario(pvmBootScenario, 1, memorySink(), allInvariants());
    expect(r).toMatchObject({ ok: true, events: 662 });
  });
});
