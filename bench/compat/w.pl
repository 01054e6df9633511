# perl workload of bench/compat.ts: regular expressions, hashes, sort, sprintf, pack, a file, a pipe.
use strict;
use warnings;
my %count;
open(my $in, '<', $ARGV[0]) or die "open: $!";
while (my $line = <$in>) {
    $count{lc $1}++ while $line =~ /(\w+)/g;
}
close $in;
my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 9];
printf "%-12s %6d\n", $_, $count{$_} for @top;
my $acc = 0;
$acc = ($acc * 31 + $_) % 1000000007 for map { $_ * $_ } 1 .. 100000;
print "acc $acc\n";
print "pack ", unpack('H*', pack('NnC', 0xdeadbeef, 4242, 7)), "\n";
open(my $out, '>', 'perl.out') or die;
print $out join(',', reverse 1 .. 50), "\n";
close $out;
open(my $p, '-|', 'wc', '-c', 'perl.out') or die;
my $wc = <$p>;
close $p;
print "child wc $wc";
my $s = join '', map { chr(65 + ($_ * 7) % 26) } 0 .. 200;
(my $t = $s) =~ s/([AEIOU])/lc $1/ge;
print "subst ", substr($t, 0, 40), " ", ($t =~ tr/a-z//), "\n";
