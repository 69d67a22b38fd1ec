/**
 * Every route module of the server, one per resource. The ESC API subset used by @pulumi/esc-sdk 0.12.4 and the
 * `esc` CLI (Pulumi's ESC API reference) follows the API's own grouping: environments, check, open sessions,
 * revisions, revision tags, environment tags, settings; then the Envelope extensions and the management API:
 * permissions, the caller, tokens, users, orgs, the audit log. Shared helpers are in common.ts; what routes
 * share with the app (context, identity, audit target, body parsing) is in ../http.ts.
 */
import type { RouteModule } from '../http.ts'
import { environmentRoutes } from './environments.ts'
import { checkRoutes } from './check.ts'
import { openRoutes } from './open.ts'
import { revisionRoutes } from './revisions.ts'
import { revisionTagRoutes } from './revision-tags.ts'
import { environmentTagRoutes } from './environment-tags.ts'
import { settingsRoutes } from './settings.ts'
import { permissionRoutes } from './permissions.ts'
import { userRoutes } from './user.ts'
import { tokenRoutes } from './tokens.ts'
import { userAdminRoutes } from './users.ts'
import { orgRoutes } from './orgs.ts'
import { auditRoutes } from './audit.ts'

export const ROUTES: RouteModule[] = [
  environmentRoutes,
  checkRoutes,
  openRoutes,
  revisionRoutes,
  revisionTagRoutes,
  environmentTagRoutes,
  settingsRoutes,
  permissionRoutes,
  userRoutes,
  tokenRoutes,
  userAdminRoutes,
  orgRoutes,
  auditRoutes,
]
