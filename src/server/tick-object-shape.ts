import { createHook } from 'node:async_hooks';

// Why this exists (bench/README.md, "The nextTick slow path"):
//
// Node builds every process.nextTick entry with one object literal whose first two keys are
// computed (internal symbols). For a computed key, V8's feedback knows only two states: the one
// hidden class it has seen, or "megamorphic" for good. Hidden classes reached by adding a
// property are held only weakly by their parent. When a full garbage collection runs while no
// tick object is alive (this happens during start-up), the chain of classes is collected. The
// next tick builds a new chain, the feedback sees a second class and gives up. From then on,
// every nextTick calls into the V8 runtime three times. Several of them run per HTTP request,
// inside Node's stream code, and together they cost about 5 µs. Reproduced on Node 20, 22 and
// 24 (test/server/tick-object-shape.test.ts).
//
// Keeping one tick object alive for the life of the process keeps its chain of hidden classes
// alive. Then every later tick object has the same class, and the feedback stays monomorphic.
let pinned: object | undefined;

function noop(): void {}

/** Keeps one nextTick entry alive for the process's lifetime so V8's fast path for creating them survives GC. Idempotent. */
export function pinTickObjectShape(): void {
  if (pinned !== undefined) return;
  // The init hook is the only public way to see a tick object; it is on for exactly one tick.
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject') pinned ??= resource;
    },
  });
  hook.enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
}

/** Whether pinTickObjectShape() has kept a tick object (for tests). */
export function isTickObjectShapePinned(): boolean {
  return pinned !== undefined;
}
