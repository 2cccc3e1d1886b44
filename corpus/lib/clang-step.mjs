// One cached clang (or wasm-ld) step of the npm @yowasp/clang toolchain,
// shared by corpus/dylink/build.mjs and corpus/debug/build.mjs.
//
// `paths` are the step's input files, already found by the caller. The
// output is rebuilt only when the digest of (toolchain version, `flags`,
// every input's name and bytes) differs from the one stamped beside it
// (`OUT.digest`); `prefix` goes before the flags on the command line and
// is not part of the digest. The output is written atomically.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

export async function clangStep({ runClang, version, set, out, outDir, prefix = [], flags, paths }) {
  const files = {};
  const hash = crypto.createHash('sha256').update(version + '\0' + flags.join('\0'));
  const args = [];
  for (const p of paths) {
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
    return;
  }
  const started = Date.now();
  let result;
  try {
    result = await runClang(['clang', ...prefix, ...flags, ...args, '-o', 'out.wasm'], files, {
      stdout: (b) => b && process.stderr.write(b),
      stderr: (b) => b && process.stderr.write(b),
    });
  } catch (e) {
    throw new Error(`${set}/${out}: clang ${e.code !== undefined ? `exited with status ${e.code}` : `failed: ${e.message}`}`);
  }
  if (!result || !result['out.wasm']) throw new Error(`${set}/${out}: clang produced no output`);
  const tmp = target + '.tmp';
  fs.writeFileSync(tmp, result['out.wasm']);
  fs.renameSync(tmp, target);
  fs.writeFileSync(stamp, digest);
  console.log(`built ${set}/${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
