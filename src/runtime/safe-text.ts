/**
 * Quoting input in messages. A message that quotes a user's file or request goes to a terminal or to a client:
 * raw control bytes there can rewrite the terminal (ESC sequences from a binary input were echoed to stderr), and
 * an unbounded echo doubles an attacker's payload (an 8 KB query name came back twice).
 */

/**
 * C0 and C1 control characters and DEL, written as \n, \t, \r or \xNN / \u{NNNN}; everything else as is.
 * `keepLines` leaves line feeds (and tabs) alone, for multi-line messages written by cladmop itself.
 */
export function escapeControl(text: string, { keepLines = false } = {}): string {
  const pattern = keepLines ? /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g : /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
  return text.replace(pattern, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** `escapeControl` of at most `max` characters of `text`, saying how much was left out. */
export function clipEcho(text: string, max = 200): string {
  const head = text.length > max ? text.slice(0, max) : text;
  const more = text.length > max ? `… (${text.length - max} more characters)` : '';
  return escapeControl(head) + more;
}

/**
 * `text` with absolute file-system paths replaced by "<path>": the known directories given first (whatever they
 * are), then anything that looks like a path under a usual root. Error bodies of the service must not tell a
 * client where the server keeps its files.
 */
export function redactPaths(text: string, knownDirs: string[] = []): string {
  let out = text;
  for (const d of [...knownDirs].filter((x) => x && x.length > 1).sort((a, b) => b.length - a.length)) out = out.split(d).join('<path>');
  return out.replace(/(?:[A-Za-z]:\\|\/)(?:home|tmp|work|usr|etc|var|opt|root|srv|mnt|Users|private|proc|dev|data|app|run)(?:[\\/][^\s"'`,;:()<>]*)?/g, '<path>');
}
