/*
** impl.h: the journal's own state, shared by the files of the journal room
** (private to src/journal):
**   journal.c   opening: connection, schema and its migration, meta, the
**               prepared statements, close, accessors
**   records.c   reading and writing records: lookups, batches, outcomes,
**               get, the failures cursor, counts, the daily quota
**   payload.c   the compact form of kept payloads (schema 3)
*/
#ifndef UU_JOURNAL_IMPL_H
#define UU_JOURNAL_IMPL_H

#include <sqlite3.h>
#include "journal/journal.h"
#include "json/json.h"

#define J_SCHEMA 3          /* meta 'schema': bump on incompatible change */
#define J_NKEYS 28          /* field names a compact payload abbreviates */
#define J_KEYLEN 16         /* meta 'hash_key': keys secret-record hashes */
#define J_BUSY_MS 10000     /* wait this long for another writer */
#define J_ERRLEN 320

/* Statements prepared at open, indexes into uu_journal.st. */
enum { ST_LOOKUP, ST_GET, ST_OK, ST_FAIL, ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
       ST_COUNTS, ST_READ, ST_N };

/* Lookups share one read transaction, up to this many: a read outside a
   transaction takes and drops SQLite's file locks (fcntl) every time. */
#define J_READ_BATCH 4096

/* Lookups (records.c) step ST_LOOKUP forward while the ids asked for
   ascend, as a night's export in the journal's order does: a step costs
   a fraction of a seek.  J_SCAN_OFF: reset, the next lookup seeks;
   J_SCAN_ROW: it stands on a row; J_SCAN_END: no row is left after the
   last id asked for.  Past J_SCAN_AHEAD rows it seeks instead. */
enum { J_SCAN_OFF, J_SCAN_ROW, J_SCAN_END };
#define J_SCAN_AHEAD 8

struct uu_journal {
  sqlite3 *db;
  sqlite3_stmt *st[ST_N];
  char *path;               /* as given, for messages */
  char *vendor;             /* read from meta */
  unsigned char key[J_KEYLEN]; /* meta 'hash_key' (schema 2) */
  int batch;                /* between begin and commit */
  int reads;                /* lookups in the open read transaction */
  int scan;                 /* ST_LOOKUP: J_SCAN_OFF, _ROW or _END */
  uu_buf scan_key;          /* the id the last lookup asked for */
  int ro;                   /* opened read-only: a dry run's plan */
  int lock_fd;              /* the writer lock (owner.c), -1 when none */
  int schema;               /* meta 'schema' after migration */
  char *keys;               /* the '"Name":' texts of meta 'keys' */
  const char *kname[J_NKEYS]; /* each, in keys (payload.c) */
  size_t keylen[J_NKEYS];   /* their lengths */
  int nkeys;                /* names in key */
  uu_buf pack;              /* a payload's compact form, being bound */
  uu_buf row;               /* the ok_payload of the row get returned */
  char err[J_ERRLEN];
};

struct uu_jcursor {
  uu_journal *j;            /* errors are reported on the journal */
  sqlite3_stmt *st;
  uu_buf row;               /* the ok_payload of the row last returned */
};

/* Column list shared by get and the failures cursor (see read_row). */
#define J_ROWCOLS "id, state, attempts, http_status, kind, message, " \
  "vendor_code, field, ok_hash, ok_payload, fail_payload, elapsed, " \
  "updated_at, line"

/* records.c: resets the lookup cursor (before a write or the end of the
   read transaction). */
void uu_journal_scan_off(uu_journal *j);

/* journal.c: errors and statements, for every file of the room */
int uu_jset_err(uu_journal *j, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;
int uu_jdb_fail(uu_journal *j);
int uu_jrun_stmt(uu_journal *j, sqlite3_stmt *st);
int uu_jexec_sql(uu_journal *j, const char *sql);

/* payload.c: compact payloads */
int uu_jkeys_load(uu_journal *j, const char *text, size_t n);
void uu_jkeys_free(uu_journal *j);
int uu_jpayload_pack(const uu_journal *j, const char *p, size_t n,
                     uu_buf *out);
int uu_jpayload_read(const uu_journal *j, const char *p, size_t n, int blob,
                     uu_buf *out);

#endif
