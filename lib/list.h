/* list: circular doubly linked list with embedded nodes (Linux style). */
#ifndef TS_LIST_H
#define TS_LIST_H 1

#include <stdbool.h>
#include <stddef.h>
#include "util.h"

struct ts_list {
    struct ts_list *prev, *next;
};

#define TS_LIST_INITIALIZER(L) { (L), (L) }

static inline void ts_list_init(struct ts_list *l) { l->prev = l->next = l; }
static inline bool ts_list_is_empty(const struct ts_list *l)
{
    return l->next == l;
}
static inline void
ts_list_insert(struct ts_list *before, struct ts_list *elem)
{
    elem->prev = before->prev;
    elem->next = before;
    before->prev->next = elem;
    before->prev = elem;
}
static inline void ts_list_push_back(struct ts_list *l, struct ts_list *e)
{
    ts_list_insert(l, e);
}
static inline void ts_list_push_front(struct ts_list *l, struct ts_list *e)
{
    ts_list_insert(l->next, e);
}
static inline struct ts_list *
ts_list_remove(struct ts_list *elem)
{
    elem->prev->next = elem->next;
    elem->next->prev = elem->prev;
    elem->prev = elem->next = elem;
    return elem;
}
static inline struct ts_list *ts_list_pop_front(struct ts_list *l)
{
    return ts_list_remove(l->next);
}
size_t ts_list_size(const struct ts_list *);

/* NODE must be a plain identifier (it names the hidden iterator). */
#define TS_LIST_FOR_EACH(NODE, MEMBER, LIST)                             \
    for (struct ts_list *NODE##__ln = (LIST)->next;                            \
         NODE##__ln != (LIST)                                                  \
         && ((NODE) = OBJECT_CONTAINING(NODE##__ln, NODE, MEMBER), 1);         \
         NODE##__ln = NODE##__ln->next)
#define TS_LIST_FOR_EACH_SAFE(NODE, MEMBER, LIST)                        \
    for (struct ts_list *NODE##__ln = (LIST)->next, *NODE##__lnn = NODE##__ln->next;       \
         NODE##__ln != (LIST)                                                  \
         && ((NODE) = OBJECT_CONTAINING(NODE##__ln, NODE, MEMBER), 1);         \
         NODE##__ln = NODE##__lnn, NODE##__lnn = NODE##__ln->next)

#endif /* list.h */
