/*
 * virtio-mmio drivers for hvsim's guests (VIRTIO 1.x §4.2, §5.2, §5.3): the Linux probe sequence,
 * queues in the host-shared region, a console that prints whole lines on its transmit queue
 * (completion polled: crosvm handles the notify before the vCPU resumes), and a block device whose
 * requests complete with an interrupt the guest waits for.
 */
#include "virtio.h"
#include "gic.h"

static void reg(u64 base, u32 off, u32 v) { mmio_write32(base + off, v); }
static u32 get(u64 base, u32 off) { return mmio_read32(base + off); }

int virtio_probe(u64 base, u32 device_id) {
	if (get(base, VIRTIO_MAGIC) != 0x74726976 || get(base, VIRTIO_VERSION) != 2 || get(base, VIRTIO_DEVICE_ID) != device_id) return 0;
	reg(base, VIRTIO_STATUS, 0);
	reg(base, VIRTIO_STATUS, 1);
	reg(base, VIRTIO_STATUS, 1 | 2);
	reg(base, VIRTIO_DEV_FEATURES_SEL, 1);
	(void)get(base, VIRTIO_DEV_FEATURES);
	reg(base, VIRTIO_DRV_FEATURES_SEL, 1);
	reg(base, VIRTIO_DRV_FEATURES, 1); /* VERSION_1 */
	reg(base, VIRTIO_STATUS, 1 | 2 | 8);
	return (get(base, VIRTIO_STATUS) & 8) != 0;
}

int virtio_queue(struct virtq *vq, u32 device, u32 q) {
	u64 at = VIRTIO_SHARED_BASE + device * 0x10000ul + q * 0x4000ul;
	vq->base = virtio_base(device);
	vq->queue = q;
	vq->desc = (volatile struct virtq_desc *)at;
	vq->avail = (volatile struct virtq_avail *)(at + 0x100);
	vq->used = (volatile struct virtq_used *)(at + 0x200);
	vq->buffers = (u8 *)(at + 0x1000);
	vq->next_avail = 0;
	vq->last_used = 0;
	reg(vq->base, VIRTIO_QUEUE_SEL, q);
	if (get(vq->base, VIRTIO_QUEUE_NUM_MAX) < VIRTIO_QSIZE) return 0;
	reg(vq->base, VIRTIO_QUEUE_NUM, VIRTIO_QSIZE);
	reg(vq->base, VIRTIO_QUEUE_DESC, (u32)at);
	reg(vq->base, VIRTIO_QUEUE_DRIVER, (u32)(at + 0x100));
	reg(vq->base, VIRTIO_QUEUE_DEVICE, (u32)(at + 0x200));
	reg(vq->base, VIRTIO_QUEUE_READY, 1);
	return 1;
}

void virtio_ready(u64 base) { reg(base, VIRTIO_STATUS, 1 | 2 | 8 | 4); }

void virtio_submit(struct virtq *vq, u16 head) {
	vq->avail->ring[vq->next_avail % VIRTIO_QSIZE] = head;
	barrier();
	vq->avail->idx = ++vq->next_avail;
	barrier();
	reg(vq->base, VIRTIO_QUEUE_NOTIFY, vq->queue);
}

u32 virtio_ack(u64 base) {
	u32 isr = get(base, VIRTIO_INT_STATUS);
	if (isr) reg(base, VIRTIO_INT_ACK, isr);
	return isr;
}

/* ---- console: device 1, queue 1 (transmitq) ---- */

static struct virtq txq;
static int console_ready;
static char line[256];
static u32 line_len;

void console_init(void) {
	u64 base = virtio_base(CONSOLE_DEVICE);
	if (!virtio_probe(base, VIRTIO_ID_CONSOLE) || !virtio_queue(&txq, CONSOLE_DEVICE, 1)) return;
	virtio_ready(base);
	console_ready = 1;
}

