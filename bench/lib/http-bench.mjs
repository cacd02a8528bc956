// Shared helpers for HTTP benchmarks: run servers in child processes (pinned to core 0 with
// taskset when available), drive them with autocannon from this process, interleave rounds,
// and report medians. Absolute numbers drift; compare ratios measured in the same run.
// Where /proc exists, each target with a `pid` also gets the server's CPU time per request:
// time the VM's host takes away is not counted in it, so it stays steady when req/s do not.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

const clockTicksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** User + system CPU ticks a process has used so far, or undefined where /proc is missing. */
function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/**
 * One autocannon run; returns requests/s (mean), latency p99 in ms, non-2xx and error counts,
 * and, given the server's pid, its CPU µs per request during the run.
 */
export async function measure(url, { duration = 5, connections = 50, method = 'GET', headers = {}, body, pid } = {}) {
  const before = pid === undefined ? undefined : cpuTicks(pid);
  const result = await autocannon({ url, duration, connections, method, headers, body, pipelining: 1 });
  const after = pid === undefined ? undefined : cpuTicks(pid);
  const cpuUs = before === undefined || after === undefined || result.requests.total === 0 ? undefined : ((after - before) * 1e6) / clockTicksPerSecond / result.requests.total;
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors, cpuUs };
}

/** Median of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Runs every target `rounds` times, interleaved (a warm-up run each first), and returns
 * rows {name, rps, p99, ratio, cpuUs, cpuRatio} with ratios to the first target (the
 * baseline); cpuRatio is the baseline's CPU per request over the target's (1 = as cheap).
 */
export async function compare(targets, { rounds = Number(process.env.BENCH_ROUNDS ?? 3), duration = 5, connections = 50 } = {}) {
  const samples = new Map(targets.map((t) => [t.name, []]));
  for (const target of targets) await measure(target.url, { ...target.request, duration: 2, connections });
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const sample = await measure(target.url, { ...target.request, duration, connections, pid: target.pid });
      if (sample.non2xx > 0 || sample.errors > 0) console.warn(`warning: ${target.name} had ${sample.non2xx} non-2xx and ${sample.errors} errors`);
      samples.get(target.name).push(sample);
    }
  }
  const base = median(samples.get(targets[0].name).map((s) => s.rps));
  const cpuOf = (name) => {
    const values = samples.get(name).map((s) => s.cpuUs);
    return values.every((v) => v !== undefined) ? median(values) : undefined;
  };
  const baseCpu = cpuOf(targets[0].name);
  return targets.map((t) => {
    const s = samples.get(t.name);
    const rps = median(s.map((x) => x.rps));
    const cpuUs = cpuOf(t.name);
    const cpuRatio = cpuUs === undefined || baseCpu === undefined ? undefined : Math.round((baseCpu / cpuUs) * 100) / 100;
    return { name: t.name, rps: Math.round(rps), p99: median(s.map((x) => x.p99)), ratio: Math.round((rps / base) * 100) / 100, cpuUs, cpuRatio };
  });
}

/** Prints rows as a Markdown table (with the CPU columns when every row has them). */
export function printTable(rows) {
  const cpu = rows.every((r) => r.cpuUs !== undefined);
  console.log(`| target | req/s (median) | p99 ms | vs baseline |${cpu ? ' server CPU µs/request | vs baseline, by CPU |' : ''}`);
  console.log(`|---|---:|---:|---:|${cpu ? '---:|---:|' : ''}`);
  for (const r of rows) {
    const cpuCells = cpu ? ` ${r.cpuUs.toFixed(1)} | ${r.cpuRatio.toFixed(2)} |` : '';
    console.log(`| ${r.name} | ${r.rps.toLocaleString('en-US')} | ${r.p99} | ${r.ratio.toFixed(2)} |${cpuCells}`);
  }
}
