#!/usr/bin/env bash
# Builds hotline's prompt audio from ivr-scripts/prompts.txt: espeak-ng
# speaks each text, sox converts it to 8 kHz mono 16-bit WAV, the format
# the switch plays without transcoding. Usage: make-prompts.sh OUTDIR
set -euo pipefail
out=${1:?usage: make-prompts.sh OUTDIR}
here=$(cd "$(dirname "$0")/.." && pwd)
src="$here/ivr-scripts/prompts.txt"
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "make-prompts: $tool is missing (apt-get install espeak-ng sox)" >&2; exit 1; }
done
mkdir -p "$out"
n=0
while IFS='|' read -r name text; do
  case "$name" in ''|'#'*) continue ;; esac
  if [[ ! "$name" =~ ^[a-z0-9-]+$ ]]; then
    echo "make-prompts: $src: bad prompt name '$name'" >&2; exit 1
  fi
  wav="$out/$name.wav"
  # Rebuild only when the text changed.
  if [ -f "$wav" ] && [ -f "$wav.txt" ] && [ "$(cat "$wav.txt")" = "$text" ]; then continue; fi
  tmp=$(mktemp --suffix=.wav)
  espeak-ng -s 150 -w "$tmp" "$text"
  sox "$tmp" -r 8000 -c 1 -b 16 "$wav"
  rm -f "$tmp"
  printf '%s' "$text" > "$wav.txt"
  n=$((n + 1))
done < "$src"
echo "make-prompts: $n prompt(s) built in $out"
