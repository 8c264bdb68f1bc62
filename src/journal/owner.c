/*
** owner.c: who a journal belongs to and who writes it (see journal.h).
**
** Binding: meta 'account' holds a keyed fingerprint of the credential
** options (SipHash-2-4 under meta 'account_key', a random key of its own,
** over a SHA-256 the client made of them: never the credential) and meta
** 'endpoint' the base URL.  A journal without them (written before they existed) is bound by
** its first writer; a different account or endpoint is refused unless the
** caller rebinds on purpose.  No schema change: meta is key/value.
**
** Lock: one writer at a time.  The writer holds flock() on "<journal>.lock"
** and writes "pid host start" into it.  The kernel drops the lock when the
** process dies, however it dies, so a lock file with text but no lock is
** what a killed writer leaves: the next writer takes it over.  A clean
** release (uu_journal_close) empties the file.  The integrity check lives here too, to keep
** journal.c to one job.
*/
#define _DEFAULT_SOURCE           /* flock, gethostname */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/hash.h"
#include "journal/journal.h"

#define OWN_FP 33                 /* 32 hex digits and a NUL */
#define OWN_NOTE 200              /* "pid host start" as the lock holds it */

/* ---- the writer lock ---------------------------------------------------- */

/* "<real path>.lock" into a fresh string, or NULL: the path with every
** symbolic link resolved, so two names of one journal share one lock. */
static char *lock_path(const uu_journal *j)
{
  char *real = realpath(uu_journal_path(j), NULL);
  const char *p = real != NULL ? real : uu_journal_path(j);
  size_t n = strlen(p);
  char *s = (char *)malloc(n + 6);
  if (s != NULL) {
    memcpy(s, p, n);
    memcpy(s + n, ".lock", 6);
  }
  free(real);
  return s;
}

/* What the lock file says, as one printable line in note. */
static void read_note(int fd, char *note, size_t len)
{
  ssize_t n = pread(fd, note, len - 1, 0);
  ssize_t i;
  note[n > 0 ? n : 0] = '\0';
  for (i = 0; i < n; i++)
    if ((unsigned char)note[i] < 32 || (unsigned char)note[i] == 127)
      note[i] = note[i] == '\n' && i == n - 1 ? '\0' : '?';
}

/* Writes "pid <pid> on host <host>, started <UTC time>" into the file. */
static void write_note(int fd)
{
  char host[64], when[32], note[OWN_NOTE];
  time_t now = time(NULL);
  struct tm tm;
  int n;
  if (gethostname(host, sizeof host) != 0)
    snprintf(host, sizeof host, "?");
  host[sizeof host - 1] = '\0';
  if (gmtime_r(&now, &tm) == NULL ||
      strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(when, sizeof when, "?");
  n = snprintf(note, sizeof note, "pid %ld on host %s, started %s\n",
               (long)getpid(), host, when);
  if (ftruncate(fd, 0) == 0 && n > 0)
    (void)!pwrite(fd, note, (size_t)n < sizeof note ? (size_t)n
                  : sizeof note - 1, 0);
}

int uu_journal_lock(uu_journal *j, char *took, size_t tooklen, char *err,
                    size_t errlen)
{
  char note[OWN_NOTE];
  char *path = lock_path(j);
  int fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
  took[0] = '\0';
  if (fd < 0) {
    snprintf(err, errlen, "journal %s: cannot create its lock file: %s",
             uu_journal_path(j), path ? strerror(errno) : "out of memory");
    free(path);
    return -1;
  }
  free(path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    read_note(fd, note, sizeof note);
    snprintf(err, errlen, "journal %s is in use by another run (%s): one "
             "run at a time writes a journal; wait for it to end or stop "
             "it", uu_journal_path(j), note[0] ? note : "holder unknown");
    close(fd);
    return -1;
  }
  read_note(fd, note, sizeof note);
  if (note[0] != '\0')            /* its writer died without releasing */
    snprintf(took, tooklen, "%s", note);
  write_note(fd);
  *uu_journal_lock_slot(j) = fd;
  return 0;
}

int uu_journal_writer(uu_journal *j, char *err, size_t errlen)
{
  char took[OWN_NOTE];
  if (*uu_journal_lock_slot(j) >= 0)
    return 0;                     /* this handle holds it already */
  return uu_journal_lock(j, took, sizeof took, err, errlen);
}

/* ---- the binding -------------------------------------------------------- */

/* The account's fingerprint under key, as 32 hex digits. */
static void fingerprint(const unsigned char key[16],
                        const unsigned char acct[32], char out[OWN_FP])
{
  unsigned char data[40];
  uint64_t h;
  int half, i;
  memcpy(data, "account", 8);
  memcpy(data + 8, acct, 32);
  for (half = 0; half < 2; half++) {
    data[7] = (unsigned char)half;
    h = uu_siphash(key, data, sizeof data);
    for (i = 0; i < 8; i++)
      snprintf(out + 16 * half + 2 * i, 3, "%02x",
               (unsigned)((h >> (56 - 8 * i)) & 0xff));
  }
}

/* meta 'account_key' into key: 1 found, 0 none, -1 SQLite. */
static int read_account_key(sqlite3 *db, unsigned char key[16])
{
  sqlite3_stmt *st = NULL;
  int found = 0;
  int rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = "
                              "'account_key'", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 16) {
    memcpy(key, sqlite3_column_blob(st, 0), 16);
    found = 1;
  }
  sqlite3_finalize(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

/* The fingerprint's own random key, meta 'account_key' (not 'hash_key',
** which a schema migration may replace), created when missing and the
** journal is writable.  1 found, 2 created now (a binding stored without
** it is void: the caller rebinds), 0 none (read-only), -1 SQLite. */
static int account_key(sqlite3 *db, unsigned char key[16])
{
  int rc = read_account_key(db, key);
  if (rc != 0 || sqlite3_db_readonly(db, "main") == 1)
    return rc;
  if (sqlite3_exec(db, "INSERT OR REPLACE INTO meta VALUES "
                   "('account_key', randomblob(16))", NULL, NULL, NULL)
      != SQLITE_OK)
    return -1;
  return read_account_key(db, key) == 1 ? 2 : -1;
}

/* meta[key] into buf ("" when absent); -1 on an SQLite error. */
static int meta_get(sqlite3 *db, const char *key, char *buf, size_t len)
{
  sqlite3_stmt *st = NULL;
  const unsigned char *v;
  int rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1",
                              -1, &st, NULL);
  buf[0] = '\0';
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if ((v = sqlite3_column_text(st, 0)) != NULL)
      snprintf(buf, len, "%s", (const char *)v);
    rc = SQLITE_DONE;
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

static int meta_set(sqlite3 *db, const char *key, const char *value)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta VALUES "
                              "(?1, ?2)", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

/* "journal P was written for <vendor> account 1a2b3c4d at <endpoint>; this
** run is account 5e6f7a8b at <endpoint>: ..." */
static void mismatch(const uu_journal *j, const char *fp0, const char *ep0,
                     const char *fp, const char *ep, char *err, size_t len)
{
  snprintf(err, len, "journal %s was written for %s account %.8s at %s; "
           "this run is account %.8s at %s: use another journal file, or "
           "rebind it (journal_rebind, CLI --journal-rebind) if both are "
           "the same users", uu_journal_path(j), uu_journal_vendor(j), fp0,
           ep0, fp, ep);
}

/* 1 if the journal holds a success, 0 if not, -1 SQLite. */
static int holds_success(sqlite3 *db)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "SELECT EXISTS (SELECT 1 FROM records "
                              "WHERE state = 1)", -1, &st, NULL);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    rc = sqlite3_column_int(st, 0) != 0;
  else
    rc = -1;
  sqlite3_finalize(st);
  return rc;
}

