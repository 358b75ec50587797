/*
 * The hypervisor and platform interfaces hvsim's guests use (docs/guests.md): Gunyah hypercalls
 * (HVC #0x6000+N), SMCCC/PSCI (HVC #0), the GICv3 CPU interface and distributor, the virtual timer,
 * virtio-mmio devices at crosvm's fixed addresses, and the RM RPC over the message queues the RM's
 * device tree names.
 */
#ifndef HVSIM_GUEST_HV_H
#define HVSIM_GUEST_HV_H
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef long s64;

struct hvret { u64 x0, x1, x2, x3; };

/* hypervisor_identify (0x00): X0 = hyp_api_info, X1-X3 = API flags (reference §1.3). */
struct hvret gunyah_identify(void);
/* msgqueue_send (0x1B): X0 error, X1 not_full; msgqueue_receive (0x1C): X0 error, X1 size, X2 not_empty (reference §2.9). */
struct hvret gunyah_msgqueue_send(u64 cap, u64 size, const void *data, u64 flags);
struct hvret gunyah_msgqueue_receive(u64 cap, void *buf, u64 size);
#define GUNYAH_MSGQ_PUSH 1ul
#define GUNYAH_ERROR_MSGQUEUE_EMPTY 60ul
/* An SMCCC fast call through HVC #0: function ID in W0, arguments in X1-X3 (PSCI, Arm DEN0022). */
u64 smccc(u64 fid, u64 a1, u64 a2, u64 a3);
void psci_system_off(void) __attribute__((noreturn));
void psci_system_reset(void) __attribute__((noreturn));
/* "<who>: FAILED: <why>" on the console, then power off. */
void guest_fail(const char *who, const char *why) __attribute__((noreturn));

#define PSCI_VERSION 0x84000000ul
#define PSCI_SYSTEM_OFF 0x84000008ul
#define PSCI_SYSTEM_RESET 0x84000009ul

static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline void barrier(void) { __asm__ volatile("dsb sy" ::: "memory"); }
static inline void wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("msr daifclr, #2" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("msr daifset, #2" ::: "memory"); }

/* Freestanding C still needs these (the compiler emits calls to them): lib/string.c. */
void *memcpy(void *d, const void *s, u64 n);
void *memset(void *d, int c, u64 n);
int memcmp(const void *a, const void *b, u64 n);
u64 strlen(const char *s);

/* Console output on the virtio-console transmit queue (lib/virtio.c). */
void console_init(void);
void puts(const char *s);
void put_hex(u64 v);
void put_dec(u64 v);

/*
 * Exceptions (lib/start.S saves the caller-saved registers and calls guest_exception with the
 * vector's number, 0..15). An IRQ taken at EL1h (vector 5) goes to irq_handler(), which a guest
 * defines (lib/gic.c: acknowledge, dispatch, EOI); anything else is reported and powers off.
 */
void guest_exception(u64 vector);
void irq_handler(void);
#endif
