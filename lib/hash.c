/* hash: byte, word and string hashing built on hash.h's mixing steps. */
#include "hash.h"

#include <string.h>

uint32_t
hash_bytes(const void *p_, size_t n, uint32_t basis)
{
    const uint8_t *p = p_;
    size_t orig_n = n;
    uint32_t hash = basis;
    uint32_t tmp;

    while (n >= 4) {
        memcpy(&tmp, p, 4);
        hash = hash_add(hash, tmp);
        p += 4;
        n -= 4;
    }
    if (n) {
        tmp = 0;
        memcpy(&tmp, p, n);
        hash = hash_add(hash, tmp);
    }
    return hash_finish(hash, (uint32_t) orig_n);
}

uint32_t
hash_words64(const uint64_t *p, size_t n_words, uint32_t basis)
{
    uint32_t hash = basis;

    for (size_t i = 0; i < n_words; i++) {
        hash = hash_add64(hash, p[i]);
    }
    return hash_finish(hash, (uint32_t) (n_words * 8));
}

uint32_t
hash_string(const char *s, uint32_t basis)
{
    return hash_bytes(s, strlen(s), basis);
}
