/** `envelope agent start|stop|status|serve|autostart`: the background agent that makes `envelope run` start faster. */
import { Option } from 'commander'
import { DEFAULT_IDLE_MINUTES } from '../../services/agent/protocol.ts'
import { defineCommand } from '../registry.ts'

defineCommand({
  name: 'agent',
  commands: ['agent'],
  register(root, _env, cli) {
    const agent = root
      .command('agent')
      .description(
        'a background process that keeps the store unlocked so `envelope run` starts faster (started by `envelope run` for a keychain key, like gpg-agent)',
      )
    agent
      .command('start')
      .description('start the agent for this data folder in the background')
      .option('--idle <minutes>', 'stop after this many minutes without a served run', String(DEFAULT_IDLE_MINUTES))
      .action(async (opts: { idle: string }) => (await import('../actions/agent.ts')).agentStartCommand(cli, opts))
    agent
      .command('stop')
      .description('stop the agent of this data folder')
      .action(async () => (await import('../actions/agent.ts')).agentStopCommand(cli))
    agent
      .command('status')
      .description('whether an agent serves this data folder (exit 1 when none)')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(async (opts: { output: string }) => (await import('../actions/agent.ts')).agentStatusCommand(cli, opts))
    agent
      .command('serve')
      .description('run the agent in the foreground (for a service manager; `start` runs this in the background)')
      .option('--idle <minutes>', 'stop after this many minutes without a served run', String(DEFAULT_IDLE_MINUTES))
      .addOption(new Option('--auto', 'started by `envelope run` (keychain key only; quiet when another agent serves)').hideHelp())
      .action(async (opts: { idle: string; auto?: boolean }) => (await import('../actions/agent.ts')).agentServeCommand(cli, opts))
    agent
      .command('autostart')
      .description('show, or turn on or off, whether `envelope run` starts the agent when none runs (default on)')
      .argument('[on|off]')
      .action(async (value: string | undefined) => (await import('../actions/agent.ts')).agentAutostartCommand(cli, value))
  },
})
