// Queue test doubles for the consumers' tests: a message that records how
// it was acked or retried, a batch of them, and a producer that keeps what
// is sent to it. The real queues run in the tests that go through the Worker.

/** A queue message the consumers can be handed, recording what they did with it. */
export function message<T>(body: T, attempts = 1) {
  const m = {
    id: crypto.randomUUID(),
    timestamp: new Date(),
    body,
    attempts,
    acked: false,
    retried: undefined as QueueRetryOptions | undefined,
    ack() {
      m.acked = true;
    },
    retry(options?: QueueRetryOptions) {
      m.retried = options ?? {};
    },
  };
  return m;
}

export function batchOf<T>(queue: string, messages: ReturnType<typeof message<T>>[]): MessageBatch<T> {
  return { queue, messages, metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: new Date() } }, ackAll() {}, retryAll() {} } as unknown as MessageBatch<T>;
}

/** A Queue that keeps what is sent to it. */
export function fakeQueue<T>() {
  const sent: T[] = [];
  const queue = {
    async sendBatch(messages: Iterable<MessageSendRequest<T>>) {
      for (const m of messages) sent.push(m.body);
      return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
    },
  } as unknown as Queue<T>;
  return { queue, sent };
}
