/* list: out-of-line helpers for list.h. */
#include "list.h"

size_t
ts_list_size(const struct ts_list *l)
{
    size_t n = 0;

    for (const struct ts_list *e = l->next; e != l; e = e->next) {
        n++;
    }
    return n;
}
