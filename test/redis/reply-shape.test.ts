import { describe, expect, it } from 'vitest'
import {
  cursorReply,
  integerReply,
  rowsReply,
  stringsReply,
  textReply,
  tupleReply,
} from '../../src/redis/reply-shape.js'

const refusal = (message: string) => ({ code: 'RPM_UNEXPECTED_REPLY', statusCode: 502, message })

describe('reply shapes', () => {
  it('textReply takes a string or its bytes, and names the command and what came otherwise', () => {
    expect(textReply('INFO', 'redis_version:7')).toBe('redis_version:7')
    expect(textReply('INFO', Buffer.from('a:1'))).toBe('a:1')
    expect(() => textReply('INFO', [1, null])).toThrow(
      expect.objectContaining(refusal('INFO answered an array of 2 where text was expected')),
    )
    expect(() => textReply('INFO', null)).toThrow(
      expect.objectContaining(refusal('INFO answered nil where text was expected')),
    )
  })

  it('integerReply takes an integer or a numeric string, nothing fractional, NaN or unsafe', () => {
    expect(integerReply('DBSIZE', 42)).toBe(42)
    expect(integerReply('SLOWLOG LEN', '7')).toBe(7)
    expect(integerReply('DBSIZE', '-3')).toBe(-3)
    for (const reply of [
      'many',
      '1.5',
      'NaN',
      '',
      ' ',
      '0x1f',
      '1e3',
      ' 7',
      2 ** 53,
      Number.POSITIVE_INFINITY,
      [],
      null,
    ]) {
      expect(() => integerReply('DBSIZE', reply)).toThrow(
        expect.objectContaining({ code: 'RPM_UNEXPECTED_REPLY' }),
      )
    }
    expect(() => integerReply('SLOWLOG LEN', 'x'.repeat(40))).toThrow(
      expect.objectContaining(
        refusal(`SLOWLOG LEN answered "${'x'.repeat(32)}…" where an integer was expected`),
      ),
    )
  })

  it('tupleReply and rowsReply check the array and every row against the least width', () => {
    expect(tupleReply('SCAN', ['0', []], 2)).toEqual(['0', []])
    expect(() => tupleReply('SCAN', ['0'], 2)).toThrow(
      expect.objectContaining(
        refusal('SCAN answered an array of 1 where an array of at least 2 elements was expected'),
      ),
    )
    expect(rowsReply('LATENCY LATEST', [], 3)).toEqual([])
    expect(rowsReply('LATENCY LATEST', [['command', 1, 2, 3]], 3)).toEqual([['command', 1, 2, 3]])
    expect(() => rowsReply('LATENCY LATEST', [['command', 1, 2], 5], 3)).toThrow(
      expect.objectContaining(
        refusal('LATENCY LATEST answered number where an array of at least 3 elements was expected'),
      ),
    )
    expect(() => rowsReply('SLOWLOG GET', 5, 3)).toThrow(
      expect.objectContaining(refusal('SLOWLOG GET answered number where an array was expected')),
    )
  })

  it('stringsReply takes strings and bytes only', () => {
    const keys = ['a', Buffer.from([0xff])]
    expect(stringsReply('SCAN', keys)).toBe(keys)
    expect(() => stringsReply('SCAN', ['a', 1])).toThrow(
      expect.objectContaining(refusal('SCAN answered number where an array of strings was expected')),
    )
  })

  it('cursorReply keeps a SCAN cursor as decimal text, past 2^53 too, and takes a plain number', () => {
    expect(cursorReply('SCAN', '18446744073709551615')).toBe('18446744073709551615')
    expect(cursorReply('SCAN', Buffer.from('0'))).toBe('0')
    expect(cursorReply('SCAN', 17)).toBe('17')
    for (const reply of ['', '-1', '1.5', 'abc', -1, 1.5, null, []]) {
      expect(() => cursorReply('SCAN', reply)).toThrow(
        expect.objectContaining({ code: 'RPM_UNEXPECTED_REPLY' }),
      )
    }
  })
})
