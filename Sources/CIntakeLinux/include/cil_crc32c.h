// CIntakeLinux: hardware CRC32C (SSE4.2) for IntakeStore. Stateless; any thread.
#ifndef C_INTAKE_CRC32C_H
#define C_INTAKE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// 1 if this CPU has the SSE4.2 `crc32` instruction (x86_64 only), else 0.
int cil_crc32c_hw_available(void);

/// Feeds `count` bytes into a running CRC32C value (already inverted: start from 0xFFFFFFFF,
/// xor the result with 0xFFFFFFFF). Call only when `cil_crc32c_hw_available()` returned 1.
uint32_t cil_crc32c_hw_update(uint32_t running, const void *bytes, size_t count);

#endif
