// What a cell's app answers, as both backends read it.

/** Parses a cell's body: JSON when it is JSON, else the text (an error page), null when empty. */
export function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
