/**
 * `cladmop serve`: the HTTP prediction service and its web page (see src/serve/server.ts).
 */
import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import type { CriteriaEncoder } from '../../features/criteria-encoder.ts';
import { BundleError, loadModel } from '../../predict/model.ts';
import { ModelRouter } from '../../predict/router.ts';
import { settings } from '../../settings.ts';
import { startServer, type RunningServer } from '../../serve/server.ts';
import { WorkerRunner, type ModelRunner } from '../../serve/model-runner.ts';

export interface ServeCommandDeps {
  /** Criteria encoder to use instead of the bundle's (tests; its id must still match). */
  encoder?: CriteriaEncoder;
  /** Called once listening (tests). */
  onListening?: (server: RunningServer) => void;
  /** Install SIGTERM/SIGINT handlers (default true). */
  signals?: boolean;
}

interface ServeOptions {
  model?: string;
  port: string;
  host: string;
  data?: string;
  encoder?: string;
  timeout: string;
  workers: string;
  maxConnections: string;
  log?: boolean;
}

const EXAMPLES = `
Examples:
  $ cladmop serve                                      # the shipped models, each trial by its phase's model
  $ cladmop serve --model results/phase_I/baseline_lr/model   # one bundle for every trial
  $ curl -s localhost:8080/v1/predict -H 'content-type: application/json' \\
      -d @<(curl -s https://clinicaltrials.gov/api/v2/studies/NCT01234567)
  $ curl -s 'localhost:8080/v1/predict?explain=true' -H 'content-type: application/json' -d @record.json
  Open http://127.0.0.1:8080/ for the web page; the API is described at /openapi.json.

Binds 127.0.0.1 by default; --host 0.0.0.0 exposes the service (it has no authentication).
SIGTERM/SIGINT stop accepting connections and finish the requests in flight before exiting.
`;

function intOption(flag: string, text: string, min: number, max: number): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min || v > max) throw new CliError(`${flag} must be an integer in [${min}, ${max}], got "${text}"`);
  return v;
}

export function register(program: Command, deps: ServeCommandDeps = {}): void {
  program
    .command('serve')
    .description('serve predictions over HTTP (POST /v1/predict, /v1/predict/batch) with a web page at /')
    .option('--model <dir>', 'one model bundle for every trial; default: the shipped models/phase-I, -II, -III, each trial scored by its phase\'s model')
    .option('--port <n>', 'port (0 = any free port)', '8080')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--data <dir>', 'TOP data directory with aux/drugs and aux/icd (for API v2 records)')
    .option('--encoder <spec>', "criteria encoder spec, when the bundle's recorded one does not resolve here (its id must match)")
    .option('--timeout <ms>', 'longest a request may wait for and run on the model; its work is then stopped', '120000')
    .option('--workers <n>', 'worker threads running the model (each loads it; the HTTP thread stays free)', '1')
    .option('--max-connections <n>', 'open connections at most', '256')
    .option('--log', 'log every request (JSON lines on stdout)')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: ServeOptions) => {
      const port = intOption('--port', opts.port, 0, 65535);
      const timeoutMs = intOption('--timeout', opts.timeout, 100, 3_600_000);
      const workers = intOption('--workers', opts.workers, 1, 16);
      const maxConnections = intOption('--max-connections', opts.maxConnections, 1, 100_000);
      let model: ModelRouter;
      let runner: ModelRunner | undefined;
      try {
        let encoder = deps.encoder;
        if (!encoder && opts.encoder) encoder = await (await import('../../features/encoder-spec.ts')).loadEncoder(opts.encoder);
        const options = { encoder, dataDir: opts.data };
        model = opts.model ? ModelRouter.single(await loadModel(opts.model, options)) : await ModelRouter.load(settings.modelsDir, options);
        // An injected encoder object cannot cross into a worker thread: the model then runs on this thread.
        if (!deps.encoder) {
          const where = opts.model ? { bundleDir: model.any.dir } : { modelsDir: settings.modelsDir };
          runner = await WorkerRunner.start({ ...where, dataDir: model.any.dataDir, ...(opts.encoder ? { encoderSpec: opts.encoder } : {}) }, { timeoutMs, maxQueue: 64, workers });
        }
      } catch (err) {
        const what = opts.model ? `--model ${opts.model}` : `default models (${settings.modelsDir})`;
        throw new CliError(`${what}: ${err instanceof BundleError ? err.message : (err as Error).message}`);
      }
      let server: RunningServer;
      try {
        server = await startServer(model, { port, host: opts.host, timeoutMs, logger: !!opts.log, runner, maxConnections });
      } catch (err) {
        model.dispose();
        await runner?.close();
        throw new CliError(`cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}`);
      }
      const loaded = Object.values(model.models).map((m) => `phase ${m!.info.phase} model ${m!.info.id.slice(0, 12)}`).join(', ');
      process.stderr.write(`cladmop serve: ${loaded}${model.routes ? ' (each trial by its phase)' : ''} at ${server.url}/ (API: ${server.url}/openapi.json)\n`);
      deps.onListening?.(server);
      if (deps.signals === false) return;
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) {
            process.stderr.write(`cladmop serve: ${signal} again, exiting now\n`);
            process.exit(130);
          }
          stopping = true;
          process.stderr.write(`cladmop serve: ${signal}, finishing requests in flight\n`);
          server
            .close()
            .catch((err) => process.stderr.write(`cladmop serve: close failed: ${(err as Error).message}\n`))
            .finally(() => {
              model.dispose();
              process.off('SIGTERM', onTerm);
              process.off('SIGINT', onInt);
              process.stderr.write('cladmop serve: stopped\n');
              resolve();
            });
        };
        const onTerm = () => stop('SIGTERM');
        const onInt = () => stop('SIGINT');
        process.on('SIGTERM', onTerm);
        process.on('SIGINT', onInt);
      });
    });
}
