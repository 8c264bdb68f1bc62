/*
** userupd.h: internal types shared by the C core.  Nothing here is
** exported from the shared object except luaopen_userupd; every cross-file
** name starts with uu_ and is hidden by -fvisibility=hidden.
**
** The core is driven by vendor descriptors (src/vendors/): plain data that
** says which fields a vendor takes, how it authenticates, where the id goes
** and how its answers are wrapped.  No code outside src/vendors/ knows a
** vendor by name.
*/
#ifndef UU_USERUPD_H
#define UU_USERUPD_H

#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include "base/compat.h"
#include "base/clock.h"
#include "json/json.h"
#include "policy/policy.h"

#define UU_VERSION "0.1.0"
#define UU_CLIENT_MT "userupd.client"
#define UU_CLIENT_LUA_MT "userupd.client.lua" /* clients with a transport */
#define UU_REQUEST_MT "userupd.request"
#define UU_ERROR_MT "userupd.error"
/* Sent when send_null = true: the client means its JSON nulls (the sandbox
** accepts null only with it; a vendor ignores an unknown X- header). */
#define UU_SEND_NULL_HEADER "X-Userupd-Send-Null"

/* ---- descriptors --------------------------------------------------- */

typedef enum uu_kind {
  UU_END = 0,     /* ends a field list */
  UU_STRING = 1,  /* a UTF-8 string */
  UU_INT,         /* an integer (Lua integer or integral float) */
  UU_NUMBER,      /* any finite number */
  UU_BOOL,
  UU_ENUM,        /* a string from the set in arg, "M|F" */
  UU_DATE,        /* YYYY-MM-DD or an ISO-8601 date-time, sent as given */
  UU_UUID,        /* 8-4-4-4-12 hex */
  UU_STRING_LIST, /* array of strings; {} is sent as [] */
  UU_UUID_LIST,   /* array of UUIDs */
  UU_OBJECT,      /* free-form JSON object (string keys, sorted) */
  UU_KV_LIST,     /* Lua map -> [{"Key":k,"Value":v}], keys sorted */
  UU_NAME_LIST,   /* array of this vendor's own field names (FieldsToNull) */
  UU_SFID         /* a UUID, or a Salesforce id: 15 or 18 of [A-Za-z0-9] */
} uu_kind;

/* uu_field.flags */
#define UU_REQLIST 0x01 /* a list the vendor requires: sent as [] if absent */
#define UU_SECRET 0x02  /* value never echoed in messages, redacted on show */
#define UU_GUARD 0x04   /* a replace flag: true needs every list in arg */
#define UU_NONULL 0x08  /* userupd.null is refused for this field */

typedef struct uu_field {
  const char *name;  /* vendor-native name, as the seed's JSON spells it */
  uu_kind kind;
  unsigned flags;
  const char *arg;   /* UU_ENUM: the set; UU_GUARD: the guarded lists */
  const char *canon; /* cross-vendor name (first_name, ...) or NULL */
  const char *reply; /* the name in the vendor's user object, if other */
} uu_field;

typedef enum uu_idkind {
  UU_ID_POSINT = 1, /* positive integer (number or string of digits) */
  UU_ID_UUID,       /* 8-4-4-4-12 hex */
  UU_ID_GUID        /* 32 hex digits, dashes in the 8-4-4-4-12 places ok */
} uu_idkind;

/* Constructor options a vendor takes beyond the common ones. */
typedef enum uu_optype {
  UU_OPT_END = 0, UU_OPT_STRING, UU_OPT_INT, UU_OPT_LABEL
} uu_optype;
#define UU_OPT_REQUIRED 0x01
#define UU_OPT_SECRET 0x02
typedef struct uu_option {
  const char *name;
  uu_optype type; /* UU_OPT_LABEL: a DNS label (subdomain, school) */
  unsigned flags;
  const char *choices; /* "us|eu|ca" or NULL */
} uu_option;

