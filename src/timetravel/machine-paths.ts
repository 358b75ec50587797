import { HYPERCALLS, hypercallName } from "../model/abi/hypercalls.ts";
import type { Machine } from "../model/machine.ts";
import { ownerName } from "../model/rm/owner.ts";
import { MISSING, registerKeyedRecord } from "./paths.ts";
import { PredicateTypeError, registerPredicateFunction, typeName } from "./predicate.ts";

/**
 * How this model's state reads to people, registered once for the generic path code: hypercall
 * counts are stored under the call number ("0x1b", src/model/hyp/rooms.ts) and typed and shown by
 * Gunyah's name (`hypercallCounts.msgqueue_send`); a call never made counts 0.
 */
const CALLS_MAX = 0x200; // the HVC table's size: immediates 0x6000..0x61FF (reference gunyah-hypervisor.md §2)

const countKey = (call: number): string => `0x${call.toString(16).padStart(2, "0")}`;

function callNumber(typed: string): number | undefined {
  if (Object.hasOwn(HYPERCALLS, typed)) return HYPERCALLS[typed as keyof typeof HYPERCALLS];
  const s = typed.replace(/_/g, "");
  const n = /^0x[0-9a-f]+$/i.test(s) ? Number.parseInt(s, 16) : /^\d+$/.test(s) ? Number(s) : Number.NaN;
  return Number.isInteger(n) && n >= 0 && n < CALLS_MAX ? n : undefined;
}

registerKeyedRecord({
  at: ["hypercallCounts"],
  what: "a Gunyah hypercall (a name such as msgqueue_send, or a number 0x00..0x1ff)",
  key: (typed) => {
    const n = callNumber(typed);
    return n === undefined ? undefined : countKey(n);
  },
  label: (stored) => {
    const n = callNumber(stored);
    return n === undefined ? undefined : hypercallName(n);
  },
  names: Object.keys(HYPERCALLS),
  absent: 0,
});

/**
 * `owner(PA)`: who owns a physical byte, as the RM sees it: "vm:<vmid>" for memory in a VM's own
 * extents, "parcel:<handle>" for memory lent, shared or donated through a parcel, else the memdb
 * owner ("partition:<id>", "extent:<id>"); null for memory nobody owns. E.g. owner(0x90100000) == "vm:128".
 */
registerPredicateFunction({
  name: "owner",
  arity: 1,
  description: 'owner(PA): "vm:<vmid>", "parcel:<handle>", "partition:<id>" or null, from the memory database',
  call: ([a], state) => {
    const pa = a!.value;
    if (pa === MISSING || pa === null) return MISSING;
    if (!(typeof pa === "number" || typeof pa === "bigint")) throw new PredicateTypeError(`owner() takes a physical address (a number), got ${typeName(pa)}`);
    return ownerName(state as Machine, Number(pa));
  },
});
