/*
** journal.c: the run journal on SQLite (see journal.h): opening it
** (connection, schema, migration, meta, prepared statements) and closing
** it.  Reading and writing records is records.c's (impl.h).
**
** Durability: the database runs in WAL mode with synchronous=NORMAL.  A
** commit appends the transaction to the -wal file with write() before it
** returns, so once uu_journal_record (outside a batch) or uu_journal_commit
** returns, the outcome survives the process being killed, even by SIGKILL:
** the data is in the kernel's page cache and the next open replays the WAL.
** Only an OS crash or power loss could lose the last few commits, because
** NORMAL does not fsync the WAL on every commit (FULL would: measured
** 0.3 to 1 ms per record here, against 15-30 us).  That loss is acceptable: a re-run then re-sends
** at most those records, and the vendors' updates are idempotent PUTs.
** WAL also never tears the database: a half-written transaction at the
** end of the WAL has no commit frame and is ignored.
**
** Speed: every statement update_many uses is prepared once at open.  The
** per-state totals live in a small table kept by triggers, so each upsert
** and its counter updates are one statement, atomic on its own.
*/
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal/impl.h"
#include "userupd.h"

/* Upsert columns in bind order: ?1 id .. ?12 updated_at (bind_record). */
#define J_INSERT "INSERT INTO records (id, state, attempts, http_status, " \
  "kind, message, vendor_code, field, ok_hash, ok_payload, fail_payload, " \
  "elapsed, updated_at, line) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
#define J_UPDATE "ON CONFLICT (id) DO UPDATE SET state = excluded.state, " \
  "attempts = excluded.attempts, http_status = excluded.http_status, " \
  "kind = excluded.kind, message = excluded.message, " \
  "vendor_code = excluded.vendor_code, field = excluded.field, " \
  "elapsed = excluded.elapsed, updated_at = excluded.updated_at, " \
  "line = excluded.line, "

static const char *const j_sql[ST_N] = {
  /* lookups step forward from the last one while ids ascend (records.c) */
  "SELECT id, state, ok_hash, ok_payload FROM records WHERE id >= ?1 "
  "ORDER BY id",
  "SELECT " J_ROWCOLS " FROM records WHERE id = ?1",
  /* success: replace the good payload, forget the failure's */
  J_INSERT "?9, ?10, NULL, ?11, ?12, ?13) " J_UPDATE
  "ok_hash = excluded.ok_hash, ok_payload = excluded.ok_payload, "
  "fail_payload = NULL",
  /* failure: keep ok_hash/ok_payload; ?9 (hash) is bound but unused */
  J_INSERT "NULL, NULL, ?10, ?11, ?12, ?13) " J_UPDATE
  "fail_payload = excluded.fail_payload",
  "BEGIN IMMEDIATE",
  "COMMIT",
  "ROLLBACK",
  "SELECT state, n FROM totals",
  "BEGIN"
};

/* records is WITHOUT ROWID (schema 3): the id is the B-tree's key, so a
   lookup is one descent and the id is stored once.  Schema 2 journals
   keep their rowid table with its id index (two descents, the id twice):
   they are read and written as they are.  Measured at 400,000 rows (see
   docs/performance.md): a lookup 1.00 -> 0.85 us in id order, 3.6 -> 2.7
   us scrambled; 187 -> 130 bytes a row with compact payloads (payload.c)
   and elapsed in microseconds.  Night 1's CPU did not change, with ids
   sorted or shuffled (100,000 rows).
   elapsed holds whole microseconds in schema 3 (REAL affinity stores a
   whole number in 1 to 4 bytes, a fraction of a second in 8), seconds in
   schema 2; records.c converts.
   NOT NULL: SQLite would admit a NULL key otherwise in a rowid table.  The
   partial index keeps failures() from scanning a million ok rows; its
   WHERE must match the cursor's for the planner to use it. */
