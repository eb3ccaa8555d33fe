import type { Redis } from 'ioredis'

/**
 * Redis-side time of one run of a command, from the INFO commandstats delta (microseconds): what
 * the command cost Redis's single thread, without the network or the client's scheduling.
 */
export async function serverTimeUs(client: Redis, args: readonly string[]): Promise<number> {
  const [command = '', sub = ''] = args.map((a) => a.toLowerCase())
  const name = command === 'memory' ? `memory\\|${sub}` : command
  const usec = async () =>
    Number(
      new RegExp(`cmdstat_${name}:calls=\\d+,usec=(\\d+)`).exec(
        String(await client.call('INFO', 'commandstats')),
      )?.[1] ?? 0,
    )
  const before = await usec()
  await client.call(args[0]!, ...args.slice(1))
  return (await usec()) - before
}
