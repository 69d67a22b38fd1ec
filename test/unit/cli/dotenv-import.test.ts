/** .env import: variables land under environmentVariables, secrets guessed or chosen, literal text kept. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parse } from 'yaml'
import { importDotenv, guessSecret } from '../../../electron/services/dotenv/index.ts'
import { evaluate } from '../../../shared/esc/index.ts'
import { projectEnvironment } from '../../../shared/format/values.ts'

test('guesses secrets by name and by entropy, not placeholders or URLs without credentials', () => {
  assert.equal(guessSecret('DB_PASSWORD', 'hunter2').secret, true)
  assert.equal(guessSecret('GITHUB_TOKEN', 'ghp_aaaaaaaaaaaaaaaa').secret, true)
  assert.equal(guessSecret('STRIPE', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc').secret, true)
  assert.equal(guessSecret('DATABASE_URL', 'postgres://app:pw@db/app').secret, true)
  assert.equal(guessSecret('DATABASE_URL', 'postgres://db/app').secret, false)
  assert.equal(guessSecret('PASSWORD', 'changeme').secret, false)
  assert.equal(guessSecret('TOKEN_URL', 'https://auth.example.com/token').secret, false)
  assert.equal(guessSecret('GREETING', 'hello world').secret, false)
  assert.equal(guessSecret('PORT', '8080').secret, false)
  // references carry their own secretness: only literal text is judged
  assert.equal(guessSecret('DATABASE_URL', 'postgres://app:${db.password}@db/app').secret, false)
  assert.equal(guessSecret('DB_PASSWORD', '${db.password}').secret, false)
  assert.equal(guessSecret('DATABASE_URL', 'postgres://${db.user}:pw@db/app').secret, true)
  assert.equal(guessSecret('DB_PASSWORD', '${db.prefix}hunter2').secret, true)
})

test('builds a definition; flags win over detection; ${ stays literal; existing content kept', () => {
  const existing = '# my env\nimports:\n  - base\nvalues:\n  app:\n    name: x\n  environmentVariables:\n    OLD: keep\n'
  const r = importDotenv('API_TOKEN=abc123456\nPORT=8080\nPRICE=$${x}\nNOTE="a ${b}"\nLOOKS_SECRET=Zq8vT2mK9pL4xRw7Yb3N\n', existing, {
    secret: ['PORT'],
    plaintext: ['LOOKS_SECRET'],
  })
  const doc = parse(r.yaml) as { imports: string[]; values: { app: unknown; environmentVariables: Record<string, unknown> } }
  assert.match(r.yaml, /^# my env/)
  assert.deepEqual(doc.imports, ['base'])
  assert.deepEqual(doc.values.app, { name: 'x' })
  assert.deepEqual(doc.values.environmentVariables, {
    OLD: 'keep',
    API_TOKEN: { 'fn::secret': 'abc123456' },
    PORT: { 'fn::secret': '8080' },
    PRICE: '$$${x}',
    NOTE: 'a $${b}',
    LOOKS_SECRET: 'Zq8vT2mK9pL4xRw7Yb3N',
  })
  assert.deepEqual(
    r.variables.filter((v) => v.secret).map((v) => v.name),
    ['API_TOKEN', 'PORT'],
  )
  assert.throws(() => importDotenv('A=1\n', '', { secret: ['B'] }), /B \(named by --secret\/--plaintext\) is not in the \.env file/)
  assert.throws(() => importDotenv('# nothing\n', ''), /defines no variables/)
})

test('evaluating the imported definition gives back exactly the .env values', async () => {
  const envText = 'A=$${x}\nB="${y} and $${z} and $$"\nC=plain\nD_TOKEN=s3cr3t-${q}\n'
  const r = importDotenv(envText, '')
  const res = await evaluate({ name: 'imp', source: r.yaml, mode: 'eval' })
  assert.deepEqual(res.diagnostics, [])
  assert.deepEqual(projectEnvironment(res.value, { reveal: true }).variables, { A: '$${x}', B: '${y} and $${z} and $$', C: 'plain', D_TOKEN: 's3cr3t-${q}' })
})
