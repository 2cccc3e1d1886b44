// Builds the C sets with debug information for weld's DWARF tests with the
// npm @yowasp/clang toolchain (clang and wasm-ld 22, run by node in a
// virtual file system). Called by corpus/build-debug, which installs the
// toolchain and extracts the sysroot.
//
// usage: node build.mjs CLANG_BUNDLE SRC_ROOT SYSROOT OUT_ROOT [SET...]
//
// Every output is cached in OUT_ROOT/<set>/ with a .digest file: the SHA-256
// of the toolchain version, the flags and every input's bytes (name
// included). An output whose digest matches is not rebuilt.
import fs from 'node:fs';
import path from 'node:path';
import { clangStep } from '../lib/clang-step.mjs';

const [bundle, srcRoot, sysroot, outRoot, ...only] = process.argv.slice(2);
const { runClang } = await import(bundle);
const version = JSON.parse(fs.readFileSync(path.join(path.dirname(bundle), '..', 'package.json'))).version;

// Core modules (no libc, no dylink.0), each its own memory and its own
// __stack_pointer; `used` functions survive --gc-sections unexported. Each
// memory is exported under its own name, so the three fuse with no export
// conflict.
const CORE = ['--target=wasm32', '-nostdlib', '-O1', '-Wl,--no-entry'];
const exp = (...names) => names.map((n) => `-Wl,--export=${n}`);
const fuse = (dwarf) => [
  ['mod_b.wasm', [...CORE, ...dwarf, ...exp('b_poly', 'b_window'), '-Wl,--export-memory=mod_b_memory'], ['mod_b.c']],
  ['mod_a.wasm', [...CORE, ...dwarf, ...exp('a_mix', 'a_stack'), '-Wl,--export-memory=mod_a_memory'], ['mod_a.c']],
  ['main.wasm', [...CORE, ...dwarf, ...exp('run'), '-Wl,--export-memory=memory'], ['main.c']],
];
// dylink.0 libraries as corpus/dylink/build.mjs makes them, with -g.
const LIB = ['--target=wasm32-wasip1', '-g', '-gdwarf-5', '-O1', '-fPIC', '-fvisibility=default', '-shared', '-Wl,--experimental-pic'];
const CMD = [...LIB, '-nostartfiles', '-Wl,--no-entry'];
const CRT = '@sysroot/crt1-command.o';

// set -> [source folder, [output, flags, inputs]...]; inputs are files of
// the source folder, `@sysroot/...`, or outputs built before in the set.
// (clang 22 for wasm emits DWARF 4 unless told: both versions are explicit.)
const SETS = {
  'fuse-dwarf5': ['fuse', fuse(['-g', '-gdwarf-5'])],
  'fuse-dwarf4': ['fuse', fuse(['-g', '-gdwarf-4'])],
  'link-dwarf5': ['link', [
    ['libbase.so', LIB, ['base.c']],
    ['libmid.so', LIB, ['mid.c', 'libbase.so']],
    ['main.so', CMD, ['main.c', CRT, 'libmid.so', 'libbase.so']],
  ]],
};

try {
  for (const name of only) if (!(name in SETS)) throw new Error(`unknown set '${name}' (sets: ${Object.keys(SETS).join(', ')})`);
  for (const [set, [src, steps]] of Object.entries(SETS)) {
    if (only.length && !only.includes(set)) continue;
    const outDir = path.join(outRoot, set);
    fs.mkdirSync(outDir, { recursive: true });
    for (const [out, flags, inputs] of steps) {
      const paths = inputs.map((input) => {
        let p;
        if (input.startsWith('@sysroot/')) p = path.join(sysroot, input.slice(9));
        else if (fs.existsSync(path.join(srcRoot, src, input))) p = path.join(srcRoot, src, input);
        else p = path.join(outDir, input);
        if (!fs.existsSync(p)) throw new Error(`${set}/${out}: input ${input} not found (${p})`);
        return p;
      });
      await clangStep({ runClang, version, set, out, outDir, flags, paths });
    }
  }
} catch (e) {
  // One line per failure (clang's own messages came before it), no stack.
  console.error(`build-debug: ${e.message}`);
  process.exit(1);
}
