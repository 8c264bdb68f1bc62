/* Forms On Fire: PUT /api/v2/user?format=json, credentials in the body
** (seed 003). */
#include <string.h>
#include "userupd.h"

static const uu_option options[] = {
  {"company_id", UU_OPT_INT, UU_OPT_REQUIRED, NULL},
  {"integration_key", UU_OPT_STRING, UU_OPT_REQUIRED | UU_OPT_SECRET, NULL},
  {"host", UU_OPT_STRING, 0, NULL},
  {NULL, UU_OPT_END, 0, NULL}};

#define S(n) {n, UU_STRING, 0, NULL, NULL, NULL}
#define B(n) {n, UU_BOOL, 0, NULL, NULL, NULL}

/* The seed's table order.  Groups and Folders are GUIDs unless UseNames or
** UseExternalIds is set, so they are checked only as strings. */
static const uu_field fields[] = {
  {"Type", UU_ENUM, 0, "Full|Premium|Standard|Lite", NULL, NULL},
  {"FirstName", UU_STRING, 0, NULL, "first_name", NULL},
  {"LastName", UU_STRING, 0, NULL, "last_name", NULL},
  {"Email", UU_STRING, 0, NULL, "email", NULL},
  {"Password", UU_STRING, UU_SECRET, NULL, NULL, NULL},
  S("Status"),
  {"ExternalId", UU_STRING, 0, NULL, "external_id", NULL},
  S("TimeZone"), S("Country"), S("WebsiteRole"),
  {"Folders", UU_STRING_LIST, UU_NONULL, NULL, NULL, NULL},
  {"Groups", UU_STRING_LIST, UU_NONULL, NULL, NULL, NULL},
  B("DoNotEmail"),
  S("ColorCode"),
  {"Metadata", UU_KV_LIST, UU_NONULL, NULL, NULL, NULL},
  B("UseNames"), B("UseExternalIds"),
  S("LoginID"),
  {NULL, UU_END, 0, NULL, NULL, NULL}};

static const uu_bodycred creds[] = {
  {"CompanyId", "company_id"}, {"IntegrationKey", "integration_key"},
  {NULL, NULL}};

/* The white-label and private servers: host is "eforms.mobileform.net" or
** a whole root such as "https://forms.example.org". */
static const char *configure(uu_setup *s, lua_State *L, int opts)
{
  const char *host;
  lua_getfield(L, opts, "host");
  host = lua_tostring(L, -1);
  if (host == NULL)
    s->base = "https://secure.formsonfire.com";
  else if (strstr(host, "://") != NULL)
    s->base = "{host}";
  lua_pop(L, 1);
  return NULL;
}

/* vendors.md: a soft limit of 3 connections at once, 2,500 calls a day. */
const uu_vendor uu_vendor_formsonfire = {
  .name = "formsonfire", .method = "PUT",
  .base = "https://{host}",
  .path = "/api/v2/user?format=json",
  .get_path = "/api/v2/user?Id={id}&CompanyId={company_id}"
              "&IntegrationKey={integration_key}&format=json",
  .id = UU_ID_GUID, .id_body = "Id", .options = options, .fields = fields,
  .auth = UU_AUTH_BODY, .body_creds = creds,
  .ok_path = "User", .get_ok_path = "User",
  .err_obj = "ResponseStatus", .err_code = "ErrorCode", .err_msg = "Message",
  .flags = UU_V_ERR_IN_2XX,
  .rate = 0, .burst = 1, .max_conn = 3,
  /* vendors.md: 2,500 calls a day per organization (its midnight; we
  ** count UTC days) */
  .daily_quota = 2500,
  .configure = configure};
