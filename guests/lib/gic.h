/*
 * GICv3 as Linux's irq-gic-v3 driver brings it up (gic_dist_init, gic_cpu_init, gic_cpu_sys_reg_init),
 * at the platform's fixed frames (GICD 0x0800_0000, the boot vCPU's GICR 0x080a_0000, its SGI frame
 * +0x1_0000), and the virtual timer (PPI 27, CNTV_*). The distributor and redistributor are emulated
 * at EL2 by the hypervisor; the CPU interface is system registers.
 */
#ifndef HVSIM_GUEST_GIC_H
#define HVSIM_GUEST_GIC_H
#include "hv.h"

#define GIC_SPURIOUS 1023
#define TIMER_PPI 27

/* Returns GICD_TYPER. Enables the given SPIs (priority 0xa0, like Linux) and PPI 27. */
u32 gic_init(const u32 *spis, int n);
/* Enables one more SPI (a driver's request_irq). */
void gic_enable_spi(u32 intid);

/* A guest's interrupt handlers: irq_handler() (lib/gic.c) acknowledges, calls the one registered for the INTID, EOIs. */
typedef void (*irq_fn)(u32 intid);
void irq_register(u32 intid, irq_fn fn);
/* Interrupts taken so far, by INTID (small ones only) and in all. */
u64 irq_count(u32 intid);

/* Waits for `done()` as Linux does: IRQs masked while checking, WFI (it wakes on a pending interrupt even when masked), unmask to take it. 0 after `tries` WFIs. */
int wait_until(int (*done)(void), int tries);

/* The virtual timer: fires PPI 27 `ticks` counter ticks from now (CNTV_TVAL_EL0), handled by lib/gic.c. */
void timer_arm(u64 ticks);
int timer_fired(void);
u64 counter_now(void);
u64 counter_freq(void);
#endif
