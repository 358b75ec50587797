/**
 * Gunyah's native hypercall numbers (HVC #imm with imm = 0x6000 + number; SMCCC function ID
 * 0xC6008000 + number). Names and numbers as in the .hvc files of quic/gunyah-hypervisor @36ca3a2,
 * transcribed in shared/reference/gunyah-hypervisor.md §2. Where the prose API doc disagrees with
 * the source (memextent_donate is 0x61, not 0x33), the source wins (§11).
 *
 * Numbers inside 0x00..0x68 that are absent here have no handler in the modelled build and return
 * ERROR_UNIMPLEMENTED, as the real jump table does: 0x08, 0x09 (watchdog not built), 0x16, 0x1E,
 * 0x33, 0x35-0x37, 0x40-0x42, 0x58, 0x63.
 */
export const HYPERCALLS = {
  hypervisor_identify: 0x00,
  partition_create_partition: 0x01,
  partition_create_cspace: 0x02,
  partition_create_addrspace: 0x03,
  partition_create_memextent: 0x04,
  partition_create_thread: 0x05,
  partition_create_doorbell: 0x06,
  partition_create_msgqueue: 0x07,
  partition_create_vic: 0x0a,
  partition_create_vpm_group: 0x0b,
  object_activate: 0x0c,
  object_activate_from: 0x0d,
  object_reset: 0x0e,
  object_reset_from: 0x0f,
  doorbell_bind_virq: 0x10,
  doorbell_unbind_virq: 0x11,
  doorbell_send: 0x12,
  doorbell_receive: 0x13,
  doorbell_reset: 0x14,
  doorbell_mask: 0x15,
  msgqueue_bind_send_virq: 0x17,
  msgqueue_bind_receive_virq: 0x18,
  msgqueue_unbind_send_virq: 0x19,
  msgqueue_unbind_receive_virq: 0x1a,
  msgqueue_send: 0x1b,
  msgqueue_receive: 0x1c,
  msgqueue_flush: 0x1d,
  msgqueue_configure_send: 0x1f,
  msgqueue_configure_receive: 0x20,
  msgqueue_configure: 0x21,
  cspace_delete_cap_from: 0x22,
  cspace_copy_cap_from: 0x23,
  cspace_revoke_cap_from: 0x24,
  cspace_configure: 0x25,
  hwirq_bind_virq: 0x26,
  hwirq_unbind_virq: 0x27,
  vic_configure: 0x28,
  vic_attach_vcpu: 0x29,
  addrspace_attach_thread: 0x2a,
  addrspace_map: 0x2b,
  addrspace_unmap: 0x2c,
  addrspace_update_access: 0x2d,
  addrspace_configure: 0x2e,
  addrspace_attach_vdma: 0x2f,
  memextent_modify: 0x30,
  memextent_configure: 0x31,
  memextent_configure_derive: 0x32,
  vcpu_configure: 0x34,
  vcpu_poweron: 0x38,
  vcpu_poweroff: 0x39,
  vcpu_kill: 0x3a,
  scheduler_yield: 0x3b,
  vpm_group_attach_vcpu: 0x3c,
  vcpu_set_affinity: 0x3d,
  cspace_attach_thread: 0x3e,
  trace_update_class_flags: 0x3f,
  vpm_group_bind_virq: 0x43,
  vpm_group_unbind_virq: 0x44,
  vpm_group_get_state: 0x45,
  vcpu_set_priority: 0x46,
  vcpu_set_timeslice: 0x47,
  partition_create_virtio_mmio: 0x48,
  virtio_mmio_configure: 0x49,
  virtio_mmio_backend_bind_virq: 0x4a,
  virtio_mmio_backend_unbind_virq: 0x4b,
  virtio_mmio_frontend_bind_virq: 0x4c,
  virtio_mmio_frontend_unbind_virq: 0x4d,
  virtio_mmio_backend_assert_virq: 0x4e,
  virtio_mmio_backend_set_dev_features: 0x4f,
  virtio_mmio_backend_set_queue_num_max: 0x50,
  virtio_mmio_backend_get_drv_features: 0x51,
  virtio_mmio_backend_get_queue_info: 0x52,
  virtio_mmio_backend_get_notification: 0x53,
  virtio_mmio_backend_acknowledge_reset: 0x54,
  virtio_mmio_backend_update_status: 0x55,
  vic_bind_msi_source: 0x56,
  prng_get_entropy: 0x57,
  cspace_revoke_caps_from: 0x59,
  addrspace_lookup: 0x5a,
  addrspace_configure_info_area: 0x5b,
  vcpu_bind_virq: 0x5c,
  vcpu_unbind_virq: 0x5d,
  virtio_input_configure: 0x5e,
  virtio_input_set_data: 0x5f,
  addrspace_configure_vmmio: 0x60,
  memextent_donate: 0x61,
  addrspace_attach_vdevice: 0x62,
  vcpu_register_write: 0x64,
  vcpu_run: 0x65,
  vpm_group_configure: 0x66,
  vgic_set_mpidr_mapping: 0x67,
  vcpu_run_check: 0x68,
} as const;

