#!/usr/bin/env sh
# Builds the C and C++ examples against librumour installed at PREFIX ($1)
# and runs them: two C nodes in two processes, then the C++ program (built
# with CMake when it is installed, else with pkg-config).
set -eu
prefix=${1:?usage: build-and-run.sh PREFIX}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cc -std=c11 -Wall -Werror "$here/node.c" -o "$out/node" $(pkg-config --cflags --libs rumour)
"$out/node" ex-a 0 - 3 > "$out/a.log" 2>&1 &
seed=
for _ in $(seq 50); do
  seed=$(sed -n 's/^ex-a: listening on //p' "$out/a.log")
  [ -n "$seed" ] && break
  sleep 0.1
done
"$out/node" ex-b 0 "$seed" 2 > "$out/b.log" 2>&1
wait
cat "$out/a.log" "$out/b.log"
grep -q "ex-a: joined ex-b" "$out/a.log"
grep -q "ex-a: ex-b says hello from ex-b" "$out/a.log"
grep -q "ex-b: 2 members" "$out/b.log"
if command -v cmake >/dev/null; then
  cmake -S "$here" -B "$out/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$out/build" >/dev/null
  "$out/build/raii"
else
  echo "cmake not installed: the C++ example is built with pkg-config instead"
  c++ -std=c++17 -Wall -Werror "$here/raii.cpp" -o "$out/raii" $(pkg-config --cflags --libs rumour) -lpthread
  "$out/raii"
fi
echo "examples: ok"
