/* green_preempt_trampoline: the second half of a preemption (src/preempt.cpp).
 *
 *   void green_preempt_trampoline(void* frame [rdi], void* uc [rsi], int task_errno [edx]);
 *
 * The timer's signal handler runs on the worker's signal stack. To preempt,
 * it copies the kernel's signal frame (every register of the interrupted
 * task: general, flags, x87/SSE/AVX state, signal mask) onto the task's own
 * stack, below the red zone, and jumps here with frame = the copy. From here
 * on we are on the task's stack, so the task can be switched out and resumed
 * on any worker. When green_preempt_switch returns, the task runs again and
 * rt_sigreturn loads the copied frame: the task continues exactly where the
 * signal stopped it, on whichever thread this now is.
 *
 * The preempt-disable count is 1 on entry (the handler claimed it) and stays
 * 1 until the instruction before the syscall: the handler never preempts
 * code between green_preempt_begin and green_preempt_end, so a tick that
 * lands after the decrement is remembered, not taken.
 */
        .text
        .globl  green_preempt_begin, green_preempt_end, green_preempt_trampoline
        .type   green_preempt_trampoline, @function
        .p2align 4
green_preempt_begin:
green_preempt_trampoline:
        .cfi_startproc
        .cfi_undefined rip
        movq    %rdi, %rbx              /* callee-saved: the frame, for the sigreturn */
        leaq    -8(%rdi), %rsp          /* our stack: right below the frame */
        andq    $-16, %rsp              /* ABI alignment at the call */
        movq    %rsi, %rdi
        movl    %edx, %esi
        call    green_preempt_switch    /* returns when the task is resumed */
        leaq    8(%rbx), %rsp           /* rt_sigreturn reads the frame at rsp - 8 */
        decl    %fs:green_preempt_off@tpoff     /* back to the task's own nesting: 0 */
        movl    $15, %eax               /* SYS_rt_sigreturn */
        syscall
        ud2
        .cfi_endproc
        .size   green_preempt_trampoline, .-green_preempt_trampoline
green_preempt_end:

        .section .note.GNU-stack,"",@progbits