export type HypercallName = keyof typeof HYPERCALLS;

/**
 * Each call's reserved inputs, as register index: `res0` inputs must be 0 and `res1` inputs all
 * ones, or the generated wrapper answers ARGUMENT_INVALID before the call runs
 * (GH:hyp/core/api/aarch64/templates/c_wrapper.c.tmpl:88-118; GH:tools/hypercalls/hypercall.py:73-95).
 * Read off the .hvc files of @36ca3a2 (every one of these is a 64-bit `uregister`). Calls absent
 * here have none.
 */
export const RESERVED_INPUTS: { readonly [N in HypercallName]?: readonly (readonly [index: number, kind: "res0" | "res1"])[] } = {
  partition_create_partition: [[2, "res0"]], partition_create_cspace: [[2, "res0"]], partition_create_addrspace: [[2, "res0"]],
  partition_create_memextent: [[2, "res0"]], partition_create_thread: [[2, "res0"]], partition_create_doorbell: [[2, "res0"]],
  partition_create_msgqueue: [[2, "res0"]], partition_create_vic: [[2, "res0"]], partition_create_vpm_group: [[2, "res0"]],
  partition_create_virtio_mmio: [[2, "res0"]],
  object_activate: [[1, "res0"]], object_activate_from: [[2, "res0"]], object_reset: [[1, "res0"]], object_reset_from: [[2, "res0"]],
  doorbell_bind_virq: [[3, "res0"]], doorbell_unbind_virq: [[1, "res0"]], doorbell_send: [[2, "res0"]], doorbell_receive: [[2, "res0"]],
  doorbell_reset: [[1, "res0"]], doorbell_mask: [[3, "res0"]],
  msgqueue_bind_send_virq: [[3, "res0"]], msgqueue_bind_receive_virq: [[3, "res0"]], msgqueue_unbind_send_virq: [[1, "res0"]],
  msgqueue_unbind_receive_virq: [[1, "res0"]], msgqueue_send: [[4, "res0"]], msgqueue_receive: [[3, "res0"]], msgqueue_flush: [[1, "res0"]],
  msgqueue_configure_send: [[3, "res1"]], msgqueue_configure_receive: [[3, "res1"]], msgqueue_configure: [[2, "res0"]],
  cspace_delete_cap_from: [[2, "res0"]], cspace_copy_cap_from: [[4, "res0"]], cspace_revoke_cap_from: [[2, "res0"]],
  cspace_configure: [[2, "res0"]], cspace_attach_thread: [[2, "res0"]], cspace_revoke_caps_from: [[2, "res0"]],
  hwirq_bind_virq: [[3, "res0"]], hwirq_unbind_virq: [[1, "res0"]], vic_attach_vcpu: [[3, "res0"]],
  addrspace_attach_thread: [[2, "res0"]], addrspace_configure: [[2, "res0"]], addrspace_attach_vdma: [[3, "res0"]],
  addrspace_lookup: [[4, "res0"]], addrspace_configure_info_area: [[3, "res0"]], addrspace_configure_vmmio: [[4, "res0"]],
  memextent_configure: [[4, "res0"]], memextent_configure_derive: [[5, "res0"]], memextent_donate: [[5, "res0"]],
  vcpu_configure: [[2, "res0"]], vcpu_kill: [[1, "res0"]], vcpu_set_affinity: [[2, "res1"]], vcpu_bind_virq: [[4, "res0"]],
  vcpu_unbind_virq: [[2, "res0"]], vcpu_register_write: [[4, "res0"]], vcpu_run: [[4, "res0"]], vcpu_run_check: [[1, "res0"]],
  scheduler_yield: [[2, "res0"]], trace_update_class_flags: [[2, "res0"]], prng_get_entropy: [[1, "res0"]],
  vpm_group_attach_vcpu: [[3, "res0"]], vpm_group_bind_virq: [[3, "res0"]], vpm_group_unbind_virq: [[1, "res0"]],
  vpm_group_get_state: [[1, "res0"]], vpm_group_configure: [[2, "res0"]],
  virtio_mmio_backend_bind_virq: [[3, "res0"]], virtio_mmio_backend_unbind_virq: [[1, "res0"]], virtio_mmio_frontend_bind_virq: [[3, "res0"]],
  virtio_mmio_frontend_unbind_virq: [[1, "res0"]], virtio_mmio_backend_assert_virq: [[2, "res0"]],
  virtio_mmio_backend_set_dev_features: [[3, "res0"]], virtio_mmio_backend_set_queue_num_max: [[3, "res0"]],
  virtio_mmio_backend_get_drv_features: [[2, "res0"]], virtio_mmio_backend_get_queue_info: [[2, "res0"]],
  virtio_mmio_backend_get_notification: [[1, "res0"]], virtio_mmio_backend_acknowledge_reset: [[1, "res0"]],
  virtio_mmio_backend_update_status: [[2, "res0"]], virtio_input_configure: [[5, "res0"]], virtio_input_set_data: [[5, "res0"]],
};

