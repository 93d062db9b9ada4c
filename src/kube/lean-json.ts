// Parses the API server's JSON without `metadata.managedFields`. kjd never
// reads them (kubectl hides them too), yet they are a quarter of a Job's JSON
// and most of its objects: every field the Job sets, nested as
// {"f:spec":{"f:template":{...}}}, once per manager. Dropping them from the
// text before JSON.parse builds them saves that parse and its garbage on every
// watch event and every answer (bench/limits.md has the figures).
//
// Sound on any valid JSON: an unescaped quote followed by `managedFields":`
// can only open that key (inside a string every quote is escaped), and the
// skip below knows strings. Anything it does not expect (other spacing, a
// value that is not an array, a text that is not JSON) falls back to
// JSON.parse with a reviver, which gives the same object, only slower.

const KEY = '"managedFields":';
const COMMA = 0x2c;

export function parseKubeJson(text: string): unknown {
  let at = nextKey(text, 0);
  if (at === -1) return JSON.parse(text);
  let kept = '';
  let from = 0;
  while (at !== -1) {
    const end = skipArray(text, at + KEY.length);
    if (end === -1) return slowly(text);
    // Take one comma with the member: the one before it, else the one after it.
    if (text.charCodeAt(at - 1) === COMMA) kept += text.slice(from, at - 1);
    else {
      kept += text.slice(from, at);
      if (text.charCodeAt(end) === COMMA) {
        from = end + 1;
        at = nextKey(text, from);
        continue;
      }
    }
    from = end;
    at = nextKey(text, from);
  }
  try {
    return JSON.parse(kept + text.slice(from));
  } catch {
    return slowly(text); // not what this expected; a text that is not JSON throws its own error here
  }
}

const slowly = (text: string): unknown =>
  JSON.parse(text, (key, value: unknown) => (key === 'managedFields' ? undefined : value));

/** The next `"managedFields":` whose quote opens a string (is not escaped inside one). */
function nextKey(text: string, from: number): number {
  let at = text.indexOf(KEY, from);
  while (at !== -1 && backslashesBefore(text, at) % 2 === 1) at = text.indexOf(KEY, at + 1);
  return at;
}

function backslashesBefore(text: string, at: number): number {
  let n = 0;
  while (text.charCodeAt(at - 1 - n) === 0x5c) n++;
  return n;
}

/** The index just past the array that starts at `start`, or -1 when none starts there. */
function skipArray(text: string, start: number): number {
  if (text.charCodeAt(start) !== 0x5b) return -1;
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = stringEnd(text, i);
      if (i === -1) return -1;
    } else if (c === 0x5b || c === 0x7b) depth++;
    else if ((c === 0x5d || c === 0x7d) && --depth === 0) return i + 1;
  }
  return -1;
}

/** The index of the quote that closes the string opened at `open`. */
function stringEnd(text: string, open: number): number {
  let i = text.indexOf('"', open + 1);
  while (i !== -1 && backslashesBefore(text, i) % 2 === 1) i = text.indexOf('"', i + 1);
  return i;
}
