// Latency histogram: log buckets of 1 % width over microseconds, small enough to send between processes and merge.

const HIST_BUCKETS = 2000;
const histIndex = (ms) => Math.min(HIST_BUCKETS - 1, Math.max(0, Math.floor(Math.log(ms * 1000) * 100)));
const histValueMs = (b) => Math.exp((b + 0.5) / 100) / 1000;

/** [bucket, count] pairs of the non-empty buckets: what a worker sends back. */
function sparseHist(hist) {
  const out = [];
  for (let b = 0; b < hist.length; b++) if (hist[b] > 0) out.push([b, hist[b]]);
  return out;
}

function mergeHists(hists) {
  const all = new Float64Array(HIST_BUCKETS);
  for (const h of hists) for (const [b, c] of h) all[b] += c;
  return all;
}

function histPercentile(hist, p) {
  let total = 0;
  for (const c of hist) total += c;
  if (total === 0) return NaN;
  const want = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let b = 0; b < hist.length; b++) {
    seen += hist[b];
    if (seen >= want) return histValueMs(b);
  }
  return histValueMs(hist.length - 1);
}

export { HIST_BUCKETS, histIndex, sparseHist, mergeHists, histPercentile };
