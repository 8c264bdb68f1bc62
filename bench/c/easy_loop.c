/*
** easy_loop: COUNT sequential PUTs on one reused easy handle (the
** yardstick for client:update).  Usage: see common.h.
*/
#include "common.h"

int main(int argc, char **argv)
{
  size_t len;
  char *body;
  struct curl_slist *headers;
  answer a = {NULL, 0, 0};
  long count, i, failed = 0, status = 0;
  double max_secs, t0, u0, s0;
  long rss;
  CURL *e;
  if (argc < 6) {
    fprintf(stderr, "usage: %s URL BODY_FILE HEADER_FILE COUNT MAX_SECS\n",
            argv[0]);
    return 2;
  }
  body = slurp(argv[2], &len);
  count = atol(argv[4]);
  max_secs = atof(argv[5]);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  headers = read_headers(argv[3]);
  e = curl_easy_init();
  setup(e, argv[1], body, len, headers, &a);
  for (i = 0; i < 200; i++) {                      /* warm-up */
    a.n = 0;
    curl_easy_perform(e);
  }
  cpu(&u0, &s0, &rss);
  t0 = now();
  for (i = 0; i < count; i++) {
    a.n = 0;
    if (curl_easy_perform(e) != CURLE_OK ||
        (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status), status != 200))
      failed++;
    if ((i & 63) == 63 && now() - t0 > max_secs) {
      i++;
      break;
    }
  }
  report_more(i, now() - t0, u0, s0, "");
  if (failed)
    fprintf(stderr, "easy_loop: %ld failed\n", failed);
  curl_easy_cleanup(e);
  curl_slist_free_all(headers);
  free(a.p), free(body);
  curl_global_cleanup();
  return failed ? 1 : 0;
}
