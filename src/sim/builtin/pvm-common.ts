/**
 * The AVF protected-VM scenarios' building blocks (issue #6; docs/protected-vms.md): the platform
 * (a UDS and the AVB key built into pvmfw), the HLOS registering pvmfw with the RM at boot, crosvm
 * creating a protected VM (payload copied into memory it lends, the firmware region, auth type
 * ANDROID), pvmfw's run, and the Microdroid-like kernel after it. Payload images and the trusted
 * key are files: src/sim reads them (the model never does). The built-ins use the avbtool-made
 * vectors under test/fixtures/avb/ (real AVB images, throwaway keys).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { basename } from "node:path";
import { MEM_RIGHTS, VMID, rmMessageId } from "../../model/abi/rm.ts";
import { DEFAULT_PLATFORM, type MachineConfig } from "../../model/machine.ts";
import type { ModelDefect } from "../../model/faults.ts";
import { encodeMemCreate } from "../../model/rm/payloads.ts";
import { encodeVmConfigBlob } from "../../model/rm/vmconfig.ts";
import { encodeFwSetVmFirmware } from "../../model/rm/protected.ts";
import { REG } from "../../model/virtio/regs.ts";
import type { Outcome } from "../../core/event.ts";
import type { Driver, Scenario } from "../scenario.ts";
import type { Prng } from "../prng.ts";
import { scriptDriver } from "../lib/script.ts";
import type { Program, Step } from "../lib/program.ts";
import { DEFAULT_VM_PLAN, DEVICE_INFO, type DevicePlan, type VmPlan } from "../lib/vm-plan.ts";
import { hostCollectExit, hostRelease, hostStart, type HostVm } from "../lib/host.ts";
import { blockIo, consoleWrite, goDown, initDevice, type GuestCtx } from "../lib/guest.ts";

/** Where the AVB vectors live in the repository (src/sim/builtin -> test/fixtures/avb). */
export const AVB_DIR = fileURLToPath(new URL("../../../test/fixtures/avb/", import.meta.url));

