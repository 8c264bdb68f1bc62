/*
** marshal.h: what the files of the field walk share (private to src/wire):
**   marshal.c   the walk: one record's fields table -> the body
**   values.c    writing one value of a field's kind (lists, objects, ...)
**   format.c    format checks (UUID, GUID, Salesforce id, date, enum) and
**               the bad-record message
**   ids.c       the record id, checked against the vendor's id kind
**   names.c     the field names, found by their interned string's address
*/
#ifndef UU_MARSHAL_H
#define UU_MARSHAL_H

#include "userupd.h"

#define UU_MAX_DEPTH 32  /* nesting inside free-form objects */
#define MAX_FIELDS 64 /* the largest descriptor (Thought Industries) has 50 */

/* A value echoed in a message is cut after UU_SHOWN_MAX characters, with
** "..." to say so (docs/cli.md states the length); UU_SHOWN_BUF holds the
** quotes, the cut text, the ellipsis and the terminator. */
#define UU_SHOWN_MAX 40
#define UU_SHOWN_BUF (UU_SHOWN_MAX + 8)

/* names.c */
int uu_names_push(lua_State *L, uu_client *c);
int uu_names_find(const uu_client *c, const char *s);

/* format.c */
int uu_bad_at(uu_bad *bad, const char *field, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;
int uu_bad_nomem(uu_bad *bad, const char *field);
int uu_bad_big(const uu_client *c, uu_bad *bad, const char *field);
int uu_is_uuid(const char *s, size_t n);
int uu_is_guid(const char *s, size_t n);
int uu_is_sfid(const char *s, size_t n);
int uu_is_date(const char *s, size_t n);
const char *uu_cut(const char *s, size_t n, char *out, size_t outlen,
                   size_t max);
const char *uu_shown(const uu_field *f, const char *s, size_t n,
                     char *out, size_t outlen);

/* values.c */
int uu_type_error(lua_State *L, int idx, const char *field,
                  const char *want, uu_bad *bad);
int uu_value_error(lua_State *L, int idx, const uu_field *f,
                   const char *field, const char *want, uu_bad *bad);
size_t uu_count_keys(lua_State *L, int idx);
int uu_write_int(lua_State *L, int idx, uu_buf *b, const char *field,
                 uu_bad *bad);
int uu_write_number(lua_State *L, int idx, uu_buf *b, const char *field,
                    uu_bad *bad);
int uu_write_text(uu_client *c, lua_State *L, int idx, uu_buf *b,
                  const char *field, const uu_field *f, uu_bad *bad);
int uu_write_chars(uu_client *c, uu_buf *b, const char *field,
                   const uu_field *f, const char *s, size_t n, uu_bad *bad);
int uu_write_list(uu_client *c, lua_State *L, int idx, uu_buf *b,
                  const char *field, const uu_field *f, uu_bad *bad);
int uu_write_object(uu_client *c, lua_State *L, int idx, uu_buf *b,
                    const char *field, uu_bad *bad);
int uu_write_kvlist(uu_client *c, lua_State *L, int idx, uu_buf *b,
                    const char *field, uu_bad *bad);

#endif
