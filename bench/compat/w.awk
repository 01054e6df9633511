# awk workload of bench/compat.ts (portable: gawk and mawk): fields, arrays, printf, math.
{ for (i = 1; i <= NF; i++) { w[tolower($i)]++; n++ } len += length($0) }
NR % 1000 == 0 { printf "line %d: %s %s\n", NR, $1, $NF }
END {
  for (k in w) if (w[k] > max) { max = w[k] }
  c = 0; for (k in w) c++
  printf "words %d distinct %d max %d chars %d\n", n, c, max, len
  s = 0; for (i = 1; i <= 20000; i++) s += sin(i) * sqrt(i)
  printf "math %.6f %d %s\n", s, int(2 ^ 31 / 7), substr(sprintf("%x", 3735928559), 1, 8)
  print "split", split("a:b:c:d", parts, ":"), parts[3]
}
