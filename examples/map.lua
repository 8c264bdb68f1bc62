-- examples/map.lua: one mapping from examples/roster.csv to all five vendors.
--
--   userupd apply questionpro --input examples/roster.csv --map examples/map.lua
--
-- The CLI calls the returned function once per row as map(row, vendor),
-- with row keyed by the CSV header, and sends the fields it returns to that
-- row's id.  first_name, last_name, email and external_id are the
-- cross-vendor names; the rest are each vendor's own, spelled as its
-- documentation spells them.

-- Which roster column holds each vendor's id for the user.
local ID_COLUMN = {
  smartermeasure = "sm_user_id",
  thoughtindustries = "ti_uuid",
  blackbaud = "bb_user_id",
  formsonfire = "ff_guid",
  questionpro = "qp_user_id",
}

-- A CSV cell holding a whole number, as a number.  Anything else is passed
-- on unchanged so that the client reports the field as invalid, rather than
-- the row quietly losing it.
local function integer(cell)
  if cell:match("^%d+$") then return tonumber(cell) end
  return cell
end

-- Each vendor's own fields for a row.
local NATIVE = {
  smartermeasure = function(row) return { Gender = row.gender } end,
  thoughtindustries = function(row) return { ref1 = row.sis_id } end,
  blackbaud = function(row) return { BirthDate = row.birth_date } end,
  formsonfire = function(row)
    return { Type = "Standard", Metadata = { grade = row.grade } }
  end,
  questionpro = function(row)
    return { departmentID = integer(row.department_id) }
  end,
}

-- Vendors whose user ids are numbers; the others use UUIDs or GUIDs.
local NUMERIC_ID = { smartermeasure = true, blackbaud = true, questionpro = true }

return function(row, vendor)
  local native = NATIVE[vendor]
  if not native then error("examples/map.lua has no mapping for " .. vendor) end
  local fields = native(row)
  fields.first_name = row.first_name
  fields.last_name = row.last_name
  fields.email = row.email
  -- QuestionPro has no external id field: sending one there is an error.
  if vendor ~= "questionpro" then fields.external_id = row.sis_id end
  local id = row[ID_COLUMN[vendor]]
  if NUMERIC_ID[vendor] then id = integer(id) end
  return id, fields
end
