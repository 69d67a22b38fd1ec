/**
 * The D-Bus session an agent's keychain key came from, watched so that the agent stops when that session
 * goes away. On Linux the keychain is the Secret Service, reached over the session bus: the bus lives
 * exactly as long as the session that unlocked the keyring (a `dbus-run-session` script, a desktop login,
 * the user's systemd bus until their last session ends). Other signs are weaker: XDG_SESSION_ID is absent
 * under `dbus-run-session` and in many scripts, and the process that started the agent (`envelope run`)
 * ends at once by design. So the agent holds a connection of its own to the bus (authenticated, `Hello`
 * sent, as any client) and the bus closing it is the end of the session.
 *
 * Only what that needs of the D-Bus protocol is here (the SASL EXTERNAL handshake and one `Hello` call,
 * spec: "D-Bus Specification", Authentication protocol and Message format): no dependency for ~60 lines.
 */
import { connect, type Socket } from 'node:net'

/** A connection to the session bus; `ended` resolves (with why) once the bus has closed it. */
export interface SessionWatch {
  /** the address connected to (for the log; no secret) */
  address: string
  ended: Promise<string>
  close(): void
}

/** The session bus's address, as libdbus and the keyring find it: DBUS_SESSION_BUS_ADDRESS, else `$XDG_RUNTIME_DIR/bus`. */
export function sessionBusAddress(env: Record<string, string | undefined> = process.env): string | undefined {
  if (env.DBUS_SESSION_BUS_ADDRESS) return env.DBUS_SESSION_BUS_ADDRESS
  return env.XDG_RUNTIME_DIR ? `unix:path=${env.XDG_RUNTIME_DIR}/bus` : undefined
}

/** The socket paths of an address's `unix:` entries (abstract ones start with a NUL byte), in order. */
export function unixSocketPaths(address: string): string[] {
  const paths: string[] = []
  for (const entry of address.split(';')) {
    const colon = entry.indexOf(':')
    if (entry.slice(0, colon) !== 'unix') continue
    const keys = new Map(
      entry
        .slice(colon + 1)
        .split(',')
        .map((kv) => [kv.slice(0, kv.indexOf('=')), unescapeValue(kv.slice(kv.indexOf('=') + 1))] as const),
    )
    const path = keys.get('path')
    const abstract = keys.get('abstract')
    if (path) paths.push(path)
    else if (abstract) paths.push(`\0${abstract}`)
  }
  return paths
}

/** D-Bus address values escape any byte as `%XX`. */
function unescapeValue(v: string): string {
  return Buffer.from(
    v.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8')
}

/** The `org.freedesktop.DBus.Hello` method call (little-endian, serial 1, no body): the first message a client sends. */
export function helloMessage(): Buffer {
  const bytes: number[] = [0x6c, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
  const pad = (n: number): void => {
    while (bytes.length % n) bytes.push(0)
  }
  const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]
  // header fields: PATH (o), INTERFACE (s), MEMBER (s), DESTINATION (s)
  const fields: [number, string, string][] = [
    [1, 'o', '/org/freedesktop/DBus'],
    [2, 's', 'org.freedesktop.DBus'],
    [3, 's', 'Hello'],
    [6, 's', 'org.freedesktop.DBus'],
  ]
  for (const [code, signature, value] of fields) {
    pad(8) // each field is a struct
    bytes.push(code, 1, signature.charCodeAt(0), 0)
    pad(4)
    const text = Buffer.from(value, 'utf8')
    bytes.push(...u32(text.length), ...text, 0)
  }
  bytes.splice(12, 4, ...u32(bytes.length - 16)) // the array's length, without the padding after it
  pad(8)
  return Buffer.from(bytes)
}

/** Connects to the first reachable socket of `address`, authenticates and says Hello; rejects with why it could not. */
async function helloOnBus(address: string, timeoutMs: number): Promise<Socket> {
  const paths = unixSocketPaths(address)
  if (paths.length === 0) throw new Error(`the session bus address ${address} has no unix socket`)
  let last: Error | undefined
  for (const path of paths) {
    try {
      return await hello(path, timeoutMs)
    } catch (err) {
      last = err as Error
    }
  }
  throw last!
}

function hello(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path })
    let stage: 'auth' | 'hello' = 'auth'
    let buf = Buffer.alloc(0)
    const fail = (why: string): void => {
      sock.destroy()
      reject(new Error(why))
    }
    sock.setTimeout(timeoutMs, () => fail(`the session bus did not answer within ${timeoutMs} ms`))
    sock.on('error', (err) => fail(err.message))
    sock.on('close', () => fail('the session bus closed the connection'))
    sock.on('connect', () => {
      const uid = process.getuid?.() ?? 0
      sock.write(`\0AUTH EXTERNAL ${Buffer.from(String(uid)).toString('hex')}\r\n`)
    })
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d])
      if (stage === 'auth') {
        const nl = buf.indexOf('\r\n')
        if (nl < 0) return
        const line = buf.subarray(0, nl).toString('latin1')
        if (!line.startsWith('OK ')) return fail(`the session bus refused to authenticate this process (${line.slice(0, 60)})`)
        buf = buf.subarray(nl + 2)
        stage = 'hello'
        sock.write(Buffer.concat([Buffer.from('BEGIN\r\n'), helloMessage()]))
      }
      // the reply to Hello: a METHOD_RETURN (type 2); an ERROR (3) means the bus did not take this client
      if (stage === 'hello' && buf.length >= 2) {
        if (buf[1] !== 2) return fail('the session bus refused the Hello call')
        sock.removeListener('data', onData)
        sock.removeAllListeners('close')
        sock.removeAllListeners('error')
        sock.removeAllListeners('timeout')
        sock.setTimeout(0)
        resolve(sock)
      }
    }
    sock.on('data', onData)
  })
}

/**
 * Connects to the session bus named by `env` (see sessionBusAddress) and watches it: rejects when it
 * cannot (no address, nothing listening, refused), which for an agent holding a keychain key means it
 * must not start. The connection does not keep the process alive by itself.
 */
export async function watchSessionBus(env: Record<string, string | undefined> = process.env, timeoutMs = 5000): Promise<SessionWatch> {
  const address = sessionBusAddress(env)
  if (!address) throw new Error('no session bus: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set')
  const sock = await helloOnBus(address, timeoutMs)
  let closed = false
  const ended = new Promise<string>((resolve) => {
    sock.on('data', () => {}) // signals for this connection (NameAcquired…): nothing to do
    sock.on('error', () => undefined) // followed by 'close'
    sock.on('close', () => resolve(closed ? 'closed' : 'its D-Bus session ended'))
  })
  sock.unref()
  return {
    address,
    ended,
    close() {
      closed = true
      sock.destroy()
    },
  }
}
