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
import crypto from 'node:crypto';

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
    const files = {};
    const hash = crypto.createHash('sha256').update(version + '\0' + flags.join('\0'));
    const args = [];
    for (const input of inputs) {
      let p;
      if (input.startsWith('@sysroot/')) p = path.join(sysroot, input.slice(9));
      else if (input.startsWith('@src/')) p = path.join(outRoot, 'src', input.slice(5));
      else if (fs.existsSync(path.join(outDir, input)) && !fs.existsSync(path.join(srcRoot, set, input))) p = path.join(outDir, input);
      else p = path.join(srcRoot, set, input);
      const bytes = fs.readFileSync(p);
      const name = path.basename(p);
      files[name] = bytes;
      hash.update('\0' + name + '\0').update(bytes);
      if (!name.endsWith('.h')) args.push(name);
    }
    const digest = hash.digest('hex');
    const target = path.join(outDir, out);
    const stamp = target + '.digest';
    if (fs.existsSync(target) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === digest) {
      console.log(`ok ${set}/${out}`);
      continue;
    }
    const started = Date.now();
    const result = await runClang(['clang', '--target=wasm32-wasip1', ...flags, ...args, '-o', 'out.wasm'], files, {
      stdout: (b) => b && process.stderr.write(b),
      stderr: (b) => b && process.stderr.write(b),
    });
    if (!result || !result['out.wasm']) throw new Error(`${set}/${out}: clang produced no output`);
    const tmp = target + '.tmp';
    fs.writeFileSync(tmp, result['out.wasm']);
    fs.renameSync(tmp, target);
    fs.writeFileSync(stamp, digest);
    console.log(`built ${set}/${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}
