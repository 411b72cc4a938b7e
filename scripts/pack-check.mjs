#!/usr/bin/env node
// `npm run pack:check` (run by .ci/run after `npm test`): what a user gets from `npm install cladmop` works.
//
// Packs the package (`npm pack`, which builds dist/ through `prepare`), installs the tarball into an empty
// temporary project, and there:
//   (a) plain Node runs examples/library.mjs (`import { ... } from 'cladmop'`): one TOP CSV row and one
//       ClinicalTrials.gov API v2 record scored with the default phase I model shipped in the package; and the
//       README's Library example, which must print the same probability;
//   (b) a small TypeScript file type-checks against the shipped .d.ts with `strict` (and skipLibCheck off, so
//       the .d.ts files themselves are checked);
//   (c) `npx cladmop predict --input study.json` runs from that directory, gives the library's probability for
//       the same record exactly, and writes its embedding cache to $XDG_CACHE_HOME/cladmop, not into node_modules.
// Prints the tarball size and the install time. Exits non-zero on the first failure.
//
// Offline-friendly: the install reads npm's cache first (`--prefer-offline`; CI's `npm ci` has just filled it) and
// uses the repository's .npmrc, whose keys stop onnxruntime-node's install script from downloading anything.
// Needs the TOP data for (a) and (c) (CLADMOP_DATA or ../shared/data/top): the record reader maps drugs and
// conditions with TOP's drug and ICD tables. Set PACK_CHECK_KEEP=1 to keep the temporary folder.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const dataDir = path.resolve(process.env.CLADMOP_DATA ?? path.join(root, '../shared/data/top'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'cladmop-pack-'));
const project = path.join(tmp, 'project');
const xdgCache = path.join(tmp, 'xdg-cache');
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

function step(title) {
  console.log(`\npack-check: ${title}`);
}
function fail(message) {
  console.error(`pack-check: FAILED: ${message}`);
  console.error(`(temporary folder kept: ${tmp})`);
  process.exit(1);
}
/** Runs a command, echoing its output; returns stdout. Fails the check on a non-zero exit. */
function run(cmd, args, { cwd = project, env = {}, quiet = false } = {}) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = (Date.now() - started) / 1000;
  if (!quiet && r.stdout) process.stdout.write(r.stdout);
  if (r.stderr) process.stderr.write(r.stderr.split('\n').filter((l) => !/Unknown project config "onnxruntime-node-install/.test(l)).join('\n'));
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
  return { stdout: r.stdout, seconds };
}
function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).filter((f) => statSync(path.join(dir, f)).isFile());
}

if (!existsSync(path.join(dataDir, 'phase_I_test.csv'))) fail(`TOP data not found at ${dataDir} (set CLADMOP_DATA)`);
for (const phase of ['I', 'II', 'III']) {
  if (!existsSync(path.join(root, `models/phase-${phase}/config.json`))) fail(`models/phase-${phase} is missing: the package would ship without its default model`);
}

step('npm pack (builds dist/ through `prepare`)');
const packed = run(npm, ['pack', '--json', '--pack-destination', tmp], { cwd: root, quiet: true });
const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')));
const tarball = path.join(tmp, info.filename);
const paths = info.files.map((f) => f.path);
console.log(`${info.filename}: ${mb(statSync(tarball).size)} packed, ${mb(info.unpackedSize)} unpacked, ${info.entryCount} files (pack + build ${packed.seconds.toFixed(1)} s)`);
// What must ship, and what must not (the 49 MB results/, tests, sources, LM training checkpoints).
for (const need of ['dist/index.js', 'dist/index.d.ts', 'dist/runtime/node20-shim.mjs', 'dist/serve/page.html', 'bin/cladmop.mjs', 'LICENSE', 'README.md', 'models/criteria-lm/model.safetensors', 'models/criteria-lm/tokenizer.json', 'models/phase-I/weights.safetensors', 'models/phase-II/config.json', 'models/phase-III/icd_vocabulary.json']) {
  if (!paths.includes(need)) fail(`the tarball lacks ${need}`);
}
const unwanted = paths.filter((p) => /^(results|src|test|bench|scripts|examples)\//.test(p) || /\.test\.|\/testing\/|checkpoint\.safetensors$|\.tsbuildinfo$/.test(p));
if (unwanted.length > 0) fail(`the tarball ships files users do not need: ${unwanted.slice(0, 10).join(', ')}`);

step(`npm install of the tarball into an empty project (${project})`);
mkdirSync(project);
writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'cladmop-pack-check', private: true, type: 'module' }, null, 2));
copyFileSync(path.join(root, '.npmrc'), path.join(project, '.npmrc'));
const install = run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball]);
const installed = path.join(project, 'node_modules/cladmop');
console.log(`installed in ${install.seconds.toFixed(1)} s`);

