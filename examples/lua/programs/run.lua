-- The suite runner. Each program file returns function(n, out, load); this runs it, times it
-- with os.clock() (the process's CPU time: in the HRT that is the time its vCPU ran), hashes its
-- whole output (FNV-1a, 64 bit) and checks the hash against digests.lua for that size.
--   lua5.4 run.lua NAME SIZE       one program: one MV-BENCH line; status 1 on a wrong digest
--   lua5.4 run.lua suite PRESET    every program at the preset's size (small | bench)
--   lua5.4 run.lua digest NAME SIZE   print the digest only
--   lua5.4 run.lua digests         print digests.lua for every preset (run with a trusted Lua)
--   MV_DISABLE=1 lua5.4 run.lua ab PRESET RUNS   the A/B driver (see ab() below)
-- Lines look like: MV-BENCH name=nbody n=1000 cpu_s=0.012345 bytes=22 digest=... check=ok
local DIR = (arg and arg[0] or ''):match('^(.*/)') or './'

local PROGRAMS = { 'nbody', 'spectralnorm', 'fannkuch', 'binarytrees', 'fasta', 'knucleotide', 'mandelbrot', 'filecopy', 'alloc' }
local PRESETS = {
  -- small: for the tests, seconds in total inside the QEMU guest.
  small = { nbody = 2000, spectralnorm = 40, fannkuch = 7, binarytrees = 8, fasta = 2000, knucleotide = 1000, mandelbrot = 64, filecopy = 32, alloc = 8 },
  -- bench: each one 0.2-1 s natively on the host, so the guest run stays within minutes.
  bench = { nbody = 100000, spectralnorm = 200, fannkuch = 9, binarytrees = 12, fasta = 100000, knucleotide = 20000, mandelbrot = 400, filecopy = 2048, alloc = 60 },
}

local loaded = {}
local function load(name)
  loaded[name] = loaded[name] or dofile(DIR .. name .. '.lua')
  return loaded[name]
end

local function fnv1a64(s)
  local h, byte = -3750763034362895579, string.byte -- 0xcbf29ce484222325
  for i = 1, #s, 8 do
    local a, b, c, d, e, f, g, k = byte(s, i, i + 7)
    for _, x in ipairs({ a, b, c, d, e, f, g, k }) do h = (h ~ x) * 1099511628211 end
  end
  return string.format('%016x', h)
end

local function run(name, n)
  local prog = load(name)
  local chunks = {}
  collectgarbage('collect')
  local t0 = os.clock()
  prog(n, function(s) chunks[#chunks + 1] = s end, load)
  local cpu = os.clock() - t0
  local text = table.concat(chunks)
  return text, cpu, fnv1a64(text)
end

local function bench(name, n)
  local ok, digests = pcall(dofile, DIR .. 'digests.lua')
  local want = ok and type(digests) == 'table' and digests[name] and digests[name][n] or nil
  local text, cpu, digest = run(name, n)
  local check = want == nil and 'unknown' or (want == digest and 'ok' or 'BAD')
  print(string.format('MV-BENCH name=%s n=%d cpu_s=%.6f bytes=%d digest=%s check=%s', name, n, cpu, #text, digest, check))
  io.stdout:flush()
  return check == 'ok'
end

-- The A/B driver, run natively: every program RUNS times natively (MV_DISABLE=1) and in the HRT
-- (MV_REQUIRE_HRT=1, so a fallback to native is an error, not a silent pass), alternating which
-- goes first, each as its own process of this same interpreter. Wall time comes from
-- /proc/uptime (10 ms steps, process start included); cpu_s from the child's own line.
local function uptime()
  local f = assert(io.open('/proc/uptime'))
  local t = f:read('n')
  f:close()
  return t
end

local function child(mode, name, n, r)
  local env = mode == 'native' and 'MV_DISABLE=1' or 'MV_DISABLE=0 MV_REQUIRE_HRT=1'
  local cmd = string.format('%s %s %s %s %d 2>&1', env, arg[-1], DIR .. 'run.lua', name, n)
  local t0 = uptime()
  local p = assert(io.popen(cmd))
  local output = p:read('a')
  local _, _, status = p:close()
  local wall = uptime() - t0
  local line = output:match('MV%-BENCH (name=[^\n]*)')
  for l in output:gmatch('[^\n]+') do
    if not l:match('^MV%-BENCH ') then print(string.format('MV-BENCH-LOG mode=%s name=%s run=%d %s', mode, name, r, l)) end
  end
  print(string.format('MV-BENCH mode=%s run=%d status=%d wall_s=%.2f %s', mode, r, status or -1, wall, line or ('name=' .. name .. ' n=' .. n .. ' check=none')))
  io.stdout:flush()
end

local function ab(preset, runs, only)
  local sizes = PRESETS[preset] or error('unknown preset ' .. tostring(preset))
  for _, name in ipairs(PROGRAMS) do
    if not only or only[name] then
      for r = 1, runs do
        local first, second = 'native', 'hrt'
        if r % 2 == 0 then first, second = second, first end
        child(first, name, sizes[name], r)
        child(second, name, sizes[name], r)
      end
    end
  end
  print(string.format('MV-BENCH-DONE preset=%s runs=%d', preset, runs))
end

local cmd = arg[1]
if cmd == 'suite' then
  local preset = PRESETS[arg[2] or 'small'] or error('unknown preset ' .. tostring(arg[2]))
  local bad = 0
  for _, name in ipairs(PROGRAMS) do if not bench(name, preset[name]) then bad = bad + 1 end end
  print(string.format('MV-BENCH-SUITE %s programs=%d bad=%d', arg[2] or 'small', #PROGRAMS, bad))
  os.exit(bad == 0 and 0 or 1)
elseif cmd == 'ab' then
  local only
  if arg[4] then only = {}; for name in arg[4]:gmatch('[^,]+') do only[name] = true end end
  ab(arg[2] or 'small', tonumber(arg[3]) or 5, only)
elseif cmd == 'digest' then
  local _, _, digest = run(arg[2], tonumber(arg[3]))
  print(digest)
elseif cmd == 'digests' then
  print('-- GENERATED by `lua5.4 run.lua digests` with Debian\'s lua5.4 on the host: known-good FNV-1a')
  print('-- digests of each program\'s whole output, per size. Regenerate after changing a program.')
  print('return {')
  for _, name in ipairs(PROGRAMS) do
    local sizes = {}
    for _, p in ipairs({ 'small', 'bench' }) do
      local n = PRESETS[p][name]
      if not sizes[n] then sizes[n] = select(3, run(name, n)); sizes[#sizes + 1] = n end
    end
    local fields = {}
    for _, n in ipairs(sizes) do fields[#fields + 1] = string.format("[%d] = '%s'", n, sizes[n]) end
    print(string.format('  %s = { %s },', name, table.concat(fields, ', ')))
  end
  print('}')
elseif cmd == 'list' then
  for _, p in ipairs({ 'small', 'bench' }) do
    for _, name in ipairs(PROGRAMS) do print(p, name, PRESETS[p][name]) end
  end
elseif cmd and tonumber(arg[2]) then
  os.exit(bench(cmd, tonumber(arg[2])) and 0 or 1)
else
  io.stderr:write('usage: run.lua NAME SIZE | suite [small|bench] | digest NAME SIZE | list\n')
  os.exit(2)
end
