/**
 * Sending a sync token over plain HTTP (issue 12, rule 13): a bearer token sent to `http://` on another
 * machine crosses the network in clear, and anyone on the path can replay it. Loopback (`localhost`,
 * 127.0.0.0/8, `::1`) never leaves the machine and is fine. One rule for both faces: the CLI's
 * `sync login` warns, the app asks and the app's main side refuses unless the user confirmed.
 */

/** True for a host name that stays on this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  if (/^::ffff:127\./.test(h)) return true
  return /^127(\.\d{1,3}){3}$/.test(h)
}

/**
 * The warning for logging in to `url`, or undefined when the token would not cross the network in clear
 * (https://, or http:// to this machine). Parsed by hand: the pure layer has no URL class (scheme and
 * authority per RFC 3986: userinfo@host:port, IPv6 in brackets).
 */
export function plainHttpWarning(url: string): string | undefined {
  const m = /^http:\/\/([^/?#]*)/i.exec(url.trim())
  if (!m) return undefined
  const authority = (m[1] ?? '').slice((m[1] ?? '').lastIndexOf('@') + 1)
  const host = authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1) : authority.replace(/:\d*$/, '')
  if (isLoopbackHost(host)) return undefined
  return `${authority || 'the server'} is reached over plain http://: the token would cross the network unencrypted, readable by anyone on the path`
}
