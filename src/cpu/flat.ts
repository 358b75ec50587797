import type { AccessKind, CpuBus, RefusedAccess, RefusedAction, TrapKind } from "./bus.ts";

/**
 * Flat RAM with nothing else on the bus: what `hvsim cpu run` gives a program, and what the
 * CPU's tests and benchmarks use. Pages are allocated on first touch, so a large RAM costs only
 * what is used. There is no interrupt controller (the IRQ line stays low) and no EL2 or EL3 (HVC and
 * SMC are UNDEFINED); BRK exits so a program can end with `brk #0`.
 */
export interface FlatRamOptions {
  readonly base: number;
  readonly sizeBytes: number;
  /** Exit on WFI/WFE instead of completing them at once (nothing could wake the PE). Default true. */
  readonly stopOnWfi?: boolean;
  /** Stop when an exception is taken while VBAR_EL1 is 0 (no vectors installed). Default true. */
  readonly stopOnUnvectoredException?: boolean;
}

/** Instructions per tick of the virtual counter: one instruction a nanosecond against a 62.5 MHz counter. */
export const INSNS_PER_TICK = 16;

export class FlatRam implements CpuBus {
  readonly pages = new Map<number, Uint8Array>();
  private readonly end: number;

  constructor(private readonly o: FlatRamOptions) {
    this.end = o.base + o.sizeBytes;
  }

  contains(address: number): boolean {
    return address >= this.o.base && address < this.end;
  }

  /** Copies bytes into RAM (loading an image); false if any byte falls outside it. */
  write(address: number, bytes: Uint8Array): boolean {
    if (!this.contains(address) || (bytes.length > 0 && !this.contains(address + bytes.length - 1))) return false;
    for (let i = 0; i < bytes.length; ) {
      const a = address + i;
      const page = this.pageFor(Math.floor(a / 4096) * 4096);
      const n = Math.min(4096 - (a % 4096), bytes.length - i);
      page.set(bytes.subarray(i, i + n), a % 4096);
      i += n;
    }
    return true;
  }

  read(address: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.pages.get(Math.floor((address + i) / 4096) * 4096)?.[(address + i) % 4096] ?? 0;
    return out;
  }

  private pageFor(pageAddress: number): Uint8Array {
    let p = this.pages.get(pageAddress);
    if (p === undefined) {
      p = new Uint8Array(4096);
      this.pages.set(pageAddress, p);
    }
    return p;
  }

  page(pageAddress: number, _access: AccessKind): Uint8Array | null {
    return this.contains(pageAddress) ? this.pageFor(pageAddress) : null;
  }

  refused(_a: RefusedAccess): RefusedAction {
    return "abort";
  }

  trap(kind: TrapKind, imm: number): "exit" | "architectural" {
    if (kind === "brk") return imm === 0 ? "exit" : "architectural";
    if (kind === "wfi" || kind === "wfe") return this.o.stopOnWfi === false ? "architectural" : "exit";
    return "architectural";
  }

  readSysreg(): bigint | undefined {
    return undefined;
  }

  writeSysreg(): boolean {
    return false;
  }

  pendingPriority(_retired: number): number {
    return -1;
  }

  counter(retired: number): bigint {
    return BigInt(Math.floor(retired / INSNS_PER_TICK));
  }

  quietFor(_retired: number): number {
    return Infinity;
  }

  exceptionTaken(_ec: number, vbar: bigint): boolean {
    return this.o.stopOnUnvectoredException !== false && vbar === 0n;
  }
}