typedef enum uu_auth {
  UU_AUTH_NONE = 0,
  UU_AUTH_BASIC,  /* Authorization: Basic base64(opt1:opt2) */
  UU_AUTH_BEARER, /* Authorization: Bearer opt1 */
  UU_AUTH_HEADER, /* header auth_name: opt1 */
  UU_AUTH_QUERY,  /* ?auth_name=opt1 in the URL */
  UU_AUTH_BODY    /* body_creds appended to the JSON body */
} uu_auth;

/* A body member filled from a constructor option (Forms On Fire). */
typedef struct uu_bodycred {
  const char *json;   /* "CompanyId" */
  const char *option; /* "company_id" */
} uu_bodycred;

/* A login call that trades credentials for a token (Blackbaud ON API). */
typedef struct uu_loginspec {
  const char *path;       /* "/api/authentication/login" */
  const char *user_opt;   /* "username": JSON key and option name */
  const char *pass_opt;   /* "password" */
  const char *token_key;  /* "Token" in the answer */
  const char *token_opt;  /* "token": the option the token stands for */
} uu_loginspec;

/* uu_vendor.flags */
#define UU_V_ERR_IN_2XX 0x01 /* errors may arrive inside a 2xx answer */

/* A vendor descriptor: plain data, written with designated initializers
** (src/vendors/<name>.c).  A slot left out is NULL or 0.  For the string
** slots, NULL always means "none / not used"; the only slot where "" means
** something else is err_obj, where "" is the body's root.  For ok_path and
** get_ok_path NULL and "" both mean the body's root (the answer is the user
** itself). */
struct uu_setup;
typedef struct uu_vendor {
  const char *name;          /* the name userupd.new takes; never NULL */
  const char *method;        /* "PUT"; never NULL */
  const char *base;          /* default "https://{subdomain}.example.com" */
  const char *path;          /* "/v3/users/{id}", "?t={token}&format=json" */
  const char *get_path;      /* the vendor's read call, same template */
  uu_idkind id;
  const char *id_body;       /* NULL: the id is not in the body; else the
                                id also goes first in the body as this key */
  const uu_option *options;  /* ended by {NULL} */
  const uu_field *fields;    /* ended by {NULL}; order = payload key order */
  uu_auth auth;
  const char *auth_name;     /* header or query name for HEADER/QUERY */
  const char *auth_opt1, *auth_opt2; /* option names holding the secret(s);
                                NULL: "api_key" and "password" */
  const uu_bodycred *body_creds; /* for UU_AUTH_BODY, ended by {NULL} */
  const uu_loginspec *login; /* NULL: no login call */
  const char *null_list;     /* NULL: clear a field by sending JSON null;
                                else list the field names under this key */
  const char *ok_path;       /* envelope of the update answer, "a.b";
                                NULL or "": the body is the user */
  const char *get_ok_path;   /* envelope of the read answer, same rule */
  const char *err_obj;       /* where the error object sits, "a.b";
                                "": at the body's root; NULL: none */
  const char *err_code, *err_msg, *err_msg2; /* keys inside it, NULL: none;
                                err_msg2 is read when err_msg is empty */
  const char *err_status;    /* key inside it holding the HTTP status the
                                error stands for, NULL: none */
  const char *request_id_key;/* NULL: no request id in the body */
  unsigned flags;            /* UU_V_* */
  double rate;               /* default requests/s, 0 = unlimited */
  double burst;              /* token bucket depth (0 is taken as 1) */
  int max_conn;              /* connections at once, 0 = no limit */
  long daily_quota;          /* documented calls a day, 0 = none */
  /* NULL, or: adjust the setup from vendor-only options (datacenter ...);
  ** returns an error message or NULL */
  const char *(*configure)(struct uu_setup *s, lua_State *L, int opts);
} uu_vendor;

