/*
** history.c: what `userupd failures` needs beyond each id's outcome: the
** runs a journal has seen (when, how they ended) and the rows the last
** run refused before anything could be sent (a map that raised, a short
** row, an id like "N/A", a duplicate), with their input line and cells.
** Both tables are made on first write; a journal without them has no
** history yet.  Rows come back as JSON text (SQLite's json functions), so
** the Lua face copies one string and holds no cursor.
*/
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "journal/journal.h"

static const char tables_sql[] =
  "CREATE TABLE IF NOT EXISTS runs (run INTEGER PRIMARY KEY, "
  "started INTEGER NOT NULL, finished INTEGER NOT NULL, stopped TEXT, "
  "header TEXT);"
  "CREATE TABLE IF NOT EXISTS refused (run INTEGER NOT NULL, "
  "line INTEGER NOT NULL, id TEXT, kind TEXT NOT NULL, reason TEXT NOT NULL, "
  "cells TEXT);";

/* What earlier runs refused is forgotten, except rows whose id the
   journal still holds as failed or invalid: they keep the run they
   failed in (an outcome's time alone cannot tell two runs of one second
   apart). */
static const char forget_sql[] =
  "DELETE FROM refused WHERE id IS NULL OR id NOT IN "
  "(SELECT id FROM records WHERE state IN (2, 3))";

static int exec(uu_journal *j, const char *sql)
{
  return sqlite3_exec(uu_journal_db(j), sql, NULL, NULL, NULL) == SQLITE_OK
             ? 0 : -1;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
  if (s != NULL)
    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* Steps a statement once to its end and finalizes it. */
static int step_done(sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int uu_history_run(uu_journal *j, const uu_hrun *r, int64_t *run)
{
  sqlite3 *db = uu_journal_db(j);
  sqlite3_stmt *st = NULL;
  uu_journal_end_read(j);
  if (exec(j, "BEGIN IMMEDIATE") != 0)
    return -1;
  if (exec(j, tables_sql) != 0 || exec(j, forget_sql) != 0 ||
      sqlite3_prepare_v2(db, "INSERT INTO runs (started, finished, stopped, "
                         "header) VALUES (?1, ?2, ?3, ?4)", -1, &st,
                         NULL) != SQLITE_OK) {
    sqlite3_finalize(st);
    exec(j, "ROLLBACK");
    return -1;
  }
  sqlite3_bind_int64(st, 1, r->started);
  sqlite3_bind_int64(st, 2, r->finished);
  bind_text(st, 3, r->stopped);
  bind_text(st, 4, r->header);
  if (step_done(st) != 0) {
    exec(j, "ROLLBACK");
    return -1;
  }
  *run = sqlite3_last_insert_rowid(db);
  return 0;
}

int uu_history_refuse(uu_journal *j, int64_t run, const uu_hrefused *f)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(uu_journal_db(j), "INSERT INTO refused (run, line,"
                         " id, kind, reason, cells) VALUES (?1, ?2, ?3, ?4, "
                         "?5, ?6)", -1, &st, NULL) != SQLITE_OK) {
    sqlite3_finalize(st);
    return -1;
  }
  sqlite3_bind_int64(st, 1, run);
  sqlite3_bind_int64(st, 2, f->line);
  bind_text(st, 3, f->id);
  bind_text(st, 4, f->kind != NULL ? f->kind : "invalid");
  bind_text(st, 5, f->reason != NULL ? f->reason : "");
  bind_text(st, 6, f->cells);
  return step_done(st);
}

int uu_history_end(uu_journal *j, int ok)
{
  if (ok && exec(j, "COMMIT") == 0)
    return 0;
  exec(j, "ROLLBACK");
  return -1;
}

/* The JSON text of a one-value query into a malloc'd string (NULL and
   *len 0 when the table is not there yet).  0 ok, -1 error. */
static int query_json(uu_journal *j, const char *sql, char **out,
                      size_t *len)
{
  sqlite3_stmt *st = NULL;
  const unsigned char *text;
  int rc;
  *out = NULL;
  *len = 0;
  uu_journal_end_read(j);
  if (sqlite3_prepare_v2(uu_journal_db(j), sql, -1, &st, NULL) != SQLITE_OK) {
    sqlite3_finalize(st);
    return 0;                          /* no such table: no history */
  }
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && (text = sqlite3_column_text(st, 0)) != NULL) {
    *len = (size_t)sqlite3_column_bytes(st, 0);
    if ((*out = (char *)malloc(*len + 1)) != NULL)
      memcpy(*out, text, *len + 1);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return -1;
  return (*len > 0 && *out == NULL) ? -1 : 0;
}

int uu_history_runs_json(uu_journal *j, char **out, size_t *len)
{
  return query_json(j, "SELECT json_group_array(json_object('run', run, "
                    "'started', started, 'finished', finished, 'stopped', "
                    "stopped, 'header', json(header))) FROM (SELECT * FROM "
                    "runs ORDER BY run)", out, len);
}

int uu_history_refused_json(uu_journal *j, char **out, size_t *len)
{
  return query_json(j, "SELECT json_group_array(json_object('run', run, "
                    "'line', line, 'id', id, 'kind', kind, 'reason', reason,"
                    " 'cells', json(cells))) FROM (SELECT * FROM refused "
                    "ORDER BY line)", out, len);
}

/* One prune statement for one id; adds the rows it changed to *n. */
static int prune_step(uu_journal *j, const char *sql, const char *id,
                      size_t idlen, int64_t *n)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(uu_journal_db(j), sql, -1, &st, NULL) != SQLITE_OK) {
    sqlite3_finalize(st);
    return -1;
  }
  sqlite3_bind_text(st, 1, id, (int)idlen, SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 2, UU_J_FAILED);
  sqlite3_bind_int(st, 3, UU_J_INVALID);
  if (step_done(st) != 0)
    return -1;
  *n += sqlite3_changes(uu_journal_db(j));
  return 0;
}

int uu_history_prune_begin(uu_journal *j)
{
  uu_journal_end_read(j);
  return exec(j, "BEGIN IMMEDIATE");
}

/* A row with a payload that once succeeded goes back to that success
   (nothing the journal knew is lost); one that never succeeded goes. */
int uu_history_prune(uu_journal *j, const char *id, size_t idlen,
                     int64_t *n)
{
  if (prune_step(j, "UPDATE records SET state = 1 WHERE id = ?1 AND state "
                 "IN (?2, ?3) AND ok_hash IS NOT NULL AND ok_hash != 0",
                 id, idlen, n) != 0)
    return -1;
  return prune_step(j, "DELETE FROM records WHERE id = ?1 AND state IN "
                    "(?2, ?3)", id, idlen, n);
}
