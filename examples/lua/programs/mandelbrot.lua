-- mandelbrot (benchmark game): the Mandelbrot set on an n x n grid over [-1.5, 0.5] x [-1, 1],
-- 50 iterations, as a binary PBM (P4) bitmap.
return function(n, out)
  out(string.format('P4\n%d %d\n', n, n))
  local char = string.char
  for y = 0, n - 1 do
    local Ci = 2 * y / n - 1
    local row = {}
    for xb = 0, n - 1, 8 do
      local bits = 0
      for x = xb, xb + 7 do
        bits = bits << 1
        if x < n then
          local Cr = 2 * x / n - 1.5
          local Zr, Zi, Zrq, Ziq = 0.0, 0.0, 0.0, 0.0
          local inside = 1
          for _ = 1, 50 do
            Zi = 2 * Zr * Zi + Ci
            Zr = Zrq - Ziq + Cr
            Zrq, Ziq = Zr * Zr, Zi * Zi
            if Zrq + Ziq > 4.0 then inside = 0; break end
          end
          bits = bits | inside
        end
      end
      row[#row + 1] = char(bits)
    end
    out(table.concat(row))
  end
end
