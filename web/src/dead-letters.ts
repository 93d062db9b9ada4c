// The chosen route's dead letters with their reasons, and the actions:
// redrive one or all (back onto the queue with their request ids), delete one.
import type { Api } from './api.ts';
import { byId, h } from './dom.ts';

interface Entry {
  readonly id: string;
  readonly requestId: string;
  readonly code: string;
  readonly reason: string;
  readonly failedAt: string;
}

interface Outcome {
  readonly id: string;
  readonly requestId?: string;
  readonly outcome: string;
  readonly jobName?: string;
}

export class DeadLetters {
  readonly #api: Api;
  readonly #select = byId<HTMLSelectElement>('dead-route');
  readonly #message = byId<HTMLParagraphElement>('dead-message');

  constructor(api: Api) {
    this.#api = api;
  }

  get route(): string {
    return this.#select.value;
  }

  async refresh(): Promise<void> {
    const body = byId<HTMLTableElement>('dead').tBodies[0];
    if (this.route === '') {
      body?.replaceChildren();
      return;
    }
    const page = await this.#api.json<{ total: number; items: Entry[] }>('GET', this.#path(''));
    body?.replaceChildren(
      ...page.items.map((e) =>
        h(
          'tr',
          { 'data-dead': e.requestId },
          h('td', {}, e.requestId),
          h('td', {}, e.code),
          h('td', {}, e.reason),
          h('td', {}, e.failedAt),
          h(
            'td',
            {},
            h(
              'button',
              {
                type: 'button',
                'aria-label': `Redrive ${e.requestId}`,
                onclick: () => void this.#act('POST', `/${e.id}/redrive`),
              },
              'Redrive',
            ),
            ' ',
            h(
              'button',
              {
                type: 'button',
                class: 'danger',
                'aria-label': `Delete ${e.requestId}`,
                onclick: () => void this.#act('DELETE', `/${e.id}`),
              },
              'Delete',
            ),
          ),
        ),
      ),
    );
  }

  redriveAll(): Promise<void> {
    return this.#act('POST', '/redrive');
  }

  #path(rest: string): string {
    return `/v1/routes/${encodeURIComponent(this.route)}/dead-letters${rest}`;
  }

  async #act(method: string, rest: string): Promise<void> {
    try {
      const answer = await this.#api.json<Outcome | { items: Outcome[] } | { deleted: string }>(
        method,
        this.#path(rest),
      );
      this.#message.textContent = describe(answer);
    } catch (err) {
      this.#message.textContent = `Refused: ${(err as Error).message}`;
    }
    await this.refresh();
  }
}

function describe(answer: Outcome | { items: Outcome[] } | { deleted: string }): string {
  if ('deleted' in answer) return `Deleted ${answer.deleted}.`;
  const list = 'items' in answer ? answer.items : [answer];
  if (list.length === 0) return 'Nothing to redrive.';
  return list
    .map((o) =>
      o.outcome === 'requeued'
        ? `${o.requestId ?? o.id} requeued.`
        : o.outcome === 'already-done'
          ? `${o.requestId ?? o.id} already has Job ${o.jobName ?? ''}: not requeued.`
          : `${o.id} was gone.`,
    )
    .join(' ');
}
