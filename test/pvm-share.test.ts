/**
 * Issue #6: the pVM chooses what it shares. In pvm-boot the pVM's own code (guests/pvm-payload, an
 * RM client over its msgqueue HVCs, taken by the RM with rm_service) MEM_SHAREs the bounce-buffer
 * pages it picks from memory the HLOS donated to it and tells the host (MEM_NOTIFY SHARED); the host
 * MEM_ACCEPTs them, reads them, MEM_RELEASEs them and tells the pVM (MEM_NOTIFY RELEASED); the pVM
 * MEM_RECLAIMs them (docs/protected-vms.md).
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
const sw = PVM_LAYOUT.swiotlb;

describe("pvm-boot: the pVM shares its swiotlb pages through its own RM channel", () => {
  it("the host reaches the pages only between MEM_ACCEPT and MEM_RELEASE; the invariants hold", () => {
    const s = structuredClone(hvModel.genesis(pvmBootScenario.config)) as Machine;
    const d = pvmBootScenario.makeDriver(streams(1));
    const seen: { msg: string; vm: number; err: string; hostPa: number | null; hostAccess: number | null; hostMapsPvmPa: boolean }[] = [];
    let pvmPa: number | null = null;
    for (let p = d.next(s); p !== null; p = d.next(s)) {
      const ev = { ...p, seq: s.seq + 1 } as HypEvent;
      if (ev.kind === "rm_service" && pvmPa === null) {
        pvmPa = translate(s, PVM, sw.gpa)!.pa;
        // Before the share: the pages are the pVM's alone.
        expect(translate(s, VMID.HLOS, pvmPa)).toBeNull();
        expect(mapsPa(s2Of(s, VMID.HLOS), pvmPa, sw.shared)).toBeNull();
      }
      const out: Outcome = hvModel.apply(s, ev);
      d.observe?.(ev, out, s);
      const done = ev.kind === "rm_service" ? (out.handled as { msg: string; err: string }[]) : ev.kind === "rm_request" && ev.vm === VMID.HLOS && out.msg !== "MEM_DONATE" && out.msg !== "FW_SET_VM_FIRMWARE" && out.msg !== "FW_MILESTONE" ? [out as unknown as { msg: string; err: string }] : [];
      for (const h of done) {
        const tr = pvmPa === null ? null : translate(s, VMID.HLOS, pvmPa); // the HLOS accepts at IPA = PA (rm/ipa.ts)
        seen.push({ msg: h.msg, vm: ev.kind === "rm_service" ? PVM : VMID.HLOS, err: h.err, hostPa: tr?.pa ?? null, hostAccess: tr?.access ?? null, hostMapsPvmPa: pvmPa !== null && mapsPa(s2Of(s, VMID.HLOS), pvmPa, sw.shared) !== null });
      }
    }
    const pa = pvmPa!;
    expect(seen).toEqual([
      { msg: "VM_GET_VMID", vm: PVM, err: "OK", hostPa: null, hostAccess: null, hostMapsPvmPa: false },
      { msg: "MEM_SHARE", vm: PVM, err: "OK", hostPa: null, hostAccess: null, hostMapsPvmPa: false },
      { msg: "MEM_NOTIFY", vm: PVM, err: "OK", hostPa: null, hostAccess: null, hostMapsPvmPa: false },
      { msg: "MEM_ACCEPT", vm: VMID.HLOS, err: "OK", hostPa: pa, hostAccess: 6, hostMapsPvmPa: true }, // RW
      { msg: "MEM_RELEASE", vm: VMID.HLOS, err: "OK", hostPa: null, hostAccess: null, hostMapsPvmPa: false },
      { msg: "MEM_NOTIFY", vm: VMID.HLOS, err: "OK", hostPa: null, hostAccess: null, hostMapsPvmPa: false },
      { msg: "MEM_RECLAIM", vm: PVM, err: "OK", hostPa: null, hostAccess: null, hostMapsPvmPa: false },
    ]);
    expect(translate(s, PVM, sw.gpa)).toBeNull(); // the pVM is gone after teardown
  });

  it("hvsim check pvm-boot: every invariant (isolation included) holds after every event", () => {
    const r = checkScenario(pvmBootScenario, 1, memorySink(), allInvariants());
    expect(r).toMatchObject({ ok: true, events: 435 });
  });
});
