import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

/** PostgreSQL's SSLRequest: an 8-byte message (length 8, then this code) sent before any startup message. */
const SSL_REQUEST_CODE = 80877103;

/** A self-signed certificate and its key, as files and as PEM text. */
export interface TestCertificate {
  readonly certFile: string;
  readonly cert: string;
  readonly key: string;
  /** Deletes the files. */
  remove(): void;
}

/** Whether the `openssl` command runs here (the certificates are made with it). */
export function opensslAvailable(): boolean {
  const result = spawnSync('openssl', ['version'], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

/**
 * A fresh self-signed P-256 certificate for CN=localhost whose only subject alternative name is
 * `san` (e.g. DNS:localhost, so that 127.0.0.1 does not match it), valid for a day.
 */
export function createSelfSignedCertificate(san = 'DNS:localhost'): TestCertificate {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-test-cert-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const result = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      `subjectAltName=${san}`,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { encoding: 'utf8' },
  );
  if (result.error !== undefined || result.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make a test certificate: ${result.error?.message ?? result.stderr}`);
  }
  return {
    certFile,
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A local stand-in for a PostgreSQL server with TLS, in front of one without. */
export interface PgTlsProxy {
  /** The port on 127.0.0.1. */
  readonly port: number;
  /** How the connections accepted so far talked to the proxy: 'tls' (after an SSLRequest) or 'plain'. */
  readonly connections: readonly ('tls' | 'plain')[];
  close(): Promise<void>;
}

/**
 * Listens on a free port of 127.0.0.1 and forwards to the PostgreSQL server at `upstream`
 * (host:port, plain TCP). A client's SSLRequest is answered 'S' and its connection taken over
 * with TLS (`certificate`); the decrypted stream goes to the server, which sees a client
 * without TLS. A client that starts without an SSLRequest is forwarded as it is, in clear.
 */
export async function startPgTlsProxy(
  upstream: { host: string; port: number },
  certificate: TestCertificate,
): Promise<PgTlsProxy> {
  const secureContext = tls.createSecureContext({ cert: certificate.cert, key: certificate.key });
  const connections: ('tls' | 'plain')[] = [];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): net.Socket => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A client that rejects the certificate resets the connection: not the proxy's failure.
    socket.on('error', () => socket.destroy());
    return socket;
  };
  /** Joins a client stream to a new upstream connection, sending `first` (bytes already read) ahead. */
  const forward = (client: net.Socket | tls.TLSSocket, first: Buffer): void => {
    const server = track(net.connect(upstream));
    if (first.length > 0) server.write(first);
    client.pipe(server);
    server.pipe(client);
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  };
  const proxy = net.createServer((socket) => {
    track(socket);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 8) return;
      socket.off('data', onData);
      socket.pause();
      const isSslRequest = buffered.readInt32BE(0) === 8 && buffered.readInt32BE(4) === SSL_REQUEST_CODE;
      if (!isSslRequest) {
        connections.push('plain');
        forward(socket, buffered);
        socket.resume();
        return;
      }
      connections.push('tls');
      // The client sends nothing more until it has read the answer, so nothing was read past the request.
      socket.write('S');
      const secure = new tls.TLSSocket(socket, { isServer: true, secureContext });
      secure.on('error', () => socket.destroy());
      secure.once('secure', () => forward(secure, Buffer.alloc(0)));
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (proxy.address() as AddressInfo).port,
    connections,
    async close() {
      const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
