-- New cases of issue 21 item 4: a file that yields no rows while it holds
-- more than a header is an error, not a success.  Here the file is not
-- text a row can come from, under a .csv name: a workbook saved over the
-- export (an .xlsx is a zip), a gzip'd export, a binary file, UTF-16.  Each is an error that
-- names the file, exit status not 0, and nothing is sent.
local cli = require "support.clirun"
local sandbox = require "support.sandbox"

local MAP = "return function(r) return tonumber(r.id), " ..
            "{ firstName = r.first } end"

-- A few bytes of each kind, as their files begin.
local FILES = {
  { "an .xlsx workbook", "PK\3\4\20\0\6\0\8\0\0\0!\0b\238\157h^\1\0\0" ..
                         "\144\4\0\0\19\0\8\2[Content_Types].xml \162" ..
                         ("\0"):rep(64) .. "xl/worksheets/sheet1.xml" },
  { "a gzip'd CSV", "\31\139\8\0\0\0\0\0\0\3\203L\209IK,*.\225" ..
                    "240000\212qLI\228\2\0\211\18\229\22\31\0\0\0" },
  { "a binary file", ("\0\1\2\3\255\254"):rep(200) },
  -- Excel's "Unicode Text": UTF-16 with its mark; read as UTF-8 every
  -- row was "invalid" and no message named the file or the encoding
  { "a UTF-16 export", "\255\254i\0d\0,\0f\0i\0r\0s\0t\0\r\0\n\0" ..
                       "7\0\48\0\49\0,\0A\0n\0n\0\r\0\n\0" },
}

describe("a file that is not text, named .csv", function()
  setup(function() sandbox.start() end)
  before_each(function() sandbox.reset() end)
  after_each(function() cli.cleanup() end)

  for _, f in ipairs(FILES) do
    it(("is an error, not zero rows: %s"):format(f[1]), function()
      local path = cli.write(cli.tmp(".csv"), f[2])
      local r = cli.run{ "apply", "questionpro", "--input", path,
                         "--map", cli.write(cli.tmp(".lua"), MAP),
                         "--base-url", sandbox.url(), "--log-format", "plain",
                         env = { USERUPD_QUESTIONPRO_API_KEY = "zero-key" } }
      assert.are_not.equal(0, r.rc, r.err .. r.out)
      assert.truthy(r.err:find(path, 1, true), r.err)
      local n = 0
      for _, k in pairs(sandbox.puts("questionpro")) do n = n + k end
      assert.are.equal(0, n)
    end)
  end
end)