static const char j_schema_sql[] =
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
  "CREATE TABLE records (id TEXT PRIMARY KEY NOT NULL,"
  " state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 3),"
  " attempts INTEGER NOT NULL, http_status INTEGER NOT NULL,"
  " kind TEXT, message TEXT, vendor_code TEXT, field TEXT,"
  " ok_hash INTEGER, ok_payload BLOB, fail_payload TEXT,"
  " elapsed REAL, updated_at INTEGER NOT NULL, line INTEGER) WITHOUT ROWID;"
  "CREATE INDEX records_failures ON records (id) WHERE state > 1;"
  "CREATE TABLE totals (state INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
  "INSERT INTO totals VALUES (1, 0), (2, 0), (3, 0);"
  "CREATE TRIGGER records_ins AFTER INSERT ON records BEGIN"
  " UPDATE totals SET n = n + 1 WHERE state = new.state; END;"
  "CREATE TRIGGER records_upd AFTER UPDATE OF state ON records"
  " WHEN old.state <> new.state BEGIN"
  " UPDATE totals SET n = n + (state = new.state) - (state = old.state)"
  " WHERE state IN (old.state, new.state); END;";

/* Formats "journal <path>: <what>" into j->err; returns -1 for chaining. */
int uu_jset_err(uu_journal *j, const char *fmt, ...)
{
  va_list ap;
  int n = snprintf(j->err, sizeof j->err, "journal %s: ",
                   j->path ? j->path : "?");
  if (n < 0 || (size_t)n >= sizeof j->err)
    return -1;
  va_start(ap, fmt);
  vsnprintf(j->err + n, sizeof j->err - (size_t)n, fmt, ap);
  va_end(ap);
  return -1;
}

/* The connection's last SQLite error, read before any reset clears it. */
int uu_jdb_fail(uu_journal *j)
{
  return uu_jset_err(j, "%s",
                 j->db ? sqlite3_errmsg(j->db) : "out of memory");
}

static char *dup_string(const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = (char *)malloc(n);
  if (d != NULL)
    memcpy(d, s, n);
  return d;
}

/* Steps a statement that returns nothing we need, then resets it. */
int uu_jrun_stmt(uu_journal *j, sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    uu_jdb_fail(j);
    sqlite3_reset(st);
    return -1;
  }
  sqlite3_reset(st);
  return 0;
}

int uu_jexec_sql(uu_journal *j, const char *sql)
{
  return sqlite3_exec(j->db, sql, NULL, NULL, NULL) == SQLITE_OK
         ? 0 : uu_jdb_fail(j);
}

/* "file:" URI of the path, with what a URI reserves escaped. */
static char *ro_uri(const char *path, int immutable)
{
  size_t n = strlen(path), i, k = 5;
  char *u = (char *)malloc(3 * n + 32);
  if (u == NULL)
    return NULL;
  memcpy(u, "file:", 5);
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)path[i];
    if (ch == '%' || ch == '?' || ch == '#' || ch < 32 || ch >= 127)
      k += (size_t)sprintf(u + k, "%%%02X", ch);
    else
      u[k++] = (char)ch;
  }
  strcpy(u + k, immutable ? "?immutable=1" : "?mode=ro");
  return u;
}

/* Read-only, for a dry run's plan: nothing is written, not even the -wal
   and -shm files.  A journal with a -wal left by a killed run is read
   through it (those files are there already); otherwise the file alone
   holds every committed outcome and is opened immutable. */
static int connect_ro(uu_journal *j)
{
  struct stat st;
  char *wal, *uri;
  int wal_there, rc;
  wal = (char *)malloc(strlen(j->path) + 5);
  if (wal == NULL)
    return uu_jset_err(j, "out of memory");
  sprintf(wal, "%s-wal", j->path);
  wal_there = stat(wal, &st) == 0 && st.st_size > 0;
  free(wal);
  if ((uri = ro_uri(j->path, !wal_there)) == NULL)
    return uu_jset_err(j, "out of memory");
  rc = sqlite3_open_v2(uri, &j->db, SQLITE_OPEN_READONLY |
                       SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
  free(uri);
  if (rc != SQLITE_OK)
    return uu_jdb_fail(j);
  sqlite3_busy_timeout(j->db, J_BUSY_MS);
  return 0;
}

/* An empty file at path with mode 0600 unless something is there: SQLite
   then makes the database, -wal and -shm with that mode. */
static void create_private(const char *path)
{
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0)
    close(fd);
}

