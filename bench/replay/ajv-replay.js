// The peer for `cascade replay` benchmarks: the same counting done by a
// small Node.js script with the ajv validator (draft 2020-12).
//
//   node bench/replay/ajv-replay.js OLD.json NEW.json FILE FIELD GROUP
//
// Needs ajv (npm install ajv@8) where Node can find it.
'use strict';
const fs = require('fs');
const Ajv2020 = require('ajv/dist/2020');

const [oldFile, newFile, logFile, field, groupBy] = process.argv.slice(2);
const ajv = new Ajv2020({ strict: false, allErrors: false });
const oldV = ajv.compile(JSON.parse(fs.readFileSync(oldFile, 'utf8')));
const newV = new Ajv2020({ strict: false }).compile(JSON.parse(fs.readFileSync(newFile, 'utf8')));

const counts = { total: 0, parse_errors: 0, accepted_by_both: 0, newly_rejected: 0, newly_accepted: 0, still_rejected: 0 };
const groups = new Map();

function handle(line, n) {
  if (line.length === 0) return;
  counts.total++;
  let rec;
  try {
    rec = JSON.parse(line);
  } catch (e) {
    counts.parse_errors++;
    return;
  }
  const doc = rec[field];
  const key = rec[groupBy] === undefined ? '(none)' : String(rec[groupBy]);
  let g = groups.get(key);
  if (!g) {
    g = { key, total: 0, newly_rejected: 0, newly_accepted: 0, examples: [] };
    groups.set(key, g);
  }
  g.total++;
  if (doc === undefined) {
    counts.parse_errors++;
    return;
  }
  const o = oldV(doc);
  const nw = newV(doc);
  if (o && nw) counts.accepted_by_both++;
  else if (o) {
    counts.newly_rejected++;
    g.newly_rejected++;
    if (g.examples.length < 3) g.examples.push({ line: n, error: ajv.errorsText(newV.errors) });
  } else if (nw) {
    counts.newly_accepted++;
    g.newly_accepted++;
  } else counts.still_rejected++;
}

const fd = fs.openSync(logFile, 'r');
const buf = Buffer.alloc(1 << 20);
let rest = '';
let n = 0;
for (;;) {
  const got = fs.readSync(fd, buf, 0, buf.length, null);
  if (got === 0) break;
  const chunk = rest + buf.toString('utf8', 0, got);
  const lines = chunk.split('\n');
  rest = lines.pop();
  for (const l of lines) handle(l, ++n);
}
if (rest.length > 0) handle(rest, ++n);
counts.groups = [...groups.values()].sort((a, b) => b.newly_rejected - a.newly_rejected);
process.stdout.write(JSON.stringify(counts) + '\n');
