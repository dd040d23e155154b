// Instruction-set detection and the forced level used by tests.
#include "CParityKernels.h"
#include "internal.h"
#include <stdatomic.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>

static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static parity_isa detect(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return PARITY_ISA_PORTABLE;
    int fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    if (!(fma && osxsave && avx)) return PARITY_ISA_PORTABLE;
    uint64_t xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) return PARITY_ISA_PORTABLE;  // XMM and YMM state saved by the OS
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return PARITY_ISA_PORTABLE;
    int avx2 = (ebx >> 5) & 1, avx512f = (ebx >> 16) & 1;
    if (!avx2) return PARITY_ISA_PORTABLE;
    // Opmask, ZMM0-15 upper halves and ZMM16-31 saved by the OS.
    if (avx512f && (xcr0 & 0xE0) == 0xE0) return PARITY_ISA_AVX512;
    return PARITY_ISA_AVX2;
}
#else
static parity_isa detect(void) { return PARITY_ISA_PORTABLE; }
#endif

static atomic_int detected = -1;
// Per thread, so that a test forcing one level never changes what concurrently running code uses.
static _Thread_local int forced = -1;

parity_isa parity_isa_detected(void) {
    int level = atomic_load_explicit(&detected, memory_order_relaxed);
    if (level < 0) {
        level = (int)detect();
        atomic_store_explicit(&detected, level, memory_order_relaxed);
    }
    return (parity_isa)level;
}

parity_isa parity_isa_active(void) {
    int best = (int)parity_isa_detected();
    int force = forced;
    return (parity_isa)(force >= 0 && force < best ? force : best);
}

void parity_isa_force(int level) {
    forced = level < 0 ? -1 : level;
}

int parity_isa_forced(void) { return forced; }
