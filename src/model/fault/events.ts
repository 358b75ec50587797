import type { Envelope } from "../../core/event.ts";

export type GuestAccessKind = "read" | "write" | "exec";

/**
 * A guest access the stage-2 did NOT satisfy (translation or permission fault), resolved as Gunyah
 * does (reference §5.4): vdevice emulation at EL2, VMMIO forwarding to the proxy, or an injected
 * synchronous external abort. `value` is the stored data of a write, `reg` the destination register
 * of a read (ESR SRT, default X0). `fsc` names a fault kind other than translation/permission (the
 * vCPU then halts in FAULT). Outcome: `{ resolution, ... }`.
 */
export interface Stage2FaultEvent extends Envelope {
  readonly kind: "stage2_fault";
  readonly vm: number;
  readonly vcpu: number;
  readonly ipa: number;
  readonly access: GuestAccessKind;
  readonly sizeBytes: number;
  readonly value?: bigint;
  readonly reg?: number;
  readonly fsc?: "access_flag" | "external_walk";
}

/**
 * A guest access the stage-2 DID satisfy, recorded so it can be checked (the host probing a page it
 * lent). Outcome: `{ pa, owner, memextent }`.
 */
export interface GuestAccessEvent extends Envelope {
  readonly kind: "guest_access";
  readonly vm: number;
  readonly vcpu: number;
  readonly ipa: number;
  readonly access: GuestAccessKind;
  readonly sizeBytes: number;
}
