# Sourced by the corpus scripts. Needs $cache (the weld cache directory) and
# a `die` function.
#
# crate NAME VERSION SHA256: the path of NAME-VERSION.crate from crates.io
# (static.crates.io), downloaded once into $cache/crates and sha256-checked.
crate() {
  local f=$cache/crates/$1-$2.crate
  mkdir -p "$cache/crates"
  if ! [[ -f $f ]] || [[ $(sha256sum "$f" | cut -d' ' -f1) != "$3" ]]; then
    curl -sSfL --retry 3 -o "$f.tmp" "https://static.crates.io/crates/$1/$1-$2.crate"
    [[ $(sha256sum "$f.tmp" | cut -d' ' -f1) == "$3" ]] || { rm -f "$f.tmp"; die "$1-$2.crate: sha256 mismatch"; }
    mv "$f.tmp" "$f"
  fi
  echo "$f"
}
