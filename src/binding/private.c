/*
** private.c: userupd.create_private(path), a file only its owner can read,
** for exports of student records (`userupd failures --output`).  The file
** is created 0600, or truncated and set to 0600 if it exists, before any
** byte is written: no moment where another user could open it.
*/
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC, fchmod */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/compat.h"

void uu_private_open(lua_State *L);

/* userupd.create_private(path) -> true | nil, message */
static int l_create_private(lua_State *L)
{
  const char *path = luaL_checkstring(L, 1);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int e;
  if (fd < 0 || fchmod(fd, 0600) != 0) {
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

/* Sets create_private on the module table at the top of the stack. */
void uu_private_open(lua_State *L)
{
  lua_pushcfunction(L, l_create_private);
  lua_setfield(L, -2, "create_private");
}
