/*
 * A virtio-mmio console driver (VIRTIO 1.x §4.2, §5.3): the Linux probe sequence on the device at
 * 0x0a00_1000 (crosvm's second device), one transmit queue in the region the host shares with the
 * VM (0x8100_0000), and polled completion: crosvm handles the notify before the vCPU resumes.
 */
#include "hv.h"

#define CONSOLE_BASE 0x0a001000ul
#define SHARED_BASE 0x81000000ul
#define QSIZE 8

enum {
	MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, STATUS = 0x070,
	DEV_FEATURES = 0x010, DEV_FEATURES_SEL = 0x014, DRV_FEATURES = 0x020, DRV_FEATURES_SEL = 0x024,
	QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050,
	INT_STATUS = 0x060, INT_ACK = 0x064, QUEUE_DESC = 0x080, QUEUE_DRIVER = 0x090, QUEUE_DEVICE = 0x0a0,
};

struct desc { u64 addr; u32 len; u16 flags, next; };
struct avail { u16 flags, idx, ring[QSIZE]; };
struct used { u16 flags, idx; struct { u32 id, len; } ring[QSIZE]; };

/* Queue 1 (transmitq) of device 1, where crosvm's plan puts it: shared + 0x1_0000 + 0x4000. */
#define TXQ (SHARED_BASE + 0x14000ul)
static volatile struct desc *const desc = (struct desc *)TXQ;
static volatile struct avail *const avail = (struct avail *)(TXQ + 0x100);
static volatile struct used *const used = (struct used *)(TXQ + 0x200);
static char *const buffers = (char *)(TXQ + 0x1000);

static int ready;
static u16 next_avail;

static void reg(u32 off, u32 v) { mmio_write32(CONSOLE_BASE + off, v); }
static u32 get(u32 off) { return mmio_read32(CONSOLE_BASE + off); }

void console_init(void) {
	if (get(MAGIC) != 0x74726976 || get(VERSION) != 2 || get(DEVICE_ID) != 3) return;
	reg(STATUS, 0);
	reg(STATUS, 1);
	reg(STATUS, 1 | 2);
	reg(DEV_FEATURES_SEL, 1);
	(void)get(DEV_FEATURES);
	reg(DRV_FEATURES_SEL, 1);
	reg(DRV_FEATURES, 1); /* VERSION_1 */
	reg(STATUS, 1 | 2 | 8);
	if ((get(STATUS) & 8) == 0) return;
	reg(QUEUE_SEL, 1);
	if (get(QUEUE_NUM_MAX) < QSIZE) return;
	reg(QUEUE_NUM, QSIZE);
	reg(QUEUE_DESC, (u32)(u64)desc);
	reg(QUEUE_DRIVER, (u32)(u64)avail);
	reg(QUEUE_DEVICE, (u32)(u64)used);
	reg(QUEUE_READY, 1);
	reg(STATUS, 1 | 2 | 8 | 4);
	ready = 1;
}

/* One buffer per call: up to 255 bytes of `s` (longer strings go out in pieces). */
static void send(const char *s, u32 n) {
	u16 slot = next_avail % QSIZE;
	char *b = buffers + slot * 0x100;
	for (u32 i = 0; i < n; i++) b[i] = s[i];
	desc[slot].addr = (u64)b;
	desc[slot].len = n;
	desc[slot].flags = 0;
	desc[slot].next = 0;
	avail->ring[slot] = slot;
	barrier();
	avail->idx = ++next_avail;
	barrier();
	reg(QUEUE_NOTIFY, 1);
	u32 isr = get(INT_STATUS);
	if (isr) reg(INT_ACK, isr);
}

void puts(const char *s) {
	if (!ready) return;
	u32 n = 0;
	while (s[n]) {
		n++;
		if (n == 255) {
			send(s, n);
			s += n;
			n = 0;
		}
	}
	if (n) send(s, n);
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
