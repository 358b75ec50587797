/**
 * The VM configuration the RM reads at VM_INIT from the DT inside the image parcel
 * (RM:src/vm_config/vm_config_parser.c; reference §6.3). The model stores a compact stand-in for
 * the FDT: a magic line followed by JSON of the properties the RM reads (`memory/base-address`,
 * the vcpus, labelled memory nodes, doorbell vdevices, vm-attrs). The VMM writes it into guest
 * memory exactly where a DTB would go, and the RM reads it back through the parcel's pages.
 */
import { PAGE, readPhys, writePhys } from "./content.ts";
import type { VmConfig, RmVm } from "./state.ts";
import type { VmRoomsState } from "./context.ts";

export const VM_CONFIG_MAGIC = "hvsim-vm-config/1\n";

export interface VmConfigSource {
  readonly baseAddress: number;
  readonly vcpus: number;
  readonly memory: readonly { label: number; base: number }[];
  readonly bells: readonly { label: number; irq: number }[];
  readonly vmAttrs: readonly string[];
  /** `image-name` (crosvm writes "crosvm-vm", reference §8 step 8); absent: that. */
  readonly imageName?: string;
  /** `vm-uri`; absent: none. */
  readonly vmUri?: string;
  /** A PSCI node (arm,psci-0.2, which crosvm's DT has); absent: true. */
  readonly psci?: boolean;
}

/**
 * The blob ends with a NUL, as an FDT carries its own size: the DT window may still hold an older
 * tree after it (the one the RM wrote at the last VM_START, guest-dt.ts) when a VM is created again.
 */
export function encodeVmConfigBlob(c: VmConfigSource): Uint8Array {
  return new TextEncoder().encode(`${VM_CONFIG_MAGIC}${JSON.stringify(c)}\0`);
}

/** Parses a config blob; null when it is malformed (the RM then fails VM_INIT). Never throws. */
export function parseVmConfigBlob(b: Uint8Array): VmConfig | null {
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  const text = new TextDecoder().decode(b.subarray(0, end));
  if (!text.startsWith(VM_CONFIG_MAGIC)) return null;
  let v: unknown;
  try {
    v = JSON.parse(text.slice(VM_CONFIG_MAGIC.length));
  } catch {
    return null;
  }
  const c = v as Partial<VmConfigSource>;
  const int = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!int(c.baseAddress) || c.baseAddress % PAGE !== 0 || !int(c.vcpus) || c.vcpus < 1 || c.vcpus > 8) return null;
  if (!Array.isArray(c.memory) || !Array.isArray(c.bells) || !Array.isArray(c.vmAttrs)) return null;
  if (!c.memory.every((m) => int(m?.label) && int(m?.base) && m.base % PAGE === 0)) return null;
  if (!c.bells.every((m) => int(m?.label) && int(m?.irq))) return null;
  const attrs = c.vmAttrs.filter((a) => typeof a === "string");
  const crashFatal = attrs.includes("crash-fatal");
  const name = typeof c.imageName === "string" ? c.imageName : "crosvm-vm";
  const uri = typeof c.vmUri === "string" ? c.vmUri : "";
  // image-name is required and shorter than 80 characters, vm-uri too (RM:src/vm_config/vm_config_parser.c).
  if (name.length === 0 || name.length >= 80 || uri.length >= 80) return null;
  return {
    name,
    uri,
    psci: c.psci !== false,
    hasHypervisorNode: (v as Record<string, unknown>)["/hypervisor"] !== undefined,
    baseAddress: c.baseAddress,
    vcpus: c.vcpus,
    memory: c.memory.map((m) => ({ label: m.label, base: m.base })),
    bells: c.bells.map((m) => ({ label: m.label, irq: m.irq })),
    noShutdown: crashFatal || attrs.includes("no-shutdown"),
    noReset: crashFatal || attrs.includes("no-reset"),
    crashFatal,
  };
}

/** Reads the DT range [dtOffset, dtOffset+dtSize) of the VM's image parcel, region by region (map_dtb). */
export function readDtBytes(s: VmRoomsState, vm: RmVm): Uint8Array | null {
  const parcel = s.rm.parcels.byId[vm.imageHandle];
  if (parcel === undefined) return null;
  const out = new Uint8Array(vm.dtSize);
  let off = 0;
  for (const r of parcel.regions) {
    const lo = Math.max(vm.dtOffset, off);
    const hi = Math.min(vm.dtOffset + vm.dtSize, off + r.size);
    if (lo < hi) out.set(readPhys(s, r.pa + (lo - off), hi - lo), lo - vm.dtOffset);
    off += r.size;
  }
  return out;
}

/** Writes bytes back over the DT range (the RM's packed result, RM:src/vm_creation/vm_creation.c:568-575). */
export function writeDtBytes(s: VmRoomsState, vm: RmVm, bytes: Uint8Array, label: string): boolean {
  const parcel = s.rm.parcels.byId[vm.imageHandle];
  if (parcel === undefined || bytes.length > vm.dtSize) return false;
  let off = 0;
  for (const r of parcel.regions) {
    const lo = Math.max(vm.dtOffset, off);
    const hi = Math.min(vm.dtOffset + bytes.length, off + r.size);
    if (lo < hi) writePhys(s, r.pa + (lo - off), bytes.subarray(lo - vm.dtOffset, hi - vm.dtOffset), label);
    off += r.size;
  }
  return true;
}

export function readVmConfig(s: VmRoomsState, vm: RmVm): VmConfig | null {
  const b = readDtBytes(s, vm);
  return b === null ? null : parseVmConfigBlob(b);
}