/* One buffer per line (a slot of 256 bytes per descriptor); completion is there when the vCPU resumes. */
static void send_line(void) {
	if (!console_ready || line_len == 0) return;
	u16 slot = txq.next_avail % VIRTIO_QSIZE;
	char *b = (char *)txq.buffers + slot * 0x100;
	for (u32 i = 0; i < line_len; i++) b[i] = line[i];
	txq.desc[slot].addr = (u64)b;
	txq.desc[slot].len = line_len;
	txq.desc[slot].flags = 0;
	txq.desc[slot].next = 0;
	virtio_submit(&txq, slot);
	(void)virtio_ack(txq.base);
	line_len = 0;
}

/* Output is line-buffered, as a kernel's printk is: a line leaves on '\n' (or when 255 bytes are waiting). */
void puts(const char *s) {
	for (; *s; s++) {
		line[line_len++] = *s;
		if (*s == '\n' || line_len == 255) send_line();
	}
}

void put_hex(u64 v) {
	char b[19];
	b[0] = '0';
	b[1] = 'x';
	for (int i = 0; i < 16; i++) b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
	b[18] = 0;
	puts(b);
}

void put_dec(u64 v) {
	char b[21];
	int i = 20;
	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts(b + i);
}

/* ---- block: device 0, queue 0 (requestq); header, data and status in the queue's buffers ---- */

#define BLK_T_IN 0
#define BLK_T_OUT 1
struct blk_req { u32 type, reserved; u64 sector; };

static struct virtq rq;

int blk_init(void) {
	u64 base = virtio_base(BLOCK_DEVICE);
	if (!virtio_probe(base, VIRTIO_ID_BLOCK) || !virtio_queue(&rq, BLOCK_DEVICE, 0)) return 0;
	virtio_ready(base);
	return 1;
}

volatile u8 *blk_start(int write, u64 sector, const u8 *data) {
	volatile struct blk_req *hdr = (volatile struct blk_req *)rq.buffers;
	u8 *buf = rq.buffers + 0x100;
	volatile u8 *status = rq.buffers + 0x400;
	hdr->type = write ? BLK_T_OUT : BLK_T_IN;
	hdr->reserved = 0;
	hdr->sector = sector;
	if (write) memcpy(buf, data, 512);
	*status = 0xff;
	rq.desc[0].addr = (u64)hdr;
	rq.desc[0].len = 16;
	rq.desc[0].flags = VIRTQ_DESC_F_NEXT;
	rq.desc[0].next = 1;
	rq.desc[1].addr = (u64)buf;
	rq.desc[1].len = 512;
	rq.desc[1].flags = VIRTQ_DESC_F_NEXT | (write ? 0 : VIRTQ_DESC_F_WRITE);
	rq.desc[1].next = 2;
	rq.desc[2].addr = (u64)status;
	rq.desc[2].len = 1;
	rq.desc[2].flags = VIRTQ_DESC_F_WRITE;
	rq.desc[2].next = 0;
	virtio_submit(&rq, 0);
	return status;
}

const u8 *blk_data(void) { return rq.buffers + 0x100; }

int blk_done(void) {
	barrier();
	if (rq.used->idx == rq.last_used) return 0;
	rq.last_used = rq.used->idx;
	return 1;
}

/* ---- with interrupts ---- */

static volatile u64 blk_irqs;
static void blk_irq(u32 intid) {
	(void)intid;
	(void)virtio_ack(virtio_base(BLOCK_DEVICE));
	blk_irqs++;
}
static void console_irq(u32 intid) {
	(void)intid;
	(void)virtio_ack(virtio_base(CONSOLE_DEVICE));
}

void virtio_irqs_register(void) {
	irq_register(virtio_irq(BLOCK_DEVICE), blk_irq);
	irq_register(virtio_irq(CONSOLE_DEVICE), console_irq);
}

static int blk_completed(void) { return blk_irqs > 0 && blk_done(); }

u8 blk_io(int write, u64 sector, const u8 *data) {
	blk_irqs = 0;
	volatile u8 *status = blk_start(write, sector, data);
	if (!wait_until(blk_completed, 1000)) return 0xff;
	return *status;
}
