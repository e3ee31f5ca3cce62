/* Startup for QEMU's mps2-an386 board (Cortex-M4F): vector table, .data and
   .bss set-up, FPU on, newlib's semihosting for stdio, then main().
   Any fault ends the emulation with exit status 3 instead of hanging. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern void initialise_monitor_handles(void);
extern int main(void);

void reset_handler(void);
void fault_handler(void);
void _init(void);
void _fini(void);

/* what crti.o would provide: exit() runs the (empty) fini hooks */
void _init(void) {}
void _fini(void) {}

__attribute__((section(".isr_vector"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))&_estack, reset_handler,
    fault_handler, fault_handler, fault_handler, fault_handler, fault_handler,
};

void fault_handler(void)
{
    _Exit(3);
}

void reset_handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20; /* CPACR: CP10, CP11 full access */
    __asm volatile("dsb\n\tisb");
    initialise_monitor_handles();
    exit(main());
}
