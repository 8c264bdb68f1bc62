/*
** vendors.c: the list of vendor descriptors.  Adding a vendor is a file in
** src/vendors/ and one line here; nothing else in the core names a vendor.
*/
#include <string.h>
#include "userupd.h"

extern const uu_vendor uu_vendor_smartermeasure;
extern const uu_vendor uu_vendor_thoughtindustries;
extern const uu_vendor uu_vendor_blackbaud;
extern const uu_vendor uu_vendor_formsonfire;
extern const uu_vendor uu_vendor_questionpro;

/* A build may add one descriptor without touching this file (the test that
** proves a sixth vendor needs nothing else): -DUU_EXTRA_VENDOR=name. */
#ifdef UU_EXTRA_VENDOR
#define UU_CAT2(a, b) a##b
#define UU_CAT(a, b) UU_CAT2(a, b)
extern const uu_vendor UU_CAT(uu_vendor_, UU_EXTRA_VENDOR);
#endif

static const uu_vendor *const vendors[] = {
  &uu_vendor_smartermeasure,
  &uu_vendor_thoughtindustries,
  &uu_vendor_blackbaud,
  &uu_vendor_formsonfire,
  &uu_vendor_questionpro,
#ifdef UU_EXTRA_VENDOR
  &UU_CAT(uu_vendor_, UU_EXTRA_VENDOR),
#endif
  NULL};

const uu_vendor *const *uu_vendor_list(void)
{
  return vendors;
}

const uu_vendor *uu_vendor_find(const char *name)
{
  int i;
  for (i = 0; vendors[i] != NULL; i++)
    if (strcmp(vendors[i]->name, name) == 0)
      return vendors[i];
  return NULL;
}

/* The field a Lua key names: native first, then the cross-vendor name.
** *canonical tells which matched, so giving both can be refused. */
const uu_field *uu_field_find(const uu_vendor *v, const char *name,
                              size_t len, int *canonical)
{
  const uu_field *f;
  if (len == 0 || memchr(name, '\0', len) != NULL)  /* no name has a NUL */
    return NULL;
  for (f = v->fields; f->name != NULL; f++)        /* first byte, then all */
    if (f->name[0] == name[0] && strncmp(f->name, name, len) == 0 &&
        f->name[len] == '\0') {
      *canonical = 0;
      return f;
    }
  for (f = v->fields; f->name != NULL; f++)
    if (f->canon != NULL && f->canon[0] == name[0] &&
        strncmp(f->canon, name, len) == 0 && f->canon[len] == '\0') {
      *canonical = 1;
      return f;
    }
  return NULL;
}
