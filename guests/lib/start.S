/*
 * Entry and exception vectors for hvsim's guest programs (EL1, MMU off).
 * The VM's boot vCPU starts here with x0 = the device tree's address (arm64 boot protocol);
 * we keep it in x19 for main(). Every exception the program does not expect ends in
 * guest_exception(), which reports it on the console and powers the VM off.
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

/* Each vector saves x0-x3, x30 and calls the C handler with the vector's number. */
	.macro	entry, n
	.balign	0x80
	stp	x0, x1, [sp, #-48]!
	stp	x2, x3, [sp, #16]
	str	x30, [sp, #32]
	mov	x0, #\n
	bl	guest_vector
	ldr	x30, [sp, #32]
	ldp	x2, x3, [sp, #16]
	ldp	x0, x1, [sp], #48
	eret
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