/* Opens the connection and sets the pragmas.  Without a vendor nothing may
   be created, so a missing file gets its own message. */
static int connect_db(uu_journal *j, const char *vendor)
{
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (j->ro)
    return connect_ro(j);
  if (vendor != NULL) {
    flags |= SQLITE_OPEN_CREATE;
    create_private(j->path);               /* 0600: it holds records */
  }
  else if (access(j->path, F_OK) != 0) {
    snprintf(j->err, sizeof j->err, "no journal at %s", j->path);
    return -1;
  }
  if (sqlite3_open_v2(j->path, &j->db, flags, NULL) != SQLITE_OK)
    return uu_jdb_fail(j);
  sqlite3_busy_timeout(j->db, J_BUSY_MS);
  /* The first statement reads the header: a file that is not a database
     fails here.  Records with random ids dirty about one 4 KiB page each,
     so checkpoints (which fsync) come every 8192 pages, not the default
     1000: fewer syncs, and a page written many times is copied once.
     The -wal file is cut back to 64 MiB after a checkpoint.  The page
     cache is 8 MiB: a nightly run reads the journal in the export's
     order, so a bigger cache only made the process grow with the journal
     (16 MiB: peak RSS of night 2 1.18x from 100,000 to 400,000 rows,
     same CPU; 8 MiB: 1.06x).  No mmap:
     it would save ~1 us per lookup in big journals, but an I/O error on
     the disk would then kill the host with SIGBUS instead of returning
     an error, and this library must never take its host down. */
  return uu_jexec_sql(j, "PRAGMA journal_mode = WAL;"
                  "PRAGMA synchronous = NORMAL;"
                  "PRAGMA wal_autocheckpoint = 8192;"
                  "PRAGMA journal_size_limit = 67108864;"
                  "PRAGMA cache_size = -8192;");
}

/* The vendor's field names, one a line (at most J_NKEYS): meta 'keys',
   frozen for the journal's life (payload.c).  NULL: out of memory. */
static char *vendor_keys(const char *vendor)
{
  const uu_vendor *v = uu_vendor_find(vendor);
  const uu_field *f;
  size_t n = 1;
  int k = 0;
  char *text;
  for (f = v != NULL ? v->fields : NULL; f != NULL && f->name != NULL &&
       k < J_NKEYS; f++, k++)
    n += strlen(f->name) + 1;
  if ((text = (char *)malloc(n)) == NULL)
    return NULL;
  text[0] = '\0';
  for (f = v != NULL ? v->fields : NULL, k = 0; f != NULL &&
       f->name != NULL && k < J_NKEYS; f++, k++) {
    if (k > 0)
      strcat(text, "\n");
    strcat(text, f->name);
  }
  return text;
}

/* Creates the schema and meta rows in the open transaction. */
static int create_schema(uu_journal *j, const char *vendor)
{
  sqlite3_stmt *st = NULL;
  char *keys;
  int rc;
  if (uu_jexec_sql(j, j_schema_sql) != 0)
    return -1;
  if ((keys = vendor_keys(vendor)) == NULL)
    return uu_jset_err(j, "out of memory");
  rc = sqlite3_prepare_v2(j->db, "INSERT INTO meta VALUES ('schema', ?1),"
                          " ('vendor', ?2), ('created', ?3),"
                          " ('hash_key', randomblob(16)), ('keys', ?4)",
                          -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int(st, 1, J_SCHEMA);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 2, vendor, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 4, keys, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
  if (rc != SQLITE_OK)
    uu_jdb_fail(j);
  sqlite3_finalize(st);
  free(keys);
  return rc == SQLITE_OK ? 0 : -1;
}

/* 1 if the meta table exists, 0 if the database is empty, -1 (with a
   message) if it holds something else or cannot be read. */
static int has_meta(uu_journal *j)
{
  sqlite3_stmt *st = NULL;
  int rc, found = -1;
  rc = sqlite3_prepare_v2(j->db, "SELECT count(*), "
                          "coalesce(sum(name = 'meta'), 0) FROM sqlite_master",
                          -1, &st, NULL);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    if (sqlite3_column_int(st, 1) > 0)
      found = 1;
    else if (sqlite3_column_int(st, 0) == 0)
      found = 0;
    else
      uu_jset_err(j, "not a userupd journal");
  } else
    uu_jdb_fail(j);
  sqlite3_finalize(st);
  return found;
}

