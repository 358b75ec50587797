/* The hypervisor interfaces guests use: Gunyah hypercalls (HVC #0x6000+N), SMCCC/PSCI (HVC #0). */
#ifndef HVSIM_GUEST_HV_H
#define HVSIM_GUEST_HV_H
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

struct hvret { u64 x0, x1, x2, x3; };

/* hypervisor_identify (0x00): X0 = hyp_api_info, X1-X3 = API flags (reference §1.3). */
struct hvret gunyah_identify(void);
/* An SMCCC fast call through HVC #0: function ID in W0, arguments in X1-X3 (PSCI, Arm DEN0022). */
u64 smccc(u64 fid, u64 a1, u64 a2, u64 a3);
void psci_system_off(void) __attribute__((noreturn));
void psci_system_reset(void) __attribute__((noreturn));

#define PSCI_VERSION 0x84000000ul
#define PSCI_SYSTEM_OFF 0x84000008ul
#define PSCI_SYSTEM_RESET 0x84000009ul

static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline void barrier(void) { __asm__ volatile("dsb sy" ::: "memory"); }

/* Console output on the virtio-console transmit queue (lib/virtio.c). */
void console_init(void);
void puts(const char *s);
void put_hex(u64 v);
void put_dec(u64 v);
#endif
