// Run d2lutil/explorer/gru.js in Node (the engine Chromium uses) for tests/test_gru_js.py.
// argv: the job file (JSON: module, weights, spec, simd, cases: [{text, interventions, previous?}]) and
// the file to write: per case the log-probabilities (T, V), gates z and r (L, T, h), states h
// (L, T, h), the perplexity and the milliseconds the run took.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [jobPath, outPath] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobPath, "utf8"));
const { GRULanguageModel, perplexity } = await import(pathToFileURL(job.module).href);
const model = new GRULanguageModel(job.spec, new Uint8Array(readFileSync(job.weights)), { simd: job.simd !== false });
if (job.simd !== false && !model.simd) throw new Error("this engine has no WebAssembly SIMD");
const V = job.spec.vocab.length;
const runs = [];
const out = [];
for (const c of job.cases) {
  const previous = c.previous === undefined || c.previous === null ? null : runs[c.previous];
  const start = performance.now();
  const run = model.trace(model.tokens(c.text), c.interventions || [], previous);
  const ms = performance.now() - start;
  runs.push(run);
  out.push({
    ms,
    first: run.first,
    lowest: run.lowest,
    perplexity: perplexity(run, V),
    logp: c.full === false ? [] : Array.from(run.logp),
    z: c.full === false ? [] : run.z.map((a) => Array.from(a)),
    r: c.full === false ? [] : run.r.map((a) => Array.from(a)),
    h: c.full === false ? [] : run.h.map((a) => Array.from(a)),
  });
}
writeFileSync(outPath, JSON.stringify(out));
