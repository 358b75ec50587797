#include "hv.h"

#define CLOBBERS_X5 "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory"
#define CLOBBERS "x4", CLOBBERS_X5

struct hvret gunyah_identify(void) {
	register u64 x0 __asm__("x0"), x1 __asm__("x1"), x2 __asm__("x2"), x3 __asm__("x3");
	__asm__ volatile("hvc #0x6000" : "=r"(x0), "=r"(x1), "=r"(x2), "=r"(x3) : : CLOBBERS);
	struct hvret r = {x0, x1, x2, x3};
	return r;
}

/* X4 is res0: Gunyah refuses a non-zero one with ARGUMENT_INVALID (GH:hyp/ipc/msgqueue/msgqueue.hvc). */
struct hvret gunyah_msgqueue_send(u64 cap, u64 size, const void *data, u64 flags) {
	register u64 x0 __asm__("x0") = cap, x1 __asm__("x1") = size, x2 __asm__("x2") = (u64)data, x3 __asm__("x3") = flags, x4 __asm__("x4") = 0;
	__asm__ volatile("hvc #0x601b" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4) : : CLOBBERS_X5);
	struct hvret r = {x0, x1, x2, x3};
	return r;
}

struct hvret gunyah_msgqueue_receive(u64 cap, void *buf, u64 size) {
	register u64 x0 __asm__("x0") = cap, x1 __asm__("x1") = (u64)buf, x2 __asm__("x2") = size, x3 __asm__("x3") = 0;
	__asm__ volatile("hvc #0x601c" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : CLOBBERS);
	struct hvret r = {x0, x1, x2, x3};
	return r;
}

u64 smccc(u64 fid, u64 a1, u64 a2, u64 a3) {
	register u64 x0 __asm__("x0") = fid, x1 __asm__("x1") = a1, x2 __asm__("x2") = a2, x3 __asm__("x3") = a3;
	__asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : CLOBBERS);
	return x0;
}

void psci_system_off(void) {
	smccc(PSCI_SYSTEM_OFF, 0, 0, 0);
	for (;;) wfi();
}

void psci_system_reset(void) {
	smccc(PSCI_SYSTEM_RESET, 0, 0, 0);
	for (;;) wfi();
}

void guest_fail(const char *who, const char *why) {
	puts(who);
	puts(": FAILED: ");
	puts(why);
	puts("\n");
	psci_system_off();
}

/* A guest without interrupt handling never unmasks IRQs; if one comes anyway, it is unexpected. */
__attribute__((weak)) void irq_handler(void) { guest_exception(16); }

/* Vector 5 (IRQ, current EL with SP_EL1) goes to the guest's handler; anything else: say which and where, power off. */
void guest_exception(u64 n) {
	if (n == 5) {
		irq_handler();
		return;
	}
	u64 esr, elr, far;
	__asm__ volatile("mrs %0, esr_el1; mrs %1, elr_el1; mrs %2, far_el1" : "=r"(esr), "=r"(elr), "=r"(far));
	puts("guest: unexpected exception, vector ");
	put_dec(n);
	puts(" esr ");
	put_hex(esr);
	puts(" elr ");
	put_hex(elr);
	puts(" far ");
	put_hex(far);
	puts("\n");
	psci_system_off();
}
