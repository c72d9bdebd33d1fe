/* Unit tests for the flow syntax: golden files (flows in, normalized text
 * out, byte for byte, error text included) and parse -> format -> parse
 * round trips.
 *
 * tests/data/flows/NAME.in holds one flow per line.  A line may start
 * with "add ", "mod ", "mod-strict ", "del ", "del-strict " (default add)
 * or "dump " (parse as add, print as a dump-flows line with fixed stats).
 * Lines starting with '#' and blank lines are copied as they are.  Each
 * other line produces one output line: the normalized flow (what
 * ofp_format_flow_mod prints) or "error: MESSAGE".  The result must equal
 * NAME.golden.  Set TS_UPDATE_GOLDEN=1 to rewrite the golden files. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamic-string.h"
#include "ofp-flow.h"
#include "ofp-port-map.h"
#include "util.h"

static const char *
data_dir(void)
{
    const char *d = getenv("TS_TEST_DATA");
    return d ? d : "tests/data";
}

static struct ofp_port_map *
test_port_map(void)
{
    static struct ofp_port_map map;
    static bool done;

    if (!done) {
        ofp_port_map_init(&map);
        ofp_port_map_put(&map, 1, "p1");
        ofp_port_map_put(&map, 2, "p2");
        ofp_port_map_put(&map, 10, "vm-eth0");
        ofp_port_map_put(&map, 11, "123");
        done = true;
    }
    return &map;
}

struct cmd {
    const char *prefix;
    enum ofp_flow_mod_command command;
    bool dump;
    bool names;
};

static const struct cmd cmds[] = {
    { "add ", OFPFC_ADD, false, false },
    { "mod ", OFPFC_MODIFY, false, false },
    { "mod-strict ", OFPFC_MODIFY_STRICT, false, false },
    { "del ", OFPFC_DELETE, false, false },
    { "del-strict ", OFPFC_DELETE_STRICT, false, false },
    { "dump ", OFPFC_ADD, true, false },
    { "names ", OFPFC_ADD, false, true },
};

/* Processes one input line into 'out'. */
static void
process_line(const char *line, struct ds *out)
{
    struct cmd c = { "", OFPFC_ADD, false, false };
    struct ofp_flow_mod fm;
    char *error;

    for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
        if (!strncmp(line, cmds[i].prefix, strlen(cmds[i].prefix))) {
            c = cmds[i];
            line += strlen(c.prefix);
            break;
        }
    }
    error = ofp_parse_flow_mod(&fm, line, c.command, test_port_map());
    if (error) {
        ds_put_format(out, "error: %s\n", error);
        free(error);
        return;
    }
    if (c.dump) {
        struct ofp_flow_stats fs = {
            .table_id = fm.table_id, .priority = fm.priority,
            .cookie = fm.new_cookie, .duration_msec = 1234,
            .idle_timeout = fm.idle_timeout,
            .hard_timeout = fm.hard_timeout, .importance = fm.importance,
            .flags = fm.flags, .idle_age_msec = -1, .n_packets = 3,
            .n_bytes = 294, .match = fm.match,
            .ofpacts = (const struct ofpact *) (void *) fm.ofpacts.data,
            .ofpacts_len = fm.ofpacts.size,
        };
        ofp_format_flow_stats(out, &fs, true, NULL);
    } else if (c.names) {
        ds_put_cstr(out, "names ");
        ofp_format_flow_mod(out, &fm, test_port_map());
    } else {
        ofp_format_flow_mod(out, &fm, NULL);
    }
    ds_put_char(out, '\n');
    ofp_flow_mod_release(&fm);
}

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    struct ds s = DS_EMPTY_INITIALIZER;
    char buf[4096];
    size_t n;

    if (!f) {
        return NULL;
    }
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        ds_put_buffer(&s, buf, n);
    }
    fclose(f);
    return ds_steal_cstr(&s);
}

static void
run_golden(const char *name)
{
    char *in_path = xasprintf("%s/flows/%s.in", data_dir(), name);
    char *golden_path = xasprintf("%s/flows/%s.golden", data_dir(), name);
    char *in = read_file(in_path);
    char *golden;
    struct ds out = DS_EMPTY_INITIALIZER;

    cr_assert(in, "cannot read %s", in_path);
    for (char *save = NULL, *line = strtok_r(in, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || !line[strspn(line, " \t")]) {
            ds_put_format(&out, "%s\n", line);
        } else {
            process_line(line, &out);
        }
    }
    if (getenv("TS_UPDATE_GOLDEN")) {
        FILE *f = fopen(golden_path, "w");
        cr_assert(f);
        fputs(ds_cstr(&out), f);
        fclose(f);
    }
    golden = read_file(golden_path);
    cr_assert(golden, "cannot read %s", golden_path);
    if (strcmp(golden, ds_cstr(&out))) {
        /* Show the first differing line. */
        const char *g = golden, *o = ds_cstr(&out);
        int lineno = 1;
        while (*g && *g == *o) {
            if (*g == '\n') {
                lineno++;
            }
            g++, o++;
        }
        while (g > golden && g[-1] != '\n') {
            g--, o--;
        }
        cr_assert_fail("%s: line %d differs:\nexpected: %.*s\nactual:   "
                       "%.*s", name, lineno, (int) strcspn(g, "\n"), g,
                       (int) strcspn(o, "\n"), o);
    }
    free(in);
    free(golden);
    free(in_path);
    free(golden_path);
    ds_destroy(&out);
}

