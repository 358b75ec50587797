import type { ObjectHeader } from "../object/state.ts";
import type { VirqBinding } from "../vgic/state.ts";

/**
 * Gunyah's virtio-mmio backend object (reference §2.11; GH:hyp/vm/virtio_mmio/virtio_mmio.tc,
 * GH:hyp/vm/virtio_mmio/src/{virtio_mmio,vdevice,hypercalls}.c). The config page is a 4 KiB BASIC
 * memextent the frontend VM maps read-only: its reads are plain memory, its writes permission-fault
 * and are emulated here. Only the registers the hypervisor itself writes or banks are modelled.
 */
export const VIRTIO_MMIO = {
  /** VIRTIO_MMIO_MAX_VQS. */
  MAX_VQS: 16,
  /** VIRTIO_MMIO_DEV_FEAT_NUM / _DRV_FEAT_NUM. */
  FEAT_NUM: 2,
  F_VERSION_1: 32,
  F_ACCESS_PLATFORM: 33,
  F_NOTIFICATION_DATA: 38,
  /** virtio_option_flags bit 6: valid_device_type. */
  FLAG_VALID_DEVICE_TYPE: 1 << 6,
  /** Device types some module accepts (valid_device_type event): virtio-input 18 (GH:hyp/vm/virtio_input). */
  KNOWN_DEVICE_TYPES: [18] as readonly number[],
  /** virtio_mmio_status_reg: 2 driver_ok, 6 device_needs_reset, 7 failed. */
  STATUS_DRIVER_OK: 1 << 2,
  STATUS_DEVICE_NEEDS_RESET: 1 << 6,
  STATUS_FAILED: 1 << 7,
  /** virtio_mmio_notify_reason bits. */
  REASON_NEW_BUFFER: 1 << 0,
  REASON_RESET_RQST: 1 << 1,
  REASON_DRIVER_OK: 1 << 3,
  REASON_FAILED: 1 << 4,
  /** The device-specific config space starts at 0x100 and runs to the end of the page. */
  CONFIG_OFFSET: 0x100,
  PAGE_SIZE: 0x1000,
} as const;

/** virtio_mmio_banked_queue_registers: one per virtqueue. */
export interface VirtioQueueRegs {
  numMax: number;
  num: number;
  ready: number;
  desc: bigint;
  driver: bigint;
  device: bigint;
}

export interface VirtioMmioObject extends ObjectHeader {
  readonly type: "virtio_mmio";
  /** The config-page memextent (0 until virtio_mmio_configure). */
  me: number;
  vqsNum: number;
  /** 0 = VIRTIO_DEVICE_TYPE_INVALID (no device-specific module). */
  deviceType: number;
  /** Raised in the FRONTEND VM by backend_assert_virq. */
  backendVirq: VirqBinding | null;
  /** Raised in the BACKEND VM by frontend writes (QueueNotify, Status). */
  frontendVirq: VirqBinding | null;
  /** Page registers: Status (0x070) and InterruptStatus (0x060). */
  status: number;
  interruptStatus: number;
  /** What the page shows at DeviceFeatures, QueueNumMax and QueueReady (copied on the *Sel writes). */
  devFeatView: number;
  queueNumMaxView: number;
  queueReadyView: number;
  drvFeatSel: number;
  queueSel: number;
  devFeat: number[];
  drvFeat: number[];
  /** Banked queue registers (allocated at activation, vqs_num entries). */
  queues: VirtioQueueRegs[];
  /** Notify word for the backend: queues with new buffers and the reason bits. */
  vqBitmap: bigint;
  reason: number;
  /** virtio_input_configure values (0x5E), null until configured. */
  input: VirtioInputConfig | null;
}

export interface VirtioInputConfig {
  devids: bigint;
  propBits: number;
  numEvtypes: number;
  numAbsaxes: number;
}

export function newVirtioMmio(id: number, partition: number): VirtioMmioObject {
  return {
    id,
    type: "virtio_mmio",
    state: "INIT",
    partition,
    me: 0,
    vqsNum: 0,
    deviceType: 0,
    backendVirq: null,
    frontendVirq: null,
    status: 0,
    interruptStatus: 0,
    devFeatView: 0,
    queueNumMaxView: 0,
    queueReadyView: 0,
    drvFeatSel: 0,
    queueSel: 0,
    devFeat: [0, 0],
    drvFeat: [0, 0],
    queues: [],
    vqBitmap: 0n,
    reason: 0,
    input: null,
  };
}
