import type { Machine } from "../machine.ts";
import type { HvError } from "../abi/errors.ts";
import type { HypercallName } from "../abi/hypercalls.ts";

/** Who made the call: the VM (VMID) and vCPU index from the event, plus the event index. */
export interface Caller {
  readonly vm: number;
  readonly vcpu: number;
  readonly seq: number;
}

/** What a hypercall handler returns: Gunyah's error code and the result registers X1.. in order. */
export interface HvReturn {
  readonly error: HvError;
  readonly out?: readonly bigint[];
}

/**
 * One decoded hypercall: a pure function of the draft state, the caller and X0..X7.
 * It must never throw on guest-controlled input: every bad argument is an error code.
 */
export type HypercallHandler = (s: Machine, caller: Caller, args: readonly bigint[]) => HvReturn;

export type HypercallTable = { readonly [N in HypercallName]?: HypercallHandler };

export const fail = (error: HvError): HvReturn => ({ error });
export const okWith = (...out: bigint[]): HvReturn => ({ error: "OK", out });
export const OK: HvReturn = { error: "OK" };

/** Argument register i, or 0 if the guest left fewer (Gunyah zero-fills unused inputs in its stubs). */
export const arg = (args: readonly bigint[], i: number): bigint => args[i] ?? 0n;
/** A 32-bit argument: Gunyah converts narrow arguments to their C type, ignoring upper bits. */
export const arg32 = (args: readonly bigint[], i: number): number => Number(BigInt.asUintN(32, arg(args, i)));
