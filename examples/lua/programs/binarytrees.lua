-- binary-trees (benchmark game): allocate and walk perfect binary trees of depth 4..n, plus one
-- long-lived tree. Output: the standard "stretch tree", per-depth and "long lived" lines.
local function bottomUp(depth)
  if depth == 0 then return {} end
  depth = depth - 1
  return { bottomUp(depth), bottomUp(depth) }
end

local function check(tree)
  if tree[1] then return 1 + check(tree[1]) + check(tree[2]) end
  return 1
end

return function(n, out)
  local mindepth = 4
  local maxdepth = math.max(mindepth + 2, n)
  local stretch = maxdepth + 1
  out(string.format('stretch tree of depth %d\t check: %d\n', stretch, check(bottomUp(stretch))))
  local longlived = bottomUp(maxdepth)
  for depth = mindepth, maxdepth, 2 do
    local iters = 1 << (maxdepth - depth + mindepth)
    local c = 0
    for _ = 1, iters do c = c + check(bottomUp(depth)) end
    out(string.format('%d\t trees of depth %d\t check: %d\n', iters, depth, c))
  end
  out(string.format('long lived tree of depth %d\t check: %d\n', maxdepth, check(longlived)))
end
