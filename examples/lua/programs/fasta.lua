-- fasta (benchmark game): a repeated ALU sequence of 2n bases, then 3n and 5n random bases drawn
-- from two frequency tables with the standard linear congruential generator, 60 per line.
local ALU =
  'GGCCGGGCGCGGTGGCTCACGCCTGTAATCCCAGCACTTTGG' ..
  'GAGGCCGAGGCGGGCGGATCACCTGAGGTCAGGAGTTCGAGA' ..
  'CCAGCCTGGCCAACATGGTGAAACCCCGTCTCTACTAAAAAT' ..
  'ACAAAAATTAGCCGGGCGTGGTGGCGCGCGCCTGTAATCCCA' ..
  'GCTACTCGGGAGGCTGAGGCAGGAGAATCGCTTGAACCCGGG' ..
  'AGGCGGAGGTTGCAGTGAGCCGAGATCGCGCCACTGCACTCC' ..
  'AGCCTGGGCGACAGAGCGAGACTCCGTCTCAAAAA'

local IUB = {
  { 'a', 0.27 }, { 'c', 0.12 }, { 'g', 0.12 }, { 't', 0.27 },
  { 'B', 0.02 }, { 'D', 0.02 }, { 'H', 0.02 }, { 'K', 0.02 }, { 'M', 0.02 }, { 'N', 0.02 },
  { 'R', 0.02 }, { 'S', 0.02 }, { 'V', 0.02 }, { 'W', 0.02 }, { 'Y', 0.02 },
}
local HOMO_SAPIENS = {
  { 'a', 0.3029549426680 }, { 'c', 0.1979883004921 }, { 'g', 0.1975473066391 }, { 't', 0.3015094502008 },
}

local WIDTH = 60
local IM, IA, IC = 139968, 3877, 29573

return function(n, out)
  local last = 42
  local function repeatFasta(id, desc, s, count)
    out('>' .. id .. ' ' .. desc .. '\n')
    local len, pos = #s, 1
    local s2 = s .. s
    while count > 0 do
      local line = math.min(WIDTH, count)
      out(s2:sub(pos, pos + line - 1) .. '\n')
      pos = pos + line
      if pos > len then pos = pos - len end
      count = count - line
    end
  end
  local function randomFasta(id, desc, tbl, count)
    out('>' .. id .. ' ' .. desc .. '\n')
    local chars, cum, acc = {}, {}, 0
    for i, e in ipairs(tbl) do acc = acc + e[2]; chars[i] = e[1]; cum[i] = acc end
    local nt = #tbl
    local buf = {}
    while count > 0 do
      local line = math.min(WIDTH, count)
      for k = 1, line do
        last = (last * IA + IC) % IM
        local r = last / IM
        local c = chars[nt]
        for i = 1, nt do if r < cum[i] then c = chars[i]; break end end
        buf[k] = c
      end
      out(table.concat(buf, '', 1, line) .. '\n')
      count = count - line
    end
  end
  repeatFasta('ONE', 'Homo sapiens alu', ALU, n * 2)
  randomFasta('TWO', 'IUB ambiguity codes', IUB, n * 3)
  randomFasta('THREE', 'Homo sapiens frequency', HOMO_SAPIENS, n * 5)
end
