/*
** common.h: what the two reference loops share.  Small on purpose: these
** are the "bare C" yardsticks the Lua client is compared with, so they do
** only what any libcurl program must do (set the request, keep the
** answer in a buffer) and nothing else: no JSON, no validation.
**
** Arguments (both loops): URL BODY_FILE HEADER_FILE COUNT MAX_SECS [CONC]
**   BODY_FILE    the exact request body (bench/run writes it from prepare)
**   HEADER_FILE  one "Name: value" per line, the headers the client sends
** BENCH_CA (environment), when set, is the CA file for an https:// URL;
** nothing else changes: libcurl's defaults stay (no PIPEWAIT, no share).
** Output: one line "n=.. secs=.. cpu=.. user=.. sys=.. rss_kb=.." where
** secs and cpu cover the measured loop only (after a short warm-up).
*/
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <curl/curl.h>

typedef struct answer {
  char *p;
  size_t n, cap;
} answer;

/* The answer is kept, as a client would keep it (then thrown away). */
static size_t keep_body(char *data, size_t size, size_t nmemb, void *ud)
{
  answer *a = (answer *)ud;
  size_t n = size * nmemb;
  if (a->n + n > a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 4096;
    char *p;
    while (cap < a->n + n)
      cap *= 2;
    if ((p = (char *)realloc(a->p, cap)) == NULL)
      return 0;
    a->p = p, a->cap = cap;
  }
  memcpy(a->p + a->n, data, n);
  a->n += n;
  return n;
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cpu(double *user, double *sys, long *rss_kb)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
  *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  *rss_kb = ru.ru_maxrss;
}

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *p;
  long n;
  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
    perror(path);
    exit(2);
  }
  rewind(f);
  if ((p = (char *)malloc((size_t)n + 1)) == NULL ||
      fread(p, 1, (size_t)n, f) != (size_t)n) {
    perror(path);
    exit(2);
  }
  fclose(f);
  p[n] = '\0';
  *len = (size_t)n;
  return p;
}

/* The header file as a curl list: one header a line. */
static struct curl_slist *read_headers(const char *path)
{
  size_t n;
  char *text = slurp(path, &n), *line, *save = NULL;
  struct curl_slist *h = NULL;
  for (line = strtok_r(text, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save))
    if (*line != '\0')
      h = curl_slist_append(h, line);
  free(text);
  return h;
}

/* The same options the client sets on its handles that matter on the
** wire or in the hot path. */
static void setup(CURL *e, const char *url, const char *body, size_t len,
                  struct curl_slist *headers, answer *a)
{
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
  if (getenv("BENCH_CA") != NULL)
    curl_easy_setopt(e, CURLOPT_CAINFO, getenv("BENCH_CA"));
}

/* The result line; extra ("k=v ...", or "") goes at its end. */
static void report_more(long n, double secs, double u0, double s0,
                        const char *extra)
{
  double u1, s1;
  long rss;
  cpu(&u1, &s1, &rss);
  printf("n=%ld secs=%.6f cpu=%.6f user=%.6f sys=%.6f rss_kb=%ld%s%s\n", n,
         secs, (u1 - u0) + (s1 - s0), u1 - u0, s1 - s0, rss,
         *extra ? " " : "", extra);
}
