/**
 * The CLI's commands, registered in this order (help lists them so). One import line per module: a module
 * calls defineCommand() from ../registry.ts when imported. Keep command modules light: declare options and
 * load the implementation inside the action (see eval.ts + ../actions/eval.ts).
 */
import './env.ts'
import './eval.ts'
import './key.ts'
import './audit.ts'
import './ui.ts'
import './sync.ts'
import './agent.ts'