/* Schema 1 hashed every payload with a plain FNV-1a, so the hash of a
   record carrying a password was a guessable fingerprint of it.  Schema 2
   adds a random per-journal key; the migration drops the hashes of the
   records whose payload was not kept (exactly the ones with a secret):
   those records are sent once more, then hashed with the key. */
static int migrate_1(uu_journal *j)
{
  return uu_jexec_sql(j, "INSERT OR REPLACE INTO meta VALUES ('hash_key',"
                  " randomblob(16));"
                  "UPDATE records SET ok_hash = NULL"
                  " WHERE ok_payload IS NULL AND ok_hash IS NOT NULL;"
                  "ALTER TABLE records ADD COLUMN line INTEGER;"
                  "UPDATE meta SET value = 2 WHERE key = 'schema';");
}

/* Copies meta 'hash_key' into j->key and the names of meta 'keys' (a
   schema 3 journal's) into j->keys. */
static int read_key(uu_journal *j)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(j->db, "SELECT value FROM meta WHERE key ="
                              " 'hash_key'", -1, &st, NULL);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
      sqlite3_column_bytes(st, 0) == J_KEYLEN) {
    memcpy(j->key, sqlite3_column_blob(st, 0), J_KEYLEN);
    rc = 0;
  } else
    rc = uu_jset_err(j, "its hash key is missing or damaged");
  sqlite3_finalize(st);
  st = NULL;
  if (rc == 0 && sqlite3_prepare_v2(j->db, "SELECT value FROM meta WHERE"
                                    " key = 'keys'", -1, &st, NULL)
      != SQLITE_OK)
    rc = uu_jdb_fail(j);
  if (rc == 0 && sqlite3_step(st) == SQLITE_ROW &&
      uu_jkeys_load(j, (const char *)sqlite3_column_text(st, 0),
                    (size_t)sqlite3_column_bytes(st, 0)) != 0)
    rc = uu_jset_err(j, "out of memory");
  sqlite3_finalize(st);
  return rc;
}

/* Refuses a schema this code cannot read, migrates an older one. */
static int check_schema(uu_journal *j, int schema)
{
  if (schema > J_SCHEMA)
    return uu_jset_err(j, "written by a newer userupd (journal schema %d; "
                   "this one reads up to %d): upgrade userupd or start a "
                   "new journal file", schema, J_SCHEMA);
  if (schema < 1)
    return uu_jset_err(j, "not a userupd journal (schema %d)", schema);
  if (schema == 1 && migrate_1(j) != 0)
    return -1;
  j->schema = schema == 1 ? 2 : schema;
  return read_key(j);
}

/* Reads schema version and vendor from meta into j->vendor. */
static int read_meta(uu_journal *j)
{
  sqlite3_stmt *st = NULL;
  const char *v;
  int rc, schema = 0;
  rc = sqlite3_prepare_v2(j->db, "SELECT (SELECT value FROM meta WHERE key"
                          " = 'schema'), (SELECT value FROM meta WHERE key"
                          " = 'vendor')", -1, &st, NULL);
  if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
    uu_jdb_fail(j);
    sqlite3_finalize(st);
    return -1;
  }
  schema = sqlite3_column_int(st, 0);
  v = (const char *)sqlite3_column_text(st, 1);
  if (v == NULL)
    uu_jset_err(j, "not a userupd journal (no vendor)");
  else if ((j->vendor = dup_string(v)) == NULL)
    uu_jset_err(j, "out of memory");
  sqlite3_finalize(st);
  if (j->vendor == NULL)
    return -1;
  return check_schema(j, schema);
}

