/* libFuzzer target for the flow syntax (lib/ofp-flow.c, lib/ofpact.c,
 * lib/meta-flow.c): ovs-ofctl's text as users and files give it.
 *
 * Each input is one line of text (cut at 4 kB).  It is parsed as an
 * add-flow; a parse error must be a message, never a crash.  A flow that
 * parses is printed, and the printed form must parse again and print the
 * same (dump-flows output can be fed back to add-flows): the round trip
 * is checked, not only the absence of crashes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamic-string.h"
#include "ofp-flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ofp_flow_mod fm, fm2;
    struct ds a = DS_EMPTY_INITIALIZER, b = DS_EMPTY_INITIALIZER;
    char *text, *err;

    if (size > 4096) {
        size = 4096;
    }
    text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';

    err = ofp_parse_flow_mod(&fm, text, OFPFC_ADD, NULL);
    if (err) {
        if (!*err) {
            abort();            /* an error must say something */
        }
        free(err);
        free(text);
        return 0;
    }
    ofp_format_flow_mod(&a, &fm, NULL);
    err = ofp_parse_flow_mod(&fm2, ds_cstr(&a), OFPFC_ADD, NULL);
    if (err) {
        fprintf(stderr, "printed flow does not parse:\n  in:  %s\n  out: "
                "%s\n  err: %s\n", text, ds_cstr(&a), err);
        abort();
    }
    ofp_format_flow_mod(&b, &fm2, NULL);
    if (strcmp(ds_cstr(&a), ds_cstr(&b))) {
        fprintf(stderr, "round trip differs:\n  in:  %s\n  1st: %s\n  "
                "2nd: %s\n", text, ds_cstr(&a), ds_cstr(&b));
        abort();
    }
    ofp_flow_mod_release(&fm);
    ofp_flow_mod_release(&fm2);
    ds_destroy(&a);
    ds_destroy(&b);
    free(text);
    return 0;
}
