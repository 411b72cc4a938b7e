/**
 * Test support: a module a model worker thread can load its encoder from (`WorkerModelSpec.encoderModule`), since
 * an encoder object cannot cross a thread. `busyMsPerText` makes each text cost that much synchronous CPU, like
 * the real encoder's tokenizer and forward pass, so tests can hold a worker busy.
 */
import { FakeEncoder } from '../../predict/testing/fixtures.ts';

class BusyEncoder extends FakeEncoder {
  constructor(private readonly busyMsPerText: number) {
    super();
  }

  override async encodeMany(criteria: string[]) {
    const until = performance.now() + this.busyMsPerText * criteria.length;
    while (performance.now() < until) {
      // spin: the thread is busy, as in a real forward pass
    }
    return super.encodeMany(criteria);
  }
}

export function createEncoder(options: { busyMsPerText?: number } = {}): FakeEncoder {
  return options.busyMsPerText ? new BusyEncoder(options.busyMsPerText) : new FakeEncoder();
}
