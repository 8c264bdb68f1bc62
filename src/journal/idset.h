/*
** idset.h: a set of ids with the input line each was first seen on, kept
** in unlinked temporary files (sorted runs) behind a Bloom filter, so its
** memory stays flat (about 2 bytes an id of filter, and a few MiB of
** buffers) whatever the number of ids: the CLI's duplicate check over a
** whole export.  One thread at a time.
*/
#ifndef UU_IDSET_H
#define UU_IDSET_H

#include <stddef.h>

typedef struct uu_idset uu_idset;

/* 0 ok (*out set), -1 error (err gets a one-line message).  bits: the
   Bloom filter's first size, pend_max: ids kept pending before a write
   (0 and 0: the defaults, 2^20 and 32768; small ones are for tests). */
int uu_idset_open(uu_idset **out, size_t bits, size_t pend_max, char *err,
                  size_t errlen);

/* Adds id (n bytes, any bytes) first seen at line.  0: it was new; 1: it
   was there already, *first = the line it was added with; -1: error
   (uu_idset_errmsg). */
int uu_idset_add(uu_idset *s, const char *id, size_t n, long line,
                 long *first);

/* Tests only: keeps bits (1..63) of each id's hash, so that many ids
   share one and the answers must come from comparing their bytes. */
void uu_idset_weaken(uu_idset *s, int bits);

const char *uu_idset_errmsg(uu_idset *s);

/* Frees everything and deletes the temporary file; NULL is a no-op. */
void uu_idset_close(uu_idset *s);

/* Sets idset on the table at the top of the stack (idset_lua.c). */
struct lua_State;
void uu_idset_open_lua(struct lua_State *L);

#endif
