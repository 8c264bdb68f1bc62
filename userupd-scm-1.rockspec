-- LuaRocks: luarocks make --deps-mode=none (Debian's lua-cjson, libcurl and
-- libsqlite3 are found as system packages).
rockspec_format = "3.0"
package = "userupd"
version = "scm-1"
source = {
  url = "git+file:///usr/src/userupd",
}
description = {
  summary = "Exact, resumable user updates for five SaaS vendors",
  detailed = [[
One client per vendor (SmarterMeasure, Thought Industries, Blackbaud ON
API, Forms On Fire, QuestionPro) whose update(id, fields) sends the
vendor's "update user" request exactly as documented, over libcurl, with
retries, pacing, a crash-proof journal for bulk runs, and a command line.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.1, < 5.5",
}
test_dependencies = {
  "lua-cjson >= 2.1.0",
}
external_dependencies = {
  CURL = { header = "curl/curl.h" },
  SQLITE = { header = "sqlite3.h" },
}
build = {
  type = "builtin",
  modules = {
    userupd = {
      sources = {
        "lua_userupd.c",
        "src/async.c",
        "src/client.c",
        "src/compat.c",
        "src/driver.c",
        "src/engine.c",
        "src/http.c",
        "src/journal.c",
        "src/journal_lua.c",
        "src/json_buf.c",
        "src/json_decode.c",
        "src/json_lua.c",
        "src/json_write.c",
        "src/many.c",
        "src/marshal.c",
        "src/optcheck.c",
        "src/reply.c",
        "src/request.c",
        "src/vendors.c",
        "src/verify.c",
        "src/vendors/blackbaud.c",
        "src/vendors/formsonfire.c",
        "src/vendors/questionpro.c",
        "src/vendors/smartermeasure.c",
        "src/vendors/thoughtindustries.c",
      },
      libraries = { "curl", "sqlite3" },
      incdirs = { "$(CURL_INCDIR)", "$(SQLITE_INCDIR)", "src" },
      libdirs = { "$(CURL_LIBDIR)", "$(SQLITE_LIBDIR)" },
    },
    ["userupd.csv"] = "lua/userupd/csv.lua",
    ["userupd.cli"] = "lua/userupd/cli.lua",
    ["userupd.transport.ngx"] = "lua/userupd/transport/ngx.lua",
  },
  install = {
    bin = { userupd = "bin/userupd" },
  },
}
test = {
  type = "busted",
}
