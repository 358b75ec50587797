#include "hv.h"

struct hvret gunyah_identify(void) {
	register u64 x0 __asm__("x0"), x1 __asm__("x1"), x2 __asm__("x2"), x3 __asm__("x3");
	__asm__ volatile("hvc #0x6000" : "=r"(x0), "=r"(x1), "=r"(x2), "=r"(x3) : : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory");
	struct hvret r = {x0, x1, x2, x3};
	return r;
}

u64 smccc(u64 fid, u64 a1, u64 a2, u64 a3) {
	register u64 x0 __asm__("x0") = fid, x1 __asm__("x1") = a1, x2 __asm__("x2") = a2, x3 __asm__("x3") = a3;
	__asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory");
	return x0;
}

void psci_system_off(void) {
	smccc(PSCI_SYSTEM_OFF, 0, 0, 0);
	for (;;) __asm__ volatile("wfi");
}

void psci_system_reset(void) {
	smccc(PSCI_SYSTEM_RESET, 0, 0, 0);
	for (;;) __asm__ volatile("wfi");
}

/* An exception nobody expected: say which and where, then power off. */
void guest_vector(u64 n) {
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
