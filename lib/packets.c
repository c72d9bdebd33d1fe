/* packets: address parsing and formatting. */
#include "packets.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "errors.h"

static int
hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : -1;
}

bool
eth_addr_from_string(const char *s, struct eth_addr *ea)
{
    for (int i = 0; i < ETH_ADDR_LEN; i++) {
        int hi = hexval((unsigned char) s[0]);
        int lo = hi < 0 ? -1 : hexval((unsigned char) s[1]);

        if (lo < 0) {
            return false;
        }
        ea->ea[i] = hi << 4 | lo;
        s += 2;
        if (i < ETH_ADDR_LEN - 1 && *s++ != ':') {
            return false;
        }
    }
    return *s == '\0';
}

uint32_t
ip_mask_from_plen(unsigned int plen)
{
    return plen >= 32 ? UINT32_MAX
           : plen == 0 ? 0 : htonl(~UINT32_C(0) << (32 - plen));
}

int
ip_mask_to_plen(uint32_t mask_be)
{
    uint32_t mask = ntohl(mask_be);
    uint32_t inv = ~mask;

    /* A CIDR mask's inverse is of the form 0...01...1. */
    if (inv & (inv + 1)) {
        return -1;
    }
    return mask ? 32 - __builtin_ctz(mask) : 0;
}

int
ip_parse(const char *s, uint32_t *ip)
{
    unsigned int b[4];
    uint32_t v = 0;
    const char *p = s;

    for (int i = 0; i < 4; i++) {
        int digits = 0;

        b[i] = 0;
        while (isdigit((unsigned char) *p) && digits < 4) {
            b[i] = b[i] * 10 + (*p++ - '0');
            digits++;
        }
        if (!digits || digits > 3 || b[i] > 255
            || (i < 3 && *p++ != '.')) {
            return -TS_ERR_SYNTAX;
        }
        v = (v << 8) | b[i];
    }
    if (*p) {
        return -TS_ERR_SYNTAX;
    }
    *ip = htonl(v);
    return 0;
}

int
ip_parse_cidr(const char *s, uint32_t *ip, unsigned int *plen)
{
    const char *slash = strchr(s, '/');
    char addr[IP_STRLEN];
    uint64_t n;
    uint32_t mask;
    int bits;

    if (!slash) {
        *plen = 32;
        return ip_parse(s, ip);
    }
    if ((size_t) (slash - s) >= sizeof addr) {
        return -TS_ERR_SYNTAX;
    }
    memcpy(addr, s, slash - s);
    addr[slash - s] = '\0';
    if (ip_parse(addr, ip)) {
        return -TS_ERR_SYNTAX;
    }
    if (strchr(slash + 1, '.')) {
        if (ip_parse(slash + 1, &mask) || (bits = ip_mask_to_plen(mask)) < 0) {
            return -TS_ERR_SYNTAX;
        }
        *plen = bits;
        return 0;
    }
    if (!isdigit((unsigned char) slash[1])
        || !str_to_u64(slash + 1, 32, &n)) {
        return -TS_ERR_SYNTAX;
    }
    *plen = n;
    return 0;
}

char *
ip_to_string(uint32_t ip, char buf[IP_STRLEN])
{
    snprintf(buf, IP_STRLEN, IP_FMT, IP_ARGS(ip));
    return buf;
}

void
ipv6_mask_from_plen(unsigned int plen, struct in6_addr *mask)
{
    memset(mask, 0, sizeof *mask);
    for (int i = 0; i < 16 && plen; i++) {
        unsigned int bits = MIN(plen, 8);

        mask->s6_addr[i] = 0xff << (8 - bits);
        plen -= bits;
    }
}

int
ipv6_mask_to_plen(const struct in6_addr *mask)
{
    int plen = 0;
    int i;

    for (i = 0; i < 16 && mask->s6_addr[i] == 0xff; i++) {
        plen += 8;
    }
    if (i < 16) {
        uint8_t b = mask->s6_addr[i];
        uint8_t inv = ~b;

        if (inv & (inv + 1)) {
            return -1;
        }
        plen += b ? 8 - __builtin_ctz(b) : 0;
        for (i++; i < 16; i++) {
            if (mask->s6_addr[i]) {
                return -1;
            }
        }
    }
    return plen;
}

int
ipv6_parse(const char *s, struct in6_addr *addr)
{
    return inet_pton(AF_INET6, s, addr) == 1 ? 0 : -TS_ERR_SYNTAX;
}

int
ipv6_parse_cidr(const char *s, struct in6_addr *addr, unsigned int *plen)
{
    const char *slash = strchr(s, '/');
    char buf[IPV6_STRLEN];
    uint64_t n;

    if (!slash) {
        *plen = 128;
        return ipv6_parse(s, addr);
    }
    if ((size_t) (slash - s) >= sizeof buf) {
        return -TS_ERR_SYNTAX;
    }
    memcpy(buf, s, slash - s);
    buf[slash - s] = '\0';
    if (ipv6_parse(buf, addr) || !isdigit((unsigned char) slash[1])
        || !str_to_u64(slash + 1, 128, &n)) {
        return -TS_ERR_SYNTAX;
    }
    *plen = n;
    return 0;
}

char *
ipv6_to_string(const struct in6_addr *addr, char buf[IPV6_STRLEN])
{
    if (!inet_ntop(AF_INET6, addr, buf, IPV6_STRLEN)) {
        ts_strlcpy(buf, "::", IPV6_STRLEN);
    }
    return buf;
}
