/*
** optcheck.c: what a constructor option's value must be before anything is
** built from it.  Every string option, common or a vendor's, passes through
** uu_check_option_value, so an option added later is covered on its own;
** a few options have a check of their own, listed by name below.  The
** base URL (base_url, or the one a vendor builds from host, school...) is
** parsed here too, for the plain-http rule.  Messages never quote a value.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "userupd.h"

static int opt_raise(lua_State *L, const char *vendor, const char *k,
                     const char *what)
{
  return luaL_error(L, "bad argument #1 to '%s' (option '%s' %s)", vendor,
                    k, what);
}

/* Whether s holds a control character: C0 (CR, LF, NUL, tab, ESC...), DEL,
** or a C1 control in UTF-8 (U+0080..U+009F, e.g. NEL). */
int uu_has_control(const char *s, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x20 || ch == 0x7f)
      return 1;
    if (ch == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
        (unsigned char)s[i + 1] <= 0x9f)
      return 1;
  }
  return 0;
}

/* A proxy: "" (none), host:port (libcurl takes http), or a URL whose
** scheme libcurl speaks to a proxy. */
static const char *proxy_problem(const char *s)
{
  static const char *const schemes[] = {"http", "https", "socks4",
    "socks4a", "socks5", "socks5h", "socks", NULL};
  const char *why = "must be a URL libcurl can use as a proxy";
  char *scheme = NULL;
  CURLU *u;
  int i;
  if (*s == '\0')
    return NULL;
  if ((u = curl_url()) == NULL)
    return "cannot be checked (out of memory)";
  if (curl_url_set(u, CURLUPART_URL, s, CURLU_NON_SUPPORT_SCHEME |
                   CURLU_GUESS_SCHEME) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
    why = "has a scheme libcurl does not take for a proxy (http, https, "
          "socks4, socks4a, socks5, socks5h)";
    for (i = 0; schemes[i] != NULL; i++)
      if (strcmp(scheme, schemes[i]) == 0)
        why = NULL;
#ifdef CURL_VERSION_HTTPS_PROXY
    if (why == NULL && strcmp(scheme, "https") == 0 &&
        !(curl_version_info(CURLVERSION_NOW)->features &
          CURL_VERSION_HTTPS_PROXY))
      why = "uses https://, which this libcurl cannot speak to a proxy";
#endif
  }
  curl_free(scheme);
  curl_url_cleanup(u);
  return why;
}

/* A CA bundle libcurl can read: it exists, is a file and is not empty. */
static const char *ca_file_problem(const char *path, char *buf, size_t len)
{
  FILE *f = fopen(path, "rb");
  int ch;
  if (f == NULL) {
    snprintf(buf, len, "cannot be read (%s)", strerror(errno));
    return buf;
  }
  ch = getc(f);
  if (ch == EOF && ferror(f))
    snprintf(buf, len, "cannot be read (%s)", strerror(errno));
  else if (ch == EOF)
    snprintf(buf, len, "names an empty file");
  else
    buf[0] = '\0';
  fclose(f);
  return buf[0] ? buf : NULL;
}

/* The value at the top of the stack for option k, already of the right
** type: a string holds no control character, and the options below pass
** their own check.  Raises naming the option. */
void uu_check_option_value(lua_State *L, const char *vendor, const char *k)
{
  char buf[160];
  const char *s, *why = NULL;
  size_t n;
  if (lua_type(L, -1) != LUA_TSTRING)
    return;
  s = lua_tolstring(L, -1, &n);
  if (uu_has_control(s, n))
    opt_raise(L, vendor, k, "must not contain control characters (CR, LF, "
              "NUL, tab, escape...)");
  if (strcmp(k, "proxy") == 0)
    why = proxy_problem(s);
  else if (strcmp(k, "ca_file") == 0)
    why = ca_file_problem(s, buf, sizeof buf);
  else if (strcmp(k, "shared_budget") == 0 && n == 0)
    why = "is an empty path";              /* opened in src/loops/budget.c */
  if (why != NULL)
    opt_raise(L, vendor, k, why);
}

/* ---- the base URL and the plain-http rule ---------------------------- */

/* n bytes at s: a dotted-quad IPv4 literal (decimal, no leading zeros)
** whose first byte is 127. */
static int is_ipv4_loopback(const char *s, size_t n)
{
  size_t i = 0;
  int part, digits, parts = 0, first = -1;
  while (parts < 4) {
    for (part = 0, digits = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
      if (digits > 0 && part == 0)
        return 0;                          /* a leading zero: octal to some */
      part = part * 10 + (s[i] - '0');
      if (++digits > 3 || part > 255)
        return 0;
    }
    if (digits == 0)
      return 0;
    if (first < 0)
      first = part;
    if (++parts < 4 && (i >= n || s[i++] != '.'))
      return 0;
  }
  return i == n && first == 127;
}

/* Loopback is exactly localhost, an IPv4 literal in 127.0.0.0/8 or [::1]. */
static int is_loopback(const char *host, size_t n)
{
  return (n == 9 && memcmp(host, "localhost", 9) == 0) ||
         (n == 5 && memcmp(host, "[::1]", 5) == 0) ||
         is_ipv4_loopback(host, n);
}

/* A port: 1 to 5 digits, 1..65535. */
static int is_port(const char *s, size_t n)
{
  size_t i;
  long v = 0;
  if (n == 0 || n > 5)
    return 0;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    v = v * 10 + (s[i] - '0');
  }
  return v >= 1 && v <= 65535;
}

/* The host in the authority at a (n bytes), port stripped; its length, or
** 0 when the authority is not "host[:port]" with a plain host name or a
** bracketed IPv6 literal. */
static size_t host_of(const char *a, size_t n)
{
  size_t h;
  if (n > 0 && a[0] == '[') {
    h = strspn(a + 1, "0123456789abcdefABCDEF:.") + 1;
    if (h >= n || a[h] != ']')
      return 0;
    h++;
  } else {
    h = strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789.-_");
  }
  if (h == 0 || h > n || (h < n && (a[h] != ':' ||
                                   !is_port(a + h + 1, n - h - 1))))
    return 0;
  return h;
}

/* Why base URL b cannot be used, or NULL: "http[s]://host[:port][/path]",
** no query, fragment, credentials, backslash or space; plain http only to
** loopback unless allow_http. */
const char *uu_base_url_problem(const char *b, int allow_http)
{
  const char *auth;
  size_t alen, hlen;
  int https = strncmp(b, "https://", 8) == 0;
  if (!https && strncmp(b, "http://", 7) != 0)
    return "must start with https:// or http://";
  if (strpbrk(b, "?#@\\ \t\r\n") != NULL)
    return "must not hold a query, fragment, credentials, backslashes or "
           "spaces";
  auth = b + (https ? 8 : 7);
  alen = strcspn(auth, "/");
  if (alen == 0)
    return "has no host";
  if ((hlen = host_of(auth, alen)) == 0)
    return "must be scheme://host[:port][/path] with a plain host name or "
           "IP literal and a port from 1 to 65535";
  if (!https && !allow_http && !is_loopback(auth, hlen))
    return "uses plain http:// to a host that is not loopback (localhost, "
           "127.x.x.x or [::1]); TLS is required (allow_http = true "
           "overrides)";
  return NULL;
}
