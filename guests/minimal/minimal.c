/*
 * The minimal guest: its own exception vectors (lib/start.S), a console line through
 * virtio-console, a Gunyah hypercall (hypervisor_identify), a PSCI call, and PSCI SYSTEM_OFF.
 */
#include "../lib/hv.h"

int main(u64 dtb) {
	console_init();
	puts("minimal: hello from real AArch64 code at EL1\n");
	struct hvret id = gunyah_identify();
	puts("minimal: hypervisor_identify api_info ");
	put_hex(id.x0);
	puts(", psci version ");
	put_hex(smccc(PSCI_VERSION, 0, 0, 0));
	puts(", dtb at ");
	put_hex(dtb);
	puts("\n");
	puts("minimal: powering off\n");
	return 0;
}
