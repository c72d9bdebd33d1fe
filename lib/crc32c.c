/* crc32c.c: CRC-32C with the SSE4.2 instruction or a table (see
 * crc32c.h). */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

/* Slicing-by-8 over the reflected polynomial: crc32c_table[0] is the
 * classic byte table; crc32c_table[t][i] is the CRC of byte i followed by
 * t zero bytes, so that 8 lookups advance the CRC by 8 bytes. */
static uint32_t crc32c_table[8][256];
static bool crc32c_use_hw;
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC32C_HAVE_HW 1

__attribute__((target("sse4.2")))
static uint32_t
crc32c_extend_hw(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = ~crc;

    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        n -= 8;
    }
    while (n--) {
        c = __builtin_ia32_crc32qi((uint32_t) c, *p++);
    }
    return ~(uint32_t) c;
}
#endif

static void
crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        }
        crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) {
            uint32_t c = crc32c_table[t - 1][i];
            crc32c_table[t][i] = (c >> 8) ^ crc32c_table[0][c & 0xff];
        }
    }
#ifdef CRC32C_HAVE_HW
    crc32c_use_hw = __builtin_cpu_supports("sse4.2");
#endif
}

uint32_t
crc32c_extend_table(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;

    pthread_once(&crc32c_once, crc32c_init);
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = (p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
                       | (uint32_t) p[3] << 24) ^ crc;
        crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff]
              ^ crc32c_table[5][(lo >> 16) & 0xff]
              ^ crc32c_table[4][lo >> 24]
              ^ crc32c_table[3][p[4]] ^ crc32c_table[2][p[5]]
              ^ crc32c_table[1][p[6]] ^ crc32c_table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--) {
        crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
    }
    return ~crc;
}

uint32_t
crc32c_extend(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc32c_once, crc32c_init);
#ifdef CRC32C_HAVE_HW
    if (crc32c_use_hw) {
        return crc32c_extend_hw(crc, data, n);
    }
#endif
    return crc32c_extend_table(crc, data, n);
}

bool
crc32c_hw_available(void)
{
    pthread_once(&crc32c_once, crc32c_init);
    return crc32c_use_hw;
}
