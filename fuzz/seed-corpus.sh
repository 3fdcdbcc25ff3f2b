#!/bin/sh
# Seeds fuzz/corpus/<target>/ from the golden wire vectors captured from Go
# memberlist (core/tests/golden/vectors/*.bin, described in vectors.json).
# Safe to re-run: it only adds or overwrites seed files. corpus/ is gitignored.
#
#   packet    every UDP packet, as captured (plain, CRC, compressed, encrypted)
#             plus two with an `lbl` label header
#   stream    every TCP stream, as captured, plus one with an `lbl` label
#   message   the plain single-message packets, CRC header (5 bytes) removed
#   compound  the compound packets without CRC header and `[7]` type byte
#   lzw       the LZW `Buf` of the plaintext compressed packets and streams
#   label     every packet and stream, plus the labelled ones
#   decrypt   the encrypted packets ([version][nonce][ciphertext+tag], no AAD)
set -eu
cd "$(dirname "$0")"
golden=../core/tests/golden
for t in packet stream message compound lzw label decrypt; do
  mkdir -p "corpus/$t"
done

# First byte of a file, as a decimal number.
byte0() { od -An -tu1 -N1 "$1" | tr -d ' '; }

# "<file> <packet|stream> <plain|keyed>" for each vector, from the manifest
# (one key per line, `file` before `transport` before `key_hex`).
awk -F'"' '/^    "file":/ { f = $4 } /^    "transport":/ { t = $4 }
  /^    "key_hex":/ { print f, t, ($3 ~ /null/ ? "plain" : "keyed") }' "$golden/vectors.json" |
while read -r file transport keying; do
  src="$golden/vectors/$file"
  cp "$src" "corpus/$transport/$file"
  cp "$src" "corpus/label/$file"
  if [ "$transport" = packet ] && [ "$keying" = keyed ]; then
    cp "$src" "corpus/decrypt/$file"
  fi
  if [ "$transport" = packet ] && [ "$keying" = plain ]; then
    plain=corpus/message/$file
    if [ "$(byte0 "$src")" = 12 ]; then tail -c +6 "$src" >"$plain"; else cp "$src" "$plain"; fi
    case $(byte0 "$plain") in
      7) tail -c +2 "$plain" >"corpus/compound/$file" && rm "$plain" ;;
      9) rm "$plain" ;;
    esac
  fi
  if [ "$keying" = plain ]; then
    # The LZW stream is the msgpack raw after the "Buf" key; skip its
    # header (fixraw a0-bf, bin8 c4, bin16 c5, raw16 da, raw32 db).
    at=$(od -An -v -tx1 "$src" | tr -s ' \n' '\n\n' | awk '/./ { b[n++] = $1 }
      END { for (i = 0; i + 3 < n; i++) if (b[i] b[i+1] b[i+2] b[i+3] == "a3427566") { print i; exit } }')
    if [ -n "$at" ]; then
      set -- $(od -An -tu1 -j $((at + 4)) -N 5 "$src")
      case $1 in
        16[0-9] | 17[0-9] | 18[0-9] | 19[01]) len=$(($1 - 160)) skip=1 ;;
        196) len=$2 skip=2 ;;
        197 | 218) len=$(($2 * 256 + $3)) skip=3 ;;
        219) len=$(($2 * 16777216 + $3 * 65536 + $4 * 256 + $5)) skip=5 ;;
        *) len=0 skip=0 ;;
      esac
      if [ "$len" -gt 0 ]; then
        tail -c +$((at + 5 + skip)) "$src" | head -c "$len" >"corpus/lzw/$file"
      fi
    fi
  fi
done

# memberlist 0.2.2 predates labels: add the `[244][3]lbl` header to a plain
# and an encrypted packet and to a stream, for the `lbl` receiver.
for pair in packet:ping.bin packet:enc16_packet.bin stream:tcp_ping_initiator.bin; do
  t=${pair%%:*} file=${pair#*:}
  { printf '\364\003lbl'; cat "$golden/vectors/$file"; } >"corpus/$t/labelled_$file"
  cp "corpus/$t/labelled_$file" "corpus/label/labelled_$file"
done

for t in packet stream message compound lzw label decrypt; do
  echo "corpus/$t: $(ls "corpus/$t" | wc -l) seeds"
done
