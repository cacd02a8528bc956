// Fernet and AES-256-GCM envelope throughput next to raw node:crypto doing the same work, in
// one run (ratios are what count). Build first: `npm run build`, then `node bench/crypto.mjs`.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { openEnvelope, sealEnvelope } from '../dist/crypto/aes-gcm-envelope.js';
import { parseAesKeyring, generateAesKeyEntry } from '../dist/crypto/aes-gcm-keyring.js';
import { Fernet, generateFernetKey } from '../dist/crypto/fernet.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 400);

function measure(fn) {
  for (let i = 0; i < 2000; i += 1) fn(); // warm-up
  let ops = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(DURATION_MS) * 1_000_000n;
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 200; i += 1) fn();
    ops += 200;
  }
  return ops / (Number(process.hrtime.bigint() - start) / 1e9);
}

const gcmKey = randomBytes(32);
const keyring = parseAesKeyring(generateAesKeyEntry('k1'));
const fernet = new Fernet(generateFernetKey());
const sign = randomBytes(16);
const enc = randomBytes(16);

function rawGcmSeal(data) {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', gcmKey, iv);
  const body = Buffer.concat([c.update(data), c.final()]);
  return Buffer.concat([iv, body, c.getAuthTag()]);
}
function rawGcmOpen(buf) {
  const d = createDecipheriv('aes-256-gcm', gcmKey, buf.subarray(0, 12));
  d.setAuthTag(buf.subarray(buf.length - 16));
  return Buffer.concat([d.update(buf.subarray(12, buf.length - 16)), d.final()]);
}
function rawCbcHmacSeal(data) {
  const iv = randomBytes(16);
  const c = createCipheriv('aes-128-cbc', enc, iv);
  const body = Buffer.concat([iv, c.update(data), c.final()]);
  return Buffer.concat([body, createHmac('sha256', sign).update(body).digest()]);
}
function rawCbcHmacOpen(buf) {
  createHmac('sha256', sign).update(buf.subarray(0, buf.length - 32)).digest();
  const d = createDecipheriv('aes-128-cbc', enc, buf.subarray(0, 16));
  return Buffer.concat([d.update(buf.subarray(16, buf.length - 32)), d.final()]);
}

const rows = [];
for (const size of [64, 1024, 16384]) {
  const data = randomBytes(size);
  const gcmRaw = rawGcmSeal(data);
  const gcmEnv = sealEnvelope(keyring, data, 'users.email');
  const cbcRaw = rawCbcHmacSeal(data);
  const token = fernet.encrypt(data);
  const r = {
    size,
    rawGcmSeal: measure(() => rawGcmSeal(data)),
    envSeal: measure(() => sealEnvelope(keyring, data, 'users.email')),
    rawGcmOpen: measure(() => rawGcmOpen(gcmRaw)),
    envOpen: measure(() => openEnvelope(keyring, gcmEnv, 'users.email')),
    rawCbcSeal: measure(() => rawCbcHmacSeal(data)),
    fernetSeal: measure(() => fernet.encrypt(data)),
    rawCbcOpen: measure(() => rawCbcHmacOpen(cbcRaw)),
    fernetOpen: measure(() => fernet.decrypt(token)),
  };
  rows.push(r);
}

const k = (n) => `${(n / 1000).toFixed(1)}k`;
const ratio = (a, b) => (a / b).toFixed(2);
console.log(`node ${process.version}, ${DURATION_MS} ms per cell, ops/s (ratio to raw node:crypto doing the same primitive work)`);
console.log('| payload | raw GCM seal | envelope seal | raw GCM open | envelope open | raw CBC+HMAC seal | Fernet encrypt | raw CBC+HMAC open | Fernet decrypt |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.size} B | ${k(r.rawGcmSeal)} | ${k(r.envSeal)} (${ratio(r.envSeal, r.rawGcmSeal)}) | ${k(r.rawGcmOpen)} | ${k(r.envOpen)} (${ratio(r.envOpen, r.rawGcmOpen)}) | ${k(r.rawCbcSeal)} | ${k(r.fernetSeal)} (${ratio(r.fernetSeal, r.rawCbcSeal)}) | ${k(r.rawCbcOpen)} | ${k(r.fernetOpen)} (${ratio(r.fernetOpen, r.rawCbcOpen)}) |`,
  );
}
