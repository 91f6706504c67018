/*
 * arm64 Image header and primary entry (Documentation/arm64/booting.rst).
 * Xen enters at offset 0 with x0 = DTB, MMU and caches off, DAIF masked.
 */
    .section .text.head, "ax"
    .global _start
_start:
    b       primary_entry           /* code0 */
    .long   0                       /* code1 */
    .quad   0                       /* text_offset */
    .quad   __image_size            /* image_size (incl. bss and stack) */
    .quad   0xa                     /* flags: LE, 4K pages, anywhere in RAM */
    .quad   0                       /* res2 */
    .quad   0                       /* res3 */
    .quad   0                       /* res4 */
    .ascii  "ARM\x64"               /* magic */
    .long   0                       /* res5 */

primary_entry:
    mrs     x22, cntvct_el0         /* the counter at the first instruction */
    mov     x19, x0                 /* DTB */
    msr     daifset, #0xf
    mov     x1, #(3 << 20)          /* CPACR_EL1.FPEN: no FP/SIMD traps */
    msr     cpacr_el1, x1
    isb
    adr     x20, _start             /* load address (linked at 0) */

    adrp    x1, __stack_top
    add     x1, x1, :lo12:__stack_top
    mov     sp, x1

    /* zero .bss */
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
1:  cmp     x1, x2
    b.hs    2f
    stp     xzr, xzr, [x1], #16
    b       1b

    /* keep x0 (the DTB) for aarch64_rt::boot, which reads it once */
2:  adrp    x1, BOOT_X0
    str     x19, [x1, :lo12:BOOT_X0]
    adrp    x1, ENTRY_COUNTER
    str     x22, [x1, :lo12:ENTRY_COUNTER]

    /* apply R_AARCH64_RELATIVE relocations: *(base + off) = base + addend */
    adrp    x1, __rela_start
    add     x1, x1, :lo12:__rela_start
    adrp    x2, __rela_end
    add     x2, x2, :lo12:__rela_end
    mov     x21, #0                 /* count of unknown relocation types */
3:  cmp     x1, x2
    b.hs    5f
    ldp     x3, x4, [x1], #16       /* r_offset, r_info */
    ldr     x5, [x1], #8            /* r_addend */
    cmp     w4, #1027               /* R_AARCH64_RELATIVE */
    b.ne    4f
    add     x5, x5, x20
    str     x5, [x20, x3]
    b       3b
4:  add     x21, x21, #1
    b       3b

    /*
     * Everything above was written with the MMU off (straight to memory):
     * invalidate the image's cache lines so no stale line shadows it once
     * caches are on.
     */
5:  mrs     x3, ctr_el0
    ubfx    x3, x3, #16, #4         /* DminLine: log2(words) */
    mov     x4, #4
    lsl     x4, x4, x3              /* line size in bytes */
    sub     x5, x4, #1
    mov     x1, x20
    bic     x1, x1, x5
    adrp    x2, __image_end
    add     x2, x2, :lo12:__image_end
6:  cmp     x1, x2
    b.hs    7f
    dc      ivac, x1
    add     x1, x1, x4
    b       6b
7:  dsb     sy

    adrp    x1, exception_vectors
    add     x1, x1, :lo12:exception_vectors
    msr     vbar_el1, x1
    isb

    mov     x0, x19
    mov     x1, x20
    mov     x2, x21
    bl      rust_start
8:  wfi
    b       8b

/*
 * Exception vectors. Each entry saves x0/x1, puts the kind in x1 and jumps
 * to the common path, which saves the full frame (struct TrapFrame) and
 * calls exception_handler(frame, kind); if it returns, the frame is
 * restored and we eret.
 */
    .equ    FRAME, 288

.macro VENTRY kind
    .balign 0x80
    sub     sp, sp, #FRAME
    stp     x0, x1, [sp, #0]
    mov     x1, #\kind
    b       exception_common
.endm

    .section .text.vectors, "ax"
    .balign 2048
    .global exception_vectors
exception_vectors:
    VENTRY 0x00     /* current EL, SP0: sync */
    VENTRY 0x01     /* irq */
    VENTRY 0x02     /* fiq */
    VENTRY 0x03     /* serror */
    VENTRY 0x10     /* current EL, SPx: sync */
    VENTRY 0x11
    VENTRY 0x12
    VENTRY 0x13
    VENTRY 0x20     /* lower EL, aarch64 */
    VENTRY 0x21
    VENTRY 0x22
    VENTRY 0x23
    VENTRY 0x30     /* lower EL, aarch32 */
    VENTRY 0x31
    VENTRY 0x32
    VENTRY 0x33

exception_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    add     x2, sp, #FRAME
    stp     x30, x2, [sp, #240]     /* x30, interrupted sp */
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [sp, #256]
    mrs     x2, esr_el1
    mrs     x3, far_el1
    stp     x2, x3, [sp, #272]
    mov     x0, sp
    bl      exception_handler
    ldp     x2, x3, [sp, #256]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    ldr     x30, [sp, #240]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #FRAME
    eret
