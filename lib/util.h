/* util: allocation that aborts on failure, assertions, container and
 * arithmetic helpers shared by every layer.
 *
 * The control plane may abort on out-of-memory (xmalloc and friends); the
 * packet path never allocates and so never calls these. */
#ifndef TS_UTIL_H
#define TS_UTIL_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof (a) / sizeof (a)[0])
#define CONTAINER_OF(ptr, type, member) \
    ((type *) (void *) ((char *) (ptr) - offsetof(type, member)))
#define OBJECT_CONTAINING(ptr, obj, member) \
    ((__typeof__(obj)) (void *) ((char *) (ptr) - offsetof(__typeof__(*obj), member)))
#define ROUND_UP(x, y) (((x) + ((y) - 1)) / (y) * (y))
#define DIV_ROUND_UP(x, y) (((x) + ((y) - 1)) / (y))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define OVS_LIKELY(x) __builtin_expect(!!(x), 1)
#define OVS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TS_PRINTF(fmt, arg) __attribute__((format(printf, fmt, arg)))
#define TS_NORETURN __attribute__((noreturn))
#define TS_UNUSED __attribute__((unused))
#define TS_PACKED __attribute__((packed))
#define BUILD_ASSERT(expr) _Static_assert(expr, #expr)

/* Always-on assertion for internal invariants (never for bad input from
 * outside, which must be a clear error or a counted drop). */
#define ts_assert(cond)                                                  \
    do {                                                                 \
        if (OVS_UNLIKELY(!(cond))) {                                     \
            ts_assert_failure(__FILE__, __LINE__, #cond);                \
        }                                                                \
    } while (0)
void ts_assert_failure(const char *file, int line, const char *cond)
    TS_NORETURN;

/* Prints "PROGRAM: MESSAGE" (and ": strerror(-err)" when err != 0) to
 * stderr and exits with status 1. */
void ts_fatal(int err, const char *fmt, ...) TS_PRINTF(2, 3) TS_NORETURN;
void ts_set_program_name(const char *argv0);
const char *ts_program_name(void);

void *xmalloc(size_t);
void *xzalloc(size_t);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *, size_t);
void *xmemdup(const void *, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
/* Returns a newly allocated formatted string; the caller owns it. */
char *xasprintf(const char *fmt, ...) TS_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list);

/* Copies at most size-1 bytes and always terminates (size > 0). */
void ts_strlcpy(char *dst, const char *src, size_t size);

/* Parses a decimal or 0x-prefixed unsigned integer that must span all of
 * 's' and be <= max.  Returns true on success. */
bool str_to_u64(const char *s, uint64_t max, uint64_t *out);

/* Monotonic and wall clocks. */
long long time_msec(void);       /* CLOCK_MONOTONIC, milliseconds */
long long time_usec(void);       /* CLOCK_MONOTONIC, microseconds */
long long time_nsec(void);       /* CLOCK_MONOTONIC, nanoseconds */
long long time_wall_msec(void);  /* CLOCK_REALTIME, milliseconds */

static inline bool
is_pow2(uint64_t x)
{
    return x && !(x & (x - 1));
}

/* Loads and stores at any alignment (packet headers).  The value is not
 * byte-swapped. */
static inline uint16_t
get_unaligned_u16(const void *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof v);
    return v;
}

static inline void
put_unaligned_u16(void *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}

static inline uint32_t
get_unaligned_u32(const void *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof v);
    return v;
}

static inline void
put_unaligned_u32(void *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* The low 'n' bytes (1 to 8) of 'v' at 'p', least significant first, and
 * back: the on-disk byte order of the store and the conntrack snapshots,
 * whatever the host's. */
static inline void
put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = v >> (8 * i);
    }
}

static inline uint64_t
get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        v |= (uint64_t) p[i] << (8 * i);
    }
    return v;
}

#endif /* util.h */