/* Creates or checks the schema in one transaction: IMMEDIATE when we may
   write, so two runs starting together cannot both create it. */
static int open_schema(uu_journal *j, const char *vendor)
{
  int meta;
  if (uu_jexec_sql(j, vendor != NULL && !j->ro ? "BEGIN IMMEDIATE" : "BEGIN")
      != 0)
    return -1;
  meta = has_meta(j);
  if (meta == 0 && (vendor == NULL || j->ro))
    meta = uu_jset_err(j, "not a userupd journal");
  else if (meta == 0)
    meta = create_schema(j, vendor) == 0 ? 1 : -1;
  if (meta == 1 && read_meta(j) == 0) {
    if (vendor == NULL || strcmp(vendor, j->vendor) == 0)
      return uu_jexec_sql(j, "COMMIT");
    snprintf(j->err, sizeof j->err, "journal %s belongs to vendor %s, "
             "not %s", j->path, j->vendor, vendor);
  }
  sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
  return -1;
}

static int prepare_all(uu_journal *j)
{
  int i;
  for (i = 0; i < ST_N; i++)
    if (sqlite3_prepare_v3(j->db, j_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                           &j->st[i], NULL) != SQLITE_OK)
      return uu_jdb_fail(j);
  return 0;
}

/* Both opens; ro: read-only (uu_journal_open_ro). */
static int open_as(const char *path, const char *vendor, int ro,
                   uu_journal **out, char *err, size_t errlen)
{
  uu_journal *j = (uu_journal *)calloc(1, sizeof *j);
  *out = NULL;
  if (j == NULL || (j->path = dup_string(path)) == NULL) {
    snprintf(err, errlen, "journal %s: out of memory", path);
    free(j);
    return -1;
  }
  j->ro = ro;
  j->lock_fd = -1;
  if (connect_db(j, vendor) != 0 || open_schema(j, vendor) != 0
      || prepare_all(j) != 0) {
    snprintf(err, errlen, "%s", j->err);
    uu_journal_close(j);
    return -1;
  }
  *out = j;
  return 0;
}

int uu_journal_open(const char *path, const char *vendor, uu_journal **out,
                    char *err, size_t errlen)
{
  return open_as(path, vendor, 0, out, err, errlen);
}

int uu_journal_open_ro(const char *path, const char *vendor,
                       uu_journal **out, char *err, size_t errlen)
{
  *out = NULL;
  if (access(path, F_OK) != 0)
    return 1;
  return open_as(path, vendor, 1, out, err, errlen);
}

void uu_journal_close(uu_journal *j)
{
  int i;
  if (j == NULL)
    return;
  if (j->scan != J_SCAN_OFF)             /* the lookup cursor (records.c) */
    sqlite3_reset(j->st[ST_LOOKUP]);
  /* An unfinished batch was never reported to anyone: drop it. */
  if (j->db != NULL && !sqlite3_get_autocommit(j->db))
    sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
  for (i = 0; i < ST_N; i++)
    sqlite3_finalize(j->st[i]);
  sqlite3_close_v2(j->db);
  if (j->lock_fd >= 0) {                   /* emptied: released, not */
    (void)!ftruncate(j->lock_fd, 0);       /* abandoned (owner.c) */
    close(j->lock_fd);
  }
  free(j->path);
  free(j->vendor);
  uu_jkeys_free(j);
  uu_buf_free(&j->pack);
  uu_buf_free(&j->row);
  uu_buf_free(&j->scan_key);
  free(j);
}

const char *uu_journal_errmsg(uu_journal *j)
{
  return j->err;
}

const unsigned char *uu_journal_key(const uu_journal *j)
{
  return j->key;
}

const char *uu_journal_vendor(const uu_journal *j)
{
  return j->vendor;
}

const char *uu_journal_path(const uu_journal *j)
{
  return j->path;
}

sqlite3 *uu_journal_db(uu_journal *j)
{
  return j->db;
}

int *uu_journal_lock_slot(uu_journal *j)
{
  return &j->lock_fd;
}
