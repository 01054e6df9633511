-- filecopy: the syscall-heavy one. Writes an n KiB file, copies it in 4 KiB unbuffered reads and
-- writes, and reads the copy back, block by block, against the expected bytes: about 3n/4 + 8
-- system calls, each forwarded from the HRT to Linux. Output: sizes, block count, verification.
local BLOCK = 4096

local function block(i)
  -- Deterministic, different per block: a 16-byte pattern with the block number, repeated.
  return string.rep(string.format('%08x-mv-blk\n', i * 2654435761 % 4294967296):sub(1, 16), BLOCK // 16)
end

return function(n, out)
  local dir = os.getenv('TMPDIR') or '/tmp'
  local src, dst = dir .. '/mv-filecopy.src', dir .. '/mv-filecopy.dst'
  local blocks = (n * 1024) // BLOCK
  local f = assert(io.open(src, 'wb'))
  f:setvbuf('no')
  for i = 1, blocks do assert(f:write(block(i))) end
  f:close()

  -- The copy: every read and write is one system call of 4 KiB.
  local i, o = assert(io.open(src, 'rb')), assert(io.open(dst, 'wb'))
  i:setvbuf('no'); o:setvbuf('no')
  local copied, calls = 0, 0
  while true do
    local b = i:read(BLOCK)
    calls = calls + 1
    if not b then break end
    assert(o:write(b)); calls = calls + 1
    copied = copied + #b
  end
  i:close(); o:close()

  local c = assert(io.open(dst, 'rb'))
  c:setvbuf('no')
  local good = 0
  for k = 1, blocks do if c:read(BLOCK) == block(k) then good = good + 1 end end
  local tail = c:read(1)
  c:close()
  os.remove(src); os.remove(dst)
  out(string.format('copied %d bytes in %d calls of <= %d bytes\n', copied, calls, BLOCK))
  out(string.format('verified %d/%d blocks%s\n', good, blocks, tail and ', trailing bytes!' or ''))
end
