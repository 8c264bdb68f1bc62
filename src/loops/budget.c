/*
** budget.c: the shared budget and the daily quota.
**
** The pacing interface is two questions a store answers for a key (a hash
** of the vendor and the credential, see budget_key):
**   take(key, rate, burst) -> wait   one token is taken (reserved) now;
**                                    wait: seconds until it may be used
**   spend(key, quota) -> sent, ok    counts one request against today's
**                                    (UTC) count unless it reached quota
** Every store keeps the bucket the same way, as one number, tat: a take
** sets tat = max(tat + 1/rate, now - (burst - 1)/rate) and waits
** tat - now (see bucket_take).  burst may be fractional, even below 1: the
** core passes burst - START_MARGIN * rate.  Stores:
**   - a file (shared_budget = "<path>"): every process on the machine
**     naming the file; records updated under an fcntl lock, which dies
**     with its holder, so a crash never wedges the others;
**   - a Lua object with take/spend methods (shared_budget = store):
**     userupd.budget.ngx (a lua_shared_dict: nginx workers) and
**     userupd.budget.redis (machines), or any other store.
*/
#define _GNU_SOURCE 1                  /* F_OFD_SETLK */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "loops/budget.h"
#include "journal/journal.h"
#include "base/whole.h"

#define FILE_MAGIC "userupd shared budget 1\n"
#define REC_SIZE 64
#define LOCK_WAIT 2.0                  /* seconds before giving up */
/* A schedule that starts from a full bucket starts this late: the vendor
** anchors its bucket when the first request arrives, and a later request
** that travels faster than the first must not look early to it. */
#define START_MARGIN 0.1
/* Skew: no budget reserves further ahead than its burst plus every slot
** of a full update_many pool (256) at its rate, plus a minute.  A tat
** beyond that comes from a clock stepped back, a VM restore or a damaged
** record, never from pacing: the file store resets it, a Lua store's
** answer is an error that names the store, and neither is slept on. */
#define SKEW_SLOTS 256.0
#define SKEW_MARGIN 60.0

struct uu_budget {
  int fd;                              /* the file store, or -1 */
  char *path;
  int ref;                             /* a Lua store, or LUA_NOREF */
  char key[33];                        /* hex, 128 bits of SHA-256 */
  long quota;                          /* 0: none */
  long day, sent, unsaved;             /* the count without a store */
  double timeout;                      /* the client's: each store call's */
                                       /* deadline, passed to the store */
  char msg[112];                       /* a refusal's message */
  double take_t0;                      /* when driver.lua's take began */
};

/* One record of the file: the key, the bucket, today's count. */
typedef struct rec {
  char key[32];
  double tat;
  int64_t day, sent;
  char pad[REC_SIZE - 32 - sizeof(double) - 2 * sizeof(int64_t)];
} rec;

static long utc_day(void)
{
  return (long)(uu_wall() / 86400.0);
}

/* The token bucket on a tat: returns the new tat; wait = tat - now. */
static double bucket_take(double tat, double now, double rate, double burst)
{
  double floor_ = now - (burst - 1) / rate;
  tat += 1 / rate;
  return tat > floor_ ? tat : floor_;
}

/* The furthest ahead a real reservation can lie, in seconds. */
static double skew_limit(double rate, double burst)
{
  return ((burst > 1 ? burst : 1) + SKEW_SLOTS) / rate + SKEW_MARGIN;
}

/* ---- the key ------------------------------------------------------------ */

static void hash_opt(uu_sha256 *h, lua_State *L, int opts, const char *k)
{
  size_t n;
  const char *s;
  lua_getfield(L, opts, k);
  if ((s = lua_tolstring(L, -1, &n)) != NULL) {
    uu_sha256_add(h, k, strlen(k) + 1);
    uu_sha256_add(h, s, n);
    uu_sha256_add(h, "", 1);
  }
  lua_pop(L, 1);
}

