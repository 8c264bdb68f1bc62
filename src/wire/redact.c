/*
** redact.c: every secret of a client's, and every secret field's value,
** hidden in any text shown (a message, a request id, tostring of a
** request): whole, in any of its wire forms, in any ASCII case, and in
** pieces a vendor may echo.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "userupd.h"

static int is_word(int ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || ch >= 0x80;
}

/* Matching ignores ASCII case: an echo may change it (a %2b for our %2B,
** an upper-cased message), and hiding a word that equals a secret but for
** case costs nothing.  A secret of UU_ANYWHERE bytes or more is hidden
** wherever it stands, inside a longer word too; a shorter one only as a
** whole token (a password "p" must not turn "application" into
** "a***lication", which garbles the text and hints at the secret). */
#define UU_ANYWHERE 8

/* ch with an ASCII capital as its small letter: same_nocase's rule. */
static int lower(int ch)
{
  return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

static int same_nocase(const char *a, const char *b, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++) {
    int x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x != y && !(x >= 'A' && x <= 'Z' && x + 32 == y) &&
        !(y >= 'A' && y <= 'Z' && y + 32 == x))
      return 0;
  }
  return 1;
}

/* How many bytes of s are secret sec (0: none).  With cut, the text was
** cut short after s + left: a tail that begins sec is a piece of it (at a
** token start, or 4 bytes or more of a long secret inside a word). */
static size_t token_at(const char *s, size_t left, int prev,
                       const char *sec, int cut)
{
  size_t n = strlen(sec), m = n < left ? n : left;
  int glued = is_word(prev) && is_word((unsigned char)sec[0]);
  if (n == 0 || (m < n && !cut) || !same_nocase(s, sec, m))
    return 0;
  if (m < n)                                       /* a piece at the cut */
    return glued && (n < UU_ANYWHERE || m < 4) ? 0 : m;
  if (n >= UU_ANYWHERE)
    return n;
  if (glued || (n < left && is_word((unsigned char)s[n]) &&
                is_word((unsigned char)sec[n - 1])))
    return 0;
  return n;
}

/* A piece of a secret is hidden too: a vendor may echo one cut short
** ("password Tr0ub4dor-Ho... is too weak") or from its middle.  A run of
** UU_PIECE bytes or more of a secret of UU_PIECE_OF bytes or more, ASCII
** case ignored (shorter secrets: whole only, as above). */
#define UU_PIECE 8
#define UU_PIECE_OF 12

/* Whether the n bytes at s are ASCII letters only: such a run is a word
** ("integration", a vendor's name) more often than a piece of a random
** key, so it is not hidden as a piece (a whole secret still is). */
static int all_letters(const char *s, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
      return 0;
  return 1;
}

/* The longest run at s (left bytes) that is a piece of sec, holding a
** byte other than a letter: its length when UU_PIECE or more, else 0. */
static size_t piece_at(const char *s, size_t left, const char *sec)
{
  size_t n = strlen(sec), j, k, best = 0;
  int first, last;
  if (n < UU_PIECE_OF || left < UU_PIECE || !is_word((unsigned char)*s))
    return 0;                            /* a piece starts at a word byte */
  first = lower((unsigned char)s[0]);
  last = lower((unsigned char)s[UU_PIECE - 1]);
  for (j = 0; j + UU_PIECE <= n; j++) {
    /* a run of UU_PIECE bytes or more matches at its first and its
    ** UU_PIECE-th byte: a start that does not is no piece (this check
    ** is what keeps the redaction of every answer cheap) */
    if (lower((unsigned char)sec[j]) != first ||
        lower((unsigned char)sec[j + UU_PIECE - 1]) != last)
      continue;
    for (k = 0; j + k < n && k < left && same_nocase(s + k, sec + j + k, 1);
         k++)
      ;
    if (k >= UU_PIECE && k > best && !all_letters(s, k))
      best = k;
  }
  return best;
}

