// CIntakeLinux: CRC32C (Castagnoli) with the SSE4.2 `crc32` instruction, for IntakeStore's
// record and snapshot checksums. Stateless; any thread. Swift cannot emit the instruction
// itself, and a C function compiled with a target attribute can, without raising the
// baseline of the whole build: callers check `cil_crc32c_hw_available()` once and otherwise
// use the table-driven Swift code, which gives identical results.
#include "cil_crc32c.h"

#if defined(__x86_64__)
#include <nmmintrin.h>

int cil_crc32c_hw_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

// One dependent chain of 8-byte steps (latency 3, about 8 GB/s at 3 GHz): fast enough that
// recovery's checksums cost a few milliseconds per 64 MiB segment, and simple to verify.
__attribute__((target("sse4.2")))
uint32_t cil_crc32c_hw_update(uint32_t running, const void *bytes, size_t count) {
    const unsigned char *p = (const unsigned char *)bytes;
    uint64_t crc = running;
    while (count > 0 && ((uintptr_t)p & 7) != 0) {
        crc = _mm_crc32_u8((uint32_t)crc, *p++);
        count--;
    }
    while (count >= 32) {
        uint64_t a, b, c, d;
        __builtin_memcpy(&a, p, 8);
        __builtin_memcpy(&b, p + 8, 8);
        __builtin_memcpy(&c, p + 16, 8);
        __builtin_memcpy(&d, p + 24, 8);
        crc = _mm_crc32_u64(crc, a);
        crc = _mm_crc32_u64(crc, b);
        crc = _mm_crc32_u64(crc, c);
        crc = _mm_crc32_u64(crc, d);
        p += 32;
        count -= 32;
    }
    while (count >= 8) {
        uint64_t a;
        __builtin_memcpy(&a, p, 8);
        crc = _mm_crc32_u64(crc, a);
        p += 8;
        count -= 8;
    }
    while (count > 0) {
        crc = _mm_crc32_u8((uint32_t)crc, *p++);
        count--;
    }
    return (uint32_t)crc;
}

#else

int cil_crc32c_hw_available(void) { return 0; }

uint32_t cil_crc32c_hw_update(uint32_t running, const void *bytes, size_t count) {
    (void)bytes;
    (void)count;
    return running;  // never called: cil_crc32c_hw_available() is 0
}

#endif