/* SHA-256 of a fixed tag, the vendor's name and every credential option
** (secret options and body credentials such as Forms On Fire's
** company_id), as name, value pairs; 128 bits of it in hex. */
static void budget_key(uu_client *c, lua_State *L, int opts, char out[33])
{
  static const char tag[] = "userupd shared budget key 1";
  const uu_option *o;
  const uu_bodycred *bc;
  unsigned char d[32];
  uu_sha256 h;
  int i;
  uu_sha256_init(&h);
  uu_sha256_add(&h, tag, sizeof tag);
  uu_sha256_add(&h, c->v->name, strlen(c->v->name) + 1);
  for (o = c->v->options; o->name != NULL; o++)
    if (o->flags & UU_OPT_SECRET)
      hash_opt(&h, L, opts, o->name);
  for (bc = c->v->body_creds; bc != NULL && bc->option != NULL; bc++)
    hash_opt(&h, L, opts, bc->option);
  uu_sha256_end(&h, d);
  for (i = 0; i < 16; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- the file store ----------------------------------------------------- */

static int try_lock(int fd, short type)
{
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;              /* l_start 0, l_len 0: the file */
#ifdef F_OFD_SETLK
  if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
    return 0;
  if (errno != EINVAL)                 /* EINVAL: a kernel without OFD */
    return -1;
#endif
  return fcntl(fd, F_SETLK, &fl);
}

/* Locks the whole file, retrying for LOCK_WAIT seconds.  A lock dies
** with the process holding it; only a live holder stuck inside the few
** lines below could make this time out. */
static int lock_file(int fd)
{
  double deadline = uu_now() + LOCK_WAIT;
  struct timespec ts = {0, 1000000};
  while (try_lock(fd, F_WRLCK) != 0) {
    if ((errno != EAGAIN && errno != EACCES && errno != EINTR) ||
        uu_now() > deadline)
      return -1;
    nanosleep(&ts, NULL);
  }
  return 0;
}

static void unlock_file(int fd)
{
  try_lock(fd, F_UNLCK);
}

/* Under the lock: checks (or writes, for a new file) the header. */
static int check_header(int fd)
{
  char h[REC_SIZE];
  ssize_t n = pread(fd, h, sizeof h, 0);
  if (n == 0) {
    memset(h, 0, sizeof h);
    memcpy(h, FILE_MAGIC, sizeof FILE_MAGIC - 1);
    return pwrite(fd, h, sizeof h, 0) == (ssize_t)sizeof h ? 0 : -1;
  }
  if (n != (ssize_t)sizeof h || memcmp(h, FILE_MAGIC,
                                       sizeof FILE_MAGIC - 1) != 0) {
    errno = EPROTO;
    return -1;
  }
  return 0;
}

/* Under the lock: the key's record and its offset (a new, zeroed record
** at the end when the key is not in the file yet). */
static off_t find_rec(int fd, const char *key, rec *r)
{
  off_t off = REC_SIZE;
  ssize_t n;
  for (;; off += REC_SIZE) {
    n = pread(fd, r, sizeof *r, off);
    if (n < (ssize_t)sizeof *r)
      break;                           /* the end (a torn tail is reused) */
    if (memcmp(r->key, key, 32) == 0)
      return off;
  }
  memset(r, 0, sizeof *r);
  memcpy(r->key, key, 32);
  return off;
}

/* Locks, reads the key's record into *r; the offset, or -1 (unlocked). */
static off_t file_begin(uu_budget *b, rec *r)
{
  int e;
  if (lock_file(b->fd) != 0)
    return -1;
  if (check_header(b->fd) != 0) {
    e = errno;
    unlock_file(b->fd);
    errno = e;
    return -1;
  }
  return find_rec(b->fd, b->key, r);
}

/* Writes the record back and unlocks; raises on failure. */
static void file_end(uu_budget *b, lua_State *L, const rec *r, off_t off)
{
  ssize_t n = pwrite(b->fd, r, sizeof *r, off);
  int e = errno;
  unlock_file(b->fd);
  if (n != (ssize_t)sizeof *r)
    luaL_error(L, "userupd: shared_budget %s: cannot write: %s", b->path,
               strerror(e));
}

static void file_fail(uu_budget *b, lua_State *L)
{
  if (errno == EPROTO)
    luaL_error(L, "userupd: shared_budget %s: not a userupd budget file",
               b->path);
  if (errno == EAGAIN || errno == EACCES || errno == EINTR)
    luaL_error(L, "userupd: shared_budget %s: still locked after %d s",
               b->path, (int)LOCK_WAIT);
  luaL_error(L, "userupd: shared_budget %s: %s", b->path, strerror(errno));
}

static double file_take(uu_budget *b, lua_State *L, double rate,
                        double burst)
{
  rec r;
  double now;
  off_t off = file_begin(b, &r);
  if (off < 0)
    file_fail(b, L);
  now = uu_wall();
  if (r.tat - now > skew_limit(rate, burst))
    r.tat = 0;                         /* skew: start from a full bucket */
  r.tat = bucket_take(r.tat, now, rate, burst);
  file_end(b, L, &r, off);
  return r.tat > now ? r.tat - now : 0;
}

static int file_spend(uu_budget *b, lua_State *L, long quota, long *sent)
{
  rec r;
  long day = utc_day();
  int ok;
  off_t off = file_begin(b, &r);
  if (off < 0)
    file_fail(b, L);
  if (r.day != day) {
    r.day = day;
    r.sent = 0;
  }
  ok = r.sent < quota;
  if (ok)
    r.sent++;
  *sent = (long)r.sent;
  file_end(b, L, &r, off);
  return ok;
}

/* ---- a Lua store -------------------------------------------------------- */

/* The store's name for messages: its __tostring ("userupd.budget.redis
** 127.0.0.1:6379"), or "a Lua store".  Pushed on the stack. */
static const char *store_name(uu_budget *b, lua_State *L)
{
  lua_getglobal(L, "tostring");
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->ref);
  if (!luaL_getmetafield(L, -1, "__tostring")) {
    lua_pop(L, 2);
    lua_pushliteral(L, "a Lua store");
    return lua_tostring(L, -1);
  }
  lua_pop(L, 1);
  lua_call(L, 1, 1);
  return lua_isstring(L, -1) ? lua_tostring(L, -1) : "a Lua store";
}

static void store_fail(uu_budget *b, lua_State *L, const char *method,
                       const char *why)
{
  luaL_error(L, "userupd: shared_budget %s failed (%s): %s", method,
             store_name(b, L), why);
}

/* store:method(key, ..., timeout) with the arguments but the last already
** pushed (nargs of them); timeout is the client's, the call's deadline.
** Leaves its two results (take: wait, -; spend: sent, ok), or raises,
** naming the store, when the first is nil or the answer came too late. */
/* Refuses the store's answer on top (two values) when it failed or came
** later than the client's timeout allows (the call began at t0). */
static void check_answer(uu_budget *b, lua_State *L, const char *method,
                         double t0)
{
  double took;
  if (lua_isnil(L, -2))
    store_fail(b, L, method, lua_isstring(L, -1) ? lua_tostring(L, -1)
                                                 : "no reason");
  took = uu_now() - t0;
  if (took > b->timeout + 1.0) {
    lua_pushfstring(L, "answered after %d s, past the client's timeout",
                    (int)took);
    store_fail(b, L, method, lua_tostring(L, -1));
  }
}

static void store_call(uu_budget *b, lua_State *L, const char *method,
                       int nargs)
{
  int base = lua_gettop(L) - nargs;
  double t0 = uu_now();
  lua_pushnumber(L, b->timeout);
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->ref);
  lua_getfield(L, -1, method);
  lua_insert(L, base + 1);                         /* method */
  lua_insert(L, base + 2);                         /* self */
  lua_pushstring(L, b->key);
  lua_insert(L, base + 3);
  lua_call(L, nargs + 3, 2);
  check_answer(b, L, method, t0);
}

