/*
** multi_loop: COUNT PUTs on the libcurl multi interface, CONC transfers
** at a time, each finished handle re-added at once (the yardstick for
** client:update_many).  Usage: see common.h.
**
** Knobs for bench/run's short run from a cold pool (environment, each
** off unless set to 1 or a number):
**   BENCH_COLD=1      no warm-up: the clock starts before the first
**                     transfer, with no connection yet, and the run ends
**                     when COUNT answers are in
**   BENCH_PIPEWAIT=1  every handle waits for a connection that may
**                     multiplex (CURLOPT_PIPEWAIT), as userupd's do
**   BENCH_MAXCONN=N   CURLMOPT_MAX_HOST_CONNECTIONS (userupd caps an h2
**                     pool at in-flight / 100 + 1)
** The result line adds req_ms: the mean time of a measured transfer
** (CURLINFO_TOTAL_TIME_T, waiting for a connection included).
*/
#include "common.h"

#define MAX_CONC 256

static long knob(const char *name)
{
  const char *v = getenv(name);
  return v != NULL ? atol(v) : 0;
}

int main(int argc, char **argv)
{
  size_t len;
  char *body;
  struct curl_slist *headers;
  answer a[MAX_CONC];
  CURL *e[MAX_CONC];
  CURLM *m;
  CURLMsg *msg;
  long count, started = 0, done = 0, failed = 0, warm, status;
  curl_off_t took, took_sum = 0;
  char extra[64];
  int conc, i, running, left;
  double max_secs, t0 = 0, u0 = 0, s0 = 0, deadline = 1e300;
  long rss;
  if (argc < 7) {
    fprintf(stderr,
            "usage: %s URL BODY_FILE HEADER_FILE COUNT MAX_SECS CONC\n",
            argv[0]);
    return 2;
  }
  body = slurp(argv[2], &len);
  count = atol(argv[4]);
  max_secs = atof(argv[5]);
  conc = atoi(argv[6]);
  if (conc < 1 || conc > MAX_CONC)
    return 2;
  warm = 200 > 4 * conc ? 200 : 4 * conc;          /* not measured */
  if (knob("BENCH_COLD") == 1)
    warm = 0;
  count += warm;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  headers = read_headers(argv[3]);
  m = curl_multi_init();
  if (knob("BENCH_MAXCONN") > 0)
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, knob("BENCH_MAXCONN"));
  for (i = 0; i < conc; i++) {
    a[i].p = NULL, a[i].n = a[i].cap = 0;
    e[i] = curl_easy_init();
    setup(e[i], argv[1], body, len, headers, &a[i]);
    curl_easy_setopt(e[i], CURLOPT_PRIVATE, (char *)&a[i]);
    if (knob("BENCH_PIPEWAIT") == 1)
      curl_easy_setopt(e[i], CURLOPT_PIPEWAIT, 1L);
    if (started < count) {
      curl_multi_add_handle(m, e[i]);
      started++;
    }
  }
  if (warm == 0) {                       /* cold: the clock starts now */
    cpu(&u0, &s0, &rss);
    t0 = now();
  }
  while (done < started) {
    curl_multi_perform(m, &running);
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
      CURL *h = msg->easy_handle;
      answer *ans;
      if (msg->msg != CURLMSG_DONE)
        continue;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result != CURLE_OK || status != 200)
        failed++;
      curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&ans);
      if (done >= warm &&
          curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &took) == CURLE_OK)
        took_sum += took;
      curl_multi_remove_handle(m, h);
      ans->n = 0;
      if (++done == warm) {                        /* measuring starts */
        cpu(&u0, &s0, &rss);
        t0 = now();
        deadline = t0 + max_secs;
      }
      if (started < count && (done < warm || now() < deadline)) {
        curl_multi_add_handle(m, h);
        started++;
      }
    }
    if (done < started)
      curl_multi_poll(m, NULL, 0, 100, NULL);
  }
  snprintf(extra, sizeof extra, "req_ms=%.3f", done > warm ?
           (double)took_sum / 1000.0 / (double)(done - warm) : 0.0);
  report_more(done - warm, now() - t0, u0, s0, extra);
  if (failed)
    fprintf(stderr, "multi_loop: %ld failed\n", failed);
  for (i = 0; i < conc; i++) {
    curl_easy_cleanup(e[i]);
    free(a[i].p);
  }
  curl_multi_cleanup(m);
  curl_slist_free_all(headers);
  free(body);
  curl_global_cleanup();
  return failed ? 1 : 0;
}
