import { describe, expect, it } from "vitest";
import type { Machine } from "../machine.ts";
import { boot, buildVm, errX, hvc, must, okX, rootCaps, step, VM1 } from "../hyp/testkit.ts";
import type { VirtioMmioObject } from "./state.ts";

const s0 = boot();
const { partition: P, cspace: CS, vic: RMVIC } = rootCaps(s0);
const PAGE_PA = VM1.ram + VM1.ramSize;
const PAGE_IPA = 0x0a10_0000;
/** VIRTIO_F_VERSION_1 | VIRTIO_F_ACCESS_PLATFORM as the sel-1 word. */
const F_HI = 0x3;

/** The object a cap of the RM's cspace names. */
function obj(s: Machine, cap: bigint | number) {
  const t = s.objects.byId[s.vms[255]!.vcpus[0]!]!;
  const cs = t.type === "thread" ? s.objects.byId[t.cspace]! : undefined;
  return s.objects.byId[cs?.type === "cspace" ? cs.caps[Number(cap)]!.object : 0]!;
}
const dev = (s: Machine, cap: bigint) => obj(s, cap) as VirtioMmioObject;
const level = (s: Machine, vic: bigint | number, virq: number): boolean => {
  const v = obj(s, vic);
  return v.type === "vic" && (v.spis[virq]?.level ?? false);
};

/** VM 1 (frontend) and a one-page extent for the config page, mapped read-only into VM 1. */
function setup(): { s: Machine; vm: ReturnType<typeof buildVm>[1]; page: bigint } {
  let [s, vm] = buildVm(s0, { powerOn: true, proxy: false, affinity: 1 });
  let page: bigint;
  [s, page] = must(s, "partition_create_memextent", [P, CS]);
  [s] = must(s, "memextent_configure", [page, PAGE_PA, 0x1000, 7]);
  [s] = must(s, "object_activate", [page]);
  [s] = must(s, "addrspace_map", [vm.as, page, PAGE_IPA, 0x0f_0044, 0, 0, 0]);
  return { s, vm, page };
}
const base = setup();

/** An active device with `vqs` queues, backend VIRQ 40 in VM 1, frontend VIRQ 50 in the RM. */
function device(vqs = 2, flags = 0, type = 0): [Machine, bigint] {
  let [s, v] = must(base.s, "partition_create_virtio_mmio", [P, CS]);
  [s] = must(s, "virtio_mmio_configure", [v, base.page, vqs, flags, type]);
  [s] = must(s, "object_activate", [v]);
  [s] = must(s, "virtio_mmio_backend_bind_virq", [v, base.vm.vic, 40]);
  [s] = must(s, "virtio_mmio_frontend_bind_virq", [v, RMVIC, 50]);
  return [s, v];
}
/** The frontend (VM 1 vCPU 0) writes a config-page register: a write permission fault. */
const fw = (s: Machine, off: number, value: number, sizeBytes = 4) =>
  step(s, { kind: "stage2_fault", vm: 1, vcpu: 0, ipa: PAGE_IPA + off, access: "write", sizeBytes, value: BigInt(value) });
const ABORT = { resolution: "abort", fault: "permission", injected: "synchronous_external_abort" };
const EMU = (offset: number) => ({ resolution: "emulated", device: "virtio_mmio", offset });