/* The wait of the take answer on top (two values, popped), refused when
** no budget could have made it. */
static double take_wait(uu_budget *b, lua_State *L, double rate,
                        double burst)
{
  char msg[240];
  int num = lua_isnumber(L, -2);
  double wait = lua_tonumber(L, -2);
  lua_pop(L, 2);
  if (!num || !(wait >= 0))                        /* also NaN */
    store_fail(b, L, "take", "its wait is not a number of seconds from 0 "
               "up (no budget answers that); not waiting on it");
  if (wait > skew_limit(rate, burst)) {
    snprintf(msg, sizeof msg, "its reservation lies %.0f s ahead, more "
             "than a budget of %g a second can make (a clock stepped back, "
             "a VM restore or a damaged record); not waiting for it: clear "
             "its bucket", wait < 1e12 ? wait : 1e12, rate);
    store_fail(b, L, "take", msg);
  }
  return wait;
}

static double lua_take(uu_budget *b, lua_State *L, double rate,
                       double burst)
{
  lua_pushnumber(L, rate);
  lua_pushnumber(L, burst);
  store_call(b, L, "take", 2);
  return take_wait(b, L, rate, burst);
}

static int lua_spend(uu_budget *b, lua_State *L, long quota, long *sent)
{
  int ok;
  lua_pushinteger(L, (lua_Integer)quota);
  store_call(b, L, "spend", 1);
  if (!uu_lua_whole(L, -2, 0, 1e15, sent))
    store_fail(b, L, "spend", "its count of calls sent today is not a whole "
               "number from 0 to 10^15");
  ok = lua_toboolean(L, -1);
  lua_pop(L, 2);
  return ok;
}

