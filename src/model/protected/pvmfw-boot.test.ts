import { describe, expect, it } from "vitest";
import { fixture, fixturePayload, fixturePem } from "../../../test/fixtures/avb/fixtures.ts";
import { signAvbImage } from "../pvmfw/avb-sign.ts";
import { toHex } from "../pvmfw/avb-format.ts";
import { verifyBcc } from "../pvmfw/dice.ts";
import { advanceRollback } from "../pvmfw/rollback.ts";
import {
  bccFromCbor,
  encodeHandover,
  handoverBcc,
  payloadFacts,
  pvmfwCheckFdt,
  pvmfwDecide,
  pvmfwGenesis,
  pvmfwNextHandover,
  type ProtectedPlatformConfig,
} from "../pvmfw/boot.ts";
import { hvModel, type Machine } from "../machine.ts";
import type { HypEvent } from "../events.ts";
import { streams } from "../../sim/prng.ts";
import { pvmBootScenario } from "../../sim/builtin/pvm.ts";
import { parseDt } from "../rm/overlay.ts";
import { encodeVmConfigBlob, readDtBytes, writeDtBytes } from "../rm/vmconfig.ts";
import { decodeVmExited } from "../rm/payloads.ts";

const key = fixture("pvmfw_key_rsa2048.avbpubkey");
const platform: ProtectedPlatformConfig = { uds: "11".repeat(32), trustedKey: toHex(key) };
const pem = fixturePem();

function signed(payload: Uint8Array, rollbackIndex: number): Uint8Array {
  return signAvbImage({ payload, algorithm: "SHA256_RSA2048", privateKeyPem: pem, rollbackIndex, partitionName: "boot", salt: new Uint8Array(32).fill(3) });
}

describe("pvmfw boot flow over real AVB images", () => {
  const g = pvmfwGenesis(platform);

  it("the avbtool vector boots; its DICE chain verifies and ends with the vm_entry layer", () => {
    const f = payloadFacts(fixture("kernel_signed_ri5.img"), g.trustedKey);
    expect(f).toMatchObject({ avb: "OK", rollbackIndex: 5n, rollbackIndexLocation: 0, size: 270_336 });
    const d = pvmfwDecide(f, g.rollback, false);
    expect(d).toEqual({ ok: true, rollbackIndex: 5n, stored: 0n });
    const h = pvmfwNextHandover(g.handover, f, "instance-1", 5n, g.trustedKey);
    const v = verifyBcc(handoverBcc(h));
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.entries.map((e) => e.componentName)).toEqual(["pvmfw", "vm_entry"]);
    expect(v.entries[1]!.mode).toBe(1);
    // The handover CBOR carries the same chain.
    expect(Buffer.from(bccFromCbor(encodeHandover(h))!).equals(Buffer.from(handoverBcc(h)))).toBe(true);
  });

  it("a flipped byte, a wrong key and a lower rollback index are each refused with their own reason", () => {
    const flipped = fixture("kernel_signed_ri5.img");
    flipped[1000] = flipped[1000]! ^ 0x01;
    expect(pvmfwDecide(payloadFacts(flipped, g.trustedKey), g.rollback, false)).toMatchObject({ ok: false, reason: "PayloadVerificationError", avb: "ERROR_VERIFICATION" });
    expect(pvmfwDecide(payloadFacts(fixture("kernel_signed_otherkey.img"), g.trustedKey), g.rollback, false)).toMatchObject({
      ok: false,
      reason: "PayloadVerificationError",
      avb: "ERROR_PUBLIC_KEY_REJECTED",
    });
    // After a good boot of index 5 the store holds 5; the index-3 vector is then refused.
    const after = advanceRollback(g.rollback, { ok: true, rollbackIndex: 5n, rollbackIndexLocation: 0 }, g.rollbackKey);
    expect(after.indices[0]).toBe(5n);
    const ri3 = payloadFacts(fixture("kernel_signed_ri3.img"), g.trustedKey);
    expect(pvmfwDecide(ri3, after, false)).toMatchObject({ ok: false, reason: "InvalidPayload", avb: "ERROR_ROLLBACK_INDEX" });
    // The rollback-check-skipped defect lets it through.
    expect(pvmfwDecide(ri3, after, true)).toEqual({ ok: true, rollbackIndex: 3n, stored: 5n });
    // A truncated (corrupt) image has no footer.
    expect(pvmfwDecide(payloadFacts(fixture("kernel_signed_ri5.img").slice(0, 4096), g.trustedKey), g.rollback, false)).toMatchObject({ ok: false, reason: "PayloadVerificationError" });
  });

  it("images signed in the test: the chain changes with the payload's code hash and is stable for the same payload", () => {
    const a = fixturePayload();
    const b = a.slice();
    b[0] = b[0]! ^ 0xff;
    const fa = payloadFacts(signed(a, 7), g.trustedKey);
    const fb = payloadFacts(signed(b, 7), g.trustedKey);
    expect([fa.avb, fb.avb]).toEqual(["OK", "OK"]);
    const ha = pvmfwNextHandover(g.handover, fa, "i", 7n, g.trustedKey);
    const ha2 = pvmfwNextHandover(g.handover, fa, "i", 7n, g.trustedKey);
    const hb = pvmfwNextHandover(g.handover, fb, "i", 7n, g.trustedKey);
    const va = verifyBcc(handoverBcc(ha));
    const vb = verifyBcc(handoverBcc(hb));
    expect(va.ok && vb.ok).toBe(true);
    if (!va.ok || !vb.ok) return;
    expect(va.entries[1]!.codeHash).not.toBe(vb.entries[1]!.codeHash);
    expect(toHex(ha.cdiAttest)).not.toBe(toHex(hb.cdiAttest));
    expect(toHex(ha2.cdiSeal)).toBe(toHex(ha.cdiSeal));
    // The ABL entry (pvmfw's own) is the same: only the vm_entry layer moved.
    expect(va.entries[0]!.codeHash).toBe(vb.entries[0]!.codeHash);
  });
});