Test(ofp_parse, golden_match)
{
    run_golden("match");
}

Test(ofp_parse, golden_actions)
{
    run_golden("actions");
}

Test(ofp_parse, golden_errors)
{
    run_golden("errors");
}

Test(ofp_parse, golden_dump)
{
    run_golden("dump");
}

/* Every non-error line of every golden file: parsing the normalized output
 * again gives the same flow-mod, and formatting it gives the same text. */
static void
round_trip_file(const char *name)
{
    char *path = xasprintf("%s/flows/%s.golden", data_dir(), name);
    char *text = read_file(path);
    int n = 0;

    cr_assert(text, "cannot read %s", path);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        struct ofp_flow_mod a, b;
        struct ds s1 = DS_EMPTY_INITIALIZER, s2 = DS_EMPTY_INITIALIZER;
        enum ofp_flow_mod_command cmd = OFPFC_ADD;
        const struct ofp_port_map *map = NULL;
        char *error;

        if (line[0] == '#' || !strncmp(line, "error: ", 7)
            || !line[strspn(line, " \t")]) {
            continue;
        }
        if (!strncmp(line, "names ", 6)) {
            map = test_port_map();
            line += 6;
        }
        if (!strstr(line, "actions=")) {
            cmd = OFPFC_DELETE;
        }
        error = ofp_parse_flow_mod(&a, line, cmd, map);
        cr_assert(!error, "%s: '%s' does not parse back: %s", name, line,
                  error);
        ofp_format_flow_mod(&s1, &a, map);
        error = ofp_parse_flow_mod(&b, ds_cstr(&s1), cmd, map);
        cr_assert(!error, "'%s' does not parse: %s", ds_cstr(&s1), error);
        ofp_format_flow_mod(&s2, &b, map);
        cr_assert_str_eq(ds_cstr(&s1), ds_cstr(&s2));
        cr_assert(match_equal(&a.match, &b.match), "%s", line);
        cr_assert_eq(a.priority, b.priority);
        cr_assert(ofpacts_equal((const struct ofpact *) (void *) a.ofpacts.data,
                                a.ofpacts.size,
                                (const struct ofpact *) (void *) b.ofpacts.data,
                                b.ofpacts.size), "%s", line);
        if (line[0] != ' ') {
            /* Flow-mod lines (not dump lines) are fixed points. */
            cr_assert_str_eq(line, ds_cstr(&s1));
        }
        ofp_flow_mod_release(&a);
        ofp_flow_mod_release(&b);
        ds_destroy(&s1);
        ds_destroy(&s2);
        n++;
    }
    cr_assert_gt(n, 0);
    free(text);
    free(path);
}

Test(ofp_parse, round_trip_match)
{
    round_trip_file("match");
}

Test(ofp_parse, round_trip_actions)
{
    round_trip_file("actions");
}

Test(ofp_parse, round_trip_dump)
{
    round_trip_file("dump");
}

Test(ofp_parse, parse_match_alone)
{
    struct match m;
    int priority;
    char *error;

    error = ofp_parse_match(&m, &priority, "priority=7,tcp,tp_dst=80", NULL);
    cr_assert(!error, "%s", error);
    cr_assert_eq(priority, 7);
    cr_assert_eq(m.flow.tp_dst, htons(80));
    error = ofp_parse_match(&m, NULL, "priority=7", NULL);
    cr_assert(error);
    cr_assert_str_eq(error, "unknown field 'priority' at column 1");
    free(error);
}

Test(ofp_parse, port_map)
{
    struct ofp_port_map map;
    struct ds s = DS_EMPTY_INITIALIZER;
    uint32_t port;

    ofp_port_map_init(&map);
    ofp_port_map_put(&map, 5, "eth0");
    ofp_port_map_put(&map, 6, "dup");
    ofp_port_map_put(&map, 7, "dup");
    cr_assert(ofp_port_parse("eth0", &map, &port) && port == 5);
    cr_assert(ofp_port_parse("\"eth0\"", &map, &port) && port == 5);
    cr_assert(!ofp_port_parse("dup", &map, &port));
    cr_assert(ofp_port_parse("local", &map, &port) && port == OFPP_LOCAL);
    cr_assert(ofp_port_parse("65534", NULL, &port) && port == OFPP_LOCAL);
    cr_assert(!ofp_port_parse("65280", NULL, &port));
    cr_assert(!ofp_port_parse("eth0", NULL, &port));
    ofp_port_format(5, &map, &s);
    ofp_port_format(9, &map, &s);
    ofp_port_format(OFPP_CONTROLLER, &map, &s);
    cr_assert_str_eq(ds_cstr(&s), "eth09CONTROLLER");
    ds_destroy(&s);
    ofp_port_map_release(&map);
}