/* What a vendor's configure hook may change before the client is built. */
typedef struct uu_setup {
  const char *base;     /* base URL template */
  const char *path;     /* update path template */
  const char *get_path;
  uu_auth auth;
  const char *auth_name;
} uu_setup;

const uu_vendor *uu_vendor_find(const char *name);
const uu_vendor *const *uu_vendor_list(void);
const uu_field *uu_field_find(const uu_vendor *v, const char *name,
                              size_t len, int *canonical);

/* ---- client -------------------------------------------------------- */

typedef enum uu_op { UU_OP_UPDATE = 0, UU_OP_GET, UU_OP_LOGIN } uu_op;

/* Everything known about one finished exchange. */
typedef struct uu_answer {
  uu_op op;
  long status;
  CURLcode cc;
  const char *curl_msg;
  const char *body;
  size_t len;
  int overflow;
  int header_overflow;       /* the header section was too large */
  const char *refused;       /* not sent, the daily quota is spent: this
                                message, kind rate_limited (budget.c) */
  const char *request_id;
  int attempts;
  double elapsed;
  const char *sent;          /* the JSON body this answers (an update's),
                                or NULL: its secret fields are hidden in
                                every text taken from the answer */
  size_t sent_len;
  long env_status;           /* a 2xx whose body is the vendor's error
                                envelope: the status it stands for (its
                                own, or 400); 0: no such envelope */
} uu_answer;


/* The header section an answer may have (a vendor's is under 2 KB). */
#define UU_MAX_HEADERS (64 * 1024)

/* Where a slot is in its life cycle (slot.c), in every call loop. */
enum {
  UU_SLOT_IDLE = 0,   /* free (update_many's pool) */
  UU_SLOT_WAIT,       /* has a record; may start at due */
  UU_SLOT_ACTIVE,     /* on a multi handle */
  UU_SLOT_DONE,       /* answered for good; results not yet delivered */
  UU_SLOT_DELIVERING  /* its callback is running (submit/poll) */
};

/* One request slot: an easy handle and the buffers it reads and writes.
** Slots live in the client (sync calls) or in its pool (update_many), so a
** Lua error anywhere can never strand one: release frees them all. */
typedef struct uu_slot {
  CURL *easy;
  uu_buf id, url, body, resp;
  uu_buf full, prev;         /* changed_fields: this and the last payload */
  const char *method;        /* the method the handle is set up for */
  char errbuf[CURL_ERROR_SIZE];
  struct uu_client *client;
  long status;
  uu_heard heard;            /* what the answer's headers said */
  int overflow;              /* the answer went past max_response */
  size_t header_bytes;       /* the header section so far */
  int header_overflow;       /* it went past UU_MAX_HEADERS */
  int headers_done;          /* its blank line came */
  /* the call loops' bookkeeping for the record this slot carries */
  int state;                 /* UU_SLOT_* */
  int attempts, relogged, token_gen, secret_fields;
  double t0, due;
  /* the wait before an attempt and its reason, for on_attempt (trace.c) */
  double waited;             /* seconds waited since the last attempt */
  double why_part;           /* the largest part of that wait */
  const char *why;           /* its reason (UU_WHY_*), NULL for none */
  double trace_wait;         /* the wait before the attempt in flight */
  const char *trace_why;     /* and its reason */
  size_t fields_end;         /* the body up to here holds no credential */
  uint64_t hash;
  long line;                 /* the record's input line, 0 if not given */
  uu_answer answer;
  int index;                 /* in the pool */
} uu_slot;

typedef struct uu_budget uu_budget;