/* ---- life cycle ------------------------------------------------------- */

static void open_file(uu_client *c, lua_State *L, uu_budget *b,
                      const char *path)
{
  if ((b->path = (char *)malloc(strlen(path) + 1)) == NULL)
    luaL_error(L, "userupd: out of memory");
  strcpy(b->path, path);
  b->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (b->fd < 0)
    luaL_error(L, "bad argument #1 to '%s' (option 'shared_budget': "
               "cannot open %s: %s)", c->v->name, path, strerror(errno));
}

/* The store: a path, or an object whose take and spend are functions. */
static void open_store(uu_client *c, lua_State *L, uu_budget *b, int opts)
{
  lua_getfield(L, opts, "shared_budget");
  if (lua_type(L, -1) == LUA_TSTRING) {     /* checked in optcheck.c */
    open_file(c, L, b, lua_tostring(L, -1));
  } else if (!lua_isnil(L, -1)) {
    lua_getfield(L, -1, "take");
    lua_getfield(L, -2, "spend");
    if (lua_type(L, -1) != LUA_TFUNCTION || lua_type(L, -2) != LUA_TFUNCTION)
      luaL_error(L, "bad argument #1 to '%s' (option 'shared_budget' must "
                 "be a file path or a store with take and spend methods)",
                 c->v->name);
    lua_pop(L, 2);
    b->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return;
  }
  lua_pop(L, 1);
}

/* The documented default: Forms On Fire's 2,500 calls a day. */
static long read_quota(uu_client *c, lua_State *L, int opts)
{
  double q;
  lua_getfield(L, opts, "daily_quota");
  q = lua_isnil(L, -1) ? (c->v->daily_quota > 0 ? c->v->daily_quota : 0)
      : lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(q >= 0 && q <= 1e12 && q == (double)(long)q))
    luaL_error(L, "bad argument #1 to '%s' (option 'daily_quota' must be a "
               "whole number from 0 (none) to 1e12)", c->v->name);
  return (long)q;
}

void uu_budget_open(uu_client *c, lua_State *L, int opts)
{
  uu_budget *b = (uu_budget *)calloc(1, sizeof *b);
  if (b == NULL)
    luaL_error(L, "userupd: out of memory");
  b->fd = -1;
  b->ref = LUA_NOREF;
  b->day = -1;
  b->timeout = (double)c->timeout_ms / 1000.0;
  c->budget = b;                       /* owned by the client from here */
  b->quota = read_quota(c, L, opts);
  lua_getfield(L, opts, "shared_budget");
  if (!lua_isnil(L, -1) || b->quota > 0)
    budget_key(c, L, opts, b->key);
  lua_pop(L, 1);
  open_store(c, L, b, opts);
}

void uu_budget_close(uu_client *c, lua_State *L)
{
  uu_budget *b = c->budget;
  if (b == NULL)
    return;
  c->budget = NULL;
  if (b->fd >= 0)
    close(b->fd);
  luaL_unref(L, LUA_REGISTRYINDEX, b->ref);
  free(b->path);
  free(b);
}

/* ---- pacing and quota ---------------------------------------------------- */

double uu_budget_pace(uu_client *c, lua_State *L, double now)
{
  uu_budget *b = c->budget;
  double wait, w, rate, burst;
  if (b == NULL || (b->fd < 0 && b->ref == LUA_NOREF))
    return uu_pace(&c->policy, now);
  wait = c->policy.pause_until > now ? c->policy.pause_until - now : 0;
  if (c->policy.rate <= 0)
    return wait;
  rate = c->policy.rate;
  burst = c->policy.burst - START_MARGIN * rate;  /* may go below 1 */
  w = b->fd >= 0 ? file_take(b, L, rate, burst) : lua_take(b, L, rate, burst);
  return w > wait ? w : wait;
}

int uu_budget_take_args(uu_client *c, lua_State *L)
{
  uu_budget *b = c->budget;
  if (b == NULL || b->ref == LUA_NOREF || c->policy.rate <= 0)
    return 0;
  luaL_checkstack(L, 6, "shared_budget");
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->ref);
  lua_pushstring(L, b->key);
  lua_pushnumber(L, c->policy.rate);
  lua_pushnumber(L, c->policy.burst - START_MARGIN * c->policy.rate);
  lua_pushnumber(L, b->timeout);
  b->take_t0 = uu_now();
  return 5;
}

