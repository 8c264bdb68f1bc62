/*
** journal.h: the run journal, an SQLite database that records the outcome
** of every record update_many sends, so a re-run skips what succeeded and
** retries what failed.  One row per id holds its latest outcome; an id is
** looked up with one indexed read, never by loading the journal.
**
** A uu_journal is used by one thread at a time.  Strings passed in must be
** free of secrets: they are stored as given.
*/
#ifndef UU_JOURNAL_H
#define UU_JOURNAL_H

#include <stdint.h>
#include <stddef.h>

#include "json/json.h"

typedef struct uu_journal uu_journal;

enum { UU_J_NONE = 0, UU_J_OK = 1, UU_J_FAILED = 2, UU_J_INVALID = 3 };

/* One outcome; id and payload need not be NUL-terminated, the other
   strings must be. */
typedef struct uu_jrecord {
  const char *id;
  size_t idlen;
  int state;               /* UU_J_OK / UU_J_FAILED / UU_J_INVALID */
  int attempts;
  int http_status;         /* 0 when none */
  const char *kind;        /* error kind, NULL on success */
  const char *message;     /* error message or NULL */
  const char *vendor_code; /* or NULL */
  const char *field;       /* for invalid: the field, or NULL */
  uint64_t hash;           /* hash of the payload's fields (0 if none) */
  const char *payload;     /* fields-only JSON to keep, NULL for none */
  size_t payload_len;
  double elapsed;          /* seconds */
  long line;               /* the input line it came from, 0 if unknown */
} uu_jrecord;

/* What lookup returns. */
typedef struct uu_jentry {
  int state;               /* UU_J_NONE when the id is unknown */
  uint64_t hash;           /* of the last successful payload, 0 if none */
  int has_payload;         /* 1: the last successful payload is kept */
} uu_jentry;

/* Opens or creates the journal at path; err gets a one-line message that
   names the path.  vendor is stored on creation, and opening a journal
   made for another vendor fails.  With vendor NULL only an existing
   journal is opened, whatever its vendor ("no journal at <path>" if the
   file is missing).  0 ok (*out set), -1 error (*out NULL). */
int uu_journal_open(const char *path, const char *vendor, uu_journal **out,
                    char *err, size_t errlen);

/* Read-only, for a dry run: nothing is written, no -wal or -shm file is
   made, and a journal of another vendor is refused.  1 when there is no
   file at path (*out NULL: a plan with no journal), else as above. */
int uu_journal_open_ro(const char *path, const char *vendor,
                       uu_journal **out, char *err, size_t errlen);

/* 0 ok (state UU_J_NONE if the id is unknown), -1 error.  The last
   successful payload, when kept (e->has_payload), is written to payload
   (replacing what it held), read straight from the page. */
int uu_journal_lookup(uu_journal *j, const char *id, size_t idlen,
                      uu_jentry *e, uu_buf *payload);

/* Lookups run inside one read transaction, opened by the first and kept
   for a few thousand: call this before writing to the database by any
   other path than uu_journal_begin/record/quota (which call it). */
void uu_journal_end_read(uu_journal *j);

/* Optional batching: outcomes recorded between begin and commit share one
   transaction.  begin fails if a batch is already open. */
int uu_journal_begin(uu_journal *j);

/* Upserts the id's row.  Outside a batch it is its own committed
   transaction.  State OK replaces ok_hash/ok_payload and clears the failure
   columns; a failure keeps ok_hash/ok_payload (a failed retry must not
   forget the last good payload) and stores payload as fail_payload.
   0 ok, -1 error (inside a batch the batch stays open unless SQLite rolled
   it back itself: commit then reports that). */
int uu_journal_record(uu_journal *j, const uu_jrecord *r);

/* Durable against process death when it returns 0.  On failure the batch
   is rolled back: none of its outcomes are in the journal. */
int uu_journal_commit(uu_journal *j);

/* Message of the last failure on j (never NULL). */
const char *uu_journal_errmsg(uu_journal *j);

/* Rolls back an open batch, frees everything; NULL is a no-op.  Close
   cursors first. */
void uu_journal_close(uu_journal *j);

/* ---- Inspection, for the Lua face ---- */

/* A whole row.  Its pointers stay valid until uu_journal_get_done or the
   next uu_journal_get (for get), or the next uu_jcursor_next. */
typedef struct uu_jrow {
  const char *id;
  size_t idlen;
  int state, attempts, http_status;
  const char *kind, *message, *vendor_code, *field; /* NULL when none */
  uint64_t ok_hash;
  const char *ok_payload;   /* NULL when none */
  size_t ok_payload_len;
  const char *fail_payload; /* NULL when none */
  size_t fail_payload_len;
  double elapsed;
  int64_t updated_at;       /* Unix time, seconds */
  long line;                /* input line, 0 when unknown */
} uu_jrow;

typedef struct uu_jcursor uu_jcursor;

/* 1 found, 0 unknown id, -1 error.  After 1, call uu_journal_get_done
   once the row is read: until then the connection holds a read snapshot,
   which keeps a running writer from checkpointing its WAL. */
