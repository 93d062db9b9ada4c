// Redis Cluster's key -> slot function (CRC16/XMODEM of the hash tag, mod
// 16384), so a test can pick keys on chosen slots and primaries without
// asking a server, and check that routes really spread.
import { slotName } from '../../src/sources/redis-keys.ts';

export const SLOTS = 16_384;

const TABLE = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  return crc;
});

function crc16(bytes: Buffer): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ b) & 0xff] ?? 0);
  return crc;
}

export function keySlot(key: string): number {
  return crc16(Buffer.from(slotName(key))) % SLOTS;
}

/** A hash tag (`<stem><n>`) whose keys land on `slot`. */
export function tagForSlot(slot: number, stem: string): string {
  for (let n = 0; n < 1_000_000; n++) if (keySlot(`${stem}${n}`) === slot) return `${stem}${n}`;
  throw new Error(`no tag for slot ${slot}`);
}

/** A hash tag (`<stem><n>`) whose keys land in one of `ranges` ([first, last] slots). */
export function tagInRanges(ranges: readonly (readonly [number, number])[], stem: string): string {
  for (let n = 0; n < 1_000_000; n++) {
    const s = keySlot(`${stem}${n}`);
    if (ranges.some(([a, b]) => s >= a && s <= b)) return `${stem}${n}`;
  }
  throw new Error('no tag in those slots');
}