#define UU_TOKEN_FORMS 6   /* the token's 3 forms, then the last token's */
typedef struct uu_client {
  const uu_vendor *v;
  uu_setup setup;            /* the descriptor's templates, as configured */
  int closed;
  /* request parts fixed at construction (and at each re-login) */
  uu_buf base;               /* scheme, host and any path prefix */
  uu_buf url_pre, url_post;  /* the URL is url_pre + id + url_post */
  uu_buf get_pre, get_post;
  int id_in_url, id_in_get;  /* 0: the id goes in the body only */
  uu_buf body_tail;          /* credentials closing the body, or empty */
  struct curl_slist *headers;
  char *auth_header;         /* kept only to rebuild headers */
  /* session login (Blackbaud username/password) */
  char *login_user, *login_pass;
  char *token;               /* from the login call; C memory only */
  double login_busy_until;   /* a Lua-transport login is under way */
  int token_gen;
  /* options */
  long timeout_ms, connect_timeout_ms;
  size_t max_response, max_string;
  size_t max_body;           /* a request body may not pass this */
  int allow_http, max_conn;
  int send_null;             /* JSON null where no seed documents a clear */
  long http_version;         /* CURL_HTTP_VERSION_*, from http_version */
  char *ca_file, *proxy, *user_agent;
  /* retries and pacing: a token bucket plus the vendor's own budget */
  uu_policy policy;
  /* Lua hooks (registry refs, LUA_NOREF when absent) */
  int sleep_ref, transport_ref;
  int attempt_ref;           /* on_attempt, called after each attempt */
  int names_ref;             /* marshal's name -> field table */
  struct uu_names *names;    /* its keys by address (marshal.c), or NULL */
  /* the slot sync calls use, and the pool update_many draws from */
  uu_slot sync, login;
  uu_buf scratch;
  uu_slot *pool;
  int npool, many_running;
  const char *busy;          /* the call using sync/scratch now, or NULL */
  int release_due;           /* closed during that call: free after it */
  CURLM *multi;
  CURLSH *share;             /* the connection pool (pool.c) */
  int pool_warm;             /* some transfer got an answer */
  int pool_h2;               /* the server answered over HTTP/2 */
  struct uu_journal *journal;  /* open during update_many only */
  struct uu_budget *budget;  /* shared_budget, daily_quota (budget.c) */
  /* redaction: every secret as it may appear on the wire */
  char **secrets;
  int nsecrets;
  unsigned char account[32]; /* SHA-256 of the credential options: binds */
                             /* a journal to an account (owner.c) */
  char *token_forms[UU_TOKEN_FORMS]; /* login token, then the one before */
  struct uu_redact_views *redact; /* copies of those and their views */
                             /* (redact.c), or NULL */
} uu_client;

/* A client, open or closed, under either of the two metatables; raises
** for anything else.  Inline, so every room can check its argument
** without a door back up to the binding. */
static inline uu_client *uu_to_client(lua_State *L, int idx)
{
  uu_client *c = (uu_client *)uu_testudata(L, idx, UU_CLIENT_MT);
  if (c == NULL)
    c = (uu_client *)uu_testudata(L, idx, UU_CLIENT_LUA_MT);
  if (c == NULL)
    uu_typeerror(L, idx, "userupd.client");
  return c;
}

/* An open client (methods on a closed one raise, as liolib's tofile). */
static inline uu_client *uu_check_client(lua_State *L, int idx)
{
  uu_client *c = uu_to_client(L, idx);
  if (c->closed)
    luaL_error(L, "attempt to use a closed client");
  return c;
}

/* ---- suggest.c: "did you mean" for fields and options ---------------- */

typedef struct uu_suggest {
  const char *s;       /* the misspelt name, n bytes */
  size_t n;
  const char *best;    /* the closest candidate so far, or NULL */
  int bestd;
} uu_suggest;

void uu_suggest_init(uu_suggest *sg, const char *s, size_t n);
void uu_suggest_try(uu_suggest *sg, const char *candidate);

/* ---- marshal.c (+ wire/marshal.h), ids.c, format.c, encode.c --------- */

/* The outcome of validating one record; kind is always "invalid". */
typedef struct uu_bad {
  char field[96];
  char msg[320];
} uu_bad;