/* Compares and, when unbound or rebinding, stores; in the open
** transaction.  A journal with no success yet (a first run with a wrong
** key) cannot make another account skip anything: it follows the run.
** 1 bound as asked, 0 mismatch (err set), -1 SQLite. */
static int bind_in(uu_journal *j, const char *fp, const char *ep,
                   int rebind, char *err, size_t len)
{
  sqlite3 *db = uu_journal_db(j);
  char fp0[OWN_FP], ep0[512];
  int held = 0;
  if (meta_get(db, "account", fp0, sizeof fp0) != 0 ||
      meta_get(db, "endpoint", ep0, sizeof ep0) != 0)
    return -1;
  if (strcmp(fp0, fp) == 0 && strcmp(ep0, ep) == 0)
    return 1;
  if (fp0[0] != '\0' && !rebind && (held = holds_success(db)) == 1) {
    mismatch(j, fp0, ep0, fp, ep, err, len);
    return 0;
  }
  if (held < 0)
    return -1;
  if (sqlite3_db_readonly(db, "main") == 1)
    return 1;                     /* a dry run's check: nothing to store */
  return meta_set(db, "account", fp) == 0 &&
         meta_set(db, "endpoint", ep) == 0 ? 1 : -1;
}

int uu_journal_bind(uu_journal *j, const unsigned char account[32],
                    const char *endpoint, int rebind, char *err,
                    size_t errlen)
{
  sqlite3 *db = uu_journal_db(j);
  unsigned char key[16];
  char fp[OWN_FP];
  int rc = -1;
  uu_journal_end_read(j);
  if (sqlite3_exec(db, sqlite3_db_readonly(db, "main") == 1 ? "BEGIN"
                   : "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
    rc = account_key(db, key);
  if (rc > 0) {
    fingerprint(key, account, fp);
    rc = bind_in(j, fp, endpoint, rebind || rc == 2, err, errlen);
  } else if (rc == 0)
    rc = 1;                       /* read-only and never bound: no check */
  if (rc == 1 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
    return 0;
  if (rc != 0)
    snprintf(err, errlen, "journal %s: %s", uu_journal_path(j),
             sqlite3_errmsg(db));
  if (!sqlite3_get_autocommit(db))
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return -1;
}

/* ---- integrity ---------------------------------------------------------- */

int uu_journal_check(uu_journal *j, char *err, size_t errlen)
{
  sqlite3 *db = uu_journal_db(j);
  sqlite3_stmt *st = NULL;
  const char *msg;
  int rc = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL)
      == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    msg = (const char *)sqlite3_column_text(st, 0);
    rc = msg != NULL && strcmp(msg, "ok") == 0 ? 0 : 1;
    if (rc == 1)
      snprintf(err, errlen, "journal %s: %s", uu_journal_path(j),
               msg ? msg : "?");
  } else
    snprintf(err, errlen, "journal %s: %s", uu_journal_path(j),
             sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return rc;
}
