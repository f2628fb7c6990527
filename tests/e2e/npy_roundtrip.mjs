#!/usr/bin/env node
// Test helper: read IN.npy with npy.mjs and write it back as OUT.npy (see selftest.py).
import { readNpy, writeNpy } from './npy.mjs';

const [src, dst] = process.argv.slice(2);
try {
  writeNpy(dst, readNpy(src));
} catch (e) {
  process.stderr.write(`npy_roundtrip: ${e.message}\n`);
  process.exit(1);
}