int uu_check_id(const uu_vendor *v, lua_State *L, int idx, uu_buf *out,
                uu_bad *bad);
int uu_marshal(uu_client *c, lua_State *L, int idx, const char *id,
               size_t idlen, uu_buf *body, size_t *fields_end, uu_bad *bad);
/* The same with extra members (a table at extra, 0 for none), written
** after the documented fields; the extra index may be nil. */
int uu_marshal_x(uu_client *c, lua_State *L, int idx, int extra,
                 const char *id, size_t idlen, uu_buf *body,
                 size_t *fields_end, uu_bad *bad);
int uu_extra_arg(lua_State *L, int opts);
void uu_names_free(uu_client *c);
int uu_push_extra_names(lua_State *L, int extra);
int uu_percent_encode(uu_buf *b, const char *s, size_t n);
int uu_base64(uu_buf *out, const char *s, size_t n);
int uu_in_set(const char *set, const char *s, size_t n);

/* ---- request.c ------------------------------------------------------ */

void uu_build_urls(uu_client *c, lua_State *L, int opts);
int uu_login_build(uu_client *c, uu_slot *s);
int uu_build_url(uu_client *c, uu_op op, const char *id, size_t idlen,
                 uu_buf *url);
void uu_push_request(lua_State *L, uu_client *c, const char *method,
                     uu_buf *url, uu_buf *body);
/* redact.c */
void uu_redact(uu_client *c, lua_State *L, const char *s, size_t n);
void uu_redact_free(uu_client *c);
void uu_redact_cut(uu_client *c, lua_State *L, const char *s, size_t n,
                   size_t max, int cut);
void uu_redact_sent(uu_client *c, lua_State *L, const char *body, size_t n);

/* ---- auth.c, secrets.c: credentials on the wire ---------------------- */

void uu_auth_header(uu_client *c, lua_State *L, int opts);
void uu_body_tail(uu_client *c, lua_State *L, int opts);
int uu_secret_keep(uu_client *c, const char *s, size_t n);
void uu_secret_add(uu_client *c, lua_State *L, const char *s, size_t n);
void uu_secret_forms(uu_client *c, lua_State *L, const char *s);
void uu_secrets_proxy(uu_client *c, lua_State *L);

/* ---- reply.c -------------------------------------------------------- */

int uu_retryable(const uu_answer *a);
long uu_answer_status(const uu_answer *a);
void uu_envelope_note(uu_client *c, lua_State *L, uu_answer *a);
const char *uu_status_kind(long status);
void uu_header_note(uu_heard *h, const char *name, size_t nlen,
                    const char *value, size_t vlen);
int uu_push_answer(lua_State *L, uu_client *c, const uu_answer *a);
void uu_push_info(lua_State *L, const uu_answer *a);
void uu_closed_answer(uu_answer *a, uu_op op);
void uu_push_error(lua_State *L, const uu_vendor *v, const char *kind,
                   const char *field, long status, const char *code,
                   const char *request_id, int retryable, const char *msg);
void uu_push_invalid(lua_State *L, uu_client *c, const uu_bad *bad);
int uu_push_refusal(lua_State *L, uu_client *c, const uu_bad *bad);
void uu_error_open(lua_State *L);

/* ---- http.c --------------------------------------------------------- */

int uu_slot_init(uu_client *c, uu_slot *s);
void uu_slot_free(uu_slot *s);
void uu_slot_rebind(uu_slot *s);
void uu_slot_prepare(uu_slot *s, const char *method, int body);
const char *uu_user_agent(void);
void uu_slot_answer(uu_slot *s, uu_op op, CURLcode cc, uu_answer *a);

/* ---- optcheck.c ----------------------------------------------------- */

int uu_has_control(const char *s, size_t n);
void uu_check_option_value(lua_State *L, const char *vendor, const char *k);
const char *uu_base_url_problem(const char *b, int allow_http);

