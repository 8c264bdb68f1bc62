/* Thought Industries: PUT /incoming/v2/users/:id, Bearer key (seed 001). */
#include "userupd.h"

static const uu_option options[] = {
  {"subdomain", UU_OPT_LABEL, 0, NULL},
  {"api_key", UU_OPT_STRING, UU_OPT_REQUIRED | UU_OPT_SECRET, NULL},
  {NULL, UU_OPT_END, 0, NULL}};

#define LICENSES "studentLicenseSkus|managerLicenseSkus|studentLicenseIds" \
                 "|managerLicenseIds"
#define COURSES "courseIds|courseSlugs|courseSkus"
#define PATHS "learningPathSlugs|learningPathSkus|learningPathIds"
#define S(n) {n, UU_STRING, 0, NULL, NULL, NULL}
#define B(n) {n, UU_BOOL, 0, NULL, NULL, NULL}
#define LIST(n, k) {n, k, UU_REQLIST | UU_NONULL, NULL, NULL, NULL}
#define GUARD(n, lists) {n, UU_BOOL, UU_GUARD, lists, NULL, NULL}

/* Seed order.  The seed marks every access list "Required", so an absent
** one goes out as [] (a merge with nothing); the replace* flags would turn
** that [] into "remove all", hence UU_GUARD. */
static const uu_field fields[] = {
  {"email", UU_STRING, 0, NULL, "email", NULL},
  {"externalCustomerId", UU_STRING, 0, NULL, "external_id", NULL},
  LIST("studentLicenseSkus", UU_STRING_LIST),
  LIST("managerLicenseSkus", UU_STRING_LIST),
  LIST("studentLicenseIds", UU_UUID_LIST),
  LIST("managerLicenseIds", UU_UUID_LIST),
  S("role"), S("clientSku"), S("clientSlug"),
  {"clientId", UU_UUID, 0, NULL, NULL, NULL},
  GUARD("replaceLicenseAccess", LICENSES),
  LIST("courseIds", UU_UUID_LIST),
  LIST("courseSlugs", UU_STRING_LIST),
  LIST("courseSkus", UU_STRING_LIST),
  LIST("bundleSlugs", UU_STRING_LIST),
  LIST("learningPathSlugs", UU_STRING_LIST),
  LIST("learningPathSkus", UU_STRING_LIST),
  LIST("learningPathIds", UU_UUID_LIST),
  {"firstName", UU_STRING, 0, NULL, "first_name", NULL},
  {"lastName", UU_STRING, 0, NULL, "last_name", NULL},
  S("address1"), S("address2"), S("city"), S("state"), S("zipCode"),
  S("country"), S("telephone"),
  S("ref1"), S("ref2"), S("ref3"), S("ref4"), S("ref5"),
  S("ref6"), S("ref7"), S("ref8"), S("ref9"), S("ref10"),
  S("language"),
  B("tieredSubscription"),
  GUARD("replaceCourseAccess", COURSES),
  GUARD("replaceLearningPathAccess", PATHS),
  GUARD("replaceBundleAccess", "bundleSlugs"),
  {"customFields", UU_OBJECT, 0, NULL, NULL, NULL},
  /* the seed says uuid; real values are Salesforce ids: both are taken */
  {"sfContactId", UU_SFID, 0, NULL, NULL, NULL},
  {"sfAccountId", UU_SFID, 0, NULL, NULL, NULL},
  B("dualRole"),
  {"balance", UU_NUMBER, 0, NULL, NULL, NULL},
  B("enforceAccessDays"),
  S("preferredCurrency"),
  {"panoramaEnrollmentOptions", UU_OBJECT, 0, NULL, NULL, NULL},
  {NULL, UU_END, 0, NULL, NULL, NULL}};

/* vendors.md: 60 user writes a minute; pace evenly rather than burst,
** because a burst plus a full minute's budget overruns a 60 s window. */
const uu_vendor uu_vendor_thoughtindustries = {
  .name = "thoughtindustries", .method = "PUT",
  .base = "https://{subdomain}.thoughtindustries.com",
  .path = "/incoming/v2/users/{id}", .get_path = "/incoming/v2/users/{id}",
  .id = UU_ID_UUID, .options = options, .fields = fields,
  .auth = UU_AUTH_BEARER, .auth_opt1 = "api_key",
  .ok_path = "data.APIUpdateUser", .get_ok_path = "data.UserById",
  .err_obj = "",            /* the error keys sit at the body's root */
  .err_code = "error", .err_msg = "message",
  .rate = 1.0, .burst = 1};
