import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, type RedisServer, startRedis } from './redis-server.js'

const execFileAsync = promisify(execFile)

/** PEM files made by openssl for one test file, in a throwaway directory. */
export interface TlsMaterial {
  readonly dir: string
  /** The private CA that signed the server and client certificates. */
  readonly caFile: string
  /** Server certificate for IP 127.0.0.1, DNS localhost and DNS redis.test. */
  readonly serverCertFile: string
  readonly serverKeyFile: string
  /** Client certificate (extendedKeyUsage clientAuth) signed by the same CA. */
  readonly clientCertFile: string
  readonly clientKeyFile: string
  /** A second CA that signed nothing here: trusting only it must fail verification. */
  readonly otherCaFile: string
  /** Contents of a file, for assertions. */
  read(file: string): string
  /** Removes the directory. */
  remove(): void
}

/** A name the server certificate carries besides 127.0.0.1 and localhost (REDIS_TLS_SERVER_NAME tests). */
export const TLS_SERVER_NAME = 'redis.test'

async function openssl(cwd: string, ...args: string[]): Promise<void> {
  await execFileAsync('openssl', args, { cwd, timeout: 20_000 })
}

/** An EC P-256 key: fast to make, accepted by redis-server and Node alike. */
const newKey = (cwd: string, out: string) =>
  openssl(cwd, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out)

async function makeCa(cwd: string, name: string): Promise<void> {
  await newKey(cwd, `${name}.key`)
  await openssl(
    cwd,
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-subj',
    `/CN=redis-pool-monitor test ${name}`,
    '-days',
    '2',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    `${name}.crt`,
  )
}

async function makeLeaf(cwd: string, name: string, cn: string, extensions: string): Promise<void> {
  await newKey(cwd, `${name}.key`)
  await openssl(cwd, 'req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`)
  writeFileSync(join(cwd, `${name}.ext`), extensions)
  await openssl(
    cwd,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  )
}

/** Makes a CA, a server and a client certificate with openssl, plus an unrelated CA. */
export async function makeTlsMaterial(): Promise<TlsMaterial> {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-tls-'))
  await Promise.all([makeCa(dir, 'ca'), makeCa(dir, 'other-ca')])
  await makeLeaf(
    dir,
    'server',
    'localhost',
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:${TLS_SERVER_NAME}`,
      '',
    ].join('\n'),
  )
  await makeLeaf(
    dir,
    'client',
    'redis-pool-monitor',
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=clientAuth',
      '',
    ].join('\n'),
  )
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
    otherCaFile: join(dir, 'other-ca.crt'),
    read: (file) => readFileSync(file, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

export interface TlsRedisOptions {
  material: TlsMaterial
  /** Redis' `tls-auth-clients`: true (Redis' default) demands a client certificate. */
  authClients: boolean
  password?: string
  args?: string[]
}

export interface TlsRedisServer extends RedisServer {
  /** The TLS listener; `port` stays a plain listener for redis-cli and test set-up only. */
  readonly tlsPort: number
  /** rediss:// URL of the TLS listener, with the password when there is one. */
  readonly tlsUrl: string
}

/**
 * A real redis-server with a TLS listener (`--tls-port`) using the material's server certificate,
 * trusting the material's CA for client certificates. The plain port stays open so tests can use
 * redis-cli to set up and inspect; what is under test dials `tlsPort`.
 */
export async function startTlsRedis(options: TlsRedisOptions): Promise<TlsRedisServer> {
  const { material } = options
  const tlsPort = await freePort()
  const server = await startRedis({
    ...(options.password ? { password: options.password } : {}),
    args: [
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      material.serverCertFile,
      '--tls-key-file',
      material.serverKeyFile,
      '--tls-ca-cert-file',
      material.caFile,
      '--tls-auth-clients',
      options.authClients ? 'yes' : 'no',
      ...(options.args ?? []),
    ],
  })
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : ''
  // On top of the plain server object (its getters such as `pid` keep working through the prototype).
  return Object.assign(Object.create(server) as RedisServer, {
    tlsPort,
    tlsUrl: `rediss://${auth}127.0.0.1:${tlsPort}`,
  })
}

/** One CA's material and two TLS servers made with it: one demanding client certificates, one not. */
export interface TlsServerPair {
  readonly material: TlsMaterial
  /** `tls-auth-clients yes` (Redis' default): a client certificate signed by the CA is required. */
  readonly mutual: TlsRedisServer
  /** `tls-auth-clients no`: trusting the CA is enough. */
  readonly serverOnly: TlsRedisServer
  /** Stops both servers and removes the material. */
  stop(): Promise<void>
}

/** Makes TLS material and starts both kinds of TLS server on it (a test file's beforeAll). */
export async function startTlsServerPair(): Promise<TlsServerPair> {
  const material = await makeTlsMaterial()
  const [mutual, serverOnly] = await Promise.all([
    startTlsRedis({ material, authClients: true }),
    startTlsRedis({ material, authClients: false }),
  ])
  return {
    material,
    mutual,
    serverOnly,
    stop: async () => {
      await Promise.all([mutual.stop(), serverOnly.stop()])
      material.remove()
    },
  }
}
