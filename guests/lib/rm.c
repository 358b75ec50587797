#include "rm.h"
#include "fdt.h"
#include "gic.h"

#define PACKET 240
#define HEADER 8
#define CHUNK (PACKET - HEADER)
#define TYPE_CONTINUATION 0
#define TYPE_REQUEST 1
#define TYPE_REPLY 2
#define TYPE_NOTIFICATION 3

static struct rm_channel ch;
static int up;
static u16 next_seq;

void put_le(u8 *b, u32 at, u64 v, u32 n) {
	for (u32 i = 0; i < n; i++) b[at + i] = (u8)(v >> (8 * i));
}
u64 get_le(const u8 *b, u32 at, u32 n) {
	u64 v = 0;
	for (u32 i = 0; i < n; i++) v |= (u64)b[at + i] << (8 * i);
	return v;
}

/* Packets the receive VIRQ's handler drained, waiting to be reassembled (a ring; full: the newest is dropped). */
#define SLOTS 16
static struct { u32 len; u8 data[PACKET]; } ring[SLOTS];
static volatile u32 ring_head, ring_tail;
static u8 rx_buf[PACKET] __attribute__((aligned(8)));

/* The receive VIRQ: drain the RM->guest queue (msgqueue_receive until EMPTY), as Linux's handler does. */
static void rm_irq(u32 intid) {
	(void)intid;
	for (int i = 0; i < 64; i++) {
		struct hvret r = gunyah_msgqueue_receive(ch.rx, rx_buf, PACKET);
		if (r.x0 != 0) return;
		if (ring_head - ring_tail < SLOTS && r.x1 <= PACKET) {
			u32 slot = ring_head % SLOTS;
			ring[slot].len = (u32)r.x1;
			memcpy(ring[slot].data, rx_buf, r.x1);
			ring_head++;
		}
	}
}

int rm_init(const void *dtb, struct rm_channel *out) {
	int node = fdt_find_compatible(dtb, "gunyah-resource-manager");
	if (node < 0) return 0;
	u32 reg_len = 0, irq_len = 0;
	const u8 *reg = fdt_prop(dtb, node, "reg", &reg_len);
	const u8 *irq = fdt_prop(dtb, node, "interrupts", &irq_len);
	if (reg == 0 || reg_len < 16 || irq == 0 || irq_len < 12 || irq_len % 12 != 0) return 0;
	ch.tx = fdt64(reg);
	ch.rx = fdt64(reg + 8);
	/* The last entry is the receive VIRQ (GIC cells: type 0 = SPI, number - 32, flags). */
	const u8 *rx = irq + irq_len - 12;
	if (fdt32(rx) != 0) return 0;
	ch.virq = fdt32(rx + 4) + 32;
	irq_register(ch.virq, rm_irq);
	gic_enable_spi(ch.virq);
	up = 1;
	if (out) *out = ch;
	return 1;
}

/* The message being reassembled, and the last whole one. */
static struct { u32 type, seq, msg_id, frags, got, len; u8 payload[RM_MSG_MAX]; } msg;

/* Takes packets off the ring until a message is whole (1) or the ring is empty (0). */
static int next_message(void) {
	while (ring_tail != ring_head) {
		u8 *p = ring[ring_tail % SLOTS].data;
		u32 len = ring[ring_tail % SLOTS].len;
		ring_tail++;
		if (len < HEADER || p[0] != 0x21) continue; /* Linux drops what is not api 1 / 2 header words */
		u32 type = p[1] & 3, frags = p[1] >> 2, seq = (u32)get_le(p, 2, 2), id = (u32)get_le(p, 4, 4);
		if (type != TYPE_CONTINUATION) {
			msg.type = type, msg.seq = seq, msg.msg_id = id, msg.frags = frags, msg.got = 0, msg.len = 0;
		} else if (msg.msg_id != id || msg.frags != frags || msg.got >= msg.frags) {
			continue;
		} else {
			msg.got++;
		}
		u32 n = len - HEADER;
		if (msg.len + n > RM_MSG_MAX) n = RM_MSG_MAX - msg.len;
		memcpy(msg.payload + msg.len, p + HEADER, n);
		msg.len += n;
		if (msg.got == msg.frags) return 1;
	}
	return 0;
}

/* Notifications that arrived while waiting for something else: kept (a few), in order. */
#define NOTES 4
static struct { u32 msg_id, len; u8 payload[RM_MSG_MAX]; } notes[NOTES];
static u32 notes_n;

static void keep_notification(void) {
	if (notes_n == NOTES) return;
	notes[notes_n].msg_id = msg.msg_id;
	notes[notes_n].len = msg.len;
	memcpy(notes[notes_n].payload, msg.payload, msg.len);
	notes_n++;
}

/* A whole message arrived (WFI until the receive VIRQ brings one: lib/gic.c wait_until). */
static int wait_message(void) { return wait_until(next_message, 100000); }

static u8 packet[PACKET] __attribute__((aligned(8)));

u32 rm_call(u32 msg_id, const void *req, u32 len, u8 *data, u32 *data_len) {
	if (!up || len > RM_MSG_MAX) return 0xffffffffu;
	u16 seq = ++next_seq;
	u32 frags = len == 0 ? 0 : (len - 1) / CHUNK;
	for (u32 f = 0; f <= frags; f++) {
		u32 off = f * CHUNK, n = len - off < CHUNK ? len - off : CHUNK;
		packet[0] = 0x21;
		packet[1] = (u8)((f == 0 ? TYPE_REQUEST : TYPE_CONTINUATION) | (frags << 2));
		put_le(packet, 2, seq, 2);
		put_le(packet, 4, msg_id, 4);
		memcpy(packet + HEADER, (const u8 *)req + off, n);
		struct hvret r = gunyah_msgqueue_send(ch.tx, HEADER + n, packet, f == frags ? GUNYAH_MSGQ_PUSH : 0);
		if (r.x0 != 0) return 0xffffffffu;
	}
	while (wait_message()) {
		if (msg.type == TYPE_NOTIFICATION) {
			keep_notification();
			continue;
		}
		if (msg.type != TYPE_REPLY || msg.seq != seq || msg.msg_id != msg_id || msg.len < 4) continue;
		u32 n = msg.len - 4;
		if (data) memcpy(data, msg.payload + 4, n);
		if (data_len) *data_len = n;
		return (u32)get_le(msg.payload, 0, 4);
	}
	return 0xffffffffu;
}

u32 rm_wait_notification(u32 msg_id, u8 *payload, u32 max) {
	for (u32 i = 0; i < notes_n; i++) {
		if (notes[i].msg_id != msg_id) continue;
		u32 n = notes[i].len < max ? notes[i].len : max;
		memcpy(payload, notes[i].payload, n);
		for (u32 k = i + 1; k < notes_n; k++) notes[k - 1] = notes[k];
		notes_n--;
		return n;
	}
	while (wait_message()) {
		if (msg.type != TYPE_NOTIFICATION || msg.msg_id != msg_id) continue;
		u32 n = msg.len < max ? msg.len : max;
		memcpy(payload, msg.payload, n);
		return n;
	}
	return 0;
}
