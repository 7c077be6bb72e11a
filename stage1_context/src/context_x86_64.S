/* green_ctx_switch: the x86-64 System V context switch (see detail/context.hpp).
 *
 *   void green_ctx_switch(void** save_sp [rdi], void* load_sp [rsi]);
 *
 * Saves what a callee must preserve, and nothing else: rbx, rbp, r12-r15, the
 * stack pointer, and the *control* bits of MXCSR and the x87 control word. The
 * ABI leaves rax, rcx, rdx, rsi, rdi, r8-r11 and all vector registers
 * caller-saved, so the compiler has already spilled whatever it needs of them
 * at the call to us. MXCSR's status flags (bits 0-5) are not callee-saved, and
 * writing MXCSR (ldmxcsr) is a serializing, comparatively slow instruction
 * (about 70 ns on some CPUs; 1.5 ns here), so we reload it only when the
 * control bits (6-15: DAZ, masks, rounding, FZ) differ from the current ones.
 * The same for the x87 control word and fldcw. rax, rdx and r8 are scratch
 * (caller-saved, and not argument registers of the entry trampoline).
 *
 * Two tails, chosen once per process by green_ctx_reload_always (context.cpp
 * measures it at load time; 0, the compare, until then): where an ldmxcsr
 * that changes MXCSR costs no more than one that does not (AMD Zen), reloading
 * MXCSR every time is cheaper than reading back what stmxcsr just stored (that
 * load waits on a slow store: ~1 ns a switch); where a change is slow (~30 ns
 * on some CPUs), the compare skips it. The x87 word is compared in both (its
 * store forwards at once). Both give each context its own control words; the
 * reloading tail also gives it its own MXCSR status flags.
 *
 * Frame, from the saved sp upward (must match asm_backend::context_make):
 *   [mxcsr:4 | x87 cw:2 | pad:2] r15 r14 r13 r12 rbx rbp <return address>
 */

        .text
        // BEGIN SOLUTION
/* The frame all three switches push (and .Lrestore pops): the six
 * callee-saved registers, then 8 bytes for the control words. */
.macro  PUSH_FRAME
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
.endm
        // END SOLUTION

        .globl  green_ctx_switch
        .type   green_ctx_switch, @function
        .p2align 4
green_ctx_switch:
        .cfi_startproc
        // BEGIN SOLUTION
        PUSH_FRAME
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)            /* *save_sp = sp: the old context is complete */
        /* edx = the x87 control word we run with now. Each load below reads
         * exactly what one store wrote: an 8-byte load spanning both stores
         * could not be forwarded from the store buffer and would stall. */
        movzwl  4(%rsp), %edx
        cmpb    $0, green_ctx_reload_always(%rip)
        je      .Lcompare
        movq    %rsi, %rsp              /* now on the new context's stack */
        ldmxcsr (%rsp)
        xorw    4(%rsp), %dx            /* fldcw only if the x87 words differ */
        jnz     .Lreload_x87
.Lrestore:
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        /* pop + jmp rather than ret: the return stack predictor expects us to
         * return to our own caller, but we "return" into the other context's;
         * an indirect jump is predicted from its own history instead. */
        popq    %r8
        jmp     *%r8
.Lcompare:
        movl    (%rsp), %eax            /* eax = the MXCSR we run with now */
        movq    %rsi, %rsp              /* now on the new context's stack */
        /* Reload the control words only if their control bits differ from the
         * CPU's current ones (eax, edx). */
        xorl    (%rsp), %eax
        testl   $0xffc0, %eax           /* MXCSR control bits 6-15 */
        jnz     .Lreload_both
        xorw    4(%rsp), %dx            /* the whole x87 control word */
        jz      .Lrestore
.Lreload_both:
        ldmxcsr (%rsp)
.Lreload_x87:
        fldcw   4(%rsp)
        jmp     .Lrestore
        // STUB: ud2    /* never reached in a starter tree: context_switch stops first */
        // END SOLUTION
        .cfi_endproc
        .size   green_ctx_switch, .-green_ctx_switch

/* The scheduler's own two switches: a task to its loop, and the loop to a
 * task. The loop's code does not care which control words it runs with, so
 * it keeps none of its own: switching to it saves the task's words and loads
 * nothing; switching from it saves nothing and loads the task's. Same frame
 * as green_ctx_switch; the slot of a loop's words is left unwritten.
 * Dispatcher::enter/leave keep the thread's own words across the loop. */
        .globl  green_ctx_switch_to_loop
        .type   green_ctx_switch_to_loop, @function
        .p2align 4
green_ctx_switch_to_loop:
        .cfi_startproc
        // BEGIN SOLUTION
        PUSH_FRAME
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        jmp     .Lrestore
        // STUB: ud2    /* never reached in a starter tree: context_switch_to_loop stops first */
        // END SOLUTION
        .cfi_endproc
        .size   green_ctx_switch_to_loop, .-green_ctx_switch_to_loop

        .globl  green_ctx_switch_from_loop
        .type   green_ctx_switch_from_loop, @function
        .p2align 4
green_ctx_switch_from_loop:
        .cfi_startproc
        // BEGIN SOLUTION
        PUSH_FRAME
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        jmp     .Lrestore
        // STUB: ud2    /* never reached in a starter tree: context_switch_from_loop stops first */
        // END SOLUTION
        .cfi_endproc
        .size   green_ctx_switch_from_loop, .-green_ctx_switch_from_loop

/* green_ctx_trampoline: where a new context starts. context_make leaves entry in
 * r12 and its argument in r13, and rsp 16-byte aligned here, so the call below
 * enters entry with (rsp + 8) % 16 == 0 as the ABI requires. The CFI marks the
 * return address as undefined: debuggers and unwinders stop here cleanly. */
        .globl  green_ctx_trampoline
        .type   green_ctx_trampoline, @function
        .p2align 4
green_ctx_trampoline:
        .cfi_startproc
        .cfi_undefined rip
        // BEGIN SOLUTION
        movq    %r13, %rdi
        callq   *%r12
        /* entry returned: never fall off the stack */
        callq   _ZN5green6detail22context_entry_returnedEv@PLT
        ud2
        // STUB: ud2
        // END SOLUTION
        .cfi_endproc
        .size   green_ctx_trampoline, .-green_ctx_trampoline

/* Which tail green_ctx_switch takes (see its comment); context.cpp sets it. */
        .data
        .globl  green_ctx_reload_always
        .hidden green_ctx_reload_always
        .type   green_ctx_reload_always, @object
        .size   green_ctx_reload_always, 1
green_ctx_reload_always:
        .byte   0

        .section .note.GNU-stack,"",@progbits