/* One secret as redact_into matches it: its bytes, its length and the
** set of its bytes (ASCII case folded).  A place whose first byte is not
** the secret's first cannot start it whole (token_at), and one whose
** first UU_PIECE bytes are not all in the set cannot start a piece of it
** (piece_at): most places of a text are passed over with these checks. */
typedef struct secret_view {
  const char *s;           /* the secret (c->secrets or c->token_forms) */
  size_t n;                /* strlen(s) */
  unsigned char has[32];   /* bit ch: lower(ch) occurs in s */
} secret_view;

#define UU_VIEWS 48        /* more secrets than this: no views, plain scan */

static int view_has(const secret_view *v, int ch)
{
  ch = lower(ch);
  return (v->has[ch >> 3] >> (ch & 7)) & 1;
}

static void view_set(secret_view *v, const char *sec)
{
  size_t i;
  int ch;
  v->s = sec;
  v->n = strlen(sec);
  memset(v->has, 0, sizeof v->has);
  for (i = 0; i < v->n; i++) {
    ch = lower((unsigned char)sec[i]);
    v->has[ch >> 3] |= (unsigned char)(1u << (ch & 7));
  }
}

/* All the views, and two filters over them for a place of a text: the
** first bytes that start a secret, and every run of UU_PIECE bytes that
** a secret of UU_PIECE_OF bytes or more holds (ASCII case folded), in a
** small hash set.  A place that starts no secret and begins no such run
** is passed over without looking at each secret. */
#define UU_GRAM_SLOTS 512  /* a power of 2, over twice UU_GRAMS_MAX */
#define UU_GRAMS_MAX 200   /* more runs than this: no set, each secret */

typedef struct secret_views {
  secret_view v[UU_VIEWS];          /* in secret_at's order */
  int nv;                           /* how many */
  unsigned char first[32];          /* bit ch: a secret starts with ch */
  int grams;                        /* the set below is filled */
  uint64_t gram[UU_GRAM_SLOTS];     /* a run's bytes, case folded */
  unsigned char used[UU_GRAM_SLOTS];
} secret_views;

/* The UU_PIECE bytes at s, ASCII case folded, as one word. */
static uint64_t gram_at(const char *s)
{
  unsigned char g[UU_PIECE];
  uint64_t w;
  int k;
  for (k = 0; k < UU_PIECE; k++)
    g[k] = (unsigned char)lower((unsigned char)s[k]);
  memcpy(&w, g, sizeof w);
  return w;
}

static unsigned gram_slot(uint64_t w)
{
  return (unsigned)((w * 0x9E3779B97F4A7C15ull) >> 40) & (UU_GRAM_SLOTS - 1);
}

/* The slot of the run w in the set: its own, or the empty one that
** ends its probe. */
static unsigned gram_probe(const secret_views *sv, uint64_t w)
{
  unsigned h;
  for (h = gram_slot(w); sv->used[h]; h = (h + 1) & (UU_GRAM_SLOTS - 1))
    if (sv->gram[h] == w)
      break;
  return h;
}

static int gram_in(const secret_views *sv, const char *s)
{
  return sv->used[gram_probe(sv, gram_at(s))];
}

static void gram_add(secret_views *sv, const char *s)
{
  uint64_t w = gram_at(s);
  unsigned h = gram_probe(sv, w);
  sv->used[h] = 1;
  sv->gram[h] = w;
}

/* The runs of every secret long enough for pieces, when they fit. */
static void grams_of(secret_views *sv)
{
  int i, total = 0;
  size_t j;
  for (i = 0; i < sv->nv; i++)
    if (sv->v[i].n >= UU_PIECE_OF)
      total += (int)(sv->v[i].n - UU_PIECE + 1);
  sv->grams = total <= UU_GRAMS_MAX;
  if (!sv->grams)
    return;
  memset(sv->used, 0, sizeof sv->used);
  for (i = 0; i < sv->nv; i++)
    for (j = 0; sv->v[i].n >= UU_PIECE_OF && j + UU_PIECE <= sv->v[i].n;
         j++)
      gram_add(sv, sv->v[i].s + j);
}

