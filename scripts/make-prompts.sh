#!/usr/bin/env bash
# Builds hotline's prompt audio from ivr-scripts/prompts.txt (NAME|TEXT or
# NAME|TEXT|LANG, LANG en or zh): espeak-ng speaks each text, sox converts
# it to 8 kHz mono 16-bit WAV, the format the switch plays without
# transcoding. Usage: make-prompts.sh OUTDIR
set -euo pipefail
out=${1:?usage: make-prompts.sh OUTDIR}
here=$(cd "$(dirname "$0")/.." && pwd)
src="$here/ivr-scripts/prompts.txt"
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "make-prompts: $tool is missing (apt-get install espeak-ng sox)" >&2; exit 1; }
done
mkdir -p "$out"
n=0
while IFS='|' read -r name text lang; do
  case "$name" in ''|'#'*) continue ;; esac
  if [[ ! "$name" =~ ^[a-z0-9-]+$ ]]; then
    echo "make-prompts: $src: bad prompt name '$name'" >&2; exit 1
  fi
  # The optional third column is the language: en (default, espeak-ng's
  # default voice as always) or zh (Mandarin, espeak-ng's cmn voice).
  voice=()
  case "${lang:-en}" in
    en) ;;
    zh) voice=(-v cmn) ;;
    *) echo "make-prompts: $src: prompt '$name': language '$lang' is not en or zh" >&2; exit 1 ;;
  esac
  wav="$out/$name.wav"
  # Rebuild only when the text (or language) changed; English prompts keep
  # their stamp (the bare text) so existing builds are not redone.
  stamp=$text
  [ "${lang:-en}" = en ] || stamp="$text|$lang"
  if [ -f "$wav" ] && [ -f "$wav.txt" ] && [ "$(cat "$wav.txt")" = "$stamp" ]; then continue; fi
  tmp=$(mktemp --suffix=.wav)
  espeak-ng "${voice[@]}" -s 150 -w "$tmp" "$text"
  sox "$tmp" -r 8000 -c 1 -b 16 "$wav"
  rm -f "$tmp"
  printf '%s' "$stamp" > "$wav.txt"
  n=$((n + 1))
done < "$src"
echo "make-prompts: $n prompt(s) built in $out"
