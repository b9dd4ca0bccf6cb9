#!/usr/bin/env bash
# The evidence that a refactor is behaviour-identical: every artefact hasm writes, byte for byte.
#   tools/artefacts.sh write DIR [fast]   write them with this checkout's .venv (fast: without
#                                         verify --faults 2 and the canonical mutants, ~3 min less)
#   tools/artefacts.sh compare A B        compare two such directories (checkout paths and wall
#                                         times normalised); exit 1 on any difference
# Typical use: `git worktree add ../before <commit>`, `make -C ../before .venv/.installed`, then
# `../before/tools/artefacts.sh write /tmp/a`, `tools/artefacts.sh write /tmp/b`, compare them.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)

write() {
  local out=$1 fast=${2:-} h="$here/.venv/bin/hasm"
  rm -rf "$out" && mkdir -p "$out" && out=$(cd "$out" && pwd)
  cd "$here" || exit 2
  export PYTHONHASHSEED=0
  $h generate --out "$out/suite-canonical" > "$out/generate-canonical.txt" 2>&1
  $h generate --spec tests/specs/small.yaml --out "$out/suite-small" > "$out/generate-small.txt" 2>&1
  $h generate --spec specs/imp-ha-pre10.yaml --out "$out/suite-pre10" > "$out/generate-pre10.txt" 2>&1
  $h diagram --format dot --format mermaid --out "$out/diagrams" > "$out/diagram.txt" 2>&1
  $h diagram --spec tests/specs/small.yaml --format dot --format mermaid --out "$out/diagrams-small" > "$out/diagram-small.txt" 2>&1
  $h doc -o "$out/spec.md" > "$out/doc.txt" 2>&1
  $h doc --spec specs/imp-ha-pre10.yaml -o "$out/spec-pre10.md" > "$out/doc-pre10.txt" 2>&1
  $h lint --accepted > "$out/lint.txt" 2>&1
  $h diff specs/imp-ha-pre10.yaml specs/imp-ha.yaml > "$out/diff.txt" 2>&1
  (cd "$out" && $h verify --out "$out/cex1" > "$out/verify1.txt" 2>&1)
  (cd "$out" && $h verify --spec "$here/tests/specs/small.yaml" --out "$out/cex-small" > "$out/verify-small.txt" 2>&1)
  [ -n "$fast" ] || (cd "$out" && $h verify --faults 2 --out "$out/cex2" > "$out/verify2.txt" 2>&1)
  $h check "$out"/suite-canonical/*.jsonl > "$out/check-suite.txt" 2>&1
  $h demo > "$out/demo.txt" 2>&1
  $h mutants --spec tests/specs/small.yaml --suite "$out/suite-small" -j 1 > "$out/mutants-small.txt" 2>&1
  [ -n "$fast" ] || $h mutants --suite "$out/suite-canonical" -j 2 --only "*transition*" > "$out/mutants-canonical-transitions.txt" 2>&1
  echo "wrote $(find "$out" -type f | wc -l) files to $out"
}

compare() {
  local a b rc=0 f
  a=$(cd "$1" && pwd) b=$(cd "$2" && pwd)
  # Each side names its own checkout and directory, and verify prints its wall time.
  norm() { sed -E -e "s#$3#ROOT#g" -e "s#$2#ART#g" -e 's/^time: .*$/time: T/' "$1"; }
  root_of() { sed -nE 's#^(/[^ :]+)/specs/imp-ha\.yaml:.*#\1#p' "$1/lint.txt" | head -1; }
  local ra rb; ra=$(root_of "$a"); rb=$(root_of "$b")
  for f in $(cd "$a" && find . -type f | sort); do
    if [ ! -f "$b/$f" ]; then echo "missing in $b: $f"; rc=1; continue; fi
    case "$f" in
      *.txt) cmp -s <(norm "$a/$f" "$a" "${ra:-^$}") <(norm "$b/$f" "$b" "${rb:-^$}") \
               || { echo "differs: $f"; rc=1; } ;;
      *) cmp -s "$a/$f" "$b/$f" || { echo "differs: $f"; rc=1; } ;;
    esac
  done
  for f in $(cd "$b" && find . -type f | sort); do [ -f "$a/$f" ] || { echo "extra in $b: $f"; rc=1; }; done
  [ $rc = 0 ] && echo "IDENTICAL: $(cd "$a" && find . -type f | wc -l) files"
  return $rc
}

case "${1:-}" in
  write) [ $# -ge 2 ] || { echo "usage: $0 write DIR [fast]" >&2; exit 2; }; write "$2" "${3:-}" ;;
  compare) [ $# -eq 3 ] || { echo "usage: $0 compare A B" >&2; exit 2; }; compare "$2" "$3" ;;
  *) echo "usage: $0 write DIR [fast] | compare A B" >&2; exit 2 ;;
esac
