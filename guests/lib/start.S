/*
 * Entry and exception vectors for hvsim's guest programs (EL1, MMU off).
 * The VM's boot vCPU starts here with x0 = the device tree's address (arm64 boot protocol);
 * we keep it in x19 for main(). Every vector saves the registers a C function may clobber
 * (x0-x18, x29, x30), calls guest_exception(vector) and returns with ERET: lib/hv.c sends an
 * IRQ to irq_handler() and reports anything else.
 */
	.file	"start.S"
	.section .text.start, "ax"
	.global _start
_start:
	mov	x19, x0
	adrp	x1, __stack_top
	add	x1, x1, :lo12:__stack_top
	mov	sp, x1
	adrp	x1, vectors
	add	x1, x1, :lo12:vectors
	msr	vbar_el1, x1
	isb
	/* Clear .bss (the image region holds whatever the VMM left there). */
	adrp	x1, __bss_start
	add	x1, x1, :lo12:__bss_start
	adrp	x2, __bss_end
	add	x2, x2, :lo12:__bss_end
1:	cmp	x1, x2
	b.hs	2f
	str	xzr, [x1], #8
	b	1b
2:	mov	x0, x19
	bl	main
	bl	psci_system_off
3:	wfi
	b	3b

/* Each vector saves x0/x1, puts its number in x0 and joins the common path. */
	.macro	entry, n
	.balign	0x80
	sub	sp, sp, #176
	stp	x0, x1, [sp]
	mov	x0, #\n
	b	exception_common
	.endm

	.section .text.vectors, "ax"
	.balign	0x800
	.global vectors
vectors:
	entry 0
	entry 1
	entry 2
	entry 3
	entry 4
	entry 5
	entry 6
	entry 7
	entry 8
	entry 9
	entry 10
	entry 11
	entry 12
	entry 13
	entry 14
	entry 15

exception_common:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x29, [sp, #144]
	str	x30, [sp, #160]
	bl	guest_exception
	ldr	x30, [sp, #160]
	ldp	x18, x29, [sp, #144]
	ldp	x16, x17, [sp, #128]
	ldp	x14, x15, [sp, #112]
	ldp	x12, x13, [sp, #96]
	ldp	x10, x11, [sp, #80]
	ldp	x8, x9, [sp, #64]
	ldp	x6, x7, [sp, #48]
	ldp	x4, x5, [sp, #32]
	ldp	x2, x3, [sp, #16]
	ldp	x0, x1, [sp]
	add	sp, sp, #176
	eret
