/* SmarterMeasure: PUT /v3/users/{userid}, HTTP Basic (seed 000). */
#include "../userupd.h"

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
  "smartermeasure", "PUT",
  "https://api.smartermeasure.com", "/v3/users/{id}", "/v3/users/{id}",
  UU_ID_POSINT, NULL, options, fields,
  UU_AUTH_BASIC, NULL, "username", "password", NULL, NULL,
  NULL,                   /* null: JSON null */
  NULL, NULL,             /* the answer is the user itself */
  "RestException", "Code", "ExtendedDetails", "Status",
  NULL, 0,
  0, 1, 0,                /* no documented limit */
  NULL};
