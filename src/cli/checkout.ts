/**
 * Training commands need a checkout of the repository: the fine-tune pool forks the TypeScript worker through
 * tsx (a dev dependency, src/ is not shipped) and pre-training caches under the package folder. From an
 * installed package they would fail half-way or write into node_modules, so they stop first and say why.
 */
import { CliError } from './cli-error.ts';
import { settings as processSettings, type Settings } from '../settings.ts';

export function requireCheckout(command: string, settings: Pick<Settings, 'installed' | 'root'> = processSettings): void {
  if (!settings.installed) return;
  throw new CliError(
    `\`cladmop ${command}\` trains models and runs only from a checkout of the cladmop repository ` +
      `(this is the installed package in ${settings.root}). The installed package predicts, serves, evaluates and reports; ` +
      `to train, clone the repository, run \`npm ci\` there, then \`npx cladmop ${command}\`.`,
  );
}
