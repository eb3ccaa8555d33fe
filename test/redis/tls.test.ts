import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startTlsServerPair,
  TLS_SERVER_NAME,
  type TlsRedisServer,
  type TlsServerPair,
} from '../helpers/tls.js'
import { waitFor } from '../helpers/wait-for.js'
import { appFor, sample } from '../routes/support.js'

// One CA, two real TLS servers: one demanding client certificates (Redis' default), one not.
let pair: TlsServerPair

beforeAll(async () => {
  pair = await startTlsServerPair()
  for (const server of [pair.mutual, pair.serverOnly]) {
    await server.cli('SET', 'tls:a', '1')
    await server.cli('-n', '1', 'SET', 'tls:b', '1')
  }
})
afterAll(async () => {
  await pair?.stop()
})

/** Connections of ours on the server, with the local port they reached (laddr). */
async function ourConnections(server: TlsRedisServer) {
  return (await server.cli('CLIENT', 'LIST'))
    .split('\n')
    .filter((l) => / name=rpm:/.test(l))
    .map((l) => ({ name: l.match(/ name=(\S+)/)![1]!, port: Number(l.match(/ laddr=\S+:(\d+)/)![1]) }))
}

const clientCert = () => ({
  REDIS_TLS_CA_FILE: pair.material.caFile,
  REDIS_TLS_CERT_FILE: pair.material.clientCertFile,
  REDIS_TLS_KEY_FILE: pair.material.clientKeyFile,
})

describe('rediss:// with REDIS_TLS_* against redis-server --tls-port with tls-auth-clients yes', () => {
  let app: FastifyInstance
  beforeAll(async () => {
    app = await appFor({
      REDIS_URL: pair.mutual.tlsUrl,
      ...clientCert(),
      KEY_GROUPS: 'tls:*',
      KEY_GROUPS_INTERVAL_MS: '1000',
      SCRAPE_TARGETS: `127.0.0.1:${pair.mutual.tlsPort}`,
    })
  })
  afterAll(async () => {
    await app?.close()
  })

  it('the pool and its probe connect with the private CA and the client certificate: ready', async () => {
    await waitFor(async () => (await app.inject('/health/ready')).statusCode === 200, {
      what: 'ready over TLS',
    })
    const metrics = await app.inject('/metrics')
    expect(sample(metrics.body, 'redis_up')).toBe(1)
  })

  it('key groups of another database open their own connection over TLS too', async () => {
    await expect
      .poll(
        async () =>
          sample((await app.inject('/metrics')).body, 'redis_key_group_count{db="db1",key_group="tls:*"}'),
        {
          timeout: 10_000,
        },
      )
      .toBe(1)
  })

  it('a rediss:// /scrape target gets the same CA and client certificate', async () => {
    const res = await app.inject(
      `/scrape?target=${encodeURIComponent(`rediss://127.0.0.1:${pair.mutual.tlsPort}`)}`,
    )
    expect(sample(res.body, 'redis_up')).toBe(1)
  })

  it('every connection of ours reached the TLS port, none the plain one', async () => {
    const connections = await ourConnections(pair.mutual)
    // The pool's POOL_SIZE (10) connections, the db1 key-group scanner's, the /scrape target's.
    expect(connections.map((c) => c.name).sort()).toEqual(
      [
        ...Array.from({ length: 10 }, (_, i) => `rpm:default:${i}`),
        'rpm:default:keygroups-db1',
        'rpm:scrape:target',
      ].sort(),
    )
    expect(connections.filter((c) => c.port !== pair.mutual.tlsPort)).toEqual([])
  })

  it('without the client certificate the server refuses: not ready, and a /scrape target is redis_up 0', async () => {
    const noCert = await appFor({
      REDIS_URL: pair.mutual.tlsUrl,
      REDIS_TLS_CA_FILE: pair.material.caFile,
      SCRAPE_TARGETS: `127.0.0.1:${pair.mutual.tlsPort}`,
    })
    try {
      // The server resets the handshake without a certificate; readiness says the connection failed.
      const body = await waitFor(
        async () => {
          const res = await noCert.inject('/health/ready')
          return res.statusCode === 503 && /no connection to Redis is open \(/.test(res.body)
            ? res.body
            : undefined
        },
        { what: 'a 503 naming the failed connection' },
      )
      expect(JSON.parse(body).reason).toMatch(/ECONNRESET|certificate required|socket disconnected/i)
      const res = await noCert.inject({
        url: `/scrape?target=${encodeURIComponent(`rediss://127.0.0.1:${pair.mutual.tlsPort}`)}`,
        headers: { 'x-prometheus-scrape-timeout-seconds': '1' },
      })
      expect(sample(res.body, 'redis_up')).toBe(0)
    } finally {
      await noCert.close()
    }
  })
})

describe('rediss:// against a server with tls-auth-clients no', () => {
  it('the private CA alone is enough', async () => {
    const app = await appFor({ REDIS_URL: pair.serverOnly.tlsUrl, REDIS_TLS_CA_FILE: pair.material.caFile })
    try {
      await waitFor(async () => (await app.inject('/health/ready')).statusCode === 200, {
        what: 'ready over TLS',
      })
    } finally {
      await app.close()
    }
  })

  it('REDIS_TLS_SERVER_NAME checks that name on the certificate: one it carries connects, another does not', async () => {
    const good = await appFor({
      REDIS_URL: pair.serverOnly.tlsUrl,
      REDIS_TLS_CA_FILE: pair.material.caFile,
      REDIS_TLS_SERVER_NAME: TLS_SERVER_NAME,
    })
    const bad = await appFor({
      REDIS_URL: pair.serverOnly.tlsUrl,
      REDIS_TLS_CA_FILE: pair.material.caFile,
      REDIS_TLS_SERVER_NAME: 'not-on-the-cert.test',
    })
    try {
      await waitFor(async () => (await good.inject('/health/ready')).statusCode === 200, { what: 'ready' })
      const body = await waitFor(
        async () => {
          const res = await bad.inject('/health/ready')
          return res.statusCode === 503 && res.body.includes('not-on-the-cert.test') ? res.body : undefined
        },
        { what: "a 503 naming the server name missing from the certificate's altnames" },
      )
      expect(JSON.parse(body).reason).toMatch(/altnames/)
    } finally {
      await Promise.all([good.close(), bad.close()])
    }
  })

  it('a CA that did not sign the server certificate: not ready, the certificate named as the reason', async () => {
    const app = await appFor({
      REDIS_URL: pair.serverOnly.tlsUrl,
      REDIS_TLS_CA_FILE: pair.material.otherCaFile,
    })
    try {
      const body = await waitFor(
        async () => {
          const res = await app.inject('/health/ready')
          return res.statusCode === 503 && /certificate|self[- ]signed/i.test(res.body) ? res.body : undefined
        },
        { what: 'a 503 naming the certificate' },
      )
      expect(JSON.parse(body).status).toBe('not_ready')
    } finally {
      await app.close()
    }
  })
})
