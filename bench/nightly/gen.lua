-- bench/nightly/gen.lua: the nightly-sync benchmark's exports.
--
--   lua gen.lua N NIGHT1.csv NIGHT2.csv
--
-- Writes a student export of N rows and 6 columns (the same rows each
-- time), and the next night's export, where the e-mail of every 100th
-- student (1%) has changed.
local n, night1, night2 = tonumber(arg[1]), arg[2], arg[3]
assert(n and night2, "usage: gen.lua N NIGHT1.csv NIGHT2.csv")

local FIRST = { "Alice", "Bruno", "Chiara", "Dmitri", "Emeka", "Fatima",
                "Gustav", "Hana", "Ines", "Jonas", "Keiko", "Liam" }
local LAST = { "Carter", "Okafor", "Rossi", "Ivanova", "Novak", "Haddad",
               "Lindqvist", "Sato", "Moreau", "Weber", "Tanaka", "Byrne" }
local PROGRAM = { "Nursing", "Business", "Computing", "History", "Biology" }

local function write(path, changed)
  local fh = assert(io.open(path, "wb"))
  fh:write("student_id,first_name,last_name,email,external_id,program\n")
  local buf = {}
  for i = 1, n do
    local first, last = FIRST[i % #FIRST + 1], LAST[(i * 7) % #LAST + 1]
    local email = ("%s.%s%d@students.example.edu"):format(first:lower(),
                                                          last:lower(), i)
    if changed and i % 100 == 0 then
      email = ("%s.%s%d@alumni.example.edu"):format(first:lower(),
                                                     last:lower(), i)
    end
    buf[#buf + 1] = ("%d,%s,%s,%s,STU-%07d,%s\n"):format(100000 + i, first,
      last, email, i, PROGRAM[i % #PROGRAM + 1])
    if #buf == 4096 then
      fh:write(table.concat(buf))
      buf = {}
    end
  end
  fh:write(table.concat(buf))
  fh:close()
end

write(night1, false)
write(night2, true)
