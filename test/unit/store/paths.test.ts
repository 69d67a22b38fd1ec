import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveDataDir, storeFile } from '../../../electron/services/paths.ts'

test('data folder follows the OS convention', () => {
  assert.equal(resolveDataDir({ env: {}, platform: 'linux', home: '/home/u' }), '/home/u/.local/share/envelope')
  assert.equal(resolveDataDir({ env: { XDG_DATA_HOME: '/x/data' }, platform: 'linux', home: '/home/u' }), '/x/data/envelope')
  // a relative XDG_DATA_HOME is invalid per the XDG spec and ignored
  assert.equal(resolveDataDir({ env: { XDG_DATA_HOME: 'rel' }, platform: 'linux', home: '/home/u' }), '/home/u/.local/share/envelope')
  assert.equal(resolveDataDir({ env: {}, platform: 'darwin', home: '/Users/u' }), '/Users/u/Library/Application Support/Envelope')
  assert.equal(
    resolveDataDir({ env: { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, platform: 'win32', home: 'C:\\Users\\u' }),
    'C:\\Users\\u\\AppData\\Roaming\\Envelope',
  )
})

test('ENVELOPE_DATA_DIR overrides the OS folder, an explicit option overrides both', () => {
  assert.equal(resolveDataDir({ env: { ENVELOPE_DATA_DIR: '/srv/env', XDG_DATA_HOME: '/x' }, platform: 'linux', home: '/h' }), '/srv/env')
  assert.equal(resolveDataDir({ dataDir: '/opt/d', env: { ENVELOPE_DATA_DIR: '/srv/env' }, platform: 'linux', home: '/h' }), '/opt/d')
  assert.equal(storeFile('/opt/d'), '/opt/d/envelope.db')
})
