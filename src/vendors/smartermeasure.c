/* SmarterMeasure: PUT /v3/users/{userid}, HTTP Basic (seed 000). */
#include "userupd.h"

static const uu_option options[] = {
  {"username", UU_OPT_STRING, UU_OPT_REQUIRED | UU_OPT_SECRET, NULL}, /* access key */
  {"password", UU_OPT_STRING, UU_OPT_REQUIRED | UU_OPT_SECRET, NULL},
  {NULL, UU_OPT_END, 0, NULL}};

/* The seed's request body, in its order; the answer spells two of them
** differently (InternalId, HowManyCourses), which verify needs to know. */
static const uu_field fields[] = {
  {"FirstName", UU_STRING, 0, NULL, "first_name", NULL},
  {"LastName", UU_STRING, 0, NULL, "last_name", NULL},
  {"Email", UU_STRING, 0, NULL, "email", NULL},
  {"InternalID", UU_STRING, 0, NULL, "external_id", "InternalId"},
  {"Gender", UU_ENUM, 0, "M|F", NULL, NULL},
  {"EthnicityID", UU_INT, 0, NULL, NULL, NULL},
  {"AgeRange", UU_STRING, 0, NULL, NULL, NULL},
  {"HowManyCoursesTaken", UU_STRING, 0, NULL, NULL, "HowManyCourses"},
  {NULL, UU_END, 0, NULL, NULL, NULL}};

const uu_vendor uu_vendor_smartermeasure = {
  .name = "smartermeasure", .method = "PUT",
  .base = "https://api.smartermeasure.com",
  .path = "/v3/users/{id}", .get_path = "/v3/users/{id}",
  .id = UU_ID_POSINT, .options = options, .fields = fields,
  .auth = UU_AUTH_BASIC, .auth_opt1 = "username", .auth_opt2 = "password",
  .null_list = NULL,        /* null: JSON null */
  .ok_path = NULL, .get_ok_path = NULL, /* the answer is the user itself */
  .err_obj = "RestException", .err_code = "Code",
  .err_msg = "ExtendedDetails", .err_msg2 = "Status",
  .err_status = "Status",   /* the HTTP status the error stands for */
  .rate = 0, .burst = 1};   /* no documented limit */