step('(a) plain Node: examples/library.mjs scores a TOP CSV row and an API v2 record with the shipped default models');
copyFileSync(path.join(root, 'examples/library.mjs'), path.join(project, 'library.mjs'));
copyFileSync(path.join(root, 'examples/study.json'), path.join(project, 'study.json'));
// The installed package's own defaults, except the data (not shipped) and a cache directory we can inspect.
const childEnv = { ...process.env, CLADMOP_DATA: dataDir, XDG_CACHE_HOME: xdgCache };
for (const k of ['CLADMOP_CACHE', 'CLADMOP_CACHE_DIR', 'CLADMOP_MODELS', 'CLADMOP_LM']) delete childEnv[k];
const lib = spawnSync(process.execPath, ['library.mjs', 'study.json', path.join(dataDir, 'phase_I_test.csv')], { cwd: project, env: childEnv, encoding: 'utf8' });
process.stdout.write(lib.stdout);
process.stderr.write(lib.stderr);
if (lib.status !== 0) fail('examples/library.mjs failed in the installed project');
if (!lib.stdout.includes(`from ${path.join(installed, 'models/phase-I')}`)) fail('the library did not load the model shipped inside the installed package');
const libResult = JSON.parse(lib.stdout.trim().split('\n').at(-1));
// The README's Library example too (its first js block after "## Library"), so the README cannot drift.
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const snippet = /```js\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('\n## Library')))?.[1];
if (!snippet) fail('README.md has no js example under "## Library"');
mkdirSync(path.join(project, 'examples'));
copyFileSync(path.join(root, 'examples/study.json'), path.join(project, 'examples/study.json'));
writeFileSync(path.join(project, 'readme-library.mjs'), snippet);
const fromReadme = spawnSync(process.execPath, ['readme-library.mjs'], { cwd: project, env: childEnv, encoding: 'utf8' });
process.stdout.write(`README example: ${fromReadme.stdout}`);
process.stderr.write(fromReadme.stderr);
if (fromReadme.status !== 0) fail("README.md's Library example failed in the installed project");
if (!fromReadme.stdout.includes(`${libResult.ctgov.nctid} ${libResult.ctgov.probability}`)) fail("README.md's Library example printed another probability than examples/library.mjs");

step('(b) a strict TypeScript file type-checks against the shipped .d.ts');
writeFileSync(
  path.join(project, 'check.ts'),
  `import { loadModel, predict, parseCtgovJson, settings, ModelRouter, type Prediction, type Model, type SettingValues } from 'cladmop';

