// The peer for `cascade replay` benchmarks: the same counting done by a
// small Node.js script with the ajv validator (draft 2020-12), on as many
// worker threads as it is given (like cascade's --jobs). The main thread
// reads the log and hands out chunks of lines; results are merged in chunk
// order, so examples are the first lines of each kind, as cascade's are.
//
//   node bench/replay/ajv-replay.js OLD.json NEW.json FILE FIELD GROUP [THREADS]
//
// THREADS defaults to 1: everything on the main thread. Needs ajv (npm
// install ajv@8) where Node can find it (NODE_PATH).
'use strict';
const fs = require('fs');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

const EXAMPLES = 3;
const CHUNK_LINES = 2048;

function compile(file) {
  const Ajv2020 = require('ajv/dist/2020');
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  return { ajv, v: ajv.compile(JSON.parse(fs.readFileSync(file, 'utf8'))) };
}

function newCounts() {
  return { total: 0, documents: 0, parse_errors: 0, accepted_by_both: 0, newly_rejected: 0, newly_accepted: 0, still_rejected: 0 };
}

// judge counts one chunk of lines; first is the number of its first line.
function judge(old, nw, lines, first, field, groupBy) {
  const c = newCounts();
  const groups = new Map();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim().length === 0) continue;
    c.total++;
    let rec;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      c.parse_errors++;
      continue;
    }
    const doc = rec === null || typeof rec !== 'object' ? undefined : rec[field];
    const gv = rec === null || typeof rec !== 'object' ? undefined : rec[groupBy];
    const key = gv === undefined || gv === null ? '(none)' : typeof gv === 'string' ? gv : JSON.stringify(gv);
    let g = groups.get(key);
    if (!g) {
      g = { key, total: 0, newly_rejected: 0, newly_accepted: 0, still_rejected: 0, parse_errors: 0, examples: [] };
      groups.set(key, g);
    }
    g.total++;
    if (doc === undefined) {
      c.parse_errors++;
      g.parse_errors++;
      continue;
    }
    c.documents++;
    const o = old.v(doc);
    const n = nw.v(doc);
    if (o && n) c.accepted_by_both++;
    else if (o) {
      c.newly_rejected++;
      g.newly_rejected++;
      if (g.examples.length < EXAMPLES) g.examples.push({ line: first + i, error: nw.ajv.errorsText(nw.v.errors) });
    } else if (n) {
      c.newly_accepted++;
      g.newly_accepted++;
    } else {
      c.still_rejected++;
      g.still_rejected++;
    }
  }
  return { counts: c, groups: [...groups.values()] };
}

function merge(into, groups, r) {
  for (const k of Object.keys(r.counts)) into[k] += r.counts[k];
  for (const g of r.groups) {
    const m = groups.get(g.key);
    if (!m) {
      groups.set(g.key, g);
      continue;
    }
    for (const k of ['total', 'newly_rejected', 'newly_accepted', 'still_rejected', 'parse_errors']) m[k] += g[k];
    for (const e of g.examples) if (m.examples.length < EXAMPLES) m.examples.push(e);
  }
}

if (!isMainThread) {
  const { oldFile, newFile, field, groupBy } = workerData;
  const old = compile(oldFile);
  const nw = compile(newFile);
  parentPort.on('message', (m) => {
    const r = judge(old, nw, m.text.split('\n'), m.first, field, groupBy);
    parentPort.postMessage({ seq: m.seq, r });
  });
} else {
  main();
}

async function main() {
  const [oldFile, newFile, logFile, field, groupBy, threadsArg] = process.argv.slice(2);
  const threads = Math.max(1, parseInt(threadsArg || '1', 10));
  const counts = newCounts();
  const groups = new Map();

  // Chunks of whole lines, in order.
  let seq = 0;
  let lineNo = 1;
  function* chunks() {
    const fd = fs.openSync(logFile, 'r');
    const buf = Buffer.alloc(1 << 20);
    let rest = '';
    let pending = [];
    for (;;) {
      const got = fs.readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      const lines = (rest + buf.toString('utf8', 0, got)).split('\n');
      rest = lines.pop();
      for (const l of lines) {
        pending.push(l);
        if (pending.length === CHUNK_LINES) {
          yield pending;
          pending = [];
        }
      }
    }
    if (rest.length > 0) pending.push(rest);
    if (pending.length > 0) yield pending;
    fs.closeSync(fd);
  }

  if (threads === 1) {
    const old = compile(oldFile);
    const nw = compile(newFile);
    for (const lines of chunks()) {
      merge(counts, groups, judge(old, nw, lines, lineNo, field, groupBy));
      lineNo += lines.length;
    }
  } else {
    const workers = [];
    for (let i = 0; i < threads; i++) workers.push(new Worker(__filename, { workerData: { oldFile, newFile, field, groupBy } }));
    const done = new Map();
    let next = 0;
    let inFlight = 0;
    let wake = null;
    for (const w of workers) {
      w.on('message', (m) => {
        done.set(m.seq, m.r);
        inFlight--;
        while (done.has(next)) {
          merge(counts, groups, done.get(next));
          done.delete(next);
          next++;
        }
        if (wake) {
          const f = wake;
          wake = null;
          f();
        }
      });
      w.on('error', (e) => {
        console.error(e);
        process.exit(3);
      });
    }
    for (const lines of chunks()) {
      while (inFlight >= threads * 4) await new Promise((r) => (wake = r));
      workers[seq % threads].postMessage({ seq, first: lineNo, text: lines.join('\n') });
      seq++;
      inFlight++;
      lineNo += lines.length;
    }
    while (inFlight > 0) await new Promise((r) => (wake = r));
    for (const w of workers) await w.terminate();
  }
  counts.groups = [...groups.values()].sort(
    (a, b) => b.newly_rejected - a.newly_rejected || b.total - a.total || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  process.stdout.write(JSON.stringify(counts) + '\n');
}
