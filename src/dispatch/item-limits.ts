// Limits checked on an item's text before JSON.parse builds it: a poison item
// (a million keys, nesting a thousand deep) costs hundreds of MB once parsed,
// enough to kill kjd under its memory limit on every redelivery. Measured and
// refused unread instead, so it is dead-lettered once.
import { KjdError, type ErrorCategory } from '../errors.ts';

export class ItemTooLargeError extends KjdError {
  readonly code = 'ITEM_TOO_LARGE';
  readonly category: ErrorCategory = 'permanent';
}

export interface ItemLimits {
  /** Bytes of UTF-8. */
  readonly maxBytes: number;
  /** Objects and arrays inside each other. */
  readonly maxDepth: number;
  /** Object members plus array elements, over the whole item. */
  readonly maxEntries: number;
}

export const DEFAULT_ITEM_LIMITS: ItemLimits = { maxBytes: 1024 * 1024, maxDepth: 32, maxEntries: 10_000 };

const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Throws ItemTooLargeError when `text` breaks a limit. One pass over the
 * characters, no allocation; it does not validate JSON (JSON.parse does that
 * next), it only bounds what parsing it could cost.
 */
export function checkItemLimits(text: string, limits: ItemLimits): void {
  // Length in UTF-16 units is at most the UTF-8 length: a cheap first bound.
  if (text.length > limits.maxBytes || Buffer.byteLength(text, 'utf8') > limits.maxBytes) {
    throw new ItemTooLargeError(
      `the item is ${Buffer.byteLength(text, 'utf8')} bytes; at most ${limits.maxBytes} (limits.maxItemBytes)`,
    );
  }
  let depth = 0;
  let entries = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      entries++;
      if (depth > limits.maxDepth)
        throw new ItemTooLargeError(
          `the item nests deeper than ${limits.maxDepth} levels (limits.maxItemDepth)`,
        );
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
    else if (c === COMMA) entries++;
    if (entries > limits.maxEntries)
      throw new ItemTooLargeError(
        `the item has more than ${limits.maxEntries} keys and elements (limits.maxItemEntries)`,
      );
  }
}
