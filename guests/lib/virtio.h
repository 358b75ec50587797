/*
 * virtio-mmio (VIRTIO 1.x §4.2) at crosvm's fixed places (docs/guests.md): device k's registers at
 * 0x0a00_0000 + k * 0x1000, its SPI 33 + k, and its queues in the region the host shares with the
 * VM (0x8100_0000: crosvm's devices DMA only there), queue q of device k at
 * 0x8100_0000 + k * 0x1_0000 + q * 0x4000 (descriptors, avail ring at +0x100, used ring at +0x200,
 * buffers from +0x1000).
 */
#ifndef HVSIM_GUEST_VIRTIO_H
#define HVSIM_GUEST_VIRTIO_H
#include "hv.h"

#define VIRTIO_MMIO_BASE 0x0a000000ul
#define VIRTIO_SHARED_BASE 0x81000000ul
#define VIRTIO_QSIZE 8
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3

enum {
	VIRTIO_MAGIC = 0x000, VIRTIO_VERSION = 0x004, VIRTIO_DEVICE_ID = 0x008, VIRTIO_STATUS = 0x070,
	VIRTIO_DEV_FEATURES = 0x010, VIRTIO_DEV_FEATURES_SEL = 0x014, VIRTIO_DRV_FEATURES = 0x020, VIRTIO_DRV_FEATURES_SEL = 0x024,
	VIRTIO_QUEUE_SEL = 0x030, VIRTIO_QUEUE_NUM_MAX = 0x034, VIRTIO_QUEUE_NUM = 0x038, VIRTIO_QUEUE_READY = 0x044,
	VIRTIO_QUEUE_NOTIFY = 0x050, VIRTIO_INT_STATUS = 0x060, VIRTIO_INT_ACK = 0x064,
	VIRTIO_QUEUE_DESC = 0x080, VIRTIO_QUEUE_DRIVER = 0x090, VIRTIO_QUEUE_DEVICE = 0x0a0,
};
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

struct virtq_desc { u64 addr; u32 len; u16 flags, next; };
struct virtq_avail { u16 flags, idx, ring[VIRTIO_QSIZE]; };
struct virtq_used { u16 flags, idx; struct { u32 id, len; } ring[VIRTIO_QSIZE]; };

struct virtq {
	u64 base;  /* the device's registers */
	u32 queue;
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	u8 *buffers;
	u16 next_avail;
	u16 last_used;
};

static inline u64 virtio_base(u32 device) { return VIRTIO_MMIO_BASE + device * 0x1000ul; }
static inline u32 virtio_irq(u32 device) { return 33 + device; }

/* The Linux probe (§3.1.1 steps 1-6): magic, version 2, device ID, reset, ACKNOWLEDGE, DRIVER, VERSION_1, FEATURES_OK. */
int virtio_probe(u64 base, u32 device_id);
/* Sets up queue `q` of device number `device` at its place in the shared region. */
int virtio_queue(struct virtq *vq, u32 device, u32 q);
/* DRIVER_OK. */
void virtio_ready(u64 base);
/* Puts a chain of descriptors (already filled from slot 0) on the avail ring and notifies the device. */
void virtio_submit(struct virtq *vq, u16 head);
/* Reads and acknowledges InterruptStatus (what an interrupt handler does first); returns it. */
u32 virtio_ack(u64 base);

/* virtio-blk (§5.2): one request at a time; the caller waits for the completion interrupt. */
int blk_init(void);
/* Starts a request for one 512-byte sector (write: from `data`); returns its status byte's address. */
volatile u8 *blk_start(int write, u64 sector, const u8 *data);
/* The data buffer of the request in flight (a read's result). */
const u8 *blk_data(void);
/* The used ring moved past the request: the device completed it. */
int blk_done(void);
#define CONSOLE_DEVICE 1
#define BLOCK_DEVICE 0

/* For a guest that takes interrupts (lib/gic.c): handlers for the block and console SPIs. */
void virtio_irqs_register(void);
/* One block request, then WFI until SPI 33 says it completed; returns the status byte (0 OK, 0xff: no completion). */
u8 blk_io(int write, u64 sector, const u8 *data);
#endif
