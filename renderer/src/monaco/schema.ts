/** A JSON schema of the top level of an environment document, for monaco-yaml's structure hints. */
import type { JSONSchema } from 'monaco-yaml'

export const escSchema: JSONSchema = {
  type: 'object',
  description: 'An Envelope (Pulumi ESC) environment',
  properties: {
    imports: {
      type: 'array',
      description:
        'Environments to merge in, in order (later wins). Each entry is `project/env`, optionally `@version`, or `{ project/env: { merge: false } }`.',
      items: { anyOf: [{ type: 'string' }, { type: 'object' }] },
    },
    values: {
      type: 'object',
      description: 'The environment values. `${path}` interpolates; `fn::` keys call builtins.',
      properties: {
        environmentVariables: { type: 'object', description: 'Exported as process environment variables by run, export and the terminal.' },
        files: { type: 'object', description: 'Each value is written to a temporary file; the variable holds its path.' },
        pulumiConfig: { type: 'object', description: 'Configuration handed to Pulumi programs.' },
      },
    },
  },
}
