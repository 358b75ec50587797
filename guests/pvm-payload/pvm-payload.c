/*
 * The protected-VM payload (docs/guests.md): the kernel pvmfw verifies (its AVB image is this
 * program's flat binary, signed at scenario load), boots and hands the DICE chain to. It reads the
 * handover pvmfw left in its reserved memory (CBOR {1: CDI_Attest, 2: CDI_Seal, 3: DICE chain}),
 * checks its shape and prints its size and digests, probes virtio and does block I/O with
 * interrupts, shares bounce-buffer pages with the host through its own RM channel (MEM_SHARE and
 * MEM_NOTIFY SHARED of memory the host donated to it), takes them back once the host has released
 * them (the MEM_RELEASED notification, then MEM_RECLAIM), and powers off.
 */
#include "../lib/hv.h"
#include "../lib/gic.h"
#include "../lib/virtio.h"
#include "../lib/rm.h"

/* pvmfw's scratch page: firmware IPA 0x7fc0_0000 + 2 MiB (docs/protected-vms.md, reference avf §2.11). */
#define HANDOVER ((const u8 *)0x7fe00000ul)
#define HANDOVER_MAX 0x1000u
/* The bounce-buffer candidates the host donated (memory node label 3 at 0x8120_0000); the pVM shares the first two pages. */
#define SWIOTLB 0x81200000ul
#define SWIOTLB_SHARED 0x2000ul
#define VMID_HLOS 3

#define die(why) guest_fail("pvm-payload", why)

/* CRC-32C with the CPU's CRC32CB instruction (ARMv8.0 CRC32, ID_AA64ISAR0_EL1.CRC32): the digest it prints. */
static u32 crc32c(const u8 *p, u32 n) {
	u32 c = 0xffffffffu;
	for (u32 i = 0; i < n; i++) __asm__(".arch_extension crc\n\tcrc32cb %w0, %w0, %w1" : "+r"(c) : "r"((u32)p[i]));
	return ~c;
}

/* RFC 8949 §3: the head of a data item at `p`: major type, argument, head length (0 if malformed). */
static u32 cbor_head(const u8 *p, u32 left, u32 *major, u64 *arg) {
	if (left < 1) return 0;
	*major = p[0] >> 5;
	u32 info = p[0] & 31, n = info < 24 ? 0 : info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : info == 27 ? 8 : 99;
	if (n == 99 || left < 1 + n) return 0;
	u64 v = info < 24 ? info : 0;
	for (u32 i = 0; i < n; i++) v = (v << 8) | p[1 + i];
	*arg = v;
	return 1 + n;
}

/* The length of the whole data item at `p` (0 if malformed or nested beyond 8 levels). */
static u32 cbor_size(const u8 *p, u32 left, int depth) {
	u32 major;
	u64 arg;
	u32 h = cbor_head(p, left, &major, &arg);
	if (h == 0 || depth > 8) return 0;
	if (major == 2 || major == 3) return arg <= left - h ? h + (u32)arg : 0;
	if (major == 0 || major == 1 || major == 7) return h;
	u64 items = major == 4 ? arg : major == 5 ? 2 * arg : 1; /* arrays, maps, one tagged item */
	u32 at = h;
	for (u64 i = 0; i < items; i++) {
		u32 n = cbor_size(p + at, left - at, depth + 1);
		if (n == 0) return 0;
		at += n;
	}
	return at;
}

static void read_handover(void) {
	const u8 *h = HANDOVER;
	/* AndroidDiceHandover: map(3) {1: bstr(32) CDI_Attest, 2: bstr(32) CDI_Seal, 3: DiceCertChain}. */
	if (h[0] != 0xa3 || h[1] != 0x01 || h[2] != 0x58 || h[3] != 32 || h[36] != 0x02 || h[37] != 0x58 || h[38] != 32 || h[71] != 0x03) die("no DICE handover at 0x7fe00000");
	u32 size = cbor_size(h, HANDOVER_MAX, 0);
	u32 major;
	u64 entries;
	u32 head = cbor_head(h + 72, HANDOVER_MAX - 72, &major, &entries);
	if (size == 0 || head == 0 || major != 4 || entries < 2) die("malformed DICE handover");
	/* The chain: the root public key, then one COSE_Sign1 certificate per layer; the last is pvmfw's for us. */
	u32 at = 72 + head, last = at, last_size = 0;
	for (u64 i = 0; i < entries; i++) {
		u32 n = cbor_size(h + at, HANDOVER_MAX - at, 0);
		last = at, last_size = n;
		at += n;
	}
	puts("pvm-payload: DICE handover at 0x7fe00000: ");
	put_dec(size);
	puts(" bytes of CBOR, chain of ");
	put_dec(entries);
	puts(" entries; crc32c CDI_Attest ");
	put_hex(crc32c(h + 4, 32));
	puts(", CDI_Seal ");
	put_hex(crc32c(h + 39, 32));
	puts(", our certificate (");
	put_dec(last_size);
	puts(" bytes) ");
	put_hex(crc32c(h + last, last_size));
	puts("\n");
}