/* The views of the n secrets at sec, in order, and their filters. */
static void views_over(secret_views *sv, char *const *sec, int n)
{
  int i, ch;
  memset(sv->first, 0, sizeof sv->first);
  for (i = 0; i < n; i++) {
    view_set(&sv->v[i], sec[i]);
    ch = lower((unsigned char)sec[i][0]);
    sv->first[ch >> 3] |= (unsigned char)(1u << (ch & 7));
  }
  sv->nv = n;
  grams_of(sv);
}

/* ---- the views, kept per client ----------------------------------------- */

/* c's secrets, then its token forms, in secret_at's order, as copies the
** views point into.  Kept while every one is the same text: compared by
** content on each use, so a secret freed and another made at the same
** address (a new login token) is never missed. */
struct uu_redact_views {
  int n;                      /* secrets held in copy[] */
  char *copy[UU_VIEWS];       /* each one's bytes, owned */
  secret_views sv;            /* the views over copy[] */
};

/* c's secrets and token forms in order into out: how many, or -1 when
** there are more than UU_VIEWS. */
static int secret_list(const uu_client *c, const char **out)
{
  int i, m = 0;
  if (c->nsecrets > UU_VIEWS - UU_TOKEN_FORMS)
    return -1;
  for (i = 0; i < c->nsecrets; i++)
    out[m++] = c->secrets[i];
  for (i = 0; i < UU_TOKEN_FORMS; i++)
    if (c->token_forms[i] != NULL)
      out[m++] = c->token_forms[i];
  return m;
}

static int views_fresh(const struct uu_redact_views *rv, const char **cur,
                       int n)
{
  int i;
  if (rv == NULL || rv->n != n)
    return 0;
  for (i = 0; i < n; i++)
    if (strcmp(rv->copy[i], cur[i]) != 0)
      return 0;
  return 1;
}

void uu_redact_free(uu_client *c)
{
  int i;
  if (c->redact == NULL)
    return;
  for (i = 0; i < c->redact->n; i++)
    free(c->redact->copy[i]);
  free(c->redact);
  c->redact = NULL;
}

/* Copies of the n secrets at cur and their views, or NULL (no memory). */
static struct uu_redact_views *views_build(const char **cur, int n)
{
  struct uu_redact_views *rv;
  size_t len;
  rv = (struct uu_redact_views *)calloc(1, sizeof *rv);
  if (rv == NULL)
    return NULL;
  for (rv->n = 0; rv->n < n; rv->n++) {
    len = strlen(cur[rv->n]) + 1;
    if ((rv->copy[rv->n] = (char *)malloc(len)) == NULL)
      break;
    memcpy(rv->copy[rv->n], cur[rv->n], len);
  }
  if (rv->n < n) {
    while (rv->n > 0)
      free(rv->copy[--rv->n]);
    free(rv);
    return NULL;
  }
  views_over(&rv->sv, rv->copy, n);
  return rv;
}

/* c's views, made again when its secrets changed; NULL when there are
** too many secrets or no memory (redact_into then compares each one). */
static const secret_views *views_for(uu_client *c)
{
  const char *cur[UU_VIEWS];
  int n = c->closed ? -1 : secret_list(c, cur);
  if (n < 0)                  /* closed: nothing kept past the release */
    return NULL;
  if (!views_fresh(c->redact, cur, n)) {
    uu_redact_free(c);
    c->redact = views_build(cur, n);
  }
  return c->redact != NULL ? &c->redact->sv : NULL;
}

/* Whether the UU_PIECE bytes at s (left of them or more) are all in v. */
static int may_piece(const secret_view *v, const char *s, size_t left)
{
  size_t k;
  if (v->n < UU_PIECE_OF || left < UU_PIECE)
    return 0;
  for (k = 0; k < UU_PIECE; k++)
    if (!view_has(v, (unsigned char)s[k]))
      return 0;
  return 1;
}

