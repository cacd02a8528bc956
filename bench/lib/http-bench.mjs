// Shared helpers for HTTP benchmarks: run servers in child processes (pinned to core 0 with
// taskset when available), drive them with autocannon from this process, interleave rounds,
// and report medians. Absolute numbers drift; compare ratios measured in the same run.
import { spawn, spawnSync } from 'node:child_process';
import autocannon from 'autocannon';

const hasTaskset = spawnSync('taskset', ['-V']).status === 0;

/**
 * Starts `node [nodeArgs] <script>` and resolves with its URL and pid once it prints
 * `LISTENING <url>` (taskset execs node, so the pid is node's).
 */
export function startServerProcess(script, env = {}, nodeArgs = []) {
  const args = hasTaskset ? ['-c', '0', process.execPath, ...nodeArgs, script] : [...nodeArgs, script];
  const child = spawn(hasTaskset ? 'taskset' : process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const match = /LISTENING (\S+)/.exec(out);
      if (match) resolve({ url: match[1], pid: child.pid, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}: ${out}`)));
  });
}

/** Runs `node <script>` to completion, pinned like the servers, and returns its last stdout line parsed as JSON. */
export function runPinned(script, env = {}) {
  const args = hasTaskset ? ['-c', '0', process.execPath, script] : [script];
  const result = spawnSync(hasTaskset ? 'taskset' : process.execPath, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${script} exited with ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

/** One autocannon run; returns requests/s (mean) and latency p99 in ms, and non-2xx count. */
export async function measure(url, { duration = 5, connections = 50, method = 'GET', headers = {}, body } = {}) {
  const result = await autocannon({ url, duration, connections, method, headers, body, pipelining: 1 });
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

/** Median of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Runs every target `rounds` times, interleaved (a warm-up run each first), and returns
 * rows {name, rps, p99, ratio} with the ratio to the first target (the baseline).
 */
export async function compare(targets, { rounds = 3, duration = 5, connections = 50 } = {}) {
  const samples = new Map(targets.map((t) => [t.name, []]));
  for (const target of targets) await measure(target.url, { ...target.request, duration: 2, connections });
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const sample = await measure(target.url, { ...target.request, duration, connections });
      if (sample.non2xx > 0 || sample.errors > 0) console.warn(`warning: ${target.name} had ${sample.non2xx} non-2xx and ${sample.errors} errors`);
      samples.get(target.name).push(sample);
    }
  }
  const base = median(samples.get(targets[0].name).map((s) => s.rps));
  return targets.map((t) => {
    const s = samples.get(t.name);
    const rps = median(s.map((x) => x.rps));
    return { name: t.name, rps: Math.round(rps), p99: median(s.map((x) => x.p99)), ratio: Math.round((rps / base) * 100) / 100 };
  });
}

/** Prints rows as a Markdown table. */
export function printTable(rows) {
  console.log('| target | req/s (median) | p99 ms | vs baseline |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${r.rps.toLocaleString('en-US')} | ${r.p99} | ${r.ratio.toFixed(2)} |`);
}