/* ---- pool.c --------------------------------------------------------- */

long uu_http_version(const char *s);
int uu_pool_open(uu_client *c);
void uu_pool_easy(uu_client *c, CURL *e);
void uu_pool_multi(uu_client *c, CURLM *m, int inflight);
void uu_pool_note(uu_client *c, CURL *e, CURLcode cc);
int uu_pool_cold(const uu_client *c);
void uu_pool_close(uu_client *c);

/* ---- client.c ------------------------------------------------------- */

int uu_client_new(lua_State *L, const uu_vendor *v, int opts);
void uu_client_release(lua_State *L, uu_client *c);
extern const luaL_Reg uu_client_methods[], uu_client_meta[];
void uu_push_common_options(lua_State *L);

/* ---- slot.c: one request's life cycle, for every call loop ---------- */

void uu_sleep(uu_client *c, lua_State *L, double secs);
int uu_decide(uu_client *c, const uu_slot *s, const uu_answer *a,
              int attempts, int *relogged, double *wait);
void uu_drop_token(uu_client *c, int gen);
int uu_slot_url(lua_State *L, uu_client *c, int cidx, uu_slot *s, uu_op op);
void uu_slot_arm(uu_client *c, uu_slot *s, uu_op op);
int uu_slot_start(lua_State *L, uu_client *c, int cidx, uu_slot *s,
                  CURLM *multi);
int uu_slot_settle(lua_State *L, uu_client *c, uu_slot *s, double *wait);
int uu_slot_harvest(lua_State *L, CURLM *multi);
double uu_slot_pace(uu_client *c, lua_State *L, uu_slot *s, double now);
double uu_slot_paced(uu_client *c, uu_slot *s, double w, double now);
void uu_slot_begins(uu_slot *s);

/* Why an attempt waited (on_attempt's wait_reason). */
#define UU_WHY_PACING "pacing"        /* the client's own rate */
#define UU_WHY_RETRY_AFTER "retry_after" /* the vendor's word: Retry-After,
                                         X-RateLimit-Remaining 0 */
#define UU_WHY_BACKOFF "backoff"      /* exponential backoff before a retry */
#define UU_WHY_BUDGET "budget"        /* the shared budget's store */

/* ---- trace.c: the on_attempt hook ------------------------------------- */

void uu_push_attempt(lua_State *L, uu_client *c, uu_slot *s, int verdict,
                     double next_wait);
void uu_trace_attempt(lua_State *L, uu_client *c, uu_slot *s, int verdict,
                      double next_wait);

/* ---- login.c: the session login (Blackbaud ON API) -------------------- */

int uu_login(uu_client *c, lua_State *L, int cidx, uu_answer *a);
int uu_login_finish(uu_client *c, lua_State *L, int cidx, uu_slot *s,
                    uu_answer *a);

/* ---- the call loops: engine.c, many.c (+ run.h), async.c, driver.c --- */

int uu_update(lua_State *L, uu_client *c, uu_op op);          /* engine.c */
int uu_build(lua_State *L, uu_client *c, uu_slot *s, uu_op op, int id,
             int fields, int extra, uu_bad *bad);
int uu_update_many(lua_State *L);                             /* many.c */
void uu_many_release(uu_client *c);
extern const luaL_Reg uu_many_methods[];            /* binding/many_lua.c */
void uu_async_cancel(lua_State *L, uu_client *c);             /* async.c */
extern const luaL_Reg uu_async_methods[], uu_async_funcs[];
extern const luaL_Reg uu_driver_methods[];                    /* driver.c */
int uu_guarded(lua_State *L, const char *what, lua_CFunction f); /* guard.c */
void uu_not_busy(lua_State *L, const uu_client *c, const char *what);
void uu_driver_wrap(lua_State *L);

/* ---- verify.c ------------------------------------------------------- */
void uu_verify(lua_State *L, const uu_vendor *v, int fidx, int uidx);

#endif
