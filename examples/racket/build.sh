#!/bin/sh
# Builds Racket CS from Debian's racket source (the manifest's "source"), unchanged, with the
# Multiverse toolchain: CC is mv-cc, so every executable the build links (the final racket among
# them) has its main wrapped and Nautilus embedded. Run by `mv-image build` in the unpacked
# source tree; this package directory is at $MV_PACKAGE_DIR.
#
# What it builds is only what a program using racket/base needs, not the whole distribution:
#  1. `configure --enable-csonly` + `make`: Chez Scheme (bootstrapped from the pb boot files the
#     source ships) and the racketcs executable with its boot files embedded (a .rackboot
#     section). `make install` would then run `raco setup` over every collection and package
#     (over an hour here), so it is not run.
#  2. The collections that racket/base, racket/flonum, racket/fixnum, racket/unsafe/ops,
#     racket/future and racket/place load, compiled to .zo by Racket's own compilation manager.
#  3. mv-out/: racket (debug info stripped, as Racket's install does; symbols kept) whose
#     collection and config paths, set with Racket's own start/collects-path.rkt, are
#     "collects" and "etc" relative to the executable; collects/ with the .zo files only
#     (Racket loads a module's .zo without its source); etc/config.rktd.
#
# MV_DISABLE=1: the build runs the programs it just linked (Chez compiling itself, racketcs
# compiling the collections). They are mv-cc programs too; this keeps them native, on the host
# and in the builder, whether or not KVM is usable there.
set -eu
export MV_DISABLE=1
jobs=$(nproc 2>/dev/null || echo 2)

mkdir -p src/build
cd src/build
# bundled lz4; zlib and ncurses from the system (zlib1g-dev, libncurses-dev)
../configure --enable-csonly --disable-strip CC="$CC"
make -j"$jobs"
cd ../..

racket=src/build/cs/c/racketcs
# A fresh namespace with only the primitive modules: raco make would compile in a namespace that
# already holds racket/base (loaded from source to run raco), and skip every module of it.
"$racket" -l racket/base -l compiler/cm -e "
  (define ns (make-empty-namespace))
  (namespace-attach-module (current-namespace) ''#%builtin ns)
  (parameterize ([current-namespace ns])
    (for ([m (current-command-line-arguments)]) (managed-compile-zo (collection-file-path m \"racket\"))))" \
  -- base.rkt flonum.rkt fixnum.rkt unsafe/ops.rkt future.rkt place.rkt

rm -rf mv-out
mkdir -p mv-out/collects mv-out/etc
cp "$racket" mv-out/racket
strip -S mv-out/racket
"$racket" src/start/collects-path.rkt src mv-out/racket collects etc
(cd collects && find . -path '*/compiled/*.zo' | sort | while read -r f; do
	mkdir -p "../mv-out/collects/$(dirname "$f")"
	cp "$f" "../mv-out/collects/$f"
done)
cp etc/config.rktd mv-out/etc/
echo "racket: $(mv-out/racket -n -e '' -v 2>&1 | head -1); $(find mv-out/collects -name '*.zo' | wc -l) compiled modules"
