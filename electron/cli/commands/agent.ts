/** `envelope agent start|stop|status|serve`: the background agent that makes `envelope run` start faster. */
import { defineCommand } from '../registry.ts'

defineCommand({
  name: 'agent',
  commands: ['agent'],
  register(root, _env, cli) {
    const agent = root
      .command('agent')
      .description('a background process that keeps the store unlocked so `envelope run` starts faster (opt-in, like ssh-agent)')
    agent.command('start').description('start the agent for this data folder in the background')
      .option('--idle <minutes>', 'stop after this many minutes without a request', '15')
      .action(async (opts: { idle: string }) => (await import('../actions/agent.ts')).agentStartCommand(cli, opts))
    agent.command('stop').description('stop the agent of this data folder')
      .action(async () => (await import('../actions/agent.ts')).agentStopCommand(cli))
    agent.command('status').description('whether an agent serves this data folder (exit 1 when none)')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(async (opts: { output: string }) => (await import('../actions/agent.ts')).agentStatusCommand(cli, opts))
    agent.command('serve').description('run the agent in the foreground (for a service manager; `start` runs this in the background)')
      .option('--idle <minutes>', 'stop after this many minutes without a request', '15')
      .action(async (opts: { idle: string }) => (await import('../actions/agent.ts')).agentServeCommand(cli, opts))
  },
})