/* secret_at over the views: the same answer, sooner. */
static size_t secret_at_v(const secret_views *sv, const char *s,
                          size_t left, int prev, int cut)
{
  const secret_view *v = sv->v;
  int i, ch = lower((unsigned char)s[0]);
  size_t n, k, best = 0;
  if ((sv->first[ch >> 3] >> (ch & 7)) & 1)
    for (i = 0; i < sv->nv; i++)
      if (v[i].n > 0 && ch == lower((unsigned char)v[i].s[0]) &&
          (n = token_at(s, left, prev, v[i].s, cut)) > 0)
        return n;
  if (left < UU_PIECE || (sv->grams && !gram_in(sv, s)))
    return 0;                           /* no run of a secret starts here */
  for (i = 0; i < sv->nv; i++)
    if (may_piece(&v[i], s, left) && (k = piece_at(s, left, v[i].s)) > best)
      best = k;
  return best;
}

/* The longest piece of any secret of c's at s, or 0. */
static size_t any_piece_at(const uu_client *c, const char *s, size_t left)
{
  size_t k, best = 0;
  int i;
  for (i = 0; i < c->nsecrets; i++)
    if ((k = piece_at(s, left, c->secrets[i])) > best)
      best = k;
  for (i = 0; i < UU_TOKEN_FORMS; i++)
    if (c->token_forms[i] != NULL &&
        (k = piece_at(s, left, c->token_forms[i])) > best)
      best = k;
  return best;
}

/* Length of the secret of c's that starts at s, or 0.  prev is the byte
** before s (or 0). */
static size_t secret_at(const uu_client *c, const char *s, size_t left,
                        int prev, int cut)
{
  int i;
  size_t n;
  for (i = 0; i < c->nsecrets; i++)
    if ((n = token_at(s, left, prev, c->secrets[i], cut)) > 0)
      return n;
  for (i = 0; i < UU_TOKEN_FORMS; i++)
    if (c->token_forms[i] != NULL &&
        (n = token_at(s, left, prev, c->token_forms[i], cut)) > 0)
      return n;
  return any_piece_at(c, s, left);
}

/* At s, a secret field's key ("password":") followed by its JSON string:
** the number of bytes of the value's content, with *keylen set. */
static size_t secret_field_at(const uu_vendor *v, const char *s, size_t left,
                              size_t *keylen)
{
  const uu_field *f;
  size_t n, i;
  for (f = v->fields; f->name != NULL; f++) {
    if (!(f->flags & UU_SECRET))
      continue;
    n = strlen(f->name);
    if (left < n + 4 || s[0] != '"' || memcmp(s + 1, f->name, n) != 0 ||
        memcmp(s + 1 + n, "\":\"", 3) != 0)
      continue;
    *keylen = n + 4;
    for (i = *keylen; i < left && s[i] != '"'; i++)
      if (s[i] == '\\')
        i++;
    return i - *keylen;
  }
  return 0;
}

/* The redacted text of s into b. */
static void redact_into(uu_client *c, luaL_Buffer *b, const char *s,
                        size_t n, int cut)
{
  const secret_views *sv = views_for(c);
  size_t i = 0, k, keylen;
  int prev;
  while (i < n) {
    prev = i > 0 ? (unsigned char)s[i - 1] : 0;
    k = sv != NULL ? secret_at_v(sv, s + i, n - i, prev, cut)
                   : secret_at(c, s + i, n - i, prev, cut);
    if (k > 0) {
      luaL_addstring(b, "***");
      i += k;
    } else if (s[i] == '"' &&
               (k = secret_field_at(c->v, s + i, n - i, &keylen)) > 0) {
      luaL_addlstring(b, s + i, keylen);
      luaL_addstring(b, "***");
      i += keylen + k;
    } else {
      luaL_addchar(b, s[i]);
      i++;
    }
  }
}

/* Pushes s with every secret of the client's, in any wire form, and every
** secret field's value, replaced by "***", then cut to max bytes (at a
** UTF-8 boundary): redacted first, so a cut cannot leave a piece of a
** secret.  cut says s itself was cut short before it came here: a tail
** that begins a secret is hidden too. */
void uu_redact_cut(uu_client *c, lua_State *L, const char *s, size_t n,
                   size_t max, int cut)
{
  luaL_Buffer b;
  size_t len;
  const char *r;
  luaL_buffinit(L, &b);
  redact_into(c, &b, s, n, cut);
  luaL_pushresult(&b);
  r = lua_tolstring(L, -1, &len);
  if (len <= max)
    return;
  while (max > 0 && ((unsigned char)r[max] & 0xc0) == 0x80)
    max--;                                /* not inside a UTF-8 sequence */
  lua_pushlstring(L, r, max);
  lua_remove(L, -2);
}