int uu_journal_get(uu_journal *j, const char *id, size_t idlen,
                   uu_jrow *row);
void uu_journal_get_done(uu_journal *j);

/* Streams rows in state failed or invalid, in id (byte) order.  A cursor
   holds a read snapshot until closed: close it early. */
int uu_journal_failures(uu_journal *j, uu_jcursor **out);
int uu_jcursor_next(uu_jcursor *c, uu_jrow *row); /* 1 row, 0 end, -1 */
void uu_jcursor_close(uu_jcursor *c);             /* NULL is a no-op */

/* n[UU_J_OK], n[UU_J_FAILED], n[UU_J_INVALID]; n[UU_J_NONE] = total. */
int uu_journal_counts(uu_journal *j, int64_t n[4]);

const char *uu_journal_vendor(const uu_journal *j);
/* The journal's random 16-byte key (meta 'hash_key'): update_many keys
   the hash of a record carrying a secret with it and the credentials. */
const unsigned char *uu_journal_key(const uu_journal *j);
const char *uu_journal_path(const uu_journal *j);

/* PRAGMA integrity_check: 0 ok, 1 damaged (err gets the first problem),
   -1 error (err gets it). */
int uu_journal_check(uu_journal *j, char *err, size_t errlen);

/* The daily quota's count of key (a credential hash) on day (days since
   the epoch, UTC): adds add, then *sent = the count.  0 ok, -1 error. */
int uu_journal_quota(uu_journal *j, const char *key, int64_t day,
                     int64_t add, int64_t *sent);

/* ---- Owner and writer (owner.c) ---- */

/* Takes the one-writer lock ("<path>.lock", flock, naming pid, host and
   start time).  0 ok; took gets the note of a dead writer whose lock this
   took over ("" if none).  -1: err says who holds it, or why not. */
int uu_journal_lock(uu_journal *j, char *took, size_t tooklen, char *err,
                    size_t errlen);
/* uu_journal_close releases it, emptying the file. */

/* The same lock for a write through any other handle (history, prune, a
   record written by hand), unless this handle holds it already: one
   writer at a time, whatever path it writes by.  0 ok, -1 err set. */
int uu_journal_writer(uu_journal *j, char *err, size_t errlen);

/* Binds the journal to an account (a SHA-256 the client made of its
   credential options: only a keyed fingerprint of it is stored) and an
   endpoint (base URL).  An unbound journal is bound; another account or
   endpoint is refused (-1, err names both) unless rebind.  On a
   read-only journal (a dry run) it only checks.  0 ok. */
int uu_journal_bind(uu_journal *j, const unsigned char account[32],
                    const char *endpoint, int rebind, char *err,
                    size_t errlen);

/* For owner.c: the connection, and the lock's fd (-1 when none). */
struct sqlite3 *uu_journal_db(uu_journal *j);
int *uu_journal_lock_slot(uu_journal *j);

/* ---- History (history.c): runs and the rows a run refused ---- */

typedef struct uu_hrun {
  int64_t started, finished; /* Unix time, seconds */
  const char *stopped;       /* why it stopped early, or NULL */
  const char *header;        /* the input's columns as a JSON array, or NULL */
} uu_hrun;

typedef struct uu_hrefused {
  long line;                 /* input line */
  const char *id;            /* the id, when the row had one, or NULL */
  const char *kind;          /* invalid, duplicate, ... */
  const char *reason;        /* the message (no secret) */
  const char *cells;         /* the row's cells as a JSON object, or NULL */
} uu_hrefused;

/* Opens a transaction, adds the run (*run gets its number) and forgets the
   rows earlier runs refused (all but those the journal still holds as
   failed or invalid); then uu_history_refuse per row, and
   uu_history_end(j, 1) commits (0 rolls back).  0 ok, -1 error. */
int uu_history_run(uu_journal *j, const uu_hrun *r, int64_t *run);
int uu_history_refuse(uu_journal *j, int64_t run, const uu_hrefused *f);
int uu_history_end(uu_journal *j, int ok);

/* JSON arrays of the runs and of the refused rows, malloc'd (NULL when
   there is no history yet).  0 ok, -1 error. */
int uu_history_runs_json(uu_journal *j, char **out, size_t *len);
int uu_history_refused_json(uu_journal *j, char **out, size_t *len);

/* --prune: uu_history_prune_begin opens a transaction, uu_history_prune
   takes one failed or invalid id off the list (back to its last success,
   or removed; *n counts), uu_history_end(j, ok) ends it.  0 ok, -1. */
int uu_history_prune_begin(uu_journal *j);
int uu_history_prune(uu_journal *j, const char *id, size_t idlen,
                     int64_t *n);

/* ---- Lua face (journal_lua.c) ---- */

/* Sets journal and _journal_record on the table at the top of the stack
   and creates the shared "userupd.journal" metatable. */
struct lua_State;
void uu_journal_open_lua(struct lua_State *L);
/* history_lua.c: adds record_run, runs, refused and prune to the journal
   methods; uu_journal_arg is the open journal at argument 1. */
void uu_history_open_lua(struct lua_State *L);
uu_journal *uu_journal_arg(struct lua_State *L);

#endif
