/*
** private.c: userupd.create_private(path), a file only its owner can read,
** for exports of student records (`userupd failures --output`).  The file
** is created 0600, or truncated and set to 0600 if it exists, before any
** byte is written: no moment where another user could open it.  A path
** that is not a regular file (/dev/null, a pipe, a terminal) is written
** as it is, never truncated or chmod'ed: as root, a chmod of /dev/null
** would break every other program on the machine.
** userupd._file_kind(path) tells the CLI what a path is before it writes.
*/
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC, fchmod, ftruncate */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/compat.h"

void uu_private_open(lua_State *L);

/* A regular file made private and empty; anything else left as it is. */
static int make_private(int fd)
{
  struct stat st;
  if (fstat(fd, &st) != 0)
    return -1;
  if (!S_ISREG(st.st_mode))
    return 0;
  if (fchmod(fd, 0600) != 0)
    return -1;
  return ftruncate(fd, 0);
}

/* userupd.create_private(path) -> true | nil, message */
static int l_create_private(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  int fd, e;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    lua_pushboolean(L, 1);      /* not opened: a pipe's reader sees one */
    return 1;                   /* writer, and a device is left as it is */
  }
  fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || make_private(fd) != 0) {
    e = errno;
    if (fd >= 0)
      close(fd);
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(e));
    return 2;
  }
  close(fd);
  lua_pushboolean(L, 1);
  return 1;
}

/* userupd._file_kind(path) -> "file" | "directory" | "other" | nil */
static int l_file_kind(lua_State *L)
{
  struct stat st;
  const char *path = luaL_checkstring(L, 1);
  if (stat(path, &st) != 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushstring(L, S_ISREG(st.st_mode) ? "file"
                    : S_ISDIR(st.st_mode) ? "directory" : "other");
  return 1;
}

void uu_private_open(lua_State *L)
{
  lua_pushcfunction(L, l_create_private);
  lua_setfield(L, -2, "create_private");
  lua_pushcfunction(L, l_file_kind);
  lua_setfield(L, -2, "_file_kind");
}
