/*
 * The Linux-like guest: what a Linux kernel does on a Gunyah secondary VM, in the order it does it
 * (docs/guests.md): the GICv3 bring-up with its own vectors and IRQ handler, the virtual timer and
 * its interrupt, the virtio-mmio probe of the block and console devices, block I/O completed by
 * interrupts (write a sector, read it back, compare), the RM channel from the device tree the RM
 * wrote, a parcel the host lends it (the MEM_SHARED notification, MEM_ACCEPT, use, MEM_RELEASE,
 * MEM_NOTIFY RELEASED), and PSCI SYSTEM_OFF.
 */
#include "../lib/hv.h"
#include "../lib/gic.h"
#include "../lib/virtio.h"
#include "../lib/rm.h"

#define die(why) guest_fail("linux-like", why)



static void timer_test(void) {
	u64 freq = counter_freq(), t0 = counter_now();
	u64 ticks = freq / 10000; /* 100 us */
	timer_arm(ticks);
	if (!wait_until(timer_fired, 1000)) die("the virtual timer never fired");
	u64 t1 = counter_now();
	puts("linux-like: timer: CNTFRQ ");
	put_dec(freq);
	puts(" Hz, PPI 27 after ");
	put_dec(t1 - t0);
	puts(" ticks (armed for ");
	put_dec(ticks);
	puts(")\n");
}

static u8 sector_out[512], sector_in[512];

static void block_test(void) {
	if (!blk_init()) die("no virtio-blk at 0x0a000000");
	for (u32 i = 0; i < 512; i++) sector_out[i] = (u8)(i * 7 + 3);
	u8 w = blk_io(1, 7, sector_out);
	u8 r = blk_io(0, 7, 0);
	memcpy(sector_in, blk_data(), 512);
	int same = memcmp(sector_in, sector_out, 512) == 0;
	puts("linux-like: virtio-blk: wrote sector 7 (status ");
	put_dec(w);
	puts("), read it back (status ");
	put_dec(r);
	puts("): ");
	puts(same ? "data matches\n" : "DATA DIFFERS\n");
	if (!same || w != 0 || r != 0) die("block I/O");
}

static u8 note[RM_MSG_MAX], req[64], reply[RM_MSG_MAX];

/* The host lent us a parcel: accept it where the RM chooses, use it, give it back. */
static void borrow_test(void) {
	u32 n = rm_wait_notification(RM_NOTIFY_MEM_SHARED, note, sizeof note);
	if (n < 24) die("no MEM_SHARED notification");
	u32 handle = (u32)get_le(note, 0, 4), trans = note[5], owner = (u32)get_le(note, 8, 2), label = (u32)get_le(note, 12, 4);
	puts("linux-like: rm: MEM_SHARED handle ");
	put_hex(handle);
	puts(" from vm ");
	put_hex(owner);
	puts(trans == 1 ? " (lend)" : trans == 2 ? " (share)" : " (donate)");
	puts("\n");
	/* MEM_ACCEPT {handle, mem_type, trans_type, flags, res, label}, empty ACL, SGL (RM picks the IPA), attrs. */
	memset(req, 0, sizeof req);
	put_le(req, 0, handle, 4);
	req[5] = (u8)trans;
	req[6] = RM_MEM_ACCEPT_DONE;
	put_le(req, 8, label, 4);
	u32 len = 0;
	u32 err = rm_call(RM_MEM_ACCEPT, req, 24, reply, &len);
	if (err != 0 || len < 20 || get_le(reply, 0, 2) < 1) die("MEM_ACCEPT");
	u64 ipa = get_le(reply, 4, 8), size = get_le(reply, 12, 8);
	volatile u64 *p = (volatile u64 *)ipa;
	for (u64 i = 0; i < size / 8; i += 512) p[i] = 0x6c696e75782d6c6bul ^ i;
	int ok = 1;
	for (u64 i = 0; i < size / 8; i += 512) ok &= p[i] == (0x6c696e75782d6c6bul ^ i);
	puts("linux-like: rm: MEM_ACCEPT mapped ");
	put_dec(size / 1024);
	puts(" KiB at IPA ");
	put_hex(ipa);
	puts(ok ? ", wrote and read back every page\n" : ", READ BACK DIFFERS\n");
	memset(req, 0, sizeof req);
	put_le(req, 0, handle, 4);
	if (rm_call(RM_MEM_RELEASE, req, 8, reply, &len) != 0) die("MEM_RELEASE");
	req[4] = RM_MEM_NOTIFY_RELEASED;
	if (rm_call(RM_MEM_NOTIFY, req, 12, reply, &len) != 0) die("MEM_NOTIFY RELEASED");
	puts("linux-like: rm: MEM_RELEASE and MEM_NOTIFY(RELEASED) done\n");
	if (!ok) die("borrowed memory");
}

int main(u64 dtb) {
	console_init();
	puts("linux-like: booting on Gunyah, DT at ");
	put_hex(dtb);
	puts("\n");
	static const u32 spis[] = {33, 34};
	u32 typer = gic_init(spis, 2);
	virtio_irqs_register();
	irq_enable();
	puts("linux-like: GICv3: GICD_TYPER ");
	put_hex(typer);
	puts(", redistributor awake, CPU interface on, IRQs unmasked\n");
	timer_test();
	block_test();
	struct rm_channel ch;
	if (!rm_init((const void *)dtb, &ch)) die("no gunyah-resource-manager node in the device tree");
	puts("linux-like: rm: channel tx cap ");
	put_hex(ch.tx);
	puts(", rx cap ");
	put_hex(ch.rx);
	puts(", VIRQ ");
	put_dec(ch.virq);
	puts("\n");
	memset(req, 0, sizeof req);
	u32 len = 0;
	if (rm_call(RM_VM_GET_VMID, req, 0, reply, &len) != 0 || len < 2) die("VM_GET_VMID");
	puts("linux-like: rm: VM_GET_VMID -> ");
	put_hex(get_le(reply, 0, 2));
	puts("\n");
	borrow_test();
	puts("linux-like: ");
	put_dec(irq_count(~0u));
	puts(" interrupts taken (timer ");
	put_dec(irq_count(TIMER_PPI));
	puts(", virtio-blk ");
	put_dec(irq_count(33));
	puts(", console ");
	put_dec(irq_count(34));
	puts("); powering off\n");
	return 0;
}
