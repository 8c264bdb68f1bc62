-- luacheck: the Lua that ships (lua/, bin/), its specs and tools.
std = "max"
max_line_length = 120

files["spec"] = { std = "+busted" }
-- code that runs inside nginx sets ngx.status and ngx.header
files["spec/sandbox/lua"] = { globals = { "ngx" } }
files["lua/userupd/transport"] = { globals = { "ngx" } }
files["lua/userupd/budget/ngx.lua"] = { read_globals = { "ngx" } }
files["examples/openresty"] = { globals = { "ngx" } }
-- examples/embed/host.c calls these two globals every frame
files["examples/embed/game.lua"] = { globals = { "frame", "report" } }
