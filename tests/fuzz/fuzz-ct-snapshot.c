/* libFuzzer target for the conntrack snapshot reader
 * (datapath/conntrack/ct-snapshot.c).
 *
 * Random bytes almost never get past a snapshot's checksum, which the
 * unit tests already check at every byte offset.  This target tests what
 * comes after the checksum: the input becomes the record area of a file
 * with a valid header, trailer and CRC-32C, so the record and attribute
 * decoders, the tuple and NAT checks and the insertion see malformed
 * content as a buggy or future writer could produce it.  The first byte
 * picks the minor version (newer minors may carry unknown records).
 *
 * What it checks: no crash, no sanitizer report, and a load that fails
 * inserts nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conntrack.h"
#include "crc32c.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conntrack_config cfg;
    struct conntrack *ct;
    uint32_t n_conns = 0, n_exps = 0;
    size_t len;
    uint8_t *f;
    int err;

    if (size < 1 || size > 1 << 16) {
        return 0;
    }
    /* Count the records the way the reader walks them, so the trailer's
     * counts agree when the records are well framed. */
    for (size_t ofs = 1; ofs + 8 <= size; ) {
        uint16_t type = data[ofs] | data[ofs + 1] << 8;
        size_t blen = data[ofs + 4] | data[ofs + 5] << 8
                      | (size_t) data[ofs + 6] << 16
                      | (size_t) data[ofs + 7] << 24;
        ofs += 8;
        if (blen > size - ofs) {
            break;
        }
        n_conns += type == 1;
        n_exps += type == 2;
        ofs += blen;
    }

    len = 64 + (size - 1) + 28;
    f = calloc(1, len);
    memcpy(f, "TSWCTSNP", 8);
    put_le(f + 8, 1, 2);                /* major */
    put_le(f + 10, data[0] & 3, 2);     /* minor 0-3 */
    put_le(f + 12, 64, 4);              /* header length */
    /* Taken "now" (by the wall clock: no boot id), so that entries are
     * not all expired by the time they are loaded. */
    put_le(f + 24, (uint64_t) time(NULL) * 1000, 8);    /* wall ms */
    put_le(f + 32, 1000000, 8);         /* monotonic ms */
    memcpy(f + 64, data + 1, size - 1);
    uint8_t *t = f + len - 28;
    memcpy(t, "TSWCTEND", 8);
    put_le(t + 8, n_conns, 4);
    put_le(t + 12, n_exps, 4);
    put_le(t + 16, len, 8);
    put_le(t + 24, crc32c(f, len - 4), 4);

    conntrack_config_init(&cfg);
    cfg.max_conns = 256;
    ct = conntrack_create(&cfg);
    err = conntrack_snapshot_load_buf(ct, f, len, 1000000, NULL, NULL);
    if (err && conntrack_get_nconns(ct)) {
        abort();                        /* a refused file inserted some */
    }
    conntrack_destroy(ct);
    free(f);
    return 0;
}
