-- spec/unit/csv_spec.lua: the streaming CSV reader and writer (userupd.csv).
-- Run: lua5.4 /usr/bin/busted --lpath='./lua/?.lua;./lua/?/init.lua;;' \
--        spec/unit/csv_spec.lua
local csv = require "userupd.csv"

-- An open handle holding `text`, read from the start.
local function handle(text)
  local fh = assert(io.tmpfile())
  fh:write(text)
  fh:seek("set")
  return fh
end

-- Everything rows() yields, as { {row|false, lineno, err}, ... }.
local function parse(text, opts)
  local reader = assert(csv.open(handle(text), opts))
  local out = {}
  for row, lineno, err in reader:rows() do
    out[#out + 1] = { row, lineno, err }
  end
  reader:close()
  return out, reader
end

-- Small chunk sizes put every token on a chunk boundary somewhere.
local CHUNKS = { 1, 2, 3, 5, 64 * 1024 }

-- Each case runs on both scanners: the C one (src/binding/csv_lua.c,
-- used whenever the module loads) and the Lua one.
local ENGINES = { "c", "lua" }

local function each_chunk(name, fn)
  for _, engine in ipairs(ENGINES) do
    for _, size in ipairs(CHUNKS) do
      it(("%s (%s, chunk %d)"):format(name, engine, size),
         function() fn({ chunk = size, engine = engine }) end)
    end
  end
end

it("has the C scanner under the module", function()
  assert.is_function(require("userupd")._csv_next)
end)

describe("csv reader", function()
  each_chunk("reads plain records keyed by header", function(opts)
    local out = parse("id,name\n1,Ada\n2,Grace\n", opts)
    assert.same({ { { id = "1", name = "Ada" }, 2 },
                  { { id = "2", name = "Grace" }, 3 } }, out)
    assert.equal("3", tostring(out[2][2]))     -- "line 3", never "3.0"
  end)

  for _, cells in ipairs({ false, true }) do
    it("reads a record wider than Lua's stack as a row with the wrong " ..
       "count, and reads on" .. (cells and " (CLI cells rules)" or ""),
    function()
      -- a hostile line of 1.1 million separators: the C scanner moves
      -- its fields into a list once the stack cannot grow (it ended the
      -- input there once, leaving the rows after it unread)
      local wide = (","):rep(1100000)
      local out = parse("id,name\n1,a\n" .. wide .. "\n3,c\n",
        { cells = cells and { drop_empty = true, utf8 = true } or nil })
      assert.equal(3, #out)
      assert.same({ { id = "1", name = "a" }, 2 }, out[1])
      assert.is_false(out[2][1])
      assert.equal(3, out[2][2])
      assert.equal("line 3: expected 2 fields, got 1100001", out[2][3])
      assert.same({ { id = "3", name = "c" }, 4 }, out[3])
    end)
  end

  -- Objects whose finalizers run while a wide record is being read: a
  -- scanner that fills Lua's stack leaves them no room (Lua 5.3 raised
  -- "error in __gc metamethod (stack overflow)" out of the read).
  local function garbage_with_finalizers(n, ran)
    local gc = { __gc = function() ran[1] = ran[1] + 1 end }
    for _ = 1, n do
      if newproxy then                      -- Lua 5.1: only userdata
        getmetatable(newproxy(true)).__gc = gc.__gc
      else
        setmetatable({}, gc)
      end
    end
  end

  it("reads a wide record while finalizers run, and reads on", function()
    local ran = { 0 }
    garbage_with_finalizers(20000, ran)
    local out = parse("id,name\n" .. (","):rep(1100000) .. "\n3,c\n")
    collectgarbage()
    assert.equal(2, #out)
    assert.equal("line 2: expected 2 fields, got 1100001", out[1][3])
    assert.same({ { id = "3", name = "c" }, 3 }, out[2])
    assert.equal(20000, ran[1])
  end)

  it("keys a record of 3,000 columns by its header", function()
    local names, values, want = {}, {}, {}
    for i = 1, 3000 do
      names[i], values[i] = "c" .. i, "v" .. i
      want["c" .. i] = "v" .. i
    end
    for _, cells in ipairs({ false, true }) do
      local out = parse(table.concat(names, ",") .. "\n" ..
                        table.concat(values, ",") .. "\n1" ..
                        (","):rep(2999) .. "\n",
        { cells = cells and { drop_empty = true, utf8 = true } or nil })
      assert.same({ want, 2 }, out[1])
      assert.equal("1", out[2][1].c1)
      if cells then                 -- a bad cell past the first 1,024
        values[2500] = "\255"
        local bad = parse(table.concat(names, ",") .. "\n" ..
                          table.concat(values, ",") .. "\n",
          { cells = { drop_empty = true, utf8 = true } })
        values[2500] = "v2500"
        assert.is_false(bad[1][1])
        assert.equal('line 2: column "c2500" is not valid UTF-8 (byte 1)',
                     bad[1][3])
      end
      assert.equal(cells and 1 or 3000, (function()
        local n = 0
        for _ in pairs(out[2][1]) do n = n + 1 end
        return n
      end)())
    end
  end)

  each_chunk("handles quoted separators, doubled quotes and newlines",
    function(opts)
      local text = 'a,b,c\n"x,y","say ""hi""","l1\nl2\r\nl3"\nlast,row,here\n'
      local out = parse(text, opts)
      assert.same({ a = "x,y", b = 'say "hi"', c = "l1\nl2\r\nl3" }, out[1][1])
      assert.equal(2, out[1][2])
      -- The record after a three-line field starts on physical line 5.
      assert.same({ { a = "last", b = "row", c = "here" }, 5 }, out[2])
      assert.equal(2, #out)
    end)

  each_chunk("accepts CRLF line ends and strips no data", function(opts)
    local out = parse("a,b\r\n1,2\r\n 3 ,\"4\"\r\n", opts)
    assert.same({ a = "1", b = "2" }, out[1][1])
    assert.same({ a = " 3 ", b = "4" }, out[2][1])
    assert.equal(3, out[2][2])
  end)

  -- issue 21 item 4: an old "CSV (Macintosh)" export ends lines with CR
  -- alone; it was read as one header line and no rows.
  each_chunk("reads CR-only line ends as line ends", function(opts)
    local out = parse("id,name\r1,Ada\r\r2,Grace\r", opts)
    assert.same({ { { id = "1", name = "Ada" }, 2 },
                  { { id = "2", name = "Grace" }, 4 } }, out)
  end)

  each_chunk("counts CR-only line ends inside quotes and after bad rows",
    function(opts)
      local out = parse('a,b\r"x\ry",1\r"q"z,2\r3,4\r5,"6\r\n7"\r8,9', opts)
      assert.same({ { a = "x\ry", b = "1" }, 2 }, out[1])
      assert.same({ false, 4, "line 4: field 1 has text after its closing quote" },
                  out[2])
      assert.same({ { a = "3", b = "4" }, 5 }, out[3])
      assert.same({ { a = "5", b = "6\r\n7" }, 6 }, out[4])
      assert.same({ { a = "8", b = "9" }, 8 }, out[5])
      assert.equal(5, #out)
    end)

  -- The CLI's cell rules, done by the C scanner while it keys the row.
  each_chunk("applies opts.cells on the C scanner only", function(opts)
    opts.cells = { drop_empty = true, utf8 = true }
    local text = "a,b\n1,\n\233t\195\169,x\n,\n\195\169,\"y\"\n"
    local out, reader = parse(text, opts)
    if opts.engine == "lua" then
      assert.is_nil(reader.cells_done)
      assert.same({ a = "1", b = "" }, out[1][1])
      return
    end
    assert.is_true(reader.cells_done)
    assert.same({ { a = "1" }, 2 }, out[1])
    assert.same({ false, 3, 'line 3: column "a" is not valid UTF-8 (byte 1)' },
                out[2])
    assert.same({ {}, 4 }, out[3])
    assert.same({ { a = "\195\169", b = "y" }, 5 }, out[4])
    assert.equal(4, #out)
  end)

  each_chunk("reads mixed LF, CRLF and CR line ends", function(opts)
    local out = parse("a\n1\r\n2\r3\n", opts)
    assert.same({ { { a = "1" }, 2 }, { { a = "2" }, 3 }, { { a = "3" }, 4 } },
                out)
  end)

  each_chunk("reads a last record without a final newline", function(opts)
    local out = parse("a,b\n1,2\n3,4", opts)
    assert.same({ { a = "3", b = "4" }, 3 }, out[2])
    out = parse("a,b\r\n1,\"2\"", opts)
    assert.same({ { a = "1", b = "2" }, 2 }, out[1])
    out = parse("a,b\r\n1,2\r", opts)
    assert.same({ { a = "1", b = "2" }, 2 }, out[1])
  end)

  each_chunk("gives empty fields as empty strings", function(opts)
    local out = parse('a,b,c\n,,\n"",x,\n', opts)
    assert.same({ a = "", b = "", c = "" }, out[1][1])
    assert.same({ a = "", b = "x", c = "" }, out[2][1])
  end)

  each_chunk("strips a BOM from the header, but not spaces", function(opts)
    local reader = assert(csv.open(handle("\239\187\191id, name \n1,x\n"),
                                   opts))
    assert.same({ "id", " name " }, reader.header)
    local row = reader:rows()()
    assert.same({ id = "1", [" name "] = "x" }, row)
  end)

  each_chunk("skips blank lines but counts them", function(opts)
    local out = parse("a\n\n1\r\n\r\n\n2\n\n", opts)
    assert.same({ { { a = "1" }, 3 }, { { a = "2" }, 6 } }, out)
  end)

  it("keeps UTF-8 as bytes", function()
    local out = parse("name\nZoë Łukasz 李\n")
    assert.equal("Zoë Łukasz 李", out[1][1].name)
  end)
end)

describe("csv reader errors", function()
  each_chunk("strict: reports a quote inside an unquoted field and goes on",
    function(opts)
      opts.strict = true
      local warned = 0
      opts.warn = function() warned = warned + 1 end
      local out = parse('a,b,c\n1,2"x,3\n4,5,6\n', opts)
      assert.is_false(out[1][1])
      assert.equal(2, out[1][2])
      assert.equal("line 2: field 2 has a quote in the middle of an " ..
                   "unquoted field (strict CSV; without it the quote is " ..
                   "taken as text)", out[1][3])
      assert.same({ { a = "4", b = "5", c = "6" }, 3 }, out[2])
      assert.equal(0, warned)
    end)

  each_chunk("takes a quote inside an unquoted field as text, counts the " ..
             "rows and warns once per file", function(opts)
      local warnings = {}
      opts.warn = function(w) warnings[#warnings + 1] = w end
      local out, reader = parse('place,lat,note\n' ..
        'Here,37\194\17636\'37.8"N,5\'11" tall\r\n' ..
        'There,1,2\n' ..
        'Far,"quoted ""ok""",x"y"z\n' ..
        'Last,x"\n', opts)
      assert.same({ { place = "Here", lat = '37\194\17636\'37.8"N',
                      note = '5\'11" tall' }, 2 }, out[1])
      assert.same({ { place = "There", lat = "1", note = "2" }, 3 }, out[2])
      assert.same({ { place = "Far", lat = 'quoted "ok"', note = 'x"y"z' }, 4 },
                  out[3])
      assert.same({ false, 5, "line 5: expected 3 fields, got 2" }, out[4])
      assert.equal(4, #out)
      assert.equal(3, reader.stray_quote_rows)
      assert.equal(2, reader.first_stray_line)
      assert.same({ "3 rows (the first at line 2) had a quote inside an " ..
                    "unquoted field; it was taken as text, as spreadsheets " ..
                    "do (--strict-csv refuses such rows)" }, warnings)
    end)

  it("warns about nothing when no field holds a stray quote", function()
    local warned = false
    local out = parse('a\n"x"\n', { warn = function() warned = true end })
    assert.same({ { { a = "x" }, 2 } }, out)
    assert.is_false(warned)
    assert.is_nil(csv.open(handle("a\n"), { warn = "loud" }))
  end)

  each_chunk("reports text after a closing quote and goes on", function(opts)
    local out = parse('a,b,c\n1,2,"3"x\n4,5,6\n', opts)
    assert.same({ false, 2, "line 2: field 3 has text after its closing quote" },
                out[1])
    assert.same({ { a = "4", b = "5", c = "6" }, 3 }, out[2])
  end)

  each_chunk("reports too few and too many fields", function(opts)
    local out = parse("a,b\n1\n1,2,3\n1,2\n", opts)
    assert.same({ false, 2, "line 2: expected 2 fields, got 1" }, out[1])
    assert.same({ false, 3, "line 3: expected 2 fields, got 3" }, out[2])
    assert.same({ { a = "1", b = "2" }, 4 }, out[3])
  end)

  each_chunk("ends with an unterminated quote at EOF", function(opts)
    local out = parse('a,b\n1,2\n3,"open\n4,5\n6,7\n', opts)
    assert.equal(2, #out)
    assert.same({ false, 3, "line 3: field 2 has a quote that is never closed" },
                out[2])
  end)

  it("counts lines of a bad multi-line record correctly", function()
    local out = parse('a,b\n"x\ny"z,1\n2,3\n')
    assert.same({ false, 2, "line 2: field 1 has text after its closing quote" },
                out[1])
    assert.same({ { a = "2", b = "3" }, 4 }, out[2])
  end)

  it("refuses duplicate and empty header names", function()
    local r, err = csv.open(handle("id,email,id\n"))
    assert.is_nil(r)
    assert.equal('header: column 3 repeats the name "id" of column 1', err)
    r, err = csv.open(handle("id,,x\n"))
    assert.is_nil(r)
    assert.equal("header: column 2 has no name", err)
  end)

  it("refuses an empty file and a malformed header", function()
    assert.same({ nil, "no header row" }, { csv.open(handle("")) })
    assert.same({ nil, "no header row" }, { csv.open(handle("\n\r\n")) })
    local r, err = csv.open(handle('a,"b\n'))
    assert.is_nil(r)
    assert.matches("never closed", err)
  end)

  it("returns nil and a message for a missing file", function()
    local r, err = csv.open("/nonexistent/roster.csv")
    assert.is_nil(r)
    assert.matches("/nonexistent/roster.csv", err, 1, true)
  end)

  it("does not raise on a read error", function()
    -- Reading a directory fails at the first read on Linux.
    local r, err = csv.open("/tmp")
    assert.is_nil(r)
    assert.is_string(err)
  end)

  it("never raises from rows() on a handle that fails mid-way", function()
    local calls = 0
    local fake = { read = function()
      calls = calls + 1
      if calls == 1 then return "a,b\n1,2\n3," end
      error("disk on fire", 0)
    end, close = function() end }
    local reader = assert(csv.open(fake))
    local out = {}
    for row, lineno, err in reader:rows() do out[#out + 1] = { row, lineno, err } end
    assert.same({ { a = "1", b = "2" }, 2 }, out[1])
    assert.same({ false, 3, "line 3: disk on fire" }, out[2])
    assert.equal(2, #out)
  end)
end)

describe("csv options", function()
  it("takes another separator", function()
    local out = parse('a;b\n1;"2;3"\n4,5;6\n', { sep = ";" })
    assert.same({ a = "1", b = "2;3" }, out[1][1])
    assert.same({ a = "4,5", b = "6" }, out[2][1])
    out = parse("a\tb\n1\t2\n", { sep = "\t" })
    assert.same({ a = "1", b = "2" }, out[1][1])
  end)

  it("refuses a bad separator", function()
    for _, sep in ipairs({ "", ",,", '"', "\n" }) do
      local r, err = csv.open(handle("a\n"), { sep = sep })
      assert.is_nil(r)
      assert.matches("sep", err)
    end
  end)

  it("leaves a caller's handle open and closes its own", function()
    local fh = handle("a\n1\n")
    local r = assert(csv.open(fh))
    for _ in r:rows() do end
    assert.is_true(r.closed)
    assert.equal("file", io.type(fh))
    fh:close()
    local path = os.tmpname()
    local out = assert(io.open(path, "wb"))
    out:write("a\n1\n")
    out:close()
    r = assert(csv.open(path))
    for _ in r:rows() do end
    assert.equal("closed file", io.type(r.fh))
    assert.is_nil(r:rows()()) -- and stays at the end
    os.remove(path)
  end)
end)

describe("csv.write_row", function()
  local function written(list, sep)
    local fh = assert(io.tmpfile())
    csv.write_row(fh, list, sep)
    fh:seek("set")
    local s = fh:read("*a")
    fh:close()
    return s
  end

  it("quotes only when needed", function()
    assert.equal("1,plain,\r\n", written({ 1, "plain", "" }))
    assert.equal('"a,b","say ""x""","l1\nl2"," pad"\r\n',
                 written({ "a,b", 'say "x"', "l1\nl2", " pad" }))
    assert.equal('"a;b";c\r\n', written({ "a;b", "c" }, ";"))
  end)

  it("writes nil as an empty field when n is given", function()
    assert.equal("a,,c\r\n", written({ "a", nil, "c", n = 3 }))
  end)

  it("round-trips through the reader", function()
    local fh = assert(io.tmpfile())
    local values = { "id", 'q"uote', "com,ma", "new\nline", "Zoë", "" }
    csv.write_row(fh, { "a", "b", "c", "d", "e", "f" })
    csv.write_row(fh, values)
    fh:seek("set")
    local reader = assert(csv.open(fh))
    local row = reader:rows()()
    assert.same({ a = values[1], b = values[2], c = values[3], d = values[4],
                  e = values[5], f = values[6] }, row)
    fh:close()
  end)
end)

describe("csv streaming", function()
  local N = 100000
  local path

  setup(function()
    path = os.tmpname()
    local fh = assert(io.open(path, "wb"))
    fh:write("id,name,email,note\n")
    for i = 1, N do
      fh:write(i, ",Name ", i, ",user", i, "@example.org,",
               i % 10 == 0 and '"multi\nline, note"' or "plain note", "\n")
    end
    fh:close()
  end)

  teardown(function() os.remove(path) end)

  it("reads 100,000 rows with flat memory", function()
    local size = assert(io.open(path, "rb")):seek("end")
    collectgarbage("collect")
    local base, peak = collectgarbage("count"), 0
    local reader = assert(csv.open(path))
    local count, last_line = 0, 0
    for row, lineno in reader:rows() do
      assert.is_table(row)
      count, last_line = count + 1, lineno
      if count % 5000 == 0 then
        -- Live memory only: what the reader holds on to, not garbage.
        collectgarbage("collect")
        peak = math.max(peak, collectgarbage("count") - base)
      end
    end
    reader:close()
    assert.equal(N, count)
    -- Every tenth record spans two lines, the last one too: it starts
    -- after the header, 99,999 records and 9,999 extra lines.
    assert.equal(110000, last_line)
    -- About one 64 KB chunk plus a record, whatever the file size.
    assert.is_true(peak < 512 and peak * 1024 < size / 8,
                   ("peak %.0f KB for a %.0f KB file"):format(peak, size / 1024))
  end)
end)