describe("partition_create_virtio_mmio (0x48) and virtio_mmio_configure (0x49)", () => {
  const [s, v] = must(base.s, "partition_create_virtio_mmio", [P, CS]);
  it("activation before configure ⇒ OBJECT_CONFIG", () => {
    expect(hvc(s, "object_activate", [v])[1]).toEqual(errX("OBJECT_CONFIG"));
  });
  it("checks: memextent cap first, then the virtio cap; BASIC 4 KiB extent, vqs ≤ 16, known device type", () => {
    expect(hvc(s, "virtio_mmio_configure", [v, v, 1, 0, 0])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
    expect(hvc(s, "virtio_mmio_configure", [base.page, base.page, 1, 0, 0])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
    expect(hvc(s, "virtio_mmio_configure", [v, base.vm.me, 1, 0, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "virtio_mmio_configure", [v, base.page, 17, 0, 0])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "virtio_mmio_configure", [v, base.page, 16, 1 << 6, 1])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "virtio_mmio_configure", [v, base.page, 16, 1 << 6, 18])[1]).toEqual(okX());
    expect(hvc(s, "virtio_mmio_configure", [v, base.page, 16, 0, 1])[1]).toEqual(okX()); // type ignored without bit 6
  });
  it("activation attaches the page (a second device on it ⇒ BUSY ⚠); configure after ⇒ OBJECT_STATE", () => {
    let [t] = must(s, "virtio_mmio_configure", [v, base.page, 2, 0, 0]);
    [t] = must(t, "object_activate", [v]);
    expect(dev(t, v).queues.length).toBe(2);
    expect(hvc(t, "virtio_mmio_configure", [v, base.page, 2, 0, 0])[1]).toEqual(errX("OBJECT_STATE"));
    let v2: bigint;
    [t, v2] = must(t, "partition_create_virtio_mmio", [P, CS]);
    [t] = must(t, "virtio_mmio_configure", [v2, base.page, 2, 0, 0]);
    expect(hvc(t, "object_activate", [v2])[1]).toEqual(errX("BUSY"));
  });
  it("calls other than configure need an ACTIVE object ⇒ OBJECT_STATE", () => {
    expect(hvc(s, "virtio_mmio_backend_get_notification", [v])[1]).toEqual(errX("OBJECT_STATE"));
    expect(hvc(s, "virtio_mmio_backend_bind_virq", [v, RMVIC, 40])[1]).toEqual(errX("OBJECT_STATE"));
  });
  it("deleting the last cap unbinds both VIRQs and detaches the page", () => {
    const [t, v] = device();
    const [u] = must(t, "cspace_delete_cap_from", [CS, v]);
    expect(obj(u, base.page).type === "memextent" && (obj(u, base.page) as { attached: boolean }).attached).toBe(false);
    const vic = obj(u, RMVIC);
    expect(vic.type === "vic" && vic.sources[50]).toBeUndefined();
  });
});

describe("bind/unbind VIRQs (0x4A-0x4D)", () => {
  const [s, v] = device();
  it("second bind ⇒ VIRQ_BOUND; used VIRQ ⇒ BUSY; not an SPI of the VIC ⇒ ARGUMENT_INVALID; unbind always OK", () => {
    expect(hvc(s, "virtio_mmio_backend_bind_virq", [v, base.vm.vic, 41])[1]).toEqual(errX("VIRQ_BOUND"));
    expect(hvc(s, "virtio_mmio_frontend_bind_virq", [v, RMVIC, 51])[1]).toEqual(errX("VIRQ_BOUND"));
    let [t] = must(s, "virtio_mmio_backend_unbind_virq", [v]);
    expect(hvc(t, "virtio_mmio_backend_unbind_virq", [v])[1]).toEqual(okX());
    expect(hvc(t, "virtio_mmio_backend_bind_virq", [v, base.vm.vic, 31])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(t, "virtio_mmio_backend_bind_virq", [v, base.vm.vic, 96])[1]).toEqual(errX("ARGUMENT_INVALID"));
    [t] = must(t, "virtio_mmio_frontend_unbind_virq", [v]);
    expect(hvc(t, "virtio_mmio_backend_bind_virq", [v, RMVIC, 50])[1]).toEqual(okX()); // 50 is free again
    expect(hvc(t, "virtio_mmio_backend_bind_virq", [v, v, 50])[1]).toEqual(errX("CSPACE_WRONG_OBJECT_TYPE"));
  });
  it("rights: BIND_BACKEND_VIRQ 0x1, BIND_FRONTEND_VIRQ 0x2, ASSERT_VIRQ 0x4, CONFIG 0x8", () => {
    const [t, c] = must(s, "cspace_copy_cap_from", [CS, v, CS, 0x8]);
    expect(hvc(t, "virtio_mmio_backend_unbind_virq", [c])[1]).toEqual(errX("CSPACE_INSUFFICIENT_RIGHTS"));
    expect(hvc(t, "virtio_mmio_frontend_unbind_virq", [c])[1]).toEqual(errX("CSPACE_INSUFFICIENT_RIGHTS"));
    expect(hvc(t, "virtio_mmio_backend_assert_virq", [c, 1])[1]).toEqual(errX("CSPACE_INSUFFICIENT_RIGHTS"));
    expect(hvc(t, "virtio_mmio_backend_get_notification", [c])[1]).toEqual(okX(0, 0));
    const [t2, c2] = must(s, "cspace_copy_cap_from", [CS, v, CS, 0x7]);
    for (const [name, args] of [
      ["virtio_mmio_backend_set_dev_features", [c2, 0, 0]],
      ["virtio_mmio_backend_set_queue_num_max", [c2, 0, 8]],
      ["virtio_mmio_backend_get_drv_features", [c2, 0]],
      ["virtio_mmio_backend_get_queue_info", [c2, 0]],
      ["virtio_mmio_backend_get_notification", [c2]],
      ["virtio_mmio_backend_acknowledge_reset", [c2]],
      ["virtio_mmio_backend_update_status", [c2, 1]],
      ["virtio_input_configure", [c2, 0, 0, 0, 0]],
    ] as const) {
      expect(hvc(t2, name, args)[1]).toEqual(errX("CSPACE_INSUFFICIENT_RIGHTS"));
    }
  });
});

describe("backend calls (0x4E-0x55)", () => {
  const [s, v] = device();
  it("assert_virq ORs InterruptStatus and raises the frontend VM's VIRQ; DEVICE_NEEDS_RESET ⇒ DENIED until acknowledge_reset", () => {
    let [t] = must(s, "virtio_mmio_backend_assert_virq", [v, 0x1]);
    [t] = must(t, "virtio_mmio_backend_assert_virq", [v, 0x2]);
    expect(dev(t, v).interruptStatus).toBe(3);
    expect(level(t, base.vm.vic, 40)).toBe(true);
    [t] = must(t, "virtio_mmio_backend_update_status", [v, 0x40]);
    expect(hvc(t, "virtio_mmio_backend_assert_virq", [v, 0x1])[1]).toEqual(errX("DENIED"));
    [t] = must(t, "virtio_mmio_backend_acknowledge_reset", [v]);
    expect(dev(t, v).status).toBe(0);
    expect(hvc(t, "virtio_mmio_backend_assert_virq", [v, 0x1])[1]).toEqual(okX());
  });
  it("set_dev_features: sel < 2; sel 1 needs VERSION_1 and ACCESS_PLATFORM, forbids NOTIFICATION_DATA", () => {
    expect(hvc(s, "virtio_mmio_backend_set_dev_features", [v, 0, 0xffff_ffff])[1]).toEqual(okX());
    expect(hvc(s, "virtio_mmio_backend_set_dev_features", [v, 1, 0x1])[1]).toEqual(errX("DENIED"));
    expect(hvc(s, "virtio_mmio_backend_set_dev_features", [v, 1, 0x2])[1]).toEqual(errX("DENIED"));
    expect(hvc(s, "virtio_mmio_backend_set_dev_features", [v, 1, F_HI | 0x40])[1]).toEqual(errX("DENIED"));
    expect(hvc(s, "virtio_mmio_backend_set_dev_features", [v, 2, F_HI])[1]).toEqual(errX("ARGUMENT_INVALID"));
    const [t] = must(s, "virtio_mmio_backend_set_dev_features", [v, 1, F_HI | 0x4]);
    expect(dev(t, v).devFeat).toEqual([0, 7]);
  });
  it("set_queue_num_max / get_queue_info: sel < vqs_num else ARGUMENT_INVALID", () => {
    expect(hvc(s, "virtio_mmio_backend_set_queue_num_max", [v, 2, 8])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "virtio_mmio_backend_get_queue_info", [v, 2])[1]).toEqual(errX("ARGUMENT_INVALID"));
    const [t] = must(s, "virtio_mmio_backend_set_queue_num_max", [v, 1, 256]);
    expect(dev(t, v).queues[1]!.numMax).toBe(256);
    expect(hvc(t, "virtio_mmio_backend_get_queue_info", [v, 1])[1]).toEqual(okX(0, 0, 0, 0, 0));
  });
  it("get_drv_features: sel < 2; update_status ORs", () => {
    expect(hvc(s, "virtio_mmio_backend_get_drv_features", [v, 2])[1]).toEqual(errX("ARGUMENT_INVALID"));
    expect(hvc(s, "virtio_mmio_backend_get_drv_features", [v, 1])[1]).toEqual(okX(0));
    let [t] = must(s, "virtio_mmio_backend_update_status", [v, 0x1]);
    [t] = must(t, "virtio_mmio_backend_update_status", [v, 0x2]);
    expect(dev(t, v).status).toBe(3);
  });
});

