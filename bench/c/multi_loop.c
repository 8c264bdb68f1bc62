/*
** multi_loop: COUNT PUTs on the libcurl multi interface, CONC transfers
** at a time, each finished handle re-added at once (the yardstick for
** client:update_many).  Usage: see common.h.
*/
#include "common.h"

#define MAX_CONC 256

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
  count += warm;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  headers = read_headers(argv[3]);
  m = curl_multi_init();
  for (i = 0; i < conc; i++) {
    a[i].p = NULL, a[i].n = a[i].cap = 0;
    e[i] = curl_easy_init();
    setup(e[i], argv[1], body, len, headers, &a[i]);
    curl_easy_setopt(e[i], CURLOPT_PRIVATE, (char *)&a[i]);
    if (started < count) {
      curl_multi_add_handle(m, e[i]);
      started++;
    }
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
  report(done - warm, now() - t0, u0, s0);
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