double uu_budget_taken(uu_client *c, lua_State *L, int idx, double now)
{
  uu_budget *b = c->budget;
  double wait = c->policy.pause_until > now ? c->policy.pause_until - now
                                            : 0, w;
  if (b == NULL || b->ref == LUA_NOREF)
    return luaL_error(L, "userupd: this client has no Lua shared_budget");
  lua_pushvalue(L, idx);
  lua_pushvalue(L, idx + 1);
  check_answer(b, L, "take", b->take_t0);
  w = take_wait(b, L, c->policy.rate,
                c->policy.burst - START_MARGIN * c->policy.rate);
  return w > wait ? w : wait;
}

double uu_budget_retry(uu_client *c, lua_State *L, double wait)
{
  uu_budget *b = c->budget;
  double w;
  if (b == NULL || (b->fd < 0 && b->ref == LUA_NOREF))
    return wait;
  w = uu_budget_pace(c, L, uu_now());
  return w > wait ? w : wait;
}

int uu_budget_shared(const uu_client *c)
{
  const uu_budget *b = c->budget;
  return b != NULL && (b->fd >= 0 || b->ref != LUA_NOREF);
}

long uu_quota_limit(const uu_client *c)
{
  return c->budget != NULL ? c->budget->quota : 0;
}

/* Today's count in a shared budget file, read under its lock and written
** back as it was. */
static long file_sent(uu_budget *b, lua_State *L)
{
  rec r;
  off_t off = file_begin(b, &r);
  long sent;
  if (off < 0)
    file_fail(b, L);
  sent = r.day == utc_day() ? (long)r.sent : 0;
  file_end(b, L, &r, off);
  return sent;
}

/* The calls today's quota has left: a shared budget file's count, else
** this client's own (or the journal's after uu_quota_begin).  A Lua store
** has no way to read without spending: its quota is given whole. */
long uu_quota_left(uu_client *c, lua_State *L)
{
  uu_budget *b = c->budget;
  long sent;
  if (b == NULL || b->quota <= 0)
    return 0;
  if (b->fd >= 0)
    sent = file_sent(b, L);
  else if (b->ref != LUA_NOREF || b->day != utc_day())
    sent = 0;
  else
    sent = b->sent;
  return sent < b->quota ? b->quota - sent : 0;
}

void uu_quota_begin(uu_client *c, uu_journal *j)
{
  uu_budget *b = c->budget;
  int64_t n = 0;
  if (b == NULL || b->quota <= 0 || b->fd >= 0 || b->ref != LUA_NOREF)
    return;
  b->unsaved = 0;
  if (j == NULL)
    return;                            /* the client's own count goes on */
  b->day = utc_day();
  b->sent = uu_journal_quota(j, b->key, b->day, 0, &n) == 0 ? (long)n : 0;
}

int uu_quota_spend(uu_client *c, lua_State *L, long *sent)
{
  uu_budget *b = c->budget;
  long day;
  if (b == NULL || b->quota <= 0)
    return 0;
  if (b->fd >= 0)
    return !file_spend(b, L, b->quota, sent);
  if (b->ref != LUA_NOREF)
    return !lua_spend(b, L, b->quota, sent);
  if ((day = utc_day()) != b->day) {
    b->day = day;
    b->sent = 0;
  }
  *sent = b->sent;
  if (b->sent >= b->quota)
    return 1;
  *sent = ++b->sent;
  b->unsaved++;
  return 0;
}

/* Adds the run's unsaved count to the journal's (inside the caller's
** transaction when one is open). */
void uu_quota_flush(uu_client *c, lua_State *L, uu_journal *j)
{
  uu_budget *b = c->budget;
  int64_t n;
  if (b == NULL || j == NULL || b->unsaved == 0)
    return;
  if (uu_journal_quota(j, b->key, b->day, b->unsaved, &n) != 0)
    luaL_error(L, "userupd: journal: %s", uu_journal_errmsg(j));
  b->unsaved = 0;
}

int uu_quota_refuse(uu_client *c, lua_State *L, uu_answer *a, uu_op op)
{
  long sent;
  if (uu_quota_spend(c, L, &sent) == 0)
    return 0;
  snprintf(c->budget->msg, sizeof c->budget->msg, "daily quota reached: "
           "%ld sent today; run again after 00:00 UTC", sent);
  memset(a, 0, sizeof *a);
  a->op = op;
  a->body = "";
  a->refused = c->budget->msg;
  return 1;
}