/** Calls in the .hvc files that the QEMU build leaves out of its jump table (no ITS): UNIMPLEMENTED before any check. */
export const NOT_BUILT: ReadonlySet<HypercallName> = new Set<HypercallName>(["vic_bind_msi_source"]);

const ALL_ONES = 0xffff_ffff_ffff_ffffn;
/** Does a call's reserved input hold something other than its required value? */
export function reservedInputsBad(name: HypercallName, args: readonly bigint[]): boolean {
  const res = RESERVED_INPUTS[name];
  if (res === undefined) return false;
  for (let i = 0; i < res.length; i++) {
    const [index, kind] = res[i]!;
    const v = BigInt.asUintN(64, args[index] ?? 0n);
    if (kind === "res0" ? v !== 0n : v !== ALL_ONES) return true;
  }
  return false;
}

/** HVC immediates Gunyah reserves: 0x6000-0x61FF; the immediate minus the base indexes the table. */
export const HYPERCALL_HVC_BASE = 0x6000;
/** Fast SMC64, owner 6 (vendor hyp), class 0b10 (hypercall): function ID = base + number. */
export const HYPERCALL_SMCCC_BASE = 0xc6008000;

const byNumber = new Map<number, HypercallName>(
  (Object.entries(HYPERCALLS) as [HypercallName, number][]).map(([name, n]) => [n, name]),
);

/** Decodes a call number; undefined means Gunyah answers ERROR_UNIMPLEMENTED. */
export function hypercallName(call: number): HypercallName | undefined {
  return byNumber.get(call);
}

/** `vcpu_run (0x65)`, or `hvc 0x6033 (unknown)` for a number with no handler. */
export function formatHypercall(call: number): string {
  const name = byNumber.get(call);
  const hex = `0x${call.toString(16).padStart(2, "0")}`;
  return name === undefined ? `hvc ${`0x${(HYPERCALL_HVC_BASE + call).toString(16)}`} (unknown)` : `${name} (${hex})`;
}
