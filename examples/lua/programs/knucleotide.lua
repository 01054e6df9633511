-- k-nucleotide (benchmark game), on the output of fasta.lua for the same n: the frequencies of
-- every 1- and 2-mer of sequence THREE, then the counts of five given k-mers.
return function(n, out, load)
  local chunks = {}
  load('fasta')(n, function(s) chunks[#chunks + 1] = s end)
  local text = table.concat(chunks)
  local start = text:find('>THREE', 1, true)
  local seq = text:sub(text:find('\n', start, true) + 1):gsub('\n', ''):upper()

  local function count(k)
    local freq = {}
    for i = 1, #seq - k + 1 do
      local key = seq:sub(i, i + k - 1)
      freq[key] = (freq[key] or 0) + 1
    end
    return freq
  end

  for k = 1, 2 do
    local freq, keys, total = count(k), {}, #seq - k + 1
    for key in pairs(freq) do keys[#keys + 1] = key end
    table.sort(keys, function(a, b) return freq[a] > freq[b] or (freq[a] == freq[b] and a < b) end)
    for _, key in ipairs(keys) do out(string.format('%s %0.3f\n', key, 100 * freq[key] / total)) end
    out('\n')
  end
  for _, key in ipairs({ 'GGT', 'GGTA', 'GGTATT', 'GGTATTTTAATT', 'GGTATTTTAATTTATAGT' }) do
    out(string.format('%d\t%s\n', count(#key)[key] or 0, key))
  end
end
