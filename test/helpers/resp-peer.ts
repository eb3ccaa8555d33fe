import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'

// A scripted peer on a real loopback socket that speaks (or pretends to speak) RESP: for the
// orders and shapes of replies real servers give only now and then (a Sentinel mid-failover) or
// never (a broken proxy, a hostile peer). The client under test is the real ioredis.

/** RESP2 encoders for scripted replies. */
export const resp = {
  bulk: (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`,
  /** An array of bulk strings. */
  array: (items: string[]) => `*${items.length}\r\n${items.map(resp.bulk).join('')}`,
  int: (n: number) => `:${n}\r\n`,
  simple: (s: string) => `+${s}\r\n`,
  error: (s: string) => `-${s}\r\n`,
  nil: '$-1\r\n',
}

/** Reads RESP commands (arrays of bulk strings) off a socket, in order. */
function onCommands(socket: Socket, handle: (args: string[]) => void): void {
  let buffer = ''
  socket.on('data', (chunk) => {
    buffer += chunk.toString('utf8')
    for (;;) {
      const lines = buffer.split('\r\n')
      const count = /^\*(\d+)$/.exec(lines[0] ?? '')
      if (!count) return
      const n = Number(count[1])
      if (lines.length < 1 + 2 * n + 1) return
      const args = Array.from({ length: n }, (_, i) => lines[2 + 2 * i] as string)
      buffer = lines.slice(1 + 2 * n).join('\r\n')
      handle(args)
    }
  })
}

export interface RespPeer {
  readonly host: string
  readonly port: number
  /** Every command received, lower-cased command name first, across connections. */
  readonly received: string[][]
  /** Closes the listener and every connection it accepted. */
  close(): Promise<void>
}

/**
 * Listens on 127.0.0.1 (a free port) and answers each command with what `answer` returns (nothing
 * when it returns undefined: the command is left unanswered). `answer` may also write to the socket
 * itself (pub/sub messages, held replies).
 */
export async function startRespPeer(
  answer: (args: string[], socket: Socket) => string | Buffer | undefined,
): Promise<RespPeer> {
  const received: string[][] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    onCommands(socket, (args) => {
      received.push([(args[0] ?? '').toLowerCase(), ...args.slice(1)])
      const reply = answer(args, socket)
      if (reply !== undefined && !socket.destroyed) socket.write(reply)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  return {
    host: '127.0.0.1',
    port,
    received,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
