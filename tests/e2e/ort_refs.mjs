#!/usr/bin/env node
// Compute ONNX Runtime reference outputs for a folder of test cases in one process (one Node and
// ORT start-up instead of one per model).
//
//   node ort_refs.mjs ROOT [CASE...]
//
// For each ROOT/CASE/ (all sub-folders holding meta.json when no CASE is named): runs
// model.onnx on input_<i>.npy and writes CASE/ref/output_<k>.npy, or copies CASE/numpy/ when
// meta.json says "ref": "numpy" (ORT has no kernel). A case whose ref/ is complete is skipped.
// A case ORT cannot run gets CASE/ref/ERROR with the message; that case's test then fails with
// it, the others go on. Exit status 1 only when the oracle itself is unusable.
import { createRequire } from 'node:module';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpy, writeNpy } from './npy.mjs';

const here = dirname(fileURLToPath(import.meta.url));

async function refCase(ort, dir) {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const ref = join(dir, 'ref');
  if (meta.error || meta.ref === 'none') return 'skipped'; // error-test models: nothing to run
  // DONE names the reference's source, so a new ORT version (or numpy vs ORT) recomputes.
  const stamp = `${meta.ref === 'numpy' ? 'numpy' : `ort ${ort.env.versions?.node ?? '?'}`}\n`;
  const done = join(ref, 'DONE');
  if (existsSync(done) && readFileSync(done, 'utf8') === stamp) return 'cached';
  rmSync(ref, { recursive: true, force: true });
  mkdirSync(ref, { recursive: true });
  try {
    if (meta.ref === 'numpy') {
      cpSync(join(dir, 'numpy'), ref, { recursive: true });
    } else {
      const session = await ort.InferenceSession.create(join(dir, 'model.onnx'),
        { graphOptimizationLevel: 'all', executionMode: 'sequential', interOpNumThreads: 1, logSeverityLevel: 3 });
      const feeds = {};
      session.inputNames.forEach((name, i) => {
        const t = readNpy(join(dir, `input_${i}.npy`));
        feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      });
      const out = await session.run(feeds);
      session.outputNames.forEach((name, k) => {
        const t = out[name];
        writeNpy(join(ref, `output_${k}.npy`), { type: t.type, dims: t.dims, data: t.data });
      });
      await session.release?.();
    }
    writeFileSync(done, stamp);
    return 'ok';
  } catch (e) {
    writeFileSync(join(ref, 'ERROR'), `${String(e.message ?? e).split('\n')[0]}\n`);
    return `error: ${String(e.message ?? e).split('\n')[0]}`;
  }
}

async function main() {
  const [root, ...names] = process.argv.slice(2);
  if (!root) {
    process.stderr.write('usage: node ort_refs.mjs ROOT [CASE...]\n');
    process.exit(2);
  }
  let ort;
  try {
    ort = createRequire(join(here, '..', 'package.json'))('onnxruntime-node');
  } catch (e) {
    process.stderr.write(`ort_refs: onnxruntime-node not installed (run scripts/setup-oracle.sh): ${e.message}\n`);
    process.exit(1);
  }
  const cases = names.length ? names
    : readdirSync(root).filter((n) => existsSync(join(root, n, 'meta.json'))).sort();
  if (!cases.length) {
    process.stderr.write(`ort_refs: no cases under ${root}\n`);
    process.exit(1);
  }
  const counts = { ok: 0, cached: 0, skipped: 0, error: 0 };
  for (const c of cases) {
    const r = await refCase(ort, join(root, c));
    if (r.startsWith('error')) {
      counts.error++;
      console.log(`${c}: ${r}`);
    } else counts[r]++;
  }
  console.log(`ort_refs: ${cases.length} cases: ${counts.ok} computed, ${counts.cached} cached, ${counts.skipped} skipped, ${counts.error} failed`);
}

main().catch((e) => {
  process.stderr.write(`ort_refs: ${e.stack ?? e}\n`);
  process.exit(1);
});
