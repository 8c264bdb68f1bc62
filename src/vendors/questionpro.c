/* QuestionPro: PUT /a/api/v2/users/{id}?apiKey=... (seed 004). */
#include <string.h>
#include "userupd.h"

static const uu_option options[] = {
  {"api_key", UU_OPT_STRING, UU_OPT_REQUIRED | UU_OPT_SECRET, NULL},
  {"datacenter", UU_OPT_STRING, 0, "us|eu|ca|sg|au|ae|sa|ksa"},
  {"key_in", UU_OPT_STRING, 0, "query|header"},
  {NULL, UU_OPT_END, 0, NULL}};

/* The seed's payload order; password comes from its PHP example. */
static const uu_field fields[] = {
  {"departmentID", UU_INT, 0, NULL, NULL, NULL},
  {"firstName", UU_STRING, 0, NULL, "first_name", NULL},
  {"lastName", UU_STRING, 0, NULL, "last_name", NULL},
  {"password", UU_STRING, UU_SECRET, NULL, NULL, NULL},
  {"emailAddress", UU_STRING, 0, NULL, "email", NULL},
  {NULL, UU_END, 0, NULL, NULL, NULL}};

/* Regional hosts from vendors.md, in the order of the choices above. */
static const char *const hosts[] = {
  "https://api.questionpro.com", "https://api.questionpro.eu",
  "https://api.questionpro.ca", "https://api.questionpro.sg",
  "https://api.questionpro.au", "https://api.questionpro.ae",
  "https://api.surveyanalytics.com", "https://api.questionprosa.com"};

static const char *configure(uu_setup *s, lua_State *L, int opts)
{
  static const char *const dcs[] = {"us", "eu", "ca", "sg", "au", "ae",
                                    "sa", "ksa"};
  const char *dc, *key_in;
  size_t i;
  lua_getfield(L, opts, "datacenter");
  lua_getfield(L, opts, "key_in");
  dc = lua_tostring(L, -2);
  key_in = lua_tostring(L, -1);
  for (i = 0; dc != NULL && i < sizeof dcs / sizeof *dcs; i++)
    if (strcmp(dc, dcs[i]) == 0)
      s->base = hosts[i];
  if (key_in != NULL && strcmp(key_in, "header") == 0) {
    s->path = "/a/api/v2/users/{id}";
    s->get_path = s->path;
    s->auth = UU_AUTH_HEADER;
    s->auth_name = "api-key";
  }
  lua_pop(L, 2);
  return NULL;
}

/* vendors.md: 300 calls a minute per key. */
const uu_vendor uu_vendor_questionpro = {
  .name = "questionpro", .method = "PUT",
  .base = "https://api.questionpro.com",
  .path = "/a/api/v2/users/{id}?apiKey={api_key}",
  .get_path = "/a/api/v2/users/{id}?apiKey={api_key}",
  .id = UU_ID_POSINT, .options = options, .fields = fields,
  .auth = UU_AUTH_NONE,     /* the key rides in the URL, or configure */
  .auth_opt1 = "api_key",   /* moves it to a header (key_in) */
  .ok_path = "response", .get_ok_path = "response",
  .err_obj = "response.error", .err_code = "id", .err_msg = "message",
  .err_msg2 = "name", .err_status = "httpStatusCode",
  .request_id_key = "requestID",
  .rate = 5.0, .burst = 1,
  .configure = configure};
