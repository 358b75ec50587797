/**
 * What a MachineConfig must be before `genesis` builds a machine from it. Scenarios build their
 * configs and check them as they do (src/sim/file/semantic.ts); a trace's header carries one from
 * outside, so a reader asks this first: a config edited by hand is a named trace error, never a
 * crash in genesis or a machine sized without bound. Keys not named here are left alone (rooms add
 * config fields of their own).
 */
import { GIC, PAGE_SIZE } from "./abi/constants.ts";

/** Gunyah's QEMU platform has at most 8 cores (GH:config/platform/qemu.conf PLATFORM_MAX_CORES). */
const CPUS_MAX = 8;
/** Physical addresses are 48 bits (the stage-2 and SMMU input range the model uses). */
export const PHYS_ADDR_LIMIT = 2 ** 48;
/** The hypervisor's first 16 MiB and the RM's 16 MiB image come from the first RAM range (genesis.ts). */
const FIRST_RAM_MIN = 0x200_0000;
const INTID_LIMIT = 1020;

type Problem = string | null;
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isInt = (v: unknown, min: number, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
const got = (v: unknown): string => (typeof v === "string" ? `'${v.slice(0, 40)}'` : v === undefined ? "nothing" : Array.isArray(v) ? "a list" : typeof v === "object" && v !== null ? "a mapping" : String(v));
const want = (path: string, what: string, v: unknown): string => `${path}: expected ${what}, got ${got(v)}`;

function range(v: unknown, path: string): Problem {
  if (!isMap(v)) return want(path, "a mapping with base and size", v);
  if (!isInt(v.base, 0, PHYS_ADDR_LIMIT) || v.base % PAGE_SIZE !== 0) return want(`${path}.base`, "a page-aligned physical address below 2^48", v.base);
  if (!isInt(v.size, PAGE_SIZE, PHYS_ADDR_LIMIT) || v.size % PAGE_SIZE !== 0) return want(`${path}.size`, "a page-aligned size", v.size);
  if (v.base + v.size > PHYS_ADDR_LIMIT) return `${path}: ends at 0x${(v.base + v.size).toString(16)}, beyond the 48-bit physical address space`;
  return null;
}

function platformProblem(p: unknown): Problem {
  if (!isMap(p)) return want("platform", "a mapping", p);
  if (typeof p.name !== "string" || p.name.length > 64) return want("platform.name", "a platform name", p.name);
  if (!isInt(p.cpus, 1, CPUS_MAX)) return want("platform.cpus", `an integer from 1 to ${CPUS_MAX}`, p.cpus);
  if (!isInt(p.timerFreqHz, 1, 4_000_000_000)) return want("platform.timerFreqHz", "a frequency in Hz", p.timerFreqHz);
  if (!Array.isArray(p.ram) || p.ram.length < 1 || p.ram.length > 8) return want("platform.ram", "a list of 1 to 8 RAM ranges", p.ram);
  let end = 0;
  for (let i = 0; i < p.ram.length; i++) {
    const r = p.ram[i] as { base: number; size: number };
    const bad = range(r, `platform.ram[${i}]`);
    if (bad !== null) return bad;
    if (r.base < end) return `platform.ram[${i}]: overlaps or precedes the range before it (RAM ranges ascend)`;
    end = r.base + r.size;
  }
  const first = p.ram[0] as { base: number; size: number };
  if (p.hypReserved !== undefined) {
    const bad = range(p.hypReserved, "platform.hypReserved");
    if (bad !== null) return bad;
    const h = p.hypReserved as { base: number; size: number };
    if (h.base < first.base || h.base + h.size > first.base + first.size) return "platform.hypReserved: not inside the first RAM range";
  } else if (first.size < FIRST_RAM_MIN) return `platform.ram[0]: ${first.size} bytes, too small for the hypervisor and the RM (32 MiB)`;
  if (p.hwirqs !== undefined) {
    const w = p.hwirqs;
    if (!isMap(w) || !isInt(w.first, GIC.SPI_FIRST, INTID_LIMIT - 1) || !isInt(w.count, 0, INTID_LIMIT - (w.first as number))) {
      return want("platform.hwirqs", `{first, count} of SPIs from ${GIC.SPI_FIRST} to ${INTID_LIMIT - 1}`, w);
    }
  }
  return null;
}

function rootVmProblem(v: unknown): Problem {
  if (!isMap(v)) return want("rootVm", "a mapping", v);
  const bad = range(v, "rootVm");
  if (bad !== null) return bad;
  for (const k of ["ipa", "entry", "envIpa"]) if (!isInt(v[k], 0, PHYS_ADDR_LIMIT - 1)) return want(`rootVm.${k}`, "an address below 2^48", v[k]);
  return null;
}

function protectedProblem(v: unknown): Problem {
  if (!isMap(v)) return want("protected", "a mapping", v);
  if (typeof v.uds !== "string" || !/^[0-9a-f]{64}$/i.test(v.uds)) return want("protected.uds", "32 bytes as 64 hex digits", v.uds);
  if (typeof v.trustedKey !== "string" || v.trustedKey.length > 16_384 || !/^([0-9a-f]{2})*$/i.test(v.trustedKey)) return want("protected.trustedKey", "an AVB public key as hex", v.trustedKey);
  if (v.pvmfwSize !== undefined && !isInt(v.pvmfwSize, 0, 2 ** 32)) return want("protected.pvmfwSize", "a size in bytes", v.pvmfwSize);
  if (v.storedRollbackIndex !== undefined && !isInt(v.storedRollbackIndex, 0, 2 ** 32)) return want("protected.storedRollbackIndex", "a rollback index", v.storedRollbackIndex);
  return null;
}

/** The RM's image (given, or the 16 MiB after the hypervisor's) lies in the first RAM range, clear of the hypervisor's. */
function rmRangeProblem(c: { platform: { ram: { base: number; size: number }[]; hypReserved?: { base: number; size: number } }; rootVm?: { base: number; size: number } }): Problem {
  const first = c.platform.ram[0]!;
  const hyp = c.platform.hypReserved ?? { base: first.base, size: 0x100_0000 };
  const rm = c.rootVm ?? { base: hyp.base + hyp.size, size: 0x100_0000 };
  if (rm.base < first.base || rm.base + rm.size > first.base + first.size) return `${c.rootVm ? "rootVm" : "platform.ram[0]"}: the RM image at 0x${rm.base.toString(16)} is not inside the first RAM range`;
  if (rm.base < hyp.base + hyp.size && hyp.base < rm.base + rm.size) return "rootVm: overlaps the hypervisor's reserved RAM";
  return null;
}

/** Null when `genesis` can build a machine from `c`; otherwise the path of the first bad field and what was expected. */
export function machineConfigProblem(c: unknown): Problem {
  if (!isMap(c)) return want("config", "a mapping", c);
  const p = platformProblem(c.platform);
  if (p !== null) return p;
  if (c.rootVm !== undefined) {
    const r = rootVmProblem(c.rootVm);
    if (r !== null) return r;
  }
  const r = rmRangeProblem(c as { platform: { ram: { base: number; size: number }[]; hypReserved?: { base: number; size: number } }; rootVm?: { base: number; size: number } });
  if (r !== null) return r;
  if (c.hlos !== undefined && typeof c.hlos !== "boolean") return want("hlos", "true or false", c.hlos);
  if (c.faults !== undefined && (!Array.isArray(c.faults) || c.faults.length > 64 || !c.faults.every((f) => typeof f === "string" && f.length <= 64))) {
    return want("faults", "a list of fault names", c.faults);
  }
  if (c.protected !== undefined) return protectedProblem(c.protected);
  return null;
}