describe("frontend writes to the read-only config page (reference §5.4 permission fault)", () => {
  const [s0d, v] = device();
  const [s1] = must(s0d, "virtio_mmio_backend_set_queue_num_max", [v, 1, 256]);
  const [s2] = must(s1, "virtio_mmio_backend_set_dev_features", [v, 1, F_HI]);
  const s = s2;
  it("driver features and queue setup reach the backend's get_drv_features / get_queue_info", () => {
    let t = s;
    for (const [off, val] of [[0x014, 1], [0x024, 1], [0x020, F_HI], [0x030, 1], [0x038, 128], [0x080, 0x1000], [0x084, 0x1], [0x090, 0x2000], [0x0a0, 0x3000], [0x0a4, 0x2], [0x044, 1]] as const) {
      let o;
      [t, o] = fw(t, off, val);
      expect(o).toEqual(EMU(off));
    }
    expect(dev(t, v).devFeatView).toBe(F_HI);
    expect(dev(t, v).queueNumMaxView).toBe(256);
    expect(hvc(t, "virtio_mmio_backend_get_drv_features", [v, 1])[1]).toEqual(okX(F_HI));
    expect(hvc(t, "virtio_mmio_backend_get_queue_info", [v, 1])[1]).toEqual(okX(128, 1, 0x1_0000_1000n, 0x2000, 0x2_0000_3000n));
  });
  it("QueueNotify sets the vq bit and NEW_BUFFER and raises the backend's VIRQ; get_notification takes both", () => {
    let [t, o] = fw(s, 0x050, 1);
    expect(o).toEqual(EMU(0x050));
    expect(level(t, RMVIC, 50)).toBe(true);
    [t, o] = hvc(t, "virtio_mmio_backend_get_notification", [v]);
    expect(o).toEqual(okX(2, 1));
    expect(hvc(t, "virtio_mmio_backend_get_notification", [v])[1]).toEqual(okX(0, 0));
  });
  it("Status: DRIVER_OK and FAILED notify; 0 from 0 is ignored; 0 otherwise requests a reset", () => {
    let [t] = fw(s, 0x070, 0);
    expect(dev(t, v).reason).toBe(0);
    [t] = fw(t, 0x030, 1);
    [t] = fw(t, 0x044, 1);
    [t] = fw(t, 0x070, 0x0f);
    let o;
    [t, o] = hvc(t, "virtio_mmio_backend_get_notification", [v]);
    expect(o).toEqual(okX(0, 8));
    [t] = fw(t, 0x070, 0x8f);
    [t, o] = hvc(t, "virtio_mmio_backend_get_notification", [v]);
    expect(o).toEqual(okX(0, 16));
    [t] = fw(t, 0x070, 0);
    expect(dev(t, v).status).toBe(0xcf);
    expect(dev(t, v).queues[1]!.ready).toBe(0);
    expect(hvc(t, "virtio_mmio_backend_get_notification", [v])[1]).toEqual(okX(0, 2));
    expect(hvc(t, "virtio_mmio_backend_assert_virq", [v, 1])[1]).toEqual(errX("DENIED"));
  });
  it("InterruptACK clears InterruptStatus bits", () => {
    let [t] = must(s, "virtio_mmio_backend_assert_virq", [v, 0x3]);
    [t] = fw(t, 0x064, 0x1);
    expect(dev(t, v).interruptStatus).toBe(2);
  });
  it("rejected writes abort: misaligned, 2-byte, byte outside config, read-only register, selectors out of range", () => {
    expect(fw(s, 0x051, 1)[1]).toEqual(ABORT);
    expect(fw(s, 0x050, 1, 2)[1]).toEqual(ABORT);
    expect(fw(s, 0x050, 1, 1)[1]).toEqual(ABORT);
    expect(fw(s, 0x000, 1)[1]).toEqual(ABORT);
    expect(fw(s, 0x030, 2)[1]).toEqual(ABORT);
    expect(fw(s, 0x014, 2)[1]).toEqual(ABORT);
    expect(fw(s, 0x024, 2)[1]).toEqual(ABORT);
    expect(fw(s, 0x101, 7, 1)[1]).toEqual(EMU(0x101));
  });
});