static u8 sector[512];

static void block_io(void) {
	if (!blk_init()) die("no virtio-blk");
	u32 ok = 0;
	for (u32 k = 0; k < 4; k++) {
		for (u32 i = 0; i < 512; i++) sector[i] = (u8)(i ^ (k * 37));
		if (blk_io(1, 16 + k, sector) != 0 || blk_io(0, 16 + k, 0) != 0) die("block request failed");
		ok += memcmp(blk_data(), sector, 512) == 0;
	}
	puts("pvm-payload: virtio-blk: 4 sectors written and read back, ");
	put_dec(ok);
	puts(" of 4 match\n");
	if (ok != 4) die("block data");
}

static u8 req[64], reply[RM_MSG_MAX], note[RM_MSG_MAX];

/* MEM_SHARE {mem_type, res, flags, res, label}, ACL [{pVM RW}, {HLOS RW}], SGL [{ipa, size}], no attrs; returns the handle. */
static u32 share_bounce_buffers(u32 self) {
	memset(req, 0, sizeof req);
	put_le(req, 8, 2, 2);
	put_le(req, 12, self, 2), req[14] = 6;
	put_le(req, 16, VMID_HLOS, 2), req[18] = 6;
	put_le(req, 20, 1, 2);
	put_le(req, 24, SWIOTLB, 8);
	put_le(req, 32, SWIOTLB_SHARED, 8);
	u32 len = 0;
	if (rm_call(RM_MEM_SHARE, req, 44, reply, &len) != 0 || len < 4) die("MEM_SHARE");
	return (u32)get_le(reply, 0, 4);
}

static void bounce_buffers(void) {
	u32 len = 0;
	if (rm_call(RM_VM_GET_VMID, req, 0, reply, &len) != 0 || len < 2) die("VM_GET_VMID");
	u32 self = (u32)get_le(reply, 0, 2);
	const char text[] = "bounce buffer";
	memcpy((void *)SWIOTLB, text, sizeof text);
	u32 handle = share_bounce_buffers(self);
	/* MEM_NOTIFY {handle, flags SHARED, res, mem_info_tag}, then the VMIDs to tell: the host. */
	memset(req, 0, sizeof req);
	put_le(req, 0, handle, 4);
	req[4] = RM_MEM_NOTIFY_SHARED;
	put_le(req, 12, 1, 2);
	put_le(req, 16, VMID_HLOS, 2);
	if (rm_call(RM_MEM_NOTIFY, req, 20, reply, &len) != 0) die("MEM_NOTIFY SHARED");
	puts("pvm-payload: rm: vm ");
	put_hex(self);
	puts(" shared its bounce buffers (8 KiB at 0x81200000) with the host: handle ");
	put_hex(handle);
	puts("\n");
	block_io();
	/* The host gives them back (MEM_RELEASE, MEM_NOTIFY RELEASED): the RM tells us, we reclaim them. */
	u32 n = rm_wait_notification(RM_NOTIFY_MEM_RELEASED, note, sizeof note);
	if (n < 8 || get_le(note, 0, 4) != handle) die("no MEM_RELEASED for our bounce buffers");
	memset(req, 0, sizeof req);
	put_le(req, 0, handle, 4);
	if (rm_call(RM_MEM_RECLAIM, req, 8, reply, &len) != 0) die("MEM_RECLAIM");
	puts("pvm-payload: rm: the host released them (MEM_RELEASED from vm ");
	put_hex(get_le(note, 4, 2));
	puts("); MEM_RECLAIM done\n");
}

int main(u64 dtb) {
	console_init();
	puts("pvm-payload: pvmfw verified us and jumped here, DT at ");
	put_hex(dtb);
	puts("\n");
	read_handover();
	static const u32 spis[] = {33, 34};
	(void)gic_init(spis, 2);
	virtio_irqs_register();
	irq_enable();
	if (!rm_init((const void *)dtb, 0)) die("no gunyah-resource-manager node in the device tree");
	bounce_buffers();
	puts("pvm-payload: ");
	put_dec(irq_count(~0u));
	puts(" interrupts taken; powering off\n");
	return 0;
}
