/* crc32c: CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), the
 * checksum of iSCSI, SCTP and ext4.
 *
 * Callers: the configuration store's records (vswitchd/db.c) and the
 * conntrack snapshot files (datapath/conntrack/ct-snapshot.c).  Both
 * keep checksums on disk, so the results here must never change.
 *
 * The value is the standard one (initial value ~0, final xor ~0), so
 * crc32c("123456789", 9) == 0xe3069283.  crc32c_extend() continues a
 * computation: crc32c_extend(crc32c(a, n), b, m) equals the CRC of the
 * concatenation of a and b, and crc32c_extend(0, p, n) == crc32c(p, n).
 *
 * On x86-64 CPUs with SSE4.2 (checked once at run time) the crc32
 * instruction does the work, 8 bytes at a time; elsewhere a
 * slicing-by-8 table does.  Both give the same result.
 *
 * Threads: every function may be called from any thread at any time; the
 * tables are built once, on first use, under pthread_once. */
#ifndef TS_CRC32C_H
#define TS_CRC32C_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CRC of 'n' bytes at 'data' appended to data whose CRC is 'crc'
 * (0 to start). */
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n);

/* The CRC of 'n' bytes at 'data'. */
static inline uint32_t
crc32c(const void *data, size_t n)
{
    return crc32c_extend(0, data, n);
}

/* crc32c_extend() by the table only, whatever the CPU: the portable path,
 * exposed so that tests can check the hardware one against it. */
uint32_t crc32c_extend_table(uint32_t crc, const void *data, size_t n);

/* Whether crc32c_extend() uses the CPU's crc32 instruction. */
bool crc32c_hw_available(void);

#endif /* lib/crc32c.h */