const model: Model = await loadModel(settings.defaultModelDir('I'));
const router: ModelRouter = await ModelRouter.load();
const routed: Prediction[] = await router.predict([]);
const { trials } = parseCtgovJson('{}', { dataDir: settings.dataDir });
const predictions: Prediction[] = await predict(model, trials);
const first: number | null = predictions[0]?.probability ?? null;
const values: SettingValues = settings.toJSON();
// The types are real, not \`any\`: each line below must be an error.
// @ts-expect-error probability is number | null
const wrong: string = predictions[0].probability;
// @ts-expect-error there is no phase IV default model
settings.defaultModelDir('IV');
console.log(first, values.cacheDir, wrong, routed.length);
`,
);
writeFileSync(
  path.join(project, 'tsconfig.json'),
  JSON.stringify(
    {
      compilerOptions: {
        strict: true,
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        noEmit: true,
        // Check the shipped .d.ts too. @jax-js/jax's own .d.ts names WebGPU types and Float16Array, hence
        // the dom and esnext libs.
        skipLibCheck: false,
        lib: ['esnext', 'dom'],
        types: ['node'],
        // The compiler and @types/node of the checkout: the project under test holds only cladmop.
        typeRoots: [path.join(root, 'node_modules/@types')],
      },
      files: ['check.ts'],
    },
    null,
    2,
  ),
);
const tsc = run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
console.log(`type-check passed in ${tsc.seconds.toFixed(1)} s`);

step('(c) npx cladmop predict --input study.json, from the installed package');
const version = spawnSync(npm, ['exec', '--offline', '--', 'cladmop', '--version'], { cwd: project, env: childEnv, encoding: 'utf8' });
if (version.stdout.trim() !== pkg.version) fail(`cladmop --version printed ${JSON.stringify(version.stdout.trim())}, expected ${pkg.version}`);
// No --model: the shipped default models, the study routed to the phase I model by its phase.
const cliStarted = Date.now();
const cli = spawnSync(npm, ['exec', '--offline', '--', 'cladmop', 'predict', '--input', 'study.json', '--format', 'ndjson'], {
  cwd: project,
  env: childEnv,
  encoding: 'utf8',
});
process.stdout.write(cli.stdout);
process.stderr.write(cli.stderr.split('\n').filter((l) => !/Unknown project config/.test(l)).join('\n'));
if (cli.status !== 0) fail('npx cladmop predict failed');
const cliResult = JSON.parse(cli.stdout.trim().split('\n')[0]);
if (cliResult.nctid !== libResult.ctgov.nctid || cliResult.probability !== libResult.ctgov.probability) {
  fail(`CLI and library disagree on ${libResult.ctgov.nctid}: ${cliResult.probability} vs ${libResult.ctgov.probability}`);
}
console.log(`CLI and library agree exactly: ${cliResult.nctid} P(success) = ${cliResult.probability} (${((Date.now() - cliStarted) / 1000).toFixed(1)} s)`);
const cached = filesUnder(path.join(xdgCache, 'cladmop/embeddings'));
if (cached.length === 0) fail(`the CLI's embedding cache is not under $XDG_CACHE_HOME/cladmop/embeddings`);
const stray = filesUnder(installed).filter((f) => f.startsWith('.cache'));
if (stray.length > 0) fail(`the installed package wrote into node_modules: ${stray.slice(0, 5).join(', ')}`);
console.log(`embedding cache written to $XDG_CACHE_HOME/cladmop/embeddings (${cached.length} files), nothing into node_modules/cladmop`);
// Training needs a checkout (src/ and tsx are not shipped): the installed command must say so at once.
const train = spawnSync(npm, ['exec', '--offline', '--', 'cladmop', 'reproduce', '--quick', '--out', 'run'], { cwd: project, env: childEnv, encoding: 'utf8' });
if (train.status === 0 || !/runs only from a checkout/.test(train.stderr)) fail(`cladmop reproduce from the installed package did not stop with the checkout message:\n${train.stderr}`);
console.log('cladmop reproduce from the installed package stops at once: runs only from a checkout');

console.log(`\npack-check: OK: ${info.filename} ${mb(statSync(tarball).size)} packed / ${mb(info.unpackedSize)} unpacked; install ${install.seconds.toFixed(1)} s; (a) library, (b) strict types, (c) npx cladmop predict all pass`);
if (process.env.PACK_CHECK_KEEP === '1') console.log(`kept ${tmp}`);
else rmSync(tmp, { recursive: true, force: true });