/** Reads a payload or key file (the one place the protected scenarios touch the file system). */
export function readImage(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
export const vectorPath = (name: string): string => `${AVB_DIR}${name}`;

/** The device secret of the simulated board (a test value) and pvmfw's size. */
export const PVM_UDS = "5a".repeat(32);
export const PVMFW_SIZE = 0x10_0000;

/** The machine: the default platform, pvmfw trusting `keyFile`'s key, and the named defects. */
export function pvmConfig(keyFile: string, faults: readonly ModelDefect[] = []): MachineConfig {
  const key = Buffer.from(readImage(keyFile)).toString("hex");
  return {
    platform: DEFAULT_PLATFORM,
    protected: { uds: PVM_UDS, trustedKey: key, pvmfwSize: PVMFW_SIZE },
    ...(faults.length === 0 ? {} : { faults: [...faults] }),
  };
}

/** crosvm's protected layout (reference §6.1, gunyah-rm-and-host §8): pvmfw window 4 MiB below RAM. */
export const PVM_LAYOUT = {
  fw: { gpa: 0x7fc0_0000, host: 0x9800_0000, size: 0x40_0000 },
  /** The pvmfw image the bootloader loaded, in HLOS memory until it donates it to the RM. */
  pvmfwHost: 0x9f00_0000,
  fwLabel: 2,
  /** A page of the pVM's private RAM the scenarios write secrets into (image region + 1 MiB). */
  secretGpa: 0x8010_0000,
  secretHost: 0x9010_0000,
  /**
   * Bounce-buffer (swiotlb) candidates the HLOS donates to the pVM before START (label 3): memory
   * the pVM owns, so that it, an RM client like any VM (gunyah-rm-and-host §2), can MEM_SHARE the
   * pages it picks with the host and take them back (MEM_RECLAIM after the host's MEM_RELEASE).
   */
  swiotlb: { gpa: 0x8120_0000, host: 0x9620_0000, size: 0x4000, label: 3, shared: 0x2000 },
} as const;

export const PVM_PLAN: VmPlan = { ...DEFAULT_VM_PLAN, name: "pvm" };
const [BLOCK, CONSOLE] = PVM_PLAN.devices as [DevicePlan, DevicePlan];

/** RPC sequence numbers for the HLOS's own RM calls (the driver's are the VMM's). */
export interface Rpc {
  seq: number;
}
const rmStep = (rpc: Rpc, msg: Parameters<typeof rmMessageId>[0], payload: Uint8Array, vm: number = VMID.HLOS): Step => ({
  kind: "rm_request",
  vm,
  msgId: rmMessageId(msg),
  rpcSeq: (rpc.seq = (rpc.seq % 0xffff) + 1),
  payload,
});

/** Boot time, HLOS: donate the pvmfw image to the RM, register it (FW_SET_VM_FIRMWARE), FW_MILESTONE. */
export function* registerPvmfw(rpc: Rpc): Program {
  const donate = yield rmStep(rpc, "MEM_DONATE", encodeMemCreate({ memType: 0, flags: 0, label: 0, acl: [{ vmid: VMID.RM, rights: MEM_RIGHTS.RWX }], sgl: [{ ipa: PVM_LAYOUT.pvmfwHost, size: PVMFW_SIZE }], attrs: [] }));
  const handle = new DataView((donate.data as Uint8Array).buffer, (donate.data as Uint8Array).byteOffset).getUint32(0, true);
  yield rmStep(rpc, "FW_SET_VM_FIRMWARE", encodeFwSetVmFirmware({ authType: 2, handle, offset: 0, size: PVMFW_SIZE }));
  yield rmStep(rpc, "FW_MILESTONE", new Uint8Array(0));
}

/**
 * crosvm creating a protected VM: memory lent (image region, firmware window), the swiotlb region
 * shared, devices, vCPU, irqfds; the payload copied into the lent image region; the firmware
 * window named (GH_VM_ANDROID_SET_FW_CONFIG); the DTB. START then runs the RM's create sequence
 * with auth type ANDROID and VM_SET_FIRMWARE_MEM.
 */
export function* createPvm(vm: HostVm, image: Uint8Array, instanceId: string, plan: VmPlan = PVM_PLAN, donate?: Rpc): Program {
  const created = yield { kind: "vmm_ioctl", op: "CREATE_VM" };
  vm.fd = created.ret as number;
  vm.vmid = created.vmid as number;
  const sw = PVM_LAYOUT.swiotlb;
  // The HLOS donates the swiotlb candidates; the RM accepts them for the VM at VM_START (memory node label 3).
  if (donate !== undefined) yield rmStep(donate, "MEM_DONATE", encodeMemCreate({ memType: 0, flags: 0, label: sw.label, acl: [{ vmid: vm.vmid, rights: MEM_RIGHTS.RWX }], sgl: [{ ipa: sw.host, size: sw.size }], attrs: [] }));
  const fd = vm.fd;
  const { image: img, shared } = plan;
  const fw = PVM_LAYOUT.fw;
  yield { kind: "vmm_ioctl", op: "ANDROID_LEND_USER_MEM", fd, label: 0, flags: 7, guestPhysAddr: img.gpa, memorySize: img.size, userspaceAddr: img.host };
  yield { kind: "vmm_ioctl", op: "ANDROID_LEND_USER_MEM", fd, label: PVM_LAYOUT.fwLabel, flags: 7, guestPhysAddr: fw.gpa, memorySize: fw.size, userspaceAddr: fw.host };
  yield { kind: "vmm_ioctl", op: "SET_USER_MEM_REGION", fd, label: 1, flags: 6, guestPhysAddr: shared.gpa, memorySize: shared.size, userspaceAddr: shared.host };
  for (const d of plan.devices) yield { kind: "vmm_add_device", fd, base: d.base, deviceId: DEVICE_INFO[d.type].id, irq: d.irq, capacitySectors: d.capacitySectors };
  yield { kind: "vmm_ioctl", op: "ADD_VCPU", fd, id: 0 };
  for (const d of plan.devices) yield { kind: "vmm_ioctl", op: "ADD_IRQFD", fd, label: d.irq, level: false };
  for (const d of plan.devices) if (d.type === "virtio-blk") yield { kind: "vmm_ioctl", op: "ADD_IOEVENTFD", fd, addr: d.base + REG.QueueNotify, len: 4 };
  yield { kind: "vmm_ioctl", op: "ANDROID_SET_FW_CONFIG", fd, guestPhysAddr: fw.gpa, size: fw.size };
  yield { kind: "pvm_load_image", vm: vm.vmid, gpa: img.gpa, image, instanceId };
  const dtb = encodeVmConfigBlob({
    baseAddress: img.gpa,
    vcpus: 1,
    memory: [{ label: 1, base: shared.gpa }, { label: PVM_LAYOUT.fwLabel, base: fw.gpa }, ...(donate === undefined ? [] : [{ label: sw.label, base: sw.gpa }])],
    bells: plan.devices.map((d) => ({ label: d.irq, irq: d.irq })),
    vmAttrs: [...plan.attrs],
  });
  yield { kind: "vmm_ioctl", op: "SET_DTB_CONFIG", fd, guestPhysAddr: plan.dtbGpa, size: 0x1000, dtb };
}

export const guestCtx = (vm: HostVm, data: Prng): GuestCtx => ({ vmid: vm.vmid, vcpu: 0, plan: PVM_PLAN, data });

/** START, then pvmfw on the boot vCPU; returns pvmfw's outcome (result "payload" or "refused"). */
export function* startPvm(vm: HostVm): Program<Outcome> {
  yield* hostStart(vm);
  return yield { kind: "pvmfw_boot", vm: vm.vmid, vcpu: 0 };
}

/** The kernel pvmfw jumped to: PV time, the virtio probe, a console line. */
export function* kernelBoot(g: GuestCtx, banner: string): Program {
  yield { kind: "pv_time", vm: g.vmid, vcpu: 0 };
  yield* initDevice(g, BLOCK);
  yield* initDevice(g, CONSOLE);
  yield* consoleWrite(g, CONSOLE, banner);
}

export function* blockIos(g: GuestCtx, n: number, first = 0): Program {
  for (let i = 0; i < n; i++) yield* blockIo(g, BLOCK, first + i, i % 2 === 0, g.data.rangeInclusive(0, BLOCK.capacitySectors - 1));
}

export function* powerOff(g: GuestCtx): Program {
  yield* goDown(g, "PSCI_SYSTEM_OFF");
}

/** crosvm after the VM went down: the STATUS exit, then the last close (stop, reset, reclaim, deallocate). */
export function* teardown(vm: HostVm): Program {
  yield* hostCollectExit(vm);
  yield* hostRelease(vm);
}

export { BLOCK as PVM_BLOCK, CONSOLE as PVM_CONSOLE };

/** A protected-VM scenario from a definition (hashed with the driver's source and the files' digests). */
export function pvmScenario(def: {
  readonly name: string;
  readonly description: string;
  readonly keyFile: string;
  readonly imageFiles: readonly string[];
  readonly defects?: readonly ModelDefect[];
  readonly expect?: readonly string[];
  readonly maxEvents?: number;
  readonly revision?: number;
  /** Turns the files' bytes into the images the script gets (pvm-boot signs its payload ELF); default: the files. */
  readonly prepare?: (files: Uint8Array[]) => Uint8Array[];
  readonly script?: (images: Uint8Array[], stream: (name: string) => Prng) => Program;
  /** Instead of one script: a driver of several actors (pvm-boot: crosvm's main thread and the vCPU thread). */
  readonly driver?: (images: Uint8Array[], stream: (name: string) => Prng) => Driver;
}): Scenario {
  let cache: { config: MachineConfig; hash: string; images: Uint8Array[] } | null = null;
  const load = () => {
    if (cache !== null) return cache;
    const files = def.imageFiles.map(readImage);
    const images = def.prepare === undefined ? files : def.prepare(files);
    // The definition (file names without their directory, so the hash is the same on every machine;
    // no function text, which differs between transformers) and the files' bytes. Bump `revision`
    // when a script changes what it does.
    const named = { revision: def.revision ?? 1, name: def.name, description: def.description, defects: def.defects ?? [], expect: def.expect ?? [], key: basename(def.keyFile), images: def.imageFiles.map((f) => basename(f)) };
    const h = createHash("sha256").update(JSON.stringify(named));
    for (const f of files) h.update(f);
    h.update(readImage(def.keyFile));
    cache = { config: pvmConfig(def.keyFile, def.defects ?? []), hash: h.digest("hex"), images };
    return cache;
  };
  return {
    name: def.name,
    description: def.description,
    get hash() {
      return load().hash;
    },
    get config() {
      return load().config;
    },
    maxEvents: def.maxEvents ?? 20_000,
    ...(def.expect === undefined ? {} : { faults: def.expect }),
    makeDriver: (stream) => {
      const images = load().images.map((i) => i.slice());
      if (def.driver !== undefined) return def.driver(images, stream);
      return scriptDriver(def.name, def.script!(images, stream), stream);
    },
  };
}