/* The string at t with every whole-token (or, long enough, any) match of
** sec replaced by "***" (the rules of token_at). */
static void hide(lua_State *L, int t, const char *sec)
{
  luaL_Buffer b;
  size_t n, i = 0, k;
  const char *s = lua_tolstring(L, t, &n);
  if (sec[0] == '\0')
    return;
  luaL_buffinit(L, &b);
  while (i < n) {
    k = token_at(s + i, n - i, i > 0 ? (unsigned char)s[i - 1] : 0, sec, 0);
    if (k == 0)
      k = piece_at(s + i, n - i, sec);
    if (k > 0) {
      luaL_addstring(&b, "***");
      i += k;
    } else {
      luaL_addchar(&b, s[i]);
      i++;
    }
  }
  luaL_pushresult(&b);
  lua_replace(L, t);
}

/* Pushes s %-encoded as a URL or a form would carry it (RFC 3986
** unreserved bytes kept, the rest %XX). */
static void push_percent(lua_State *L, const char *s, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  luaL_Buffer b;
  size_t i;
  unsigned char ch;
  luaL_buffinit(L, &b);
  for (i = 0; i < n; i++) {
    ch = (unsigned char)s[i];
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
        (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
        ch == '~') {
      luaL_addchar(&b, (char)ch);
    } else {
      luaL_addchar(&b, '%');
      luaL_addchar(&b, hex[ch >> 4]);
      luaL_addchar(&b, hex[ch & 15]);
    }
  }
  luaL_pushresult(&b);
}

/* A secret field's value as sent (JSON-escaped, n bytes at v) hidden in
** the string at t, in that form and as the text it stands for. */
static void hide_value(lua_State *L, int t, const char *v, size_t n)
{
  char msg[64];
  luaL_Buffer b;
  lua_pushlstring(L, v, n);
  hide(L, t, lua_tostring(L, -1));                 /* as sent */
  lua_pop(L, 1);
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '"');
  luaL_addlstring(&b, v, n);
  luaL_addchar(&b, '"');
  luaL_pushresult(&b);                             /* a JSON string */
  if (uu_json_decode(L, lua_tostring(L, -1), uu_rawlen(L, -1), 2, msg,
                     sizeof msg) == 0) {
    hide(L, t, lua_tostring(L, -1));               /* the text */
    push_percent(L, lua_tostring(L, -1), uu_rawlen(L, -1));
    hide(L, t, lua_tostring(L, -1));               /* as a URL has it */
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
}

/* Whether any field of v's is a secret (most vendors have none). */
static int has_secret_field(const uu_vendor *v)
{
  const uu_field *f;
  for (f = v->fields; f->name != NULL; f++)
    if (f->flags & UU_SECRET)
      return 1;
  return 0;
}

/* The string on top, with the value of every secret field in body (the
** JSON an update sent: the record's own password, say) hidden as well: a
** vendor may echo it without its key ("password X is too weak"). */
void uu_redact_sent(uu_client *c, lua_State *L, const char *body, size_t n)
{
  size_t i, k, keylen;
  int t = lua_gettop(L);
  const char *q;
  if (body == NULL || lua_type(L, t) != LUA_TSTRING ||
      !has_secret_field(c->v))
    return;
  for (i = 0; i < n; i++) {
    if ((q = (const char *)memchr(body + i, '"', n - i)) == NULL)
      return;
    i = (size_t)(q - body);
    if ((k = secret_field_at(c->v, body + i, n - i, &keylen)) == 0)
      continue;
    hide_value(L, t, body + i + keylen, k);
    i += keylen + k;
  }
}

/* Pushes s redacted (uu_redact_cut, no cut). */
void uu_redact(uu_client *c, lua_State *L, const char *s, size_t n)
{
  uu_redact_cut(c, L, s, n, (size_t)-1, 0);
}
