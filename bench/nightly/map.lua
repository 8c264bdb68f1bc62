-- bench/nightly/map.lua: the nightly sync's map, 4 fields into
-- SmarterMeasure (the Python sync builds the same body).
return function(row)
  return tonumber(row.student_id), {
    FirstName = row.first_name, LastName = row.last_name,
    Email = row.email, InternalID = row.external_id,
  }
end
