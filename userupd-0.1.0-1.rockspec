-- LuaRocks, from a checkout (no flags needed on Debian/Ubuntu):
--   luarocks --lua-version 5.4 make userupd-0.1.0-1.rockspec
-- Elsewhere: CURL_DIR=... (or CURL_INCDIR/CURL_LIBDIR), SQLITE_DIR=...
--
-- The version is src/userupd.h's UU_VERSION (userupd._VERSION, `userupd
-- --version`); spec/build/luarocks_spec.lua checks that they agree.
rockspec_format = "3.0"
package = "userupd"
version = "0.1.0-1"
-- The release source: `make dist` cuts dist/userupd-0.1.0.tar.gz from the
-- committed tree (git archive) and writes dist/userupd-0.1.0-1.rockspec,
-- this file with the tarball's md5 and DIST_URL (default: the releases
-- page below; `make dist DIST_URL=file:///abs/dir` for a local one).
-- `luarocks pack` and `luarocks upload` take that rockspec.  The url here
-- is where the tarball is published; `luarocks make` builds from the
-- checkout and does not fetch it.
source = {
  url = "https://github.com/userupd/userupd/releases/download/v0.1.0/userupd-0.1.0.tar.gz",
  dir = "userupd-0.1.0",
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
  homepage = "https://github.com/userupd/userupd",
  issues_url = "https://github.com/userupd/userupd/issues",
  maintainer = "userupd maintainers <maintainers@userupd.invalid>",
  labels = { "http", "libcurl", "saas", "migration", "openresty" },
}
dependencies = {
  "lua >= 5.1, < 5.5",
  "argparse >= 0.6",          -- the userupd command (userupd.cli)
}
test_dependencies = {
  "lua-cjson >= 2.1.0",
}
external_dependencies = {
  -- No header: LuaRocks 3.8 does not search the multiarch include
  -- directory (/usr/include/x86_64-linux-gnu) where Debian and Ubuntu keep
  -- curl/curl.h, so it would stop with "Could not find header file for
  -- CURL".  The compiler finds it there on its own; the library check
  -- does search multiarch lib directories.  CURL_DIR/CURL_INCDIR still go
  -- on the command line (incdirs below) for Homebrew and custom prefixes.
  CURL = { library = "curl" },
  SQLITE = { header = "sqlite3.h" },
}
build = {
  type = "builtin",
  modules = {
    userupd = {
      sources = {
        -- every C file the Makefile builds (spec/build/luarocks_spec.lua checks)
        "lua_userupd.c",
        "src/base/clock.c",
        "src/base/compat.c",
        "src/base/keyed_hash.c",
        "src/base/sha256.c",
        "src/binding/client.c",
        "src/binding/csv_lua.c",
        "src/binding/describe.c",
        "src/binding/history_lua.c",
        "src/binding/idset_lua.c",
        "src/binding/journal_lua.c",
        "src/binding/json_lua.c",
        "src/binding/many_lua.c",
        "src/binding/optcheck.c",
        "src/binding/private.c",
        "src/binding/sigterm.c",
        "src/binding/term.c",
        "src/journal/history.c",
        "src/journal/idset.c",
        "src/journal/payload.c",
        "src/journal/journal.c",
        "src/journal/owner.c",
        "src/journal/records.c",
        "src/json/json_buf.c",
        "src/json/json_decode.c",
        "src/json/json_write.c",
        "src/loops/async.c",
        "src/loops/budget.c",
        "src/loops/changes.c",
        "src/loops/driver.c",
        "src/loops/engine.c",
        "src/loops/guard.c",
        "src/loops/login.c",
        "src/loops/many.c",
        "src/loops/outcome.c",
        "src/loops/progress.c",
        "src/loops/slot.c",
        "src/loops/stop.c",
        "src/loops/trace.c",
        "src/policy/policy.c",
        "src/transport/http.c",
        "src/transport/pool.c",
        "src/vendors/blackbaud.c",
        "src/vendors/formsonfire.c",
        "src/vendors/questionpro.c",
        "src/vendors/smartermeasure.c",
        "src/vendors/thoughtindustries.c",
        "src/vendors/vendors.c",
        "src/wire/auth.c",
        "src/wire/encode.c",
        "src/wire/format.c",
        "src/wire/ids.c",
        "src/wire/marshal.c",
        "src/wire/names.c",
        "src/wire/redact.c",
        "src/wire/reply.c",
        "src/wire/request.c",
        "src/wire/secrets.c",
        "src/wire/suggest.c",
        "src/wire/values.c",
        "src/wire/verify.c",
      },
      libraries = { "curl", "sqlite3" },
      incdirs = { "$(CURL_INCDIR)", "$(SQLITE_INCDIR)", "src" },
      libdirs = { "$(CURL_LIBDIR)", "$(SQLITE_LIBDIR)" },
    },
    ["userupd.csv"] = "lua/userupd/csv.lua",
    ["userupd.progress"] = "lua/userupd/progress.lua",
    ["userupd.cli"] = "lua/userupd/cli.lua",
    ["userupd.cli.util"] = "lua/userupd/cli/util.lua",
    ["userupd.cli.setup"] = "lua/userupd/cli/setup.lua",
    ["userupd.cli.input"] = "lua/userupd/cli/input.lua",
    ["userupd.cli.utf8check"] = "lua/userupd/cli/utf8check.lua",
    ["userupd.cli.records"] = "lua/userupd/cli/records.lua",
    ["userupd.cli.run"] = "lua/userupd/cli/run.lua",
    ["userupd.cli.send"] = "lua/userupd/cli/send.lua",
    ["userupd.cli.failures"] = "lua/userupd/cli/failures.lua",
    ["userupd.cli.summary"] = "lua/userupd/cli/summary.lua",
    ["userupd.cli.metrics"] = "lua/userupd/cli/metrics.lua",
    ["userupd.cli.term"] = "lua/userupd/cli/term.lua",
    ["userupd.cli.plan"] = "lua/userupd/cli/plan.lua",
    ["userupd.cli.diff"] = "lua/userupd/cli/diff.lua",
    ["userupd.cli.exit"] = "lua/userupd/cli/exit.lua",
    ["userupd.cli.inspect"] = "lua/userupd/cli/inspect.lua",
    ["userupd.cli.preview"] = "lua/userupd/cli/preview.lua",
    ["userupd.cli.refused"] = "lua/userupd/cli/refused.lua",
    ["userupd.cli.reasons"] = "lua/userupd/cli/reasons.lua",
    ["userupd.transport.ngx"] = "lua/userupd/transport/ngx.lua",
    ["userupd.budget.ngx"] = "lua/userupd/budget/ngx.lua",
    ["userupd.budget.redis"] = "lua/userupd/budget/redis.lua",
  },
  install = {
    bin = { userupd = "bin/userupd" },
    -- LuaRocks has no place for these; they land in the rock's conf/
    -- directory, `luarocks show --rock-dir userupd`/conf (docs/cli.md)
    conf = {
      ["man/man1/userupd.1"] = "userupd.1",
      ["bash-completion/completions/userupd"] = "completions/userupd.bash",
      ["zsh/site-functions/_userupd"] = "completions/_userupd",
    },
  },
}
test = {
  type = "busted",
}