describe("pvmfw's FDT stage on the DT the RM wrote ([VIRT] guest/pvmfw/src/fdt.rs; reference avf-protected-vm.md §2.4)", () => {
  it("the first /memory range must start at 0x8000_0000 with a non-zero 4 KiB-multiple size", () => {
    expect(pvmfwCheckFdt({ "/memory": { reg: [[0x8000_0000, 0x20_0000], [0x8100_0000, 0x1000]] } })).toBeNull();
    expect(pvmfwCheckFdt(null)).toBe("the DT at X0 does not parse");
    expect(pvmfwCheckFdt({})).toBe("the DT has no /memory range");
    expect(pvmfwCheckFdt({ "/memory": { reg: [[0x8020_0000, 0x1000]] } })).toBe("/memory starts at 0x80200000, not 0x80000000");
    expect(pvmfwCheckFdt({ "/memory": { reg: [[0x8000_0000, 0x1800]] } })).toBe("/memory size 0x1800 is not a non-zero multiple of 4 KiB");
  });

  it("in pvm-boot: the RM's DT passes; a DT whose /memory moved is refused with INVALID_FDT before AVB runs", () => {
    const run = (tamper: boolean) => {
      const s = structuredClone(hvModel.genesis(pvmBootScenario.config)) as Machine;
      const d = pvmBootScenario.makeDriver(streams(1));
      for (let p = d.next(s); p !== null; p = d.next(s)) {
        const ev = { ...p, seq: s.seq + 1 } as HypEvent;
        if (ev.kind === "pvmfw_boot") {
          const vm = s.rm.vms.byId[ev.vm]!;
          const dt = parseDt(readDtBytes(s, vm)!)!;
          expect((dt["/memory"] as { reg: number[][] }).reg[0]).toEqual([0x8000_0000, vm.memSize]);
          if (tamper) writeDtBytes(s, vm, encodeVmConfigBlob({ ...(dt as object), "/memory": { device_type: "memory", reg: [[0x8020_0000, 0x1000]] } } as never), `vm${ev.vm}`);
          return hvModel.apply(s, ev);
        }
        d.observe?.(ev, hvModel.apply(s, ev), s);
      }
      throw new Error("pvm-boot has no pvmfw_boot");
    };
    expect(run(false)).toMatchObject({ result: "payload" });
    const out = run(true) as { result: string; reason: string; uart: string; notify: { msg: string; data: Uint8Array }[] };
    expect(out).toMatchObject({ result: "refused", reason: "InvalidFdt", uart: "PVM_FIRMWARE_INVALID_FDT" });
    expect(decodeVmExited(out.notify.find((n) => n.msg === "NOTIFY_VM_EXITED")!.data)).toMatchObject({ exitType: 3, reason: [0x8000, 0x8000_0001, 3, 0] });
  });
});
