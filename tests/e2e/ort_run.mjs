#!/usr/bin/env node
// Reference runner: runs an ONNX model with ONNX Runtime (CPU, graph optimisation 'all').
//
//   node ort_run.mjs MODEL.onnx OUTDIR IN0.npy IN1.npy ... [--threads N] [--bench N]
//
// Inputs bind to the model's graph inputs in order (initializers are not inputs). Writes
// OUTDIR/output_<k>.npy for each graph output k. --bench N times N runs after one warm-up run
// and prints "median X ms min Y ms max Z ms". Exit 0 on success, 1 with one line on stderr.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpy, writeNpy } from './npy.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  if (msg) process.stderr.write(`ort_run: ${msg}\n`);
  process.stderr.write('usage: node ort_run.mjs MODEL.onnx OUTDIR IN.npy... [--threads N] [--bench N]\n');
  process.exit(2);
}

function positiveInt(flag, s) {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) usage(`${flag} wants a positive integer, got '${s}'`);
  return n;
}

function parseArgs(argv) {
  const pos = [];
  let threads = 0, bench = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--threads') threads = positiveInt(a, argv[++i]);
    else if (a.startsWith('--threads=')) threads = positiveInt('--threads', a.slice(10));
    else if (a === '--bench') bench = positiveInt(a, argv[++i]);
    else if (a.startsWith('--bench=')) bench = positiveInt('--bench', a.slice(8));
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else pos.push(a);
  }
  if (pos.length < 2) usage('need MODEL and OUTDIR');
  return { model: pos[0], outdir: pos[1], inputs: pos.slice(2), threads, bench };
}

// onnxruntime-node lives in tests/node_modules (scripts/setup-oracle.sh puts it there).
function loadOrt() {
  const req = createRequire(join(here, '..', 'package.json'));
  try {
    return req('onnxruntime-node');
  } catch (e) {
    throw new Error(`onnxruntime-node not installed (run scripts/setup-oracle.sh): ${e.message}`);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const opts = { graphOptimizationLevel: 'all', executionMode: 'sequential', interOpNumThreads: 1, logSeverityLevel: 3 };
  if (args.threads) opts.intraOpNumThreads = args.threads;
  const session = await ort.InferenceSession.create(resolve(args.model), opts);

  if (args.inputs.length !== session.inputNames.length) {
    throw new Error(`${args.model}: model has ${session.inputNames.length} inputs `
      + `(${session.inputNames.join(', ')}), got ${args.inputs.length} files`);
  }
  const feeds = {};
  session.inputNames.forEach((name, i) => {
    const t = readNpy(args.inputs[i]);
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  });

  let results = await session.run(feeds);
  if (args.bench) {
    const ms = [];
    for (let i = 0; i < args.bench; i++) {
      const t0 = process.hrtime.bigint();
      results = await session.run(feeds);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ms.sort((a, b) => a - b);
    const mid = ms.length >> 1;
    const median = ms.length % 2 ? ms[mid] : (ms[mid - 1] + ms[mid]) / 2;
    console.log(`median ${median.toFixed(3)} ms min ${ms[0].toFixed(3)} ms max ${ms[ms.length - 1].toFixed(3)} ms`);
  }

  mkdirSync(args.outdir, { recursive: true });
  session.outputNames.forEach((name, k) => {
    const t = results[name];
    writeNpy(join(args.outdir, `output_${k}.npy`), { type: t.type, dims: t.dims, data: t.data });
  });
  await session.release?.();
}

main().catch((e) => {
  process.stderr.write(`ort_run: ${String(e.message ?? e).split('\n')[0]}\n`);
  process.exit(1);
});
