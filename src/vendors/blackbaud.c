/* Blackbaud ON API: PUT /api/user/{id}?t={token}&format=json (seed 002). */
#include <string.h>
#include "userupd.h"

static const uu_option options[] = {
  {"school", UU_OPT_LABEL, 0, NULL},
  {"token", UU_OPT_STRING, UU_OPT_SECRET, NULL},
  {"username", UU_OPT_STRING, UU_OPT_SECRET, NULL}, /* ON API key */
  {"password", UU_OPT_STRING, UU_OPT_SECRET, NULL},
  {NULL, UU_OPT_END, 0, NULL}};

#define S(n) {n, UU_STRING, 0, NULL, NULL, NULL}

/* The user properties the seed's 200 answer lists, plus CustomField1..10
** from its example; clearing goes through FieldsToNull, never JSON null.
** The other extended properties (IsDeceased, ...) are not typed here: the
** seed lists them only as returned by /user/extended/{id}; they go as
** extra members, at the caller's word. */
static const uu_field fields[] = {
  {"FirstName", UU_STRING, 0, NULL, "first_name", NULL},
  {"LastName", UU_STRING, 0, NULL, "last_name", NULL},
  {"Email", UU_STRING, 0, NULL, "email", NULL},
  /* The seed spells it HostId in the answer's property list and HostID in
  ** its prose ("Must be an admin to update HostID"); JSON members follow
  ** the answer.  extra = { HostID = ... } reaches the other spelling. */
  {"HostId", UU_STRING, 0, NULL, "external_id", NULL},
  S("Greeting"), S("MaidenName"), S("NickName"), S("Prefix"), S("Suffix"),
  S("MiddleName"), S("OtherLastName"), S("Affiliation"), S("Gender"),
  {"BirthDate", UU_DATE, 0, NULL, NULL, NULL},
  S("CustomField1"), S("CustomField2"), S("CustomField3"),
  S("CustomField4"), S("CustomField5"), S("CustomField6"),
  S("CustomField7"), S("CustomField8"), S("CustomField9"),
  S("CustomField10"),
  {"FieldsToNull", UU_NAME_LIST, UU_NONULL, NULL, NULL, NULL},
  {NULL, UU_END, 0, NULL, NULL, NULL}};

static const uu_loginspec login = {
  "/api/authentication/login", "username", "password", "Token", "token"};

/* Either a token, or the school's ON API key and secret to log in with. */
static const char *configure(uu_setup *s, lua_State *L, int opts)
{
  int has_token, has_user, has_pass;
  (void)s;
  lua_getfield(L, opts, "token");
  lua_getfield(L, opts, "username");
  lua_getfield(L, opts, "password");
  has_token = !lua_isnil(L, -3);
  has_user = !lua_isnil(L, -2);
  has_pass = !lua_isnil(L, -1);
  lua_pop(L, 3);
  if (has_token && (has_user || has_pass))
    return "give either token or username and password, not both";
  if (!has_token && !(has_user && has_pass))
    return "token, or username and password, is required";
  return NULL;
}

const uu_vendor uu_vendor_blackbaud = {
  .name = "blackbaud", .method = "PUT",
  .base = "https://{school}.myschoolapp.com",
  .path = "/api/user/{id}?t={token}&format=json",
  .get_path = "/api/user/{id}?t={token}&format=json",
  .id = UU_ID_POSINT, .options = options, .fields = fields,
  .auth = UU_AUTH_NONE,     /* the token rides in the URL ({token}) */
  .login = &login,
  .null_list = "FieldsToNull",
  .ok_path = NULL, .get_ok_path = NULL, /* the answer is the user itself */
  .err_obj = "",            /* the error keys sit at the body's root */
  .err_code = "ErrorType", .err_msg = "Error",
  .rate = 0, .burst = 1,    /* no documented limit */
  .configure = configure};
