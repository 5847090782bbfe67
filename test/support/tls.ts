// Throwaway TLS material for https test servers on 127.0.0.1: a fresh CA and a server certificate it signed
// (SAN IP:127.0.0.1 and DNS:localhost), made with the openssl command line. A client trusts the server by `ca`.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  /** PEM of the CA that signed `cert` (not of `cert` itself): what a client must trust. */
  ca: string;
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM server certificate for 127.0.0.1 and localhost, valid for two days. */
  cert: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A new CA and server certificate on every call, so two calls give certificates that do not trust each other.
 * `dnsNames`: more names the certificate is for (autodiscover's contoso.test and autodiscover.contoso.test).
 */
export function makeTestCertificate(commonName = 'ews-watch test CA', dnsNames: readonly string[] = []): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'ews-watch-tls-'));
  const file = (name: string): string => join(dir, name);
  const run = (args: string[]): void => void execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    run(['req', '-x509', ...EC, '-keyout', file('ca-key.pem'), '-out', file('ca.pem'), '-days', '2', '-subj', `/CN=${commonName}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    run(['req', ...EC, '-keyout', file('key.pem'), '-out', file('csr.pem'), '-subj', '/CN=127.0.0.1']);
    writeFileSync(file('ext.cnf'), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${['IP:127.0.0.1', 'DNS:localhost', ...dnsNames.map((n) => `DNS:${n}`)].join(',')}\n`);
    run(['x509', '-req', '-in', file('csr.pem'), '-CA', file('ca.pem'), '-CAkey', file('ca-key.pem'), '-set_serial', `0x1${randomBytes(8).toString('hex')}`,
      '-days', '2', '-extfile', file('ext.cnf'), '-out', file('cert.pem')]);
    return { ca: readFileSync(file('ca.pem'), 'utf8'), key: readFileSync(file('key.pem'), 'utf8'), cert: readFileSync(file('cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
