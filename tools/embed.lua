-- Writes a Lua source file as a C string constant, so the module carries
-- its Lua parts without a file to find at run time.
-- usage: lua tools/embed.lua NAME input.lua > output.h
local name, path = arg[1], arg[2]
local f = assert(io.open(path, "rb"))
local src = f:read("*a")
f:close()
io.write("/* Generated from ", path, " by tools/embed.lua: do not edit. */\n")
io.write("static const char ", name, "[] =\n")
for line in (src .. (src:sub(-1) == "\n" and "" or "\n")):gmatch("(.-)\n") do
  io.write('  "', (line:gsub('[\\"]', "\\%0")), '\\n"\n')
end
io.write(";\n")
