import { okWith, type HypercallTable } from "./calls.ts";

/**
 * hypervisor_identify (0x00): X0 = hyp_api_info, X1..X3 = api_flags0..2.
 * hyp_api_info: API version 1 (bits 13:0), little-endian (bit 14 = 0), 64-bit (bit 15 = 1),
 * variant 0x51 "QUALCOMM" in bits 63:56, the default of the modelled build.
 * api_flags0: one bit per built feature; this model builds partition+cspace, doorbell, msgqueue,
 * VIC, VPM, vCPU, memextent, trace control (bits 0-7), virtio-mmio (9), PRNG (10), vcpu_run (11);
 * no watchdog (bit 8 = 0, as the QEMU build); scheduler variant 1 = FPRR in bits 31:28.
 * Source: GH:hyp/core/api/aarch64/hypercalls.hvc, GH:hyp/interfaces/api/api.tc (reference §1.3).
 */
export const HYP_API_INFO = (0x51n << 56n) | (1n << 15n) | 1n;
export const HYP_API_FLAGS0 = 0xffn | (1n << 9n) | (1n << 10n) | (1n << 11n) | (1n << 28n);

export const identifyHypercalls: HypercallTable = {
  // X0 of this call is hyp_api_info itself, not an error code: the dispatcher special-cases it.
  hypervisor_identify: () => okWith(HYP_API_INFO, HYP_API_FLAGS0, 0n, 0n),
};
