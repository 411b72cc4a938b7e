/**
 * The `cladmop` command line. Each sub-command lives in its own file under `commands/` and exports a
 * `register(program)` function; this file only assembles them.
 */
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.ts';
import { CliError } from './cli-error.ts';
import { VERSION } from '../settings.ts';
import { escapeControl } from '../runtime/safe-text.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('cladmop')
    .description(
      'Clinical-trial outcome prediction (CLaDMoP) on the TOP benchmark and on your own trials.\n' +
        'TOP data are for non-commercial research only (see README).',
    )
    .version(VERSION) // package.json's, so a release bump cannot miss it
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  // Not a command, but what users type (the README and the web page speak of explanations): point to the option.
  program
    .command('explain', { hidden: true })
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(() => {
      throw new CliError(
        'there is no `explain` command: explanations come from `cladmop predict --explain`, e.g.\n' +
          '  $ cladmop predict --input test/fixtures/ctgov/study-phase2-oncology.json --explain --format ndjson',
      );
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0.
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof CliError) {
      // Messages quote file names, cells and lines of the input: raw escape codes must not reach the terminal.
      process.stderr.write(`cladmop: ${escapeControl(err.message, { keepLines: true })}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    // Library errors carry messages written for users (file, row, field, what to do); the stack only helps
    // when debugging cladmop itself.
    const debug = !!process.env.CLADMOP_DEBUG;
    const text = err instanceof Error ? (debug ? (err.stack ?? err.message) : err.message) : String(err);
    process.stderr.write(`cladmop: ${escapeControl(text, { keepLines: true })}${debug ? '' : '\n(set CLADMOP_DEBUG=1 for a stack trace)'}\n`);
    process.exitCode = 1;
  }
}
