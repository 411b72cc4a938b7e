import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { register } from './serve.ts';
import { FakeEncoder, sampleStudy, writeTinyBundle } from '../../predict/testing/fixtures.ts';
import type { RunningServer } from '../../serve/server.ts';

/** A fake encoder that holds its first call until released: a request is then surely in flight. */
class GatedEncoder extends FakeEncoder {
  private open!: () => void;
  private readonly gate = new Promise<void>((r) => (this.open = r));
  private enter!: () => void;
  readonly started = new Promise<void>((r) => (this.enter = r));
  release = () => this.open();
  override async encodeMany(criteria: string[]) {
    this.enter();
    await this.gate;
    return super.encodeMany(criteria);
  }
}
const encoder = new GatedEncoder();
let bundle: string;

before(async () => {
  bundle = (await writeTinyBundle({ encoder })).dir;
});
after(() => rmSync(path.dirname(bundle), { recursive: true, force: true }));

function program(onListening: (s: RunningServer) => void): Command {
  const p = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  register(p, { encoder, onListening });
  return p;
}

test('serve answers on the port it bound and stops on SIGTERM after finishing the request in flight', async () => {
  const others = process.listeners('SIGTERM');
  for (const l of others) process.off('SIGTERM', l);
  const stderr = process.stderr.write;
  let log = '';
  process.stderr.write = function (this: typeof process.stderr, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string') {
      log += chunk;
      return true;
    }
    return (stderr as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stderr.write;
  try {
    let server!: RunningServer;
    let listened!: () => void;
    const listening = new Promise<void>((resolve) => (listened = resolve));
    const running = program((s) => {
      server = s;
      listened();
    }).parseAsync(['node', 'cladmop', 'serve', '--model', bundle, '--port', '0']);
    await Promise.race([listening, running]);
    assert.ok(server, 'listening');
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${server.url}/healthz`);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const inflight = fetch(`${server.url}/v1/predict?explain=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sampleStudy()) });
    await encoder.started;
    process.emit('SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    encoder.release();
    const res = await inflight;
    assert.equal(res.status, 200);
    await running;
    assert.match(log, /SIGTERM, finishing requests in flight/);
    assert.match(log, /stopped/);
    await assert.rejects(fetch(`${server.url}/healthz`));
    assert.equal(process.listenerCount('SIGTERM'), 0, 'handlers removed');
  } finally {
    process.stderr.write = stderr;
    for (const l of others) process.on('SIGTERM', l);
  }
});

test('serve refuses bad options and a missing bundle', async () => {
  await assert.rejects(program(() => {}).parseAsync(['node', 'cladmop', 'serve', '--model', bundle, '--port', '99999']), /--port must be an integer in \[0, 65535\]/);
  await assert.rejects(program(() => {}).parseAsync(['node', 'cladmop', 'serve', '--model', path.join(bundle, 'nope')]), /not a cladmop model bundle/);
});
