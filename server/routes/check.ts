/**
 * `POST /api/esc/environments/:org/yaml/check`: evaluates a definition that is not stored (as `esc env check`
 * and the SDK's checkEnvironmentYaml do). Open to anyone with a place in the org; imports need reader (opener
 * with `showSecrets=true`). Answers 400 with the same body when the diagnostics hold errors.
 */
import type { RouteModule } from '../http.ts'
import { setAudit, who } from '../http.ts'
import { inOrg } from '../auth.ts'
import { HttpError, environmentJson, hasErrors, wireDiagnostics } from '../evaluator.ts'
import { q } from './common.ts'

export const checkRoutes: RouteModule = (app, ctx) => {
  const { auth, evaluator } = ctx

  app.post('/api/esc/environments/:org/yaml/check', async (req, reply) => {
    const { org } = req.params as { org: string }
    setAudit(req, { action: 'env.check', org, target: `${org}/yaml` })
    const { user } = who(req)
    const showSecrets = q(req, 'showSecrets') === 'true'
    const authz = await auth.orgAuthz(org, user)
    if (!inOrg(authz)) throw new HttpError(403, `forbidden: checking definitions in ${org} requires membership or a role in the organization`)
    if (!authz.exists) throw new HttpError(404, `organization "${org}" not found`)
    const source = typeof req.body === 'string' ? req.body : ''
    const { result } = await evaluator.run({
      org,
      authz,
      name: 'yaml',
      source,
      mode: 'check',
      importRole: showSecrets ? 'opener' : 'reader',
      context: { pulumi: { user: { id: user.login }, organization: { login: org } } },
    })
    const body: Record<string, unknown> = { ...environmentJson(result.value, { reveal: showSecrets }) }
    if (result.diagnostics.length) body.diagnostics = wireDiagnostics(result.diagnostics)
    if (hasErrors(result.diagnostics)) return reply.code(400).send({ code: 400, message: 'the definition has errors', ...body })
    return body
  })
}
