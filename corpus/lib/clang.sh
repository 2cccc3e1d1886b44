# Sourced by the corpus scripts. Needs $cache (the weld cache directory) and
# a `die` function.
#
# clang_install: installs the npm toolchain @yowasp/clang (clang and wasm-ld
# 22 on node) into $cache/tools/clang once, and sets CLANG_PKG to the
# package folder (its gen/bundle.js is what the build.mjs helpers import).
CLANG_VERSION=22.0.0-git20542-10
clang_install() {
  local tools=$cache/tools/clang
  CLANG_PKG=$tools/node_modules/@yowasp/clang
  command -v node >/dev/null || die "node not found in PATH"
  command -v npm >/dev/null || die "npm not found in PATH"
  if ! [[ -f $CLANG_PKG/package.json ]] || ! grep -q "\"version\": \"$CLANG_VERSION\"" "$CLANG_PKG/package.json"; then
    echo "installing @yowasp/clang@$CLANG_VERSION into $tools" >&2
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --silent "@yowasp/clang@$CLANG_VERSION" >&2 ||
      die "npm install @yowasp/clang@$CLANG_VERSION failed"
  fi
}

# clang_sysroot: libc.so and crt1-command.o from the toolchain's wasm32-wasip1
# sysroot, in $cache/dylink/sysroot (where the `weld link` tests look for
# libc.so). Needs clang_install first.
clang_sysroot() {
  local dir=$cache/dylink/sysroot
  if ! [[ -f $dir/libc.so && -f $dir/crt1-command.o ]]; then
    mkdir -p "$dir"
    tar -xf "$CLANG_PKG/gen/llvm-resources.tar" -C "$dir" --strip-components=2 \
      lib/wasm32-wasip1/libc.so lib/wasm32-wasip1/crt1-command.o ||
      die "cannot extract the sysroot from $CLANG_PKG/gen/llvm-resources.tar"
  fi
}
