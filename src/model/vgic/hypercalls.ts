import { GIC, PRNG_RATE } from "../abi/constants.ts";
import { RIGHTS } from "../abi/rights.ts";
import type { Machine } from "../machine.ts";
import { lookup, lookupInit } from "../object/cspace.ts";
import { OK, arg, arg32, fail, okWith, type Caller, type HypercallTable, type HvReturn } from "../hyp/calls.ts";
import { bindShared, irqForWrite, unbindShared } from "./virq.ts";
import type { ThreadObject } from "../vcpu/state.ts";

/**
 * VIC and hardware-IRQ hypercalls (reference §2.4; GH:hyp/interfaces/vic/vic.hvc,
 * GH:hyp/vm/vic_base/src/hypercalls.c, GH:hyp/vm/vgic/vgic.hvc), plus the two capability-free
 * calls trace_update_class_flags and prng_get_entropy (§2.10).
 */

/** vic_configure(vic, max_vcpus, max_virqs, vic_options, max_msis). */
function vicConfigure(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const vic = lookupInit(s, c.cspace, a[0] ?? 0n, "vic");
  if (!vic.ok) return fail(vic.error);
  const maxVcpus = arg32(a, 1);
  const maxVirqs = arg32(a, 2);
  const options = arg(a, 3);
  if (maxVcpus < 1 || maxVcpus > s.config.platform.cpus || maxVirqs > GIC.SPI_COUNT_MAX) return fail("ARGUMENT_INVALID");
  if ((options & ~3n) !== 0n) return fail("ARGUMENT_INVALID");
  // No LPIs on the QEMU build: max_msis must be 0 when declared valid.
  if ((options & 1n) !== 0n && arg32(a, 4) !== 0) return fail("ARGUMENT_INVALID");
  Object.assign(vic.value, { maxVcpus, maxVirqs, options: Number(options) });
  return OK;
}

function hwirqBindVirq(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const hw = lookup(s, c.cspace, a[0] ?? 0n, "hwirq", RIGHTS.hwirq.BIND_VIC);
  if (!hw.ok) return fail(hw.error);
  const vic = lookup(s, c.cspace, a[1] ?? 0n, "vic", RIGHTS.vic.BIND_SOURCE);
  if (!vic.ok) return fail(vic.error);
  const virq = arg32(a, 2);
  // vgic_bind_hwirq_spi checks the VIRQ is an SPI before vic_bind_shared's VIRQ_BOUND
  // (GH:hyp/vm/vgic/src/distrib.c:1014-1017, 2391-2401).
  if (virq < GIC.SPI_FIRST || virq > GIC.SPI_LAST) return fail("ARGUMENT_INVALID");
  if (hw.value.virq !== null) return fail("VIRQ_BOUND");
  const e = bindShared(vic.value, virq, { kind: "hwirq", object: hw.value.id });
  if (e !== null) return fail(e);
  hw.value.virq = { vic: vic.value.id, virq };
  irqForWrite(vic.value, undefined, virq)!.hw = true;
  return OK;
}

function hwirqUnbindVirq(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const hw = lookup(s, c.cspace, a[0] ?? 0n, "hwirq", RIGHTS.hwirq.BIND_VIC);
  if (!hw.ok) return fail(hw.error);
  if (hw.value.virq !== null) {
    const vic = s.objects.byId[hw.value.virq.vic];
    if (vic?.type === "vic" && vic.spis[hw.value.virq.virq] !== undefined) vic.spis[hw.value.virq.virq]!.hw = false;
  }
  unbindShared(s, hw.value.virq);
  hw.value.virq = null;
  hw.value.hwActive = false;
  return OK;
}

/** Accepted and checked; routing keeps the default (hardware-like) index mapping ⚠. */
function vgicSetMpidrMapping(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const vic = lookupInit(s, c.cspace, a[0] ?? 0n, "vic");
  if (!vic.ok) return fail(vic.error);
  for (let i = 2; i <= 5; i++) if (arg32(a, i) > 56) return fail("ARGUMENT_INVALID"); // shifts inside 64 bits ⚠
  return OK;
}

/** Trace classes with a public meaning (GH:hyp/misc/trace_standard/trace.tc): bits 0-2, 4-7, 16-18, 20 ⚠. */
const TRACE_PUBLIC = 0x17_00f7n;

function traceUpdateClassFlags(s: Machine, _c: Caller, a: readonly bigint[]): HvReturn {
  const set = arg(a, 0) & TRACE_PUBLIC;
  const clear = arg(a, 1) & TRACE_PUBLIC;
  s.traceFlags = (s.traceFlags | set) & ~clear;
  return okWith(s.traceFlags);
}

/**
 * prng_get_entropy(num_bytes): 4..16 bytes in whole words, at most 4 calls per 33 ms per thread.
 * Hardware entropy is a nondeterministic input, so the bytes come from the event (`data`); missing
 * bytes read as zero.
 */
function prngGetEntropy(s: Machine, c: Caller, a: readonly bigint[]): HvReturn {
  const n = arg32(a, 0);
  if (n < 4 || n > 16) return fail("ARGUMENT_SIZE");
  if (n % 4 !== 0) return fail("ARGUMENT_ALIGNMENT");
  const t = s.objects.byId[c.thread] as ThreadObject;
  if (s.t - t.prng.windowStart >= PRNG_RATE.WINDOW_NS) t.prng = { windowStart: s.t, calls: 0 };
  if (t.prng.calls >= PRNG_RATE.CALLS) return fail("BUSY");
  t.prng.calls += 1;
  const words: bigint[] = [0n, 0n, 0n, 0n];
  for (let i = 0; i < n; i++) {
    const b = BigInt(c.data?.[i] ?? 0);
    words[i >> 2] = words[i >> 2]! | (b << BigInt((i & 3) * 8));
  }
  return okWith(...words);
}

export const vgicHypercalls: HypercallTable = {
  vic_configure: vicConfigure,
  hwirq_bind_virq: hwirqBindVirq,
  hwirq_unbind_virq: hwirqUnbindVirq,
  vgic_set_mpidr_mapping: vgicSetMpidrMapping,
  trace_update_class_flags: traceUpdateClassFlags,
  prng_get_entropy: prngGetEntropy,
};
