-- alloc: the allocation-heavy one. n rounds; each builds 2000 small tables and strings, joins
-- them into one large string (large enough that malloc takes it with mmap, so munmap follows when
-- the collector frees it), keeps every 16th small object, and runs a full collection.
-- Output: a running checksum every n/8 rounds, the survivors and the total bytes joined.
return function(n, out)
  local keep, sum, joined = {}, 0, 0
  for round = 1, n do
    local parts = {}
    for i = 1, 2000 do
      local v = round * 2000 + i
      local t = { v, tostring(v), { v % 7, v % 11 } }
      parts[i] = t[2] .. string.rep('x', v % 50)
      sum = (sum + #parts[i] + t[3][1] * t[3][2]) % 1000000007
      if i % 16 == 0 then keep[#keep + 1] = t end
    end
    local big = table.concat(parts, ',')
    joined = joined + #big
    sum = (sum + big:byte(#big // 2)) % 1000000007
    if #keep > 20000 then keep = { table.unpack(keep, #keep - 999) } end
    collectgarbage('collect')
    if round % math.max(1, n // 8) == 0 then out(string.format('round %d: checksum %d\n', round, sum)) end
  end
  out(string.format('survivors %d, joined %d bytes, checksum %d\n', #keep, joined, sum))
end
