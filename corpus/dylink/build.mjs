// Builds the dylink.0 library sets of the `weld link` tests with the npm
// @yowasp/clang toolchain (clang and wasm-ld 22, run by node in a virtual
// file system). Called by corpus/build-dylink, which installs the toolchain.
//
// usage: node build.mjs CLANG_BUNDLE SRC_ROOT OUT_ROOT [SET...]
//
// Every output is cached in OUT_ROOT/<set>/ with a .digest file: the SHA-256
// of the toolchain version, the flags and every input's bytes. An output
// whose digest matches is not rebuilt.
import fs from 'node:fs';
import path from 'node:path';
import { clangStep } from '../lib/clang-step.mjs';

const [bundle, srcRoot, outRoot, ...only] = process.argv.slice(2);
const { runClang } = await import(bundle);
const version = JSON.parse(fs.readFileSync(path.join(path.dirname(bundle), '..', 'package.json'))).version;

const LIB = ['-O1', '-fPIC', '-fvisibility=default', '-shared', '-Wl,--experimental-pic'];
// A command main as a shared library, with crt1-command's _start.
const CMD = [...LIB, '-nostartfiles', '-Wl,--no-entry'];
const CRT = '@sysroot/crt1-command.o';
const SQLITE = ['-DSQLITE_THREADSAFE=0', '-DSQLITE_OMIT_LOAD_EXTENSION', '-DSQLITE_OMIT_WAL', '-DSQLITE_DEFAULT_MEMSTATUS=0'];

// set -> [output, flags, inputs]; inputs are files of the set's source
// folder, `@sysroot/...` (the toolchain's sysroot), `@src/...` (fetched
// sources), or outputs built before in the same set.
const SETS = {
  chain: [
    ['libbase.so', LIB, ['base.c']],
    ['libmid.so', LIB, ['mid.c', 'libbase.so']],
    ['main.so', CMD, ['main.c', CRT, 'libmid.so', 'libbase.so']],
  ],
  weak: [
    ['libdup1.so', LIB, ['libdup1.c']],
    ['libdup2.so', LIB, ['libdup2.c']],
    ['libstub.so', [...LIB, '-Wl,--unresolved-symbols=import-dynamic'], ['libstub.c']],
    ['main.so', CMD, ['main.c', CRT, 'libdup1.so', 'libdup2.so', 'libstub.so']],
    ['libweak.so', LIB, ['libweak.c']],
    ['weakmain.so', CMD, ['weakmain.c', CRT, 'libweak.so']],
  ],
  reactor: [
    ['libcount.so', LIB, ['libcount.c']],
    ['main.so', LIB, ['main.c', 'libcount.so']],
  ],
  // The chain program linked statically (no dylink.0): the plain wasip1
  // command that `weld flatten` tests wrap with the preview1 adapter.
  static: [
    ['chain.wasm', ['-O1'], ['../chain/main.c', '../chain/mid.c', '../chain/base.c']],
  ],
  sqlite: [
    ['libsqlite3.so', [...LIB, ...SQLITE], ['@src/sqlite/sqlite3.c', '@src/sqlite/sqlite3.h']],
    ['main.so', [...CMD, '-I.'], ['main.c', '@src/sqlite/sqlite3.h', CRT, 'libsqlite3.so']],
  ],
};

const sysroot = path.join(outRoot, 'sysroot');
for (const [set, steps] of Object.entries(SETS)) {
  if (only.length && !only.includes(set)) continue;
  const outDir = path.join(outRoot, set);
  fs.mkdirSync(outDir, { recursive: true });
  for (const [out, flags, inputs] of steps) {
    const paths = inputs.map((input) => {
      if (input.startsWith('@sysroot/')) return path.join(sysroot, input.slice(9));
      if (input.startsWith('@src/')) return path.join(outRoot, 'src', input.slice(5));
      if (fs.existsSync(path.join(outDir, input)) && !fs.existsSync(path.join(srcRoot, set, input))) return path.join(outDir, input);
      return path.join(srcRoot, set, input);
    });
    await clangStep({ runClang, version, set, out, outDir, prefix: ['--target=wasm32-wasip1'], flags, paths });
  }
}
