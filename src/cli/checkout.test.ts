import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Settings } from '../settings.ts';
import { CliError } from './cli-error.ts';
import { requireCheckout } from './checkout.ts';

test('requireCheckout: training commands stop with the reason in an installed package, and pass in a checkout', () => {
  const installed = new Settings(path.resolve('/home/u/app/node_modules/cladmop'), () => ({}));
  assert.throws(
    () => requireCheckout('reproduce', installed),
    (err: unknown) => err instanceof CliError && /`cladmop reproduce` trains models and runs only from a checkout/.test(err.message) && err.message.includes(installed.root),
  );
  assert.doesNotThrow(() => requireCheckout('reproduce', new Settings(path.resolve('/work/cladmop'), () => ({}))));
  assert.doesNotThrow(() => requireCheckout('pretrain'), 'the test suite runs from a checkout');
});
