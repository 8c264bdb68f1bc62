/*
** records.c: reading and writing the journal's records (impl.h): the
** lookups change detection makes (in shared read transactions), the
** batch of one round's outcomes, get, the failures cursor, the totals,
** and the daily quota's count.
*/
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal/impl.h"

static const char j_failures_sql[] =
  "SELECT " J_ROWCOLS " FROM records WHERE state > 1 ORDER BY id";

/* Binds a counted string; NULL binds SQL NULL.  SQLITE_STATIC is safe:
   every statement is stepped and reset before the caller's pointers go. */
static int bind_str(sqlite3_stmt *st, int i, const char *s, size_t n)
{
  return sqlite3_bind_text64(st, i, s, (sqlite3_uint64)n, SQLITE_STATIC,
                             SQLITE_UTF8);
}

static int bind_cstr(sqlite3_stmt *st, int i, const char *s)
{
  return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Opens the shared read transaction when none is open, and counts the
   lookup in it. */
static int read_txn(uu_journal *j)
{
  if (j->reads >= J_READ_BATCH)
    uu_journal_end_read(j);
  if (j->reads == 0 && !j->batch && sqlite3_get_autocommit(j->db) &&
      uu_jrun_stmt(j, j->st[ST_READ]) != 0)
    return -1;
  if (!j->batch)
    j->reads++;
  return 0;
}

/* The stored ok_payload of column col into out (NULL: none). */
static int read_payload(uu_journal *j, sqlite3_stmt *st, int col,
                        uu_buf *out, const char **p, size_t *n)
{
  int type = sqlite3_column_type(st, col);
  const char *v;
  *p = NULL;
  *n = 0;
  if (type == SQLITE_NULL)
    return 0;
  v = type == SQLITE_BLOB ? (const char *)sqlite3_column_blob(st, col)
                          : (const char *)sqlite3_column_text(st, col);
  switch (uu_jpayload_read(j, v, (size_t)sqlite3_column_bytes(st, col),
                           type == SQLITE_BLOB, out)) {
  case 0:
    break;
  case -2:
    return uu_jset_err(j, "a kept payload is damaged");
  default:
    return uu_jset_err(j, "out of memory");
  }
  *p = out->p;
  *n = out->n;
  return 0;
}

/* id (n bytes) against the row ST_LOOKUP stands on, in SQLite's order
   for TEXT under BINARY: bytes, then length.  A row whose id is not TEXT
   sorts after every TEXT id. */
static int scan_cmp(sqlite3_stmt *st, const char *id, size_t n)
{
  const char *at = (const char *)sqlite3_column_text(st, 0);
  size_t m = (size_t)sqlite3_column_bytes(st, 0);
  int c;
  if (sqlite3_column_type(st, 0) != SQLITE_TEXT || at == NULL)
    return 1;
  c = memcmp(at, id, m < n ? m : n);
  if (c != 0)
    return c;
  return m < n ? -1 : m > n;
}

/* Puts ST_LOOKUP on the first row whose id is id or after it. */
static int scan_seek(uu_journal *j, const char *id, size_t n)
{
  sqlite3_stmt *st = j->st[ST_LOOKUP];
  int rc;
  sqlite3_reset(st);
  j->scan = J_SCAN_OFF;
  if (sqlite3_bind_text64(st, 1, id, (sqlite3_uint64)n, SQLITE_TRANSIENT,
                          SQLITE_UTF8) != SQLITE_OK)
    return uu_jdb_fail(j);
  rc = sqlite3_step(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return uu_jdb_fail(j);
  j->scan = rc == SQLITE_ROW ? J_SCAN_ROW : J_SCAN_END;
  return 0;
}

/* Moves ST_LOOKUP to the first row at id or after it: a few steps on
   from where it stands when id comes after the last id asked for, else
   a seek.  *hit: that row is id's.  Returns 0, -1 on an error. */
static int scan_to(uu_journal *j, const char *id, size_t n, int *hit)
{
  sqlite3_stmt *st = j->st[ST_LOOKUP];
  const uu_buf *last = &j->scan_key;
  int steps = 0, sought = 0, rc, c;
  if (j->scan == J_SCAN_OFF || last->n == 0 || n == 0 ||
      (c = memcmp(last->p, id, last->n < n ? last->n : n)) > 0 ||
      (c == 0 && last->n >= n)) {
    if (scan_seek(j, id, n) != 0)
      return -1;
    sought = 1;
  }
  for (;;) {
    c = j->scan == J_SCAN_ROW ? scan_cmp(st, id, n) : 1;
    if (c >= 0 || sought)          /* after a seek: id's row or later */
      break;
    if (++steps > J_SCAN_AHEAD) {
      if (scan_seek(j, id, n) != 0)
        return -1;
      sought = 1;
      continue;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      return uu_jdb_fail(j);
    if (rc == SQLITE_DONE)
      j->scan = J_SCAN_END;
  }
  *hit = c == 0;
  return 0;
}

int uu_journal_lookup(uu_journal *j, const char *id, size_t idlen,
                      uu_jentry *e, uu_buf *payload)
{
  sqlite3_stmt *st = j->st[ST_LOOKUP];
  const char *p;
  size_t n;
  int rc = 0, hit = 0;
  memset(e, 0, sizeof *e);
  if (read_txn(j) != 0)
    return -1;
  if (scan_to(j, id, idlen, &hit) != 0) {
    uu_journal_scan_off(j);     /* a failed step: the next lookup seeks */
    return -1;
  }
  j->scan_key.n = 0;
  if (uu_buf_add(&j->scan_key, id, idlen) != 0) {
    uu_journal_scan_off(j);                 /* no record of where it is */
    return uu_jset_err(j, "out of memory");
  }
  if (hit) {
    e->state = sqlite3_column_int(st, 1);
    e->hash = (uint64_t)sqlite3_column_int64(st, 2);
    rc = read_payload(j, st, 3, payload, &p, &n);
    e->has_payload = rc == 0 && p != NULL;
  }
  return rc;
}

/* Resets the lookup cursor: before the read transaction ends and before
   any write, so a lookup never steps over rows that changed under it. */
void uu_journal_scan_off(uu_journal *j)
{
  if (j->scan != J_SCAN_OFF)
    sqlite3_reset(j->st[ST_LOOKUP]);
  j->scan = J_SCAN_OFF;
}

/* Ends the read transaction lookups opened (a write inside it would be
   committed only with it). */
void uu_journal_end_read(uu_journal *j)
{
  int n = j->reads;
  uu_journal_scan_off(j);
  j->reads = 0;
  if (n > 0 && !j->batch && !sqlite3_get_autocommit(j->db))
    uu_jrun_stmt(j, j->st[ST_COMMIT]);
}

int uu_journal_begin(uu_journal *j)
{
  uu_journal_end_read(j);
  if (j->batch || !sqlite3_get_autocommit(j->db))
    return uu_jset_err(j, "a batch is already open");
  if (uu_jrun_stmt(j, j->st[ST_BEGIN]) != 0)
    return -1;
  j->batch = 1;
  return 0;
}

int uu_journal_commit(uu_journal *j)
{
  int was = j->batch;
  j->batch = 0;
  if (!was)
    return uu_jset_err(j, "commit without begin");
  /* SQLite rolls a transaction back by itself after some errors (disk
     full, I/O): then nothing of the batch was kept. */
  if (sqlite3_get_autocommit(j->db))
    return uu_jset_err(j, "the batch was rolled back after an error");
  if (uu_jrun_stmt(j, j->st[ST_COMMIT]) == 0)
    return 0;
  /* A failed COMMIT (say, disk full) may leave the transaction open:
     end it, so the journal is usable and the caller's view is simple. */
  if (!sqlite3_get_autocommit(j->db)) {
    sqlite3_step(j->st[ST_ROLLBACK]);
    sqlite3_reset(j->st[ST_ROLLBACK]);
  }
  return -1;
}

/* Binds ?10, the payload: a success's in its compact form in a schema 3
   journal (a BLOB, payload.c), else the text as it is (a failure's goes
   to fail_payload, always text). */
static int bind_payload(uu_journal *j, sqlite3_stmt *st, const uu_jrecord *r)
{
  int packed = 0;
  if (j->schema >= 3 && r->state == UU_J_OK && r->payload != NULL)
    packed = uu_jpayload_pack(j, r->payload, r->payload_len, &j->pack);
  if (packed < 0)
    return SQLITE_NOMEM;
  if (packed)
    return sqlite3_bind_blob64(st, 10, j->pack.p, (sqlite3_uint64)j->pack.n,
                               SQLITE_STATIC);
  return bind_str(st, 10, r->payload, r->payload_len);
}

/* Binds ?1..?13 of ST_OK / ST_FAIL; see J_INSERT for the order. */
static int bind_record(uu_journal *j, sqlite3_stmt *st, const uu_jrecord *r)
{
  int rc = bind_str(st, 1, r->id, r->idlen);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int(st, 2, r->state);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int(st, 3, r->attempts);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int(st, 4, r->http_status);
  if (rc == SQLITE_OK)
    rc = bind_cstr(st, 5, r->kind);
  if (rc == SQLITE_OK)
    rc = bind_cstr(st, 6, r->message);
  if (rc == SQLITE_OK)
    rc = bind_cstr(st, 7, r->vendor_code);
  if (rc == SQLITE_OK)
    rc = bind_cstr(st, 8, r->field);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 9, (sqlite3_int64)r->hash);
  if (rc == SQLITE_OK)
    rc = bind_payload(j, st, r);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_double(st, 11, j->schema >= 3
                             ? floor(r->elapsed * 1e6 + 0.5) : r->elapsed);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64(st, 12, (sqlite3_int64)time(NULL));
  if (rc == SQLITE_OK)
    rc = r->line > 0 ? sqlite3_bind_int64(st, 13, (sqlite3_int64)r->line)
                     : sqlite3_bind_null(st, 13);
  return rc;
}

int uu_journal_record(uu_journal *j, const uu_jrecord *r)
{
  sqlite3_stmt *st;
  if (r->state < UU_J_OK || r->state > UU_J_INVALID)
    return uu_jset_err(j, "bad record state %d", r->state);
  if (r->id == NULL || r->idlen == 0)
    return uu_jset_err(j, "record without an id");
  /* Outside a batch the statement autocommits: the upsert and its trigger
     updates land together or not at all. */
  if (j->batch && sqlite3_get_autocommit(j->db))
    return uu_jset_err(j, "the batch was rolled back after an error");
  uu_journal_end_read(j);
  st = j->st[r->state == UU_J_OK ? ST_OK : ST_FAIL];
  if (bind_record(j, st, r) != SQLITE_OK)
    return uu_jdb_fail(j);
  return uu_jrun_stmt(j, st);
}

/* Fills row from a statement selecting J_ROWCOLS; its ok_payload is read
   into buf (payload.c). */
static int read_row(uu_journal *j, sqlite3_stmt *st, uu_jrow *row,
                    uu_buf *buf)
{
  row->id = (const char *)sqlite3_column_text(st, 0);
  row->idlen = (size_t)sqlite3_column_bytes(st, 0);
  row->state = sqlite3_column_int(st, 1);
  row->attempts = sqlite3_column_int(st, 2);
  row->http_status = sqlite3_column_int(st, 3);
  row->kind = (const char *)sqlite3_column_text(st, 4);
  row->message = (const char *)sqlite3_column_text(st, 5);
  row->vendor_code = (const char *)sqlite3_column_text(st, 6);
  row->field = (const char *)sqlite3_column_text(st, 7);
  row->ok_hash = (uint64_t)sqlite3_column_int64(st, 8);
  row->fail_payload = (const char *)sqlite3_column_text(st, 10);
  row->fail_payload_len = (size_t)sqlite3_column_bytes(st, 10);
  row->elapsed = sqlite3_column_double(st, 11) / (j->schema >= 3 ? 1e6 : 1);
  row->updated_at = (int64_t)sqlite3_column_int64(st, 12);
  row->line = (long)sqlite3_column_int64(st, 13);
  return read_payload(j, st, 9, buf, &row->ok_payload,
                      &row->ok_payload_len);
}

/* The row stays readable until uu_journal_get_done or the next get, so
   ST_GET is also reset at the start of a call. */
int uu_journal_get(uu_journal *j, const char *id, size_t idlen,
                   uu_jrow *row)
{
  sqlite3_stmt *st = j->st[ST_GET];
  int rc;
  sqlite3_reset(st);
  memset(row, 0, sizeof *row);
  if (bind_str(st, 1, id, idlen) != SQLITE_OK)
    return uu_jdb_fail(j);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && read_row(j, st, row, &j->row) == 0)
    return 1;
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    uu_jdb_fail(j);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

void uu_journal_get_done(uu_journal *j)
{
  sqlite3_reset(j->st[ST_GET]);
}

int uu_journal_failures(uu_journal *j, uu_jcursor **out)
{
  uu_jcursor *c = (uu_jcursor *)calloc(1, sizeof *c);
  *out = NULL;
  if (c == NULL)
    return uu_jset_err(j, "out of memory");
  c->j = j;
  if (sqlite3_prepare_v2(j->db, j_failures_sql, -1, &c->st, NULL)
      != SQLITE_OK) {
    uu_jdb_fail(j);
    uu_jcursor_close(c);
    return -1;
  }
  *out = c;
  return 0;
}

int uu_jcursor_next(uu_jcursor *c, uu_jrow *row)
{
  int rc = sqlite3_step(c->st);
  memset(row, 0, sizeof *row);
  if (rc == SQLITE_ROW)
    return read_row(c->j, c->st, row, &c->row) == 0 ? 1 : -1;
  if (rc == SQLITE_DONE)
    return 0;
  return uu_jdb_fail(c->j);
}

void uu_jcursor_close(uu_jcursor *c)
{
  if (c == NULL)
    return;
  sqlite3_finalize(c->st);
  uu_buf_free(&c->row);
  free(c);
}

int uu_journal_counts(uu_journal *j, int64_t n[4])
{
  sqlite3_stmt *st = j->st[ST_COUNTS];
  int rc, s;
  n[0] = n[1] = n[2] = n[3] = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    s = sqlite3_column_int(st, 0);
    if (s >= UU_J_OK && s <= UU_J_INVALID) {
      n[s] = (int64_t)sqlite3_column_int64(st, 1);
      n[UU_J_NONE] += n[s];
    }
  }
  if (rc != SQLITE_DONE)
    uu_jdb_fail(j);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- daily quota (budget.c) ---- */

/* The count of key on day, read only: a journal with no quota table has
   sent nothing under a quota. */
static int quota_ro(uu_journal *j, const char *key, int64_t day,
                    int64_t *sent)
{
  sqlite3_stmt *st = NULL;
  int rc;
  if (sqlite3_prepare_v2(j->db, "SELECT sent FROM quota WHERE key = ?1 AND "
                         "day = ?2", -1, &st, NULL) != SQLITE_OK) {
    sqlite3_finalize(st);
    return 0;                          /* no such table */
  }
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, day);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *sent = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : uu_jdb_fail(j);
}

/* Adds add (0: none) to the count of key on day and reads it back. */
int uu_journal_quota(uu_journal *j, const char *key, int64_t day,
                     int64_t add, int64_t *sent)
{
  static const char sql[] =
    "INSERT INTO quota (key, day, sent) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (key, day) DO UPDATE SET sent = sent + ?3 RETURNING sent";
  sqlite3_stmt *st = NULL;
  int rc;
  *sent = 0;
  uu_journal_end_read(j);
  if (j->ro)
    return quota_ro(j, key, day, sent);
  if (uu_jexec_sql(j, "CREATE TABLE IF NOT EXISTS quota (key TEXT NOT NULL, "
               "day INTEGER NOT NULL, sent INTEGER NOT NULL, "
               "PRIMARY KEY (key, day)) WITHOUT ROWID") != 0)
    return -1;
  if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK)
    return uu_jdb_fail(j);
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, day);
  sqlite3_bind_int64(st, 3, add);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *sent = sqlite3_column_int64(st, 0);
  else
    uu_jdb_fail(j);
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : -1;
}
