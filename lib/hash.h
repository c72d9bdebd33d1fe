/* hash: fast non-cryptographic hashing (murmur3-style mixing).
 *
 * Every function is deterministic for a given basis; callers that face
 * untrusted input (conntrack) pass a random basis. */
#ifndef TS_HASH_H
#define TS_HASH_H 1

#include <stddef.h>
#include <stdint.h>

static inline uint32_t
hash_rot(uint32_t x, int k)
{
    return (x << k) | (x >> (32 - k));
}

static inline uint32_t
hash_add(uint32_t hash, uint32_t data)
{
    data *= 0xcc9e2d51;
    data = hash_rot(data, 15);
    data *= 0x1b873593;
    hash ^= data;
    hash = hash_rot(hash, 13);
    return hash * 5 + 0xe6546b64;
}

static inline uint32_t
hash_add64(uint32_t hash, uint64_t data)
{
    return hash_add(hash_add(hash, (uint32_t) data), data >> 32);
}

static inline uint32_t
hash_finish(uint32_t hash, uint32_t final)
{
    hash ^= final;
    hash ^= hash >> 16;
    hash *= 0x85ebca6b;
    hash ^= hash >> 13;
    hash *= 0xc2b2ae35;
    hash ^= hash >> 16;
    return hash;
}

static inline uint32_t
hash_int(uint32_t x, uint32_t basis)
{
    return hash_finish(hash_add(basis, x), 4);
}

static inline uint32_t
hash_uint64(uint64_t x, uint32_t basis)
{
    return hash_finish(hash_add64(basis, x), 8);
}

/* Hashes 'n' bytes at 'p' (any alignment). */
uint32_t hash_bytes(const void *p, size_t n, uint32_t basis);
/* Hashes 'n_words' 64-bit words at 'p' (8-byte aligned). */
uint32_t hash_words64(const uint64_t *p, size_t n_words, uint32_t basis);
uint32_t hash_string(const char *s, uint32_t basis);

#endif /* hash.h */