describe("virtio_input_configure (0x5E); virtio_input_set_data (0x5F) left out", () => {
  it("not an INPUT device ⇒ OBJECT_CONFIG", () => {
    const [s, v] = device();
    expect(hvc(s, "virtio_input_configure", [v, 1, 0, 1, 1])[1]).toEqual(errX("OBJECT_CONFIG"));
  });
  it("evtypes ≤ 32, absaxes ≤ 64 (devids kept even then); a second non-zero count ⇒ BUSY", () => {
    const [s, v] = device(2, 1 << 6, 18);
    let [t, o] = hvc(s, "virtio_input_configure", [v, 0x1234, 1, 33, 0]);
    expect(o).toEqual(errX("ARGUMENT_INVALID"));
    expect(dev(t, v).input).toEqual({ devids: 0x1234n, propBits: 1, numEvtypes: 0, numAbsaxes: 0 });
    expect(hvc(t, "virtio_input_configure", [v, 0, 0, 0, 65])[1]).toEqual(errX("ARGUMENT_INVALID"));
    [t] = must(t, "virtio_input_configure", [v, 0x1234, 1, 32, 0]);
    expect(hvc(t, "virtio_input_configure", [v, 0x1234, 1, 1, 0])[1]).toEqual(errX("BUSY"));
    [t, o] = hvc(t, "virtio_input_configure", [v, 0x1234, 1, 0, 64]);
    expect(o).toEqual(okX());
    expect(dev(t, v).input).toEqual({ devids: 0x1234n, propBits: 1, numEvtypes: 32, numAbsaxes: 64 });
    expect(hvc(t, "virtio_input_set_data", [v, 1, 0, 4, 0x1000])[1]).toEqual(errX("UNIMPLEMENTED"));
  });
});
