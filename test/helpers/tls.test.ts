import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTlsServerPair, TLS_SERVER_NAME, type TlsServerPair } from './tls.js'

/** One ioredis connection over TLS; resolves with PING's answer or rejects with the TLS error. */
async function pingOverTls(port: number, tls: Record<string, unknown>): Promise<string> {
  let first: Error | undefined
  const client = new Redis({
    host: '127.0.0.1',
    port,
    tls,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  })
  client.on('error', (err) => {
    first ??= err
  })
  try {
    await client.connect()
    return await client.ping()
  } catch (err) {
    throw first ?? err
  } finally {
    client.disconnect()
  }
}

describe('test helper: TLS material and redis-server --tls-port', () => {
  let pair: TlsServerPair
  beforeAll(async () => {
    pair = await startTlsServerPair()
  })
  afterAll(async () => {
    await pair?.stop()
  })

  it('makes PEM files: a CA, a server and a client certificate, and an unrelated CA', () => {
    for (const file of [
      pair.material.caFile,
      pair.material.serverCertFile,
      pair.material.clientCertFile,
      pair.material.otherCaFile,
    ])
      expect(pair.material.read(file)).toMatch(/^-----BEGIN CERTIFICATE-----\n/)
    for (const file of [pair.material.serverKeyFile, pair.material.clientKeyFile])
      expect(pair.material.read(file)).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)
  })

  it('keeps a plain port for set-up and gives a rediss:// URL for the TLS port', async () => {
    expect((await pair.mutual.cli('PING')).trim()).toBe('PONG')
    expect(pair.mutual.tlsUrl).toBe(`rediss://127.0.0.1:${pair.mutual.tlsPort}`)
    expect(pair.mutual.pid).toBeGreaterThan(0)
  })

  it('with tls-auth-clients yes: the CA plus the client certificate connect, the CA alone is refused', async () => {
    const ca = pair.material.read(pair.material.caFile)
    const cert = pair.material.read(pair.material.clientCertFile)
    const key = pair.material.read(pair.material.clientKeyFile)
    expect(await pingOverTls(pair.mutual.tlsPort, { ca, cert, key })).toBe('PONG')
    await expect(pingOverTls(pair.mutual.tlsPort, { ca })).rejects.toThrow(
      /certificate required|socket disconnected|ECONNRESET/i,
    )
  })

  it('with tls-auth-clients no: the CA alone connects; an unrelated CA fails verification', async () => {
    const ca = pair.material.read(pair.material.caFile)
    expect(await pingOverTls(pair.serverOnly.tlsPort, { ca })).toBe('PONG')
    await expect(
      pingOverTls(pair.serverOnly.tlsPort, { ca: pair.material.read(pair.material.otherCaFile) }),
    ).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i)
  })

  it(`the server certificate names 127.0.0.1, localhost and ${TLS_SERVER_NAME}, nothing else`, async () => {
    const ca = pair.material.read(pair.material.caFile)
    expect(await pingOverTls(pair.serverOnly.tlsPort, { ca, servername: TLS_SERVER_NAME })).toBe('PONG')
    const { checkServerIdentity } = await import('node:tls')
    await expect(
      pingOverTls(pair.serverOnly.tlsPort, {
        ca,
        checkServerIdentity: (_host: string, cert: Parameters<typeof checkServerIdentity>[1]) =>
          checkServerIdentity('other.test', cert),
      }),
    ).rejects.toThrow(/other\.test/)
  })
})
