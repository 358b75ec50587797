#include "gic.h"

#define GICD_BASE 0x08000000ul
#define GICR_BASE 0x080a0000ul
#define GICR_SGI (GICR_BASE + 0x10000ul)
#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_ISENABLER 0x0100
#define GICD_ICENABLER 0x0180
#define GICD_IPRIORITYR 0x0400
#define GICR_WAKER 0x0014
#define GICR_ISENABLER0 0x0100
#define GICR_IPRIORITYR 0x0400
#define CTLR_ARE_NS_GRP1 0x12	/* ARE_NS | EnableGrp1: Linux's single-security-state setting */
#define WAKER_PROCESSOR_SLEEP 0x2
#define WAKER_CHILDREN_ASLEEP 0x4
#define DEFAULT_PRIORITY 0xa0	/* GICD_INT_DEF_PRI */

#define MAX_HANDLERS 8
static struct { u32 intid; irq_fn fn; } handlers[MAX_HANDLERS];
static u64 counts[64];
static u64 total;
static volatile int fired;

static void set_priority(u64 frame, u32 intid) {
	u64 a = frame + GICD_IPRIORITYR + (intid & ~3u);
	u32 v = mmio_read32(a);
	v &= ~(0xffu << (8 * (intid & 3)));
	mmio_write32(a, v | ((u32)DEFAULT_PRIORITY << (8 * (intid & 3))));
}

void gic_enable_spi(u32 intid) {
	set_priority(GICD_BASE, intid);
	mmio_write32(GICD_BASE + GICD_ISENABLER + 4 * (intid / 32), 1u << (intid % 32));
}

u32 gic_init(const u32 *spis, int n) {
	u32 typer = mmio_read32(GICD_BASE + GICD_TYPER);
	/* gic_dist_init: every SPI off until a driver asks for it (the hypervisor may have left some enabled). */
	u32 lines = ((typer & 0x1f) + 1) * 32;
	for (u32 i = 32; i < lines; i += 32) mmio_write32(GICD_BASE + GICD_ICENABLER + i / 8, 0xffffffffu);
	mmio_write32(GICD_BASE + GICD_CTLR, CTLR_ARE_NS_GRP1);
	/* Wake the redistributor: ProcessorSleep = 0, then wait for ChildrenAsleep = 0. */
	mmio_write32(GICR_BASE + GICR_WAKER, mmio_read32(GICR_BASE + GICR_WAKER) & ~WAKER_PROCESSOR_SLEEP);
	for (int i = 0; i < 100 && (mmio_read32(GICR_BASE + GICR_WAKER) & WAKER_CHILDREN_ASLEEP); i++) {}
	for (int i = 0; i < n; i++) gic_enable_spi(spis[i]);
	set_priority(GICR_SGI, TIMER_PPI);
	mmio_write32(GICR_SGI + GICR_ISENABLER0, 1u << TIMER_PPI);
	/* The CPU interface: system registers on, every priority unmasked, one group-1 preemption level, group 1 on. */
	__asm__ volatile("msr icc_sre_el1, %0; isb" : : "r"(7ul));
	__asm__ volatile("msr icc_pmr_el1, %0" : : "r"(0xf0ul));
	__asm__ volatile("msr icc_bpr1_el1, %0" : : "r"(0ul));
	__asm__ volatile("msr icc_igrpen1_el1, %0; isb" : : "r"(1ul));
	return typer;
}

void irq_register(u32 intid, irq_fn fn) {
	for (int i = 0; i < MAX_HANDLERS; i++) {
		if (handlers[i].fn == 0 || handlers[i].intid == intid) {
			handlers[i].intid = intid;
			handlers[i].fn = fn;
			return;
		}
	}
}

u64 irq_count(u32 intid) { return intid == ~0u ? total : intid < 64 ? counts[intid] : 0; }

static void timer_irq(u32 intid) {
	(void)intid;
	__asm__ volatile("msr cntv_ctl_el0, %0; isb" : : "r"(0ul)); /* disable: drops the level */
	fired = 1;
}

/* Vector 5: acknowledge (ICC_IAR1_EL1), run the handler, end of interrupt (ICC_EOIR1_EL1). */
void irq_handler(void) {
	for (int k = 0; k < 4; k++) {
		u64 iar;
		__asm__ volatile("mrs %0, icc_iar1_el1" : "=r"(iar));
		u32 intid = (u32)(iar & 0xffffff);
		if (intid == GIC_SPURIOUS) return;
		total++;
		if (intid < 64) counts[intid]++;
		if (intid == TIMER_PPI) timer_irq(intid);
		for (int i = 0; i < MAX_HANDLERS; i++)
			if (handlers[i].fn != 0 && handlers[i].intid == intid) handlers[i].fn(intid);
		__asm__ volatile("msr icc_eoir1_el1, %0; isb" : : "r"((u64)intid));
	}
}

u64 counter_now(void) {
	u64 v;
	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
}

u64 counter_freq(void) {
	u64 v;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
	return v;
}

void timer_arm(u64 ticks) {
	fired = 0;
	__asm__ volatile("msr cntv_tval_el0, %0; msr cntv_ctl_el0, %1; isb" : : "r"(ticks), "r"(1ul));
}

int timer_fired(void) { return fired; }

int wait_until(int (*done)(void), int tries) {
	for (int i = 0; i < tries; i++) {
		irq_disable();
		if (done()) {
			irq_enable();
			return 1;
		}
		wfi();
		irq_enable();
	}
	return 0;
}
