/* Pcap-driven flow extraction test: every packet of the pcaps in
 * tests/data is extracted (from an exact-size copy) and formatted, and the
 * result must equal the matching line of the .expected file, which
 * tools/gen-test-pcaps.py wrote from its own independent model. */
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp-packet.h"
#include "dynamic-string.h"
#include "flow.h"

static char *
data_path(const char *name)
{
    const char *dir = getenv("TS_TEST_DATA");

    if (!dir) {
        dir = "tests/data";
    }
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);

    snprintf(path, n, "%s/%s", dir, name);
    return path;
}

static void
check_pcap(const char *name)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    char *pcap_path = data_path(name);
    size_t stem = strlen(name) - strlen(".pcap");
    char *exp_name = malloc(stem + sizeof ".expected");
    struct pcap_pkthdr *hdr;
    const u_char *data;
    char line[2048];
    int n_packets = 0;
    pcap_t *pcap;
    FILE *exp;

    memcpy(exp_name, name, stem);
    strcpy(exp_name + stem, ".expected");
    char *exp_path = data_path(exp_name);

    pcap = pcap_open_offline(pcap_path, errbuf);
    cr_assert_not_null(pcap, "%s: %s", pcap_path, errbuf);
    cr_assert_eq(pcap_datalink(pcap), DLT_EN10MB);
    exp = fopen(exp_path, "r");
    cr_assert_not_null(exp, "cannot open %s", exp_path);

    while (pcap_next_ex(pcap, &hdr, &data) == 1) {
        struct dp_packet *p = dp_packet_clone_data(data, hdr->caplen);
        struct ds s = DS_EMPTY_INITIALIZER;
        struct flow f;
        int flags, want_flags;
        char *tab;

        n_packets++;
        cr_assert_not_null(fgets(line, sizeof line, exp),
                           "%s: no expectation for packet %d", exp_path,
                           n_packets);
        line[strcspn(line, "\n")] = '\0';
        tab = strchr(line, '\t');
        cr_assert_not_null(tab);
        *tab = '\0';
        want_flags = atoi(line);

        p->in_port = 1;
        flags = flow_extract(p, &f);
        flow_format(&s, &f);
        cr_assert_eq(flags, want_flags, "packet %d: flags %d, want %d",
                     n_packets, flags, want_flags);
        cr_assert_str_eq(ds_cstr(&s), tab + 1, "packet %d", n_packets);

        /* The flow of a clean parse sits in the L3/L4 offsets too. */
        if (!flags && f.dl_type == htons(ETH_TYPE_IP)) {
            cr_assert_neq(p->l3_ofs, DP_PACKET_OFS_NONE);
            const uint8_t *l3 = dp_packet_l3(p);
            uint32_t src;
            memcpy(&src, l3 + 12, 4);
            cr_assert_eq(src, f.nw_src);
        }
        ds_destroy(&s);
        dp_packet_delete(p);
    }
    cr_assert_null(fgets(line, sizeof line, exp),
                   "%s: more expectations than packets", exp_path);
    cr_assert_gt(n_packets, 10);
    fclose(exp);
    pcap_close(pcap);
    free(exp_path);
    free(exp_name);
    free(pcap_path);
}

Test(flow_pcap, flow_mix)
{
    check_pcap("flow-mix.pcap");
}
